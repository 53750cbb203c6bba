// The headline topology: 100 sites at real cities, 5 voters across regions, 95 learners, two
// virtual minutes with every fault kind, a client workload, and every checker passing. Also a
// physics check on the figures: no commit beats the speed of light to a voter majority.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FAULT_KINDS } from '../../sim/faults.js';
import { fasterThanLight } from '../../sim/harness/commit-latency.js';
import { DEFAULT_SIM_OPTIONS } from '../../sim/harness/options.js';
import { runSimulation } from '../../sim/harness/simulation.js';
import type { World } from '../../sim/harness/world.js';

test('100 sites, 5 voters, all faults, 2 virtual minutes: every checker passes', { timeout: 300_000 }, async () => {
  let world: World | undefined;
  const r = await runSimulation(
    // Clouds off: their convergence has its own tests (run-clouds), and 100 reconcilers make a run
    // of minutes far slower than a test's time budget (docs/findings.md, P2).
    { ...DEFAULT_SIM_OPTIONS, sites: 100, voters: 5, durationMs: 120_000, faults: [...FAULT_KINDS], seed: 3, clouds: false },
    { inspect: (w) => (world = w) },
  );
  const failing = r.report.checkers.filter((c) => c.verdict !== 'pass' && c.verdict !== 'skipped').map((c) => `${c.name}: ${c.verdict} ${c.failures?.[0]?.message ?? ''}`);
  assert.deepEqual(failing, [], r.report.run.replayCommand);
  const { run, writes, commitLatency, convergence, consensus } = r.report;
  assert.deepEqual([run.sites, run.voters, run.learners], [100, 5, 95]);
  assert.ok(run.faultEpisodes >= 10, `${run.faultEpisodes} fault episodes`);
  assert.ok(writes.committed >= 200, `${writes.committed} writes committed`);
  assert.ok(commitLatency.samples >= 200, `${commitLatency.samples} latency samples`);
  assert.ok(commitLatency.p50Ms >= commitLatency.physicalFloorMs * 0.9, `p50 ${commitLatency.p50Ms} vs floor ${commitLatency.physicalFloorMs}`);
  assert.ok(consensus.commitIndex > writes.committed);
  assert.notEqual(convergence.convergedAfterMs, null);
  // Physics: each commit took at least the fibre round trip to the nearest voter majority.
  const s = world!.latency.samples;
  const tooFast = fasterThanLight(s, DEFAULT_SIM_OPTIONS.diskMedianMs).map((i) => `${s.latencyMs[i].toFixed(1)} ms (floor ${s.fibreFloorMs[i].toFixed(1)})`);
  assert.deepEqual(tooFast, []);
  // Every site ends with the same catalog, holding all 100 site records.
  const catalogs = world!.sites.map((site) => site.catalog!);
  assert.ok(catalogs.every((c) => c.sites().length === 100));
});
