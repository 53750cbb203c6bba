// Split votes across a WAN (issue 16; DESIGN.md "Elections across a WAN"): every election that took
// over two election timeouts with a quorum connected in the 20-site traces was two voters timing out
// within a round trip of each other, both winning their pre-vote, splitting the vote, and waiting a
// whole election timeout before trying again. With measured round trips, a candidate now campaigns
// again after one campaign (doubling each time), a pre-candidate steps back for a rival that
// outranks it, and a voter that granted a pre-vote leaves the pre-candidate time to ask for votes.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_RAFT_CONFIG } from '../../consensus/api.js';
import { campaignRetryRange, electionTimeoutRange, preVoteGrantHoldTicks } from '../../consensus/placement.js';
import type { Raft } from '../../consensus/raft.js';
import type { Message } from '../../consensus/types.js';
import { drain, founder, sent, tickUntilCampaign } from './core-net.js';

const T = DEFAULT_RAFT_CONFIG.electionTimeoutTicks;
const VOTERS = ['a', 'b', 'c', 'd', 'e'];

function measuredFounder(id: string, seed: number, rttTicks = 1): Raft {
  const node = founder(id, VOTERS, {}, [], seed);
  node.setLinkRtts(new Map(VOTERS.filter((v) => v !== id).map((v) => [v, rttTicks])));
  return node;
}

/** From follower to candidate: wins its pre-vote with b and c. Returns the candidate's term. */
function toCandidate(node: Raft): number {
  if (node.status().role === 'follower') tickUntilCampaign(node);
  assert.equal(node.status().role, 'preCandidate');
  const term = node.status().term + 1;
  for (const g of ['b', 'c']) node.step({ type: 'preVoteResp', from: g, to: node.id, term, reject: false });
  assert.equal(node.status().role, 'candidate');
  drain(node);
  return node.status().term;
}

/** A split: c grants, b and d voted for someone else, e (the dead leader) never answers. Returns the ticks until it campaigns again. */
function splitAndWait(node: Raft, term: number): number {
  node.step({ type: 'voteResp', from: 'c', to: node.id, term, reject: false });
  for (const r of ['b', 'd']) node.step({ type: 'voteResp', from: r, to: node.id, term, reject: true });
  assert.equal(node.status().role, 'candidate', 'two grants, two refusals, one silent: undecided');
  for (let ticks = 1; ticks <= 10 * T; ticks++) {
    node.tick();
    drain(node);
    if (node.status().role !== 'candidate') return ticks;
  }
  throw new Error('the candidate never campaigned again');
}

test('campaignRetryRange: one campaign (after the first resend), doubling per campaign, back to the ordinary range; a quarter of T without measurements', () => {
  const bounds = { minTicks: 10, maxTicks: 20, heartbeatTicks: 1 };
  const resend = 3;
  assert.deepEqual(campaignRetryRange(bounds, 1, resend), { low: 4, spread: 5 }, 'no measurements: a quarter of T, past the resend');
  assert.deepEqual(campaignRetryRange(bounds, 2, resend), { low: 8, spread: 5 });
  assert.deepEqual(campaignRetryRange(bounds, 3, resend), electionTimeoutRange(bounds), 'then [T, 2T) as before');
  const q = { ...bounds, quorumRttTicks: 2.5 };
  assert.deepEqual(campaignRetryRange(q, 1, resend), { low: 5, spread: 10 }, 'a campaign is a pre-vote and a vote round of 2.5 ticks each');
  assert.deepEqual(campaignRetryRange(q, 2, resend), electionTimeoutRange(q), 'never above the ordinary floor');
  assert.deepEqual(campaignRetryRange({ ...q, quorumRttTicks: 1.5 }, 1, resend), { low: 4, spread: 6 }, 'not before the first resend');
  assert.deepEqual(campaignRetryRange({ ...q, quorumRttTicks: 0.01 }, 1, 0), { low: 2, spread: 2 }, 'at least two ticks');
  assert.deepEqual(campaignRetryRange(q, 40, resend), electionTimeoutRange(q), 'long runs of failed campaigns: the ordinary range');
  assert.equal(preVoteGrantHoldTicks(undefined, 3), undefined, 'no measurements: no hold');
  assert.equal(preVoteGrantHoldTicks(1, 0.5), 3);
  assert.equal(preVoteGrantHoldTicks(1, 2.2), 6, 'a far pre-candidate gets longer');
});

