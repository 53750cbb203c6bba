// Disaster recovery in the simulator (--dr-failovers on): failovers, forced failovers, failbacks and
// drills on the protection groups during partitions, crashes and every other fault, with the DR
// checkers (one primary per epoch, acting only at the latest epoch applied, demote first after a
// fencing, no forced failover committed while its primary could reach the leader). Kept cheap for
// CI: 3 sites, 10 virtual seconds a seed (8 s left a seed without its site records written).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FAULT_KINDS } from '../../sim/faults.js';
import { DEFAULT_SIM_OPTIONS } from '../../sim/harness/options.js';
import { runSimulation } from '../../sim/harness/simulation.js';
import type { World } from '../../sim/harness/world.js';
import { sweep } from '../../sim/sweep.js';

const SEEDS = 200;
const BASE = { ...DEFAULT_SIM_OPTIONS, sites: 3, voters: 3, durationMs: 10_000, ratePerSec: 10, faults: [...FAULT_KINDS], clouds: false, drFailovers: true };

// Seeds from 41 on until every kind of event has been seen, at most MAX_EXERCISE_SEEDS: a change
// that moves any trace (timeouts, message order) would otherwise turn a fixed set of seeds vacuous
// and fail this test without a bug. About one seed in four commits a forced failover (seeds 41-60
// on 7 Dec 2026), so eight fixed seeds missed all of them about one trace change in ten; that 24 miss
// them is not plausible while the workload issues them.
const FIRST_EXERCISE_SEED = 41;
const MAX_EXERCISE_SEEDS = 24;

test('runs with DR operations exercise what the checkers check: forced failovers, PEER_REACHABLE refusals, fencings, steps', async () => {
  let committed = 0;
  let refused = 0;
  let fencings = 0;
  let steps = 0;
  for (let seed = FIRST_EXERCISE_SEED; seed < FIRST_EXERCISE_SEED + MAX_EXERCISE_SEEDS; seed++) {
    if (committed > 0 && refused > 0 && fencings > 0 && steps > 0) break;
    let world: World | undefined;
    const r = await runSimulation({ ...BASE, seed, durationMs: 30_000, ratePerSec: 20 }, { inspect: (w) => (world = w) });
    const rows = Object.fromEntries(r.report.checkers.map((c) => [c.name, c]));
    assert.equal(rows['dr-fencing']?.verdict, 'pass', `seed ${seed}: ${rows['dr-fencing']?.failures?.[0]?.message}`);
    assert.equal(rows['dr-forced-failover']?.verdict, 'pass', `seed ${seed}: ${rows['dr-forced-failover']?.failures?.[0]?.message}`);
    const detail = /^(\d+) committed forced failovers checked; (\d+) refused PEER_REACHABLE/.exec(rows['dr-forced-failover']?.detail ?? '');
    assert.ok(detail, `seed ${seed}: unexpected detail ${rows['dr-forced-failover']?.detail}`);
    committed += Number(detail[1]);
    refused += Number(detail[2]);
    fencings += world!.drFencing.fencings;
    steps += world!.drFencing.steps;
  }
  assert.ok(committed > 0, 'a forced failover committed and was checked');
  assert.ok(refused > 0, 'a forced failover of a reachable primary was refused');
  assert.ok(fencings > 0, 'some site was fenced');
  assert.ok(steps > 0, 'the agents ran DR steps');
});

test(`${SEEDS} seeds, 3 sites, all faults, DR operations: every checker passes`, { timeout: 600_000 }, async () => {
  const started = performance.now();
  const summary = await sweep({ seeds: SEEDS, from: 1, jobs: 2, base: BASE });
  assert.equal(summary.results.length, SEEDS);
  const failed = summary.results.filter((r) => r.verdict !== 'pass').map((r) => `seed ${r.seed}: ${r.error ?? r.failures.join(' | ')}\n  replay: ${r.replay}`);
  assert.deepEqual(failed, []);
  process.stderr.write(`dr sweep: ${SEEDS} seeds in ${((performance.now() - started) / 1000).toFixed(1)} s\n`);
});
