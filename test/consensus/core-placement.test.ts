// Elections across a WAN (consensus/placement.ts; DESIGN.md "Elections across a WAN"): election
// timeouts drawn from a range scaled to measured round trips, and a leader that hands over to a
// better-placed voter, at most once per hold period and never back and forth.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bootstrapState } from '../../consensus/bootstrap.js';
import {
  MIN_SPREAD_TICKS,
  TRANSFER_HOLD_TIMEOUTS,
  TRANSFER_MIN_GAIN_TICKS,
  betterPlacedVoter,
  electionTimeoutRange,
  quorumRttTicks,
} from '../../consensus/placement.js';
import { seededRandom } from '../../consensus/prng.js';
import { Raft } from '../../consensus/raft.js';
import { DEFAULT_RAFT_CONFIG } from '../../consensus/api.js';
import { Net } from './core-net.js';

const T = DEFAULT_RAFT_CONFIG.electionTimeoutTicks;
const VOTERS = ['a', 'b', 'c', 'd', 'e'];

test('quorumRttTicks: the round trip to the nearest voters that make a majority with self', () => {
  const rtt = new Map([['b', 1], ['c', 4], ['d', 2], ['e', 9]]);
  assert.equal(quorumRttTicks('a', VOTERS, (v) => rtt.get(v)), 2, 'a needs two others: b (1) and d (2)');
  assert.equal(quorumRttTicks('a', VOTERS, (v) => (v === 'b' ? 1 : undefined)), undefined, 'one known round trip is not enough');
  assert.equal(quorumRttTicks('x', VOTERS, (v) => rtt.get(v)), undefined, 'not a voter');
  assert.equal(quorumRttTicks('a', ['a'], () => undefined), 0, 'alone it is its own quorum');
});

test('electionTimeoutRange: the configured range without measurements; narrower with them, never below the floor', () => {
  const bounds = { minTicks: 10, maxTicks: 20, heartbeatTicks: 1 };
  assert.deepEqual(electionTimeoutRange(bounds), { low: 10, spread: 10 }, '[T, 2T) as before');
  assert.deepEqual(electionTimeoutRange({ ...bounds, quorumRttTicks: 1.5 }), { low: 10, spread: 6 }, 'two campaigns of two round trips of 1.5');
  assert.deepEqual(electionTimeoutRange({ ...bounds, quorumRttTicks: 0.1 }), { low: 10, spread: MIN_SPREAD_TICKS });
  assert.deepEqual(electionTimeoutRange({ ...bounds, quorumRttTicks: 8 }), { low: 10, spread: 10 }, 'capped by the configured ceiling');
  // A leader so far away that a heartbeat interval and its round trip exceed the floor raises it.
  assert.deepEqual(electionTimeoutRange({ ...bounds, leaderRttTicks: 11.2, quorumRttTicks: 1 }), { low: 14, spread: 4 });
  assert.deepEqual(electionTimeoutRange({ ...bounds, leaderRttTicks: 50 }), { low: 19, spread: 1 }, 'still below the ceiling');
});

test('betterPlacedVoter: only a clear gain, by fraction and by ticks; ties by name', () => {
  assert.equal(betterPlacedVoter([{ member: 'b', quorumRttTicks: 2 }, { member: 'c', quorumRttTicks: 1 }], 4), 'c');
  assert.equal(betterPlacedVoter([{ member: 'b', quorumRttTicks: 3.5 }], 4), undefined, 'half a tick is noise');
  assert.equal(betterPlacedVoter([{ member: 'b', quorumRttTicks: 9 }], 10), undefined, 'less than 20 %');
  assert.equal(betterPlacedVoter([{ member: 'c', quorumRttTicks: 1 }, { member: 'b', quorumRttTicks: 1 }], 4), 'b');
  assert.equal(betterPlacedVoter([], 4), undefined);
  assert.ok(TRANSFER_MIN_GAIN_TICKS > 0);
});

/** Positions on a line: round trips are distances (c sits in the middle, a and e at the ends). */
const POSITION: Record<string, number> = { a: 0, b: 3, c: 5, d: 7, e: 10 };
function measured(net: Net, positions: Record<string, number> = POSITION): void {
  for (const id of VOTERS) {
    const rtts = new Map(VOTERS.filter((v) => v !== id).map((v) => [v, Math.abs(positions[v] - positions[id])]));
    net.node(id).setLinkRtts(rtts);
  }
}

test('measured round trips narrow the timeout range: a follower times out within [T, T + spread)', () => {
  // a's nearest two voters are 1 tick away: spread = max(2, 2 * 2 * 1) = 4.
  const near = new Map([['b', 1], ['c', 1], ['d', 1], ['e', 1]]);
  const seen: number[] = [];
  for (let seed = 1; seed <= 200; seed++) {
    const node = new Raft({ ...DEFAULT_RAFT_CONFIG, id: 'a', random: seededRandom(seed) }, bootstrapState(VOTERS, []));
    node.setLinkRtts(near);
    node.step({ type: 'heartbeat', from: 'b', to: 'a', term: 1, commit: 0 }); // follows b: the timer restarts with the new range
    let ticks = 0;
    while (node.status().role === 'follower' && ticks < 100) {
      node.tick();
      ticks++;
    }
    seen.push(ticks);
  }
  assert.ok(Math.min(...seen) >= T, `never before the floor: ${Math.min(...seen)}`);
  assert.ok(Math.max(...seen) < T + 4, `always within the narrowed range: ${Math.max(...seen)}`);
  assert.ok(new Set(seen).size === 4, 'every tick of the range is drawn');
});

