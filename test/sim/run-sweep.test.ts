// A sweep of small clusters (3, 4 and 5 sites) with every fault kind on, through the sweep's own
// worker threads: every seed must pass. A seed may fail only with the signature of a finding that
// is still open in /work/notes/sim-findings.md (OPEN_FINDINGS; reported as a diagnostic), so a new
// bug on any seed still fails the test. Remove an entry once its finding is fixed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FAULT_KINDS } from '../../sim/faults.js';
import { DEFAULT_SIM_OPTIONS } from '../../sim/harness/options.js';
import { sweep, type SeedResult } from '../../sim/sweep.js';

const SEEDS_PER_SIZE = 12;
const DURATION_MS = 60_000;

/**
 * F1 (consensus; regression tests in run-findings.test.ts): a site shut down before it saw its
 * removal and re-added on an empty disk is never caught up: it ends at applied index 0, or the
 * leader and it flood each other with appends until the run is stopped as a runaway. Either way
 * no safety check fails.
 */
const OPEN_FINDINGS: Array<{ finding: string; signature: (r: SeedResult) => boolean }> = [
  {
    finding: 'F1',
    signature: (r) => {
      const onlyLiveness = r.failingChecks.every((c) => ['liveness', 'state-convergence', 'runaway'].includes(c));
      const stuckAtZero = r.failures.some((f) => /^\[state-convergence\].*[(;] ?0: /.test(f));
      const appendStorm = r.failures.some((f) => /^\[runaway\].*messages sent: (append|appendResp) \d+, (append|appendResp) \d+/.test(f));
      return r.failingChecks.length > 0 && onlyLiveness && (stuckAtZero || appendStorm);
    },
  },
];

test(`${3 * SEEDS_PER_SIZE} seeds on 3-5 sites with all faults pass every checker`, { timeout: 120_000 }, async (t) => {
  const results: Array<[number, SeedResult]> = [];
  for (const sites of [3, 4, 5]) {
    const base = { ...DEFAULT_SIM_OPTIONS, sites, voters: sites, durationMs: DURATION_MS, faults: [...FAULT_KINDS] };
    const summary = await sweep({ seeds: SEEDS_PER_SIZE, from: 1, jobs: 2, base });
    assert.equal(summary.results.length, SEEDS_PER_SIZE);
    assert.deepEqual(summary.results.map((r) => r.seed), Array.from({ length: SEEDS_PER_SIZE }, (_, i) => i + 1));
    for (const r of summary.results) results.push([sites, r]);
  }
  const unexpected: string[] = [];
  for (const [sites, r] of results) {
    assert.match(r.traceHash, /^[0-9a-f]{16}$/, `seed ${r.seed} on ${sites} sites: ${r.failures.join(' | ')}`);
    if (r.verdict !== 'fail') continue;
    const open = OPEN_FINDINGS.find((f) => f.signature(r));
    if (open) {
      t.diagnostic(`open finding ${open.finding} (sim-findings.md): ${r.replay}`);
      continue;
    }
    unexpected.push(`seed ${r.seed} on ${sites} sites: ${r.failures.join(' | ')}\n  replay: ${r.replay}`);
  }
  assert.deepEqual(unexpected, []);
  assert.ok(results.filter(([, r]) => r.verdict === 'pass').length >= results.length * 0.8, 'most seeds pass outright');
});
