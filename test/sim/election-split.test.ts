// The report's split of election times (harness/quorum-timeline.ts) and the leaders' egress
// (harness/leader-egress.ts): the arithmetic, on hand-made inputs.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { poolElections, type SeedElections } from '../../sim/election-sweep.js';
import { LeaderEgress } from '../../sim/harness/leader-egress.js';
import { QUORUM_SAMPLE_MS, QuorumTimeline, majorityConnected } from '../../sim/harness/quorum-timeline.js';
import { Scheduler } from '../../sim/scheduler.js';

test('majorityConnected: a majority of up voters that can all talk to each other both ways', () => {
  const voters = ['a', 'b', 'c', 'd', 'e'];
  const all = (): boolean => true;
  assert.equal(majorityConnected(voters, all, all), true);
  assert.equal(majorityConnected(voters, (s) => s === 'a' || s === 'b', all), false, 'two of five up');
  // a-b-c connected, but c cannot hear b: no three are pairwise connected both ways.
  const blocked = new Set(['b>c', 'd>a', 'e>a', 'd>b', 'e>b', 'd>c', 'e>c']);
  const linked = (x: string, y: string): boolean => !blocked.has(`${x}>${y}`);
  assert.equal(majorityConnected(voters, all, linked), false);
  blocked.delete('b>c');
  assert.equal(majorityConnected(voters, all, linked), true, 'a, b, c');
  const many = Array.from({ length: 15 }, (_, i) => `v${i}`);
  assert.equal(majorityConnected(many, all, all), true, 'greedy beyond the exact search');
  assert.equal(majorityConnected(many, (s) => Number(s.slice(1)) < 7, all), false);
});

test('QuorumTimeline.split: time in an interval with and without a connected quorum', () => {
  const scheduler = new Scheduler();
  let connected = true;
  const timeline = new QuorumTimeline(scheduler, 1_000, () => connected);
  timeline.start();
  scheduler.at(300, () => (connected = false));
  scheduler.at(500, () => (connected = true));
  scheduler.runUntil(1_000);
  const split = timeline.split(200, 700);
  assert.equal(split.quorumMs + split.noQuorumMs, 500);
  assert.equal(split.noQuorumMs, 200, `samples every ${QUORUM_SAMPLE_MS} ms: [300, 500) had no quorum`);
});

test('LeaderEgress sums what each site sent while it led', () => {
  const sent = new Map([['a', 0], ['b', 0]]);
  const egress = new LeaderEgress((s) => sent.get(s)!);
  sent.set('a', 100); // before leading: not counted
  egress.onLeader('a');
  sent.set('a', 350);
  egress.onNotLeader('b'); // not the leader: nothing
  egress.onNotLeader('a');
  sent.set('a', 1_000);
  egress.onLeader('b');
  sent.set('b', 40);
  assert.equal(egress.totalBytes(), 250 + 40);
});

test('poolElections: every election of every seed in one distribution, also in election timeouts', () => {
  const seed = (n: number, quorumConnectedMs: number[], noQuorumMs: number[]): SeedElections => ({
    seed: n, verdict: 'pass', elections: quorumConnectedMs.length, quorumConnectedMs, noQuorumMs, spansMs: quorumConnectedMs.map(() => [0, 1]),
    commitP50Ms: 100, modelFloorMs: 90, leaderEgressPerWrite: 1, virtualMs: 1_000, wallMs: 1_000,
  });
  const pooled = poolElections([seed(1, [1000, 3000], [0, 0]), seed(2, [2000], [500]), seed(3, [], [])], 1_000);
  assert.equal(pooled.elections, 3);
  assert.equal(pooled.quorumConnected.p50, 2000);
  assert.equal(pooled.quorumConnected.max, 3000);
  assert.equal(pooled.quorumConnectedInTimeouts.max, 3);
  assert.equal(pooled.noQuorum.max, 500);
  assert.equal(poolElections([seed(1, [], [])], 1_000).elections, 0, 'no elections: nothing pooled');
});
