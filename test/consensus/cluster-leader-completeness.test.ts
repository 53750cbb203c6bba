// Leader completeness: every newly elected leader holds every entry committed before its election.
// The harness checks it at every election (invariants.ts, fed by every member's commit index); this
// file drives elections hard: the Figure 8 schedule of the Raft paper, step by step, and random
// schedules over many seeds with crashes, partitions and leadership transfers.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Message } from '../../consensus/types.js';
import { runChaos } from './chaos.js';
import { seedPlan } from './chaos-seeds.js';
import { Cluster, text } from './harness.js';

test('an old-term entry on a majority is not committed by counting, and a later leader may replace it (Figure 8)', () => {
  const c = new Cluster({ voters: ['s1', 's2', 's3', 's4', 's5'], seed: 8 });
  c.campaignByTicking('s1');
  const base = c.write('base');
  c.waitApplied(base.index);

  // s1 (term t1) gets entry A onto s2 only, then crashes.
  c.bus.partition(['s1', 's2'], ['s3', 's4', 's5']);
  const a = c.propose('A', 's1');
  assert.ok(a.ok);
  c.settle();
  assert.equal(c.member('s2').disk.entry(a.index)?.term, a.term, 'A reached s2');
  c.crash('s1');

  // s5 wins the next term with s3 and s4 and writes its no-op at A's index on itself only.
  c.reboot('s3', 's4', 's5');
  c.bus.intercept = (m) => (m.type === 'append' && m.from === 's5' ? 'drop' : 'deliver');
  const t3 = c.campaignByTicking('s5');
  const b = c.member('s5').disk.entry(a.index);
  assert.equal(b?.term, t3, "s5's own entry sits at A's index");
  c.crash('s5');

  // s1 returns, wins a later term and copies A to s3: A is now on a majority (s1, s2, s3, s4) but
  // its term is old, and appends are cut before s1's own no-op, so nothing of s1's term can commit.
  c.restart('s1');
  c.reboot('s2', 's3', 's4');
  c.bus.partition(['s5'], ['s1', 's2', 's3', 's4']);
  c.bus.intercept = (m) => (m.type === 'append' && m.from === 's1' ? { replace: truncateAppend(m, a.index) } : 'deliver');
  // The rewriting network may make s1 retry its appends: settle for a bounded number of rounds.
  const t4 = c.campaignByTicking('s1', 300, 100);
  for (let i = 0; i < 5; i++) {
    c.tick('s1');
    c.settle(100, false);
  }
  const holders = ['s1', 's2', 's3', 's4'].filter((id) => c.member(id).disk.entry(a.index)?.term === a.term);
  assert.ok(holders.length >= 3, `A is on a majority (${holders})`);
  assert.ok(t4 > t3, 'the scenario ran in the order of the paper');
  assert.ok(c.raft('s1').status().commit < a.index, `s1 must not commit A (term ${a.term}) in term ${t4} by counting`);
  assert.ok(c.checker.maxCommitted < a.index, 'nobody saw A committed');

  // s1 crashes; s5 (last log term t3 > A's term) may win and overwrite A: safe, since A never committed.
  c.crash('s1');
  c.restart('s5');
  c.reboot('s2', 's3', 's4');
  c.bus.intercept = null;
  c.bus.partition(['s1'], ['s2', 's3', 's4', 's5']);
  c.campaignByTicking('s5');
  const after = c.write('after');
  assert.equal(c.checker.committed.get(a.index)?.term, t3, "s5's entry, not A, is committed at A's index");
  c.bus.heal();
  c.restart('s1');
  c.waitApplied(after.index, c.ids());
  for (const m of c.members.values()) {
    assert.equal(m.disk.entry(a.index)?.term, t3, `${m.id} replaced A`);
    assert.notEqual(text(m.disk.entry(a.index)!.data), 'A');
  }
});

/** An append that carries only the entries up to `maxIndex` (a leader may always send fewer). */
function truncateAppend(m: Message, maxIndex: number): Message {
  return { ...m, entries: (m.entries ?? []).filter((e) => e.index <= maxIndex) };
}

test('a leader elected after a crash holds every entry committed before (deterministic)', () => {
  const c = new Cluster({ voters: ['a', 'b', 'c'], seed: 3 });
  c.electLeader();
  for (let i = 0; i < 10; i++) c.write(`w${i}`);
  let checked = 0;
  c.checker.onNewLeader = () => checked++;
  for (let round = 0; round < 4; round++) {
    const old = c.electLeader();
    c.crash(old);
    const next = c.electLeader();
    assert.notEqual(next, old);
    c.write(`after-${round}`);
    c.restart(old);
  }
  assert.ok(checked >= 4, `completeness checked at ${checked} elections`);
});

test('random schedules: every new leader holds every committed entry', () => {
  const plan = seedPlan(1000, 24, 1500);
  let checks = 0;
  let leaders = 0;
  for (const seed of plan.seeds) {
    const members = seed % 2 === 0 ? 3 : 5;
    const r = runChaos({
      seed,
      members,
      steps: plan.steps,
      faults: { dropRate: 0.05, duplicateRate: 0.05, maxDelaySteps: 3 },
      // Election-heavy: frequent crashes, partitions and transfers.
      rates: { crash: 0.012, restart: 0.08, partition: 0.01, heal: 0.04, transfer: 0.01, propose: 0.3 },
      replay: `CHAOS_SEED=${seed} CHAOS_STEPS=${plan.steps} node --test ${fileURLToPath(import.meta.url)}`,
    });
    checks += r.leaderCompletenessChecks;
    leaders += r.leadersElected;
  }
  console.log(`leader completeness: ${plan.seeds.length} seeds x ${plan.steps} steps, ${leaders} elections, ${checks} checked with entries committed`);
  assert.ok(checks >= plan.seeds.length * 2, `too few elections with committed entries to check (${checks})`);
});
