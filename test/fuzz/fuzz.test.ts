// The fuzzers in CI: every saved corpus input replays without a throw and with the outcome kind it
// had when saved (regressions of past findings live there), and a short budget of fresh inputs per
// target runs through the real worker, heap bound and watchdog with zero findings.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadCorpus } from './corpus.js';
import { fuzzInWorker } from './supervise.js';
import { FUZZ_TARGETS } from './targets/index.js';
import { signatureOf } from './target.js';

/** Inputs per target in CI: a few seconds each on a loaded 2-core machine. */
const CI_INPUTS = Number(process.env.STACKRAFT_FUZZ_CI_INPUTS ?? 1500);

describe('fuzz corpus (regression inputs)', () => {
  for (const target of FUZZ_TARGETS) {
    it(`${target.name}: every saved input gives its recorded outcome kind`, async () => {
      const corpus = loadCorpus(target.name);
      assert.ok(corpus.length > 0, `no corpus for ${target.name} (npm run fuzz -- --save-corpus)`);
      for (const entry of corpus) {
        const outcome = await target.run(entry.input);
        if (target.stateful) continue;
        const kind = signatureOf(outcome).split('|')[0];
        assert.equal(kind, entry.signature.split('|')[0], `${target.name}/${entry.file}`);
      }
    });
  }
});

describe(`fuzz short budget (${CI_INPUTS} inputs per target)`, () => {
  for (const target of FUZZ_TARGETS) {
    it(`${target.name}: no crash, hang or unbounded allocation`, { timeout: 300_000 }, async () => {
      const report = await fuzzInWorker(target.name, { inputs: CI_INPUTS, seed: 'ci', useCorpus: false });
      assert.deepEqual(report.findings, [], `findings in ${target.name}`);
      assert.equal(report.inputs, CI_INPUTS);
      assert.equal(report.accepted + report.rejected, CI_INPUTS);
      const counted = Object.values(report.rejectionsByKind).reduce((a, b) => a + b, 0);
      assert.equal(counted, report.rejected, 'every rejection is counted by kind');
      assert.ok(report.signatures > 1, 'the inputs reach more than one outcome');
    });
  }
});