test('a candidate in a split vote campaigns again after one campaign, not a whole election timeout, and backs off', () => {
  for (let seed = 1; seed <= 20; seed++) {
    const a = measuredFounder('a', seed);
    const waits: number[] = [];
    for (let round = 0; round < 4; round++) {
      const term = toCandidate(a);
      waits.push(splitAndWait(a, term));
      assert.equal(a.status().role, 'preCandidate', 'it campaigns again through a pre-vote');
      assert.equal(a.status().term, term, 'the pre-vote does not raise the term');
    }
    // quorum round trip 1 tick: a campaign is 2 ticks, but the first resend is at 3; spread 4 ticks.
    assert.ok(waits[0] >= 4 && waits[0] < 8, `first retry within [4, 8): ${waits[0]}`);
    assert.ok(waits[1] >= 8 && waits[1] < 12, `second within [8, 12): ${waits[1]}`);
    assert.ok(waits[2] >= T && waits[2] < T + 4, `then the ordinary range again: ${waits[2]}`);
    assert.ok(waits[3] >= T, `and it stays there: ${waits[3]}`);
  }
});

test('without measured round trips a split candidate campaigns again within [T/4, 3T/4) (past the first resend), then [T/2, T), then [T, 2T)', () => {
  for (let seed = 1; seed <= 20; seed++) {
    const a = founder('a', VOTERS, {}, [], seed);
    const waits = [0, 1, 2].map(() => splitAndWait(a, toCandidate(a)));
    assert.ok(waits[0] >= 4 && waits[0] < 9, `${waits[0]}`);
    assert.ok(waits[1] >= 8 && waits[1] < 13, `${waits[1]}`);
    assert.ok(waits[2] >= T && waits[2] < 2 * T, `${waits[2]}`);
  }
});

test('a leader resets the count: after a term of leading, the first failed campaign is short again', () => {
  const a = measuredFounder('a', 3);
  splitAndWait(a, toCandidate(a));
  const term = toCandidate(a);
  for (const g of ['b', 'c']) a.step({ type: 'voteResp', from: g, to: 'a', term, reject: false });
  assert.equal(a.status().role, 'leader');
  a.step({ type: 'heartbeat', from: 'b', to: 'a', term: term + 1, commit: 0 }); // b leads term + 1
  assert.equal(a.status().role, 'follower');
  const wait = splitAndWait(a, toCandidate(a));
  assert.ok(wait < 8, `first campaign since following a leader: ${wait}`);
});

function preVoteFrom(node: Raft, from: string, lastTermDelta = 0): Message {
  const index = node.status().lastIndex;
  const logTerm = node.entries(index, index + 1)[0].term + lastTermDelta;
  return { type: 'preVote', from, to: node.id, term: node.status().term + 1, index, logTerm };
}

test('of two pre-candidates with the same log, the lower name goes on and the other steps back', () => {
  const c = measuredFounder('c', 5);
  tickUntilCampaign(c);
  drain(c);
  c.step(preVoteFrom(c, 'd'));
  assert.equal(sent(drain(c)).find((m) => m.type === 'preVoteResp')?.reject, false, 'granted');
  assert.equal(c.status().role, 'preCandidate', 'c outranks d: it goes on');
  c.step(preVoteFrom(c, 'b'));
  assert.equal(sent(drain(c)).find((m) => m.type === 'preVoteResp')?.reject, false, 'granted');
  assert.equal(c.status().role, 'follower', 'b outranks c: c steps back');
  // b's vote request for the term it pre-voted gets c's vote.
  const index = c.status().lastIndex;
  c.step({ type: 'vote', from: 'b', to: 'c', term: c.status().term + 1, index, logTerm: c.entries(index, index + 1)[0].term });
  assert.equal(sent(drain(c)).find((m) => m.type === 'voteResp')?.reject, false);
});

