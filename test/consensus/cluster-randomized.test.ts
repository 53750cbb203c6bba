// Randomised safety: 3- and 5-member clusters on a bus that drops, duplicates, delays and reorders,
// with crashes (also in the middle of a Ready), restarts, partitions, slow disks, compaction,
// transfers, membership steps, reads and proposals at random, for thousands of steps per seed.
// After every input the harness checks: one leader per term, log matching, state machine safety,
// commit index never decreasing, durability of what a leader calls committed, read safety. Each
// seed then heals and must commit and converge (liveness smoke). A failing seed prints itself;
// replay it with CHAOS_SEED=<seed>.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { type ChaosReport, runChaos } from './chaos.js';
import { seedPlan } from './chaos-seeds.js';
import type { CoreConfig } from './harness.js';

const FAULTS = { dropRate: 0.08, duplicateRate: 0.05, maxDelaySteps: 3 };

/**
 * A third of the seeds run without CheckQuorum (a deposed leader keeps believing it leads, so the
 * read and commit rules alone must keep it safe), a third with small batches, windows and chunks.
 */
function variantOf(seed: number): Partial<CoreConfig> {
  switch (seed % 3) {
    case 1:
      return { checkQuorum: false, preVote: seed % 2 === 0 };
    case 2:
      return { maxEntriesPerAppend: 4, maxInflightAppends: 8, snapshotChunkBytes: 64 };
    default:
      return {};
  }
}

function replayCommand(seed: number, steps: number): string {
  return `CHAOS_SEED=${seed} CHAOS_STEPS=${steps} node --test ${fileURLToPath(import.meta.url)}`;
}

function runSeeds(members: number, firstSeed: number, defaultSeeds: number, defaultSteps: number): ChaosReport[] {
  const plan = seedPlan(firstSeed, defaultSeeds, defaultSteps);
  const started = Date.now();
  const reports = plan.seeds.map((seed) =>
    runChaos({ seed, members, steps: plan.steps, faults: FAULTS, config: variantOf(seed), replay: replayCommand(seed, plan.steps) }),
  );
  const sum = (f: (r: ChaosReport) => number) => reports.reduce((n, r) => n + f(r), 0);
  console.log(
    `${members} members: ${plan.seeds.length} seeds x ${plan.steps} steps (seeds ${plan.seeds[0]}..${plan.seeds[plan.seeds.length - 1]}) ` +
      `in ${Date.now() - started} ms: ${sum((r) => r.proposalsCommitted)}/${sum((r) => r.proposalsAccepted)} proposals committed, ` +
      `${sum((r) => r.leadersElected)} elections, ${sum((r) => r.crashes)} crashes, ${sum((r) => r.partitions)} partitions, ` +
      `${sum((r) => r.compactions)} compactions, ${sum((r) => r.snapshotsInstalled)} snapshots installed, ` +
      `${sum((r) => r.readsServed)} reads served, ${sum((r) => r.confChanges)} conf changes`,
  );
  return reports;
}

function assertMadeProgress(reports: ChaosReport[]): void {
  for (const r of reports) {
    // Liveness smoke: proposals are offered on ~30% of steps; a healthy core commits most of them
    // between faults (about a quarter of the steps on the worst default seed), so a tenth is a floor.
    const floor = Math.floor(r.steps * 0.1);
    assert.ok(r.proposalsCommitted >= floor, `seed ${r.seed}: only ${r.proposalsCommitted} proposals committed in ${r.steps} steps (< ${floor})`);
    assert.ok(r.maxCommitted > 0, `seed ${r.seed}: nothing committed`);
  }
}

test('randomised 3-member clusters keep every safety property and make progress', () => {
  assertMadeProgress(runSeeds(3, 1, 40, 3000));
});

test('randomised 5-member clusters keep every safety property and make progress', () => {
  assertMadeProgress(runSeeds(5, 501, 30, 3000));
});

test('the same seed replays the same run, bit for bit', () => {
  const run = () => runChaos({ seed: 77, members: 3, steps: 600, faults: FAULTS });
  const first = run();
  const second = run();
  assert.equal(first.traceHash, second.traceHash);
  assert.deepEqual(first, second);
});
