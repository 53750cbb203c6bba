// The image placement under every fault kind (issue 13): 20 sites, all faults, an image placed once
// the faults have begun (--image-at), so that crashes, partitions, a leader kill or a failing disk
// hit sites while the bits are on their way. Every checker must pass: the blob checkers (a site that
// reports the image in sync holds exactly the bits of its digests; no site serves a chunk it has not
// verified) and the consensus, linearizability and convergence checkers of the same run. Kept small
// for CI (about 10 s of CPU); `stackraft sim --sites 100 --faults all --image-size 1GiB --image-at 10s`
// is the full-size run (sim/README.md).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BLOB_BITS_CHECK, BLOB_SERVED_CHECK } from '../../sim/checkers/blob-integrity.js';
import { FAULT_KINDS, type FaultKind } from '../../sim/faults.js';
import { DEFAULT_SIM_OPTIONS, parseSimArgs, replayCommand, SimArgsError, validateSimOptions, type SimOptions } from '../../sim/harness/options.js';
import { runSimulation } from '../../sim/harness/simulation.js';

const MiB = 2 ** 20;

/** Kinds that take a site away or cut links, so blob streams are refused, cut or time out. */
const STREAM_BREAKING: ReadonlySet<FaultKind> = new Set(['crash-restart', 'leader-kill', 'failing-disk', 'partition-site', 'partition-halves', 'partition-region', 'one-way', 'flapping', 'membership-churn']);

function options(overrides: Partial<SimOptions> = {}): SimOptions {
  return { ...DEFAULT_SIM_OPTIONS, sites: 20, voters: 5, seed: 1, durationMs: 30_000, faults: [...FAULT_KINDS], clouds: true, imageBytes: 256 * MiB, imageAtMs: 5_000, ...overrides };
}

test('all faults with an image in flight: every site ends with the verified image and every checker passes', async () => {
  const r = await runSimulation(options());
  assert.equal(r.verdict, 'pass', r.failures.map((f) => `[${f.check}] ${f.message}`).join('\n'));
  for (const check of [BLOB_BITS_CHECK, BLOB_SERVED_CHECK, 'election-safety', 'state-machine-safety', 'linearizability', 'cloud-convergence']) {
    assert.equal(r.report.checkers.find((c) => c.name === check)?.verdict, 'pass', check);
  }
  const blobs = r.report.blobs!;
  assert.ok(blobs.committedAtMs !== null && blobs.committedAtMs >= 5_000, `the record committed at ${blobs.committedAtMs} ms, not before --image-at`);
  assert.equal(blobs.holding, blobs.receivers);
  assert.equal(blobs.badChunks, 0);
  // The point of the test: faults that break streams were active while the bits moved.
  const inFlight = blobs.faultsInFlight!;
  assert.ok(inFlight.kinds.some((k) => STREAM_BREAKING.has(k as FaultKind)), `faults in flight: ${inFlight.episodes} (${inFlight.kinds.join(', ')})`);
});

test('--image-at parses, replays and is refused without an image or past the run', () => {
  const args = parseSimArgs(['--sites', '20', '--faults', 'all', '--image-size', '256MiB', '--image-at', '5s', '--duration', '30s']);
  assert.equal(args.options.imageAtMs, 5_000);
  assert.match(replayCommand(args.options), /--image-size 256MiB --image-at 5s/);
  assert.deepEqual(parseSimArgs(replayCommand(args.options).split(' ').slice(6)).options, args.options);
  assert.throws(() => parseSimArgs(['--image-at', '5s']), (e: Error) => e instanceof SimArgsError && /--image-at needs --image-size/.test(e.message));
  assert.throws(() => parseSimArgs(['--image-size', '1MiB', '--image-at', '60s', '--duration', '60s']), (e: Error) => e instanceof SimArgsError && /before the end of the run/.test(e.message));
  assert.throws(() => validateSimOptions({ ...DEFAULT_SIM_OPTIONS, imageAtMs: 1_000 }), /imageAtMs needs imageBytes/);
});