test('a leader hands over to the better-placed voter once, after the hold, and it never comes back', () => {
  const net = new Net(VOTERS);
  measured(net);
  net.campaign('a'); // a, at one end, is the worst placed: its quorum round trip is 5 (to b and c)
  assert.deepEqual(net.leaders(), ['a']);
  const hold = TRANSFER_HOLD_TIMEOUTS * T;
  net.run(hold - 2);
  assert.deepEqual(net.leaders(), ['a'], 'nothing moves before the hold');
  net.run(4 * hold);
  assert.deepEqual(net.leaders(), ['c'], 'c, in the middle (quorum round trip 2), leads');
  const transfers = VOTERS.reduce((n, id) => n + (net.node(id).status().placementTransfers ?? 0), 0);
  assert.equal(transfers, 1, 'one hand-over in all');
  assert.equal(net.node('a').status().placementTransfers, 1);
  assert.equal(net.node('a').status().handedOverTo, 'c');
});

test('without measurements, or with leaderPlacement off, the leadership does not move', () => {
  const quiet = new Net(VOTERS);
  quiet.campaign('a');
  quiet.run(3 * TRANSFER_HOLD_TIMEOUTS * T);
  assert.deepEqual(quiet.leaders(), ['a']);
  const off = new Net(VOTERS, { leaderPlacement: false });
  measured(off);
  off.campaign('a');
  off.run(3 * TRANSFER_HOLD_TIMEOUTS * T);
  assert.deepEqual(off.leaders(), ['a']);
});

test('measurements that always favour another voter move the leadership at most once per hold period', () => {
  const net = new Net(VOTERS);
  net.campaign('a');
  const hold = TRANSFER_HOLD_TIMEOUTS * T;
  const rounds = 8 * hold;
  let changes = 0;
  let leader = 'a';
  for (let i = 0; i < rounds; i++) {
    // Adversarial noise: whoever leads measures itself far from everyone, the others near.
    const far: Record<string, number> = { a: 0, b: 0, c: 0, d: 0, e: 0 };
    far[leader] = 50;
    measured(net, far);
    net.run(1);
    const now = net.leaders();
    if (now.length === 1 && now[0] !== leader) {
      changes++;
      leader = now[0];
    }
  }
  assert.ok(changes >= 2, `the rule does act on such measurements (${changes} changes)`);
  assert.ok(changes <= rounds / hold, `${changes} changes in ${rounds} ticks: at most one per ${hold}`);
});

test('a hand-over goes only to a caught-up voter: a voter cut off from the log is never chosen', () => {
  const net = new Net(VOTERS);
  measured(net);
  net.campaign('a');
  net.isolated.add('c'); // the best-placed voter hears nothing
  for (let i = 0; i < 5; i++) net.propose('a', `w${i}`);
  net.stabilize();
  net.run(2 * TRANSFER_HOLD_TIMEOUTS * T);
  const leaders = net.leaders();
  assert.equal(leaders.length, 1);
  assert.notEqual(leaders[0], 'c');
  assert.ok(['b', 'd', 'a'].includes(leaders[0]), `led by ${leaders[0]}`);
  // Back and caught up, c is a fair target again; whoever leads then holds every write.
  net.isolated.delete('c');
  net.run(2 * TRANSFER_HOLD_TIMEOUTS * T);
  const [last] = net.leaders();
  assert.deepEqual(net.appliedTexts(last).filter((t) => t.startsWith('w')), ['w0', 'w1', 'w2', 'w3', 'w4']);
});

test("learners' traffic starts and disturbs no election: the same election with and without 20 learners", () => {
  /** Loses the leader and lets the voters elect another; what the election looked like. */
  const election = (learners: string[]): { term: number; leader: string; campaign: Array<{ type: string; from: string; to: string }> } => {
    const net = new Net(['a', 'b', 'c'], {}, learners);
    for (const id of ['a', 'b', 'c']) net.node(id).setLinkRtts(new Map(['a', 'b', 'c'].filter((v) => v !== id).map((v) => [v, 1])));
    net.campaign('a');
    for (let i = 0; i < 3; i++) net.propose('a', `w${i}`);
    net.run(3 * T);
    const since = net.delivered.length;
    net.isolated.add('a');
    net.run(8 * T);
    const campaign = net.delivered.slice(since).filter((m) => m.type === 'preVote' || m.type === 'vote' || m.type === 'preVoteResp' || m.type === 'voteResp');
    const leaders = net.leaders().filter((id) => id !== 'a');
    assert.equal(leaders.length, 1, 'a new leader');
    return { term: net.node(leaders[0]).status().term, leader: leaders[0], campaign: campaign.map(({ type, from, to }) => ({ type, from, to })) };
  };
  const alone = election([]);
  const withLearners = election(Array.from({ length: 20 }, (_, i) => `l${i}`));
  assert.ok(withLearners.campaign.length > 0);
  assert.ok(withLearners.campaign.every((m) => !m.from.startsWith('l') && !m.to.startsWith('l')), 'no learner sent or got a vote request');
  assert.deepEqual(withLearners, alone, 'the same campaigns, the same term, the same leader');
});

test('the shipped core runs with PreVote and CheckQuorum on (the daemon and the simulator set neither)', () => {
  assert.equal(DEFAULT_RAFT_CONFIG.preVote, true);
  assert.equal(DEFAULT_RAFT_CONFIG.checkQuorum, true);
});
