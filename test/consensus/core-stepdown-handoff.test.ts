// A leader that steps down because it hears no quorum asks the most caught-up voter it could not
// hear to campaign at once (issue 16): when the leader cannot hear but is still heard (a link cut
// one way), its followers stay in their lease until an election timeout after the step-down, and
// such elections took two election timeouts and more with a quorum of voters connected.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Message } from '../../consensus/types.js';
import { Net } from './core-net.js';

const ids = ['a', 'b', 'c', 'd', 'e'];

function leaderA(): Net {
  const net = new Net(ids);
  net.campaign('a');
  assert.deepEqual(net.leaders(), ['a']);
  net.propose('a', 'x');
  net.stabilize();
  return net;
}

/** Ticks the leader alone (delivering what it sends) until it steps down; returns the timeoutNow messages it sent. */
function tickUntilStepDown(net: Net): Message[] {
  const asked: Message[] = [];
  const a = net.node('a');
  for (let i = 0; i < 100 && a.status().role === 'leader'; i++) {
    net.tick('a');
    net.stabilize();
  }
  assert.equal(a.status().role, 'follower', 'CheckQuorum stepped it down');
  for (const m of net.delivered) if (m.type === 'timeoutNow') asked.push(m);
  return asked;
}

test('a leader that cannot hear, but is heard, hands over at its step-down: a new leader without waiting out the lease', () => {
  const net = leaderA();
  const term = net.node('a').status().term;
  net.drops.push((m) => m.to === 'a'); // a's followers hear it; it hears nobody
  const asked = tickUntilStepDown(net);
  assert.equal(asked.length, 1, 'one voter asked');
  assert.equal(asked[0].to, 'b', 'all caught up: the first name');
  // No member has ticked but a: the followers are all still in their lease.
  const leaders = ['b', 'c', 'd', 'e'].filter((id) => net.node(id).status().role === 'leader');
  assert.deepEqual(leaders, ['b'], 'b was elected by voters still in their lease');
  assert.equal(net.node('b').status().term, term + 1);
  assert.deepEqual(net.appliedTexts('b'), ['x'], 'nothing committed is lost');
});

test('a voter the stepping-down leader still hears is not asked; nor is one lacking committed entries', () => {
  const net = new Net(ids);
  net.campaign('a');
  net.drops.push((m) => m.to === 'c'); // c misses the next entry, which commits without it
  net.propose('a', 'x');
  net.stabilize();
  const a = net.node('a');
  assert.ok((a.status().progress?.find((p) => p.member === 'c')?.match ?? 0) < a.status().commit, 'c lacks a committed entry');
  // a hears b only: b is on its side of the cut.
  net.drops.push((m) => m.to === 'a' && m.from !== 'b');
  const asked = tickUntilStepDown(net);
  assert.deepEqual(asked.map((m) => m.to), ['d'], 'not b (heard), not c (behind): d, the first of the others');
});

test('a leader cut off both ways asks nobody it can reach, and the cluster elects as before', () => {
  const net = leaderA();
  net.isolated.add('a');
  tickUntilStepDown(net);
  net.isolated.delete('a');
  assert.deepEqual(['b', 'c', 'd', 'e'].filter((id) => net.node(id).status().role !== 'follower'), [], 'no follower campaigned without its timeout');
});