test('a pre-candidate steps back for a more up-to-date rival whatever its name; without measurements nobody steps back', () => {
  const e = measuredFounder('e', 5);
  tickUntilCampaign(e);
  drain(e);
  e.step(preVoteFrom(e, 'z', 1));
  assert.equal(e.status().role, 'follower', 'z has a later last term');
  const plain = founder('c', VOTERS, {}, [], 5);
  tickUntilCampaign(plain);
  drain(plain);
  plain.step(preVoteFrom(plain, 'b'));
  assert.equal(plain.status().role, 'preCandidate');
});

test('a follower that granted a pre-vote does not campaign until the pre-candidate had time to ask for votes', () => {
  for (let seed = 1; seed <= 20; seed++) {
    const due = tickUntilCampaign(measuredFounder('c', seed));
    const c = measuredFounder('c', seed); // the same draws: its timeout fires at tick `due`
    for (let i = 1; i < due; i++) c.tick();
    c.step(preVoteFrom(c, 'b'));
    assert.equal(sent(drain(c)).find((m) => m.type === 'preVoteResp')?.reject, false);
    const hold = preVoteGrantHoldTicks(1, 1)!;
    let ticks = 0;
    while (c.status().role === 'follower' && ticks < 10 * T) {
      c.tick();
      ticks++;
    }
    assert.equal(ticks, hold, `it waits the hold (${hold} ticks) and then campaigns: seed ${seed}`);
  }
});

/** Ticks `node` as long as it stays a candidate (at most `limit` ticks); returns the vote requests it sent meanwhile. */
function tickAsCandidate(node: Raft, limit: number): { ticks: number; resent: Message[] } {
  const resent: Message[] = [];
  let ticks = 0;
  while (node.status().role === 'candidate' && ticks < limit) {
    node.tick();
    ticks++;
    resent.push(...sent(drain(node)).filter((m) => m.type === 'vote'));
  }
  return { ticks, resent };
}

test('a candidate that meets only silence (answers lost, no refusal) keeps its term and resends for the ordinary timeout, and wins when a lost grant is answered again', () => {
  for (let seed = 1; seed <= 20; seed++) {
    const a = measuredFounder('a', seed);
    const term = toCandidate(a);
    a.step({ type: 'voteResp', from: 'c', to: 'a', term, reject: false }); // b's and d's grants are lost, e is dead
    const { ticks, resent } = tickAsCandidate(a, T - 1);
    assert.equal(a.status().role, 'candidate', `no refusal: still a candidate after ${ticks} ticks (seed ${seed})`);
    assert.equal(a.status().term, term, 'in the same term');
    assert.ok(resent.length >= 3 * 2, `asked b, d and e again, at least twice: ${resent.length}`);
    assert.ok(resent.every((m) => m.term === term && m.to !== 'c'), 'for this term, and only voters that have not answered');
    a.step({ type: 'voteResp', from: 'b', to: 'a', term, reject: false }); // b's answer to a resend
    assert.equal(a.status().role, 'leader', 'three of five in the same term');
    assert.equal(a.status().term, term);
  }
});

test('a refusal that comes late still cuts the wait to the retry range, counted from the start of the campaign', () => {
  for (let seed = 1; seed <= 20; seed++) {
    const a = measuredFounder('a', seed);
    const term = toCandidate(a);
    a.step({ type: 'voteResp', from: 'c', to: 'a', term, reject: false });
    const before = tickAsCandidate(a, 6);
    assert.equal(before.ticks, 6);
    a.step({ type: 'voteResp', from: 'b', to: 'a', term, reject: true }); // b voted for a rival: a split
    const after = tickAsCandidate(a, 10 * T);
    assert.equal(a.status().role, 'preCandidate', 'it campaigns again through a pre-vote');
    // The retry range with a 1-tick quorum round trip is [4, 8): due already, or within 8 ticks of the start.
    assert.ok(6 + after.ticks <= 8, `campaigned again ${6 + after.ticks} ticks into the campaign (seed ${seed})`);
  }
});
