// Properties 5 and 6: PreVote keeps a partitioned member from disrupting the cluster when it
// returns; CheckQuorum makes a leader without a quorum step down within one election timeout, and
// makes members that hear from a live leader ignore (pre-)vote requests (leader stickiness).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Net, drain, sent } from './core-net.js';

const ids = ['a', 'b', 'c', 'd', 'e'];

function clusterWithLeaderA(overrides = {}): Net {
  const net = new Net(ids, overrides);
  net.campaign('a');
  assert.deepEqual(net.leaders(), ['a']);
  return net;
}

test('an isolated member that rejoins raises no term and deposes no leader', () => {
  const net = clusterWithLeaderA();
  const term = net.node('a').status().term;
  net.isolated.add('e');
  net.run(60); // e times out several times while cut off
  assert.equal(net.node('e').status().term, term, 'pre-votes do not raise the term');
  assert.notEqual(net.node('e').status().role, 'candidate');
  net.propose('a', 'while-e-was-away');
  net.stabilize();
  net.isolated.delete('e');
  net.run(30);
  assert.deepEqual(net.leaders(), ['a']);
  for (const id of ids) {
    assert.equal(net.node(id).status().term, term, `term of ${id}`);
  }
  assert.equal(net.node('e').status().role, 'follower');
  assert.equal(net.node('e').status().leader, 'a');
  assert.deepEqual(net.appliedTexts('e'), ['while-e-was-away'], 'e caught up');
});

test('without PreVote the same partition would raise the term (the property above is not vacuous)', () => {
  const net = clusterWithLeaderA({ preVote: false });
  const term = net.node('a').status().term;
  net.isolated.add('e');
  net.run(60);
  assert.ok(net.node('e').status().term > term);
});

test('CheckQuorum: a leader cut off from its quorum steps down within one election timeout', () => {
  const net = clusterWithLeaderA();
  net.run(3);
  const a = net.node('a');
  assert.equal(a.quorumActive(), true);
  net.isolated.add('a');
  let ticks = 0;
  while (a.status().role === 'leader' && ticks < 100) {
    net.tick('a');
    ticks++;
  }
  assert.equal(a.status().role, 'follower');
  assert.ok(ticks <= 10, `stepped down after ${ticks} ticks (election timeout 10)`);
  assert.equal(a.quorumActive(), false);
  assert.equal(a.propose(new Uint8Array([1])).ok, false);
});

test('CheckQuorum: a leader that still hears a bare quorum keeps leading', () => {
  const net = clusterWithLeaderA();
  net.isolated.add('d');
  net.isolated.add('e');
  net.run(50);
  assert.deepEqual(net.leaders(), ['a']);
  assert.equal(net.node('a').quorumActive(), true);
  assert.ok(net.node('a').ticksSinceHeard('d') >= 50);
  assert.equal(net.node('a').ticksSinceHeard('b'), 0);
  assert.equal(net.node('a').ticksSinceHeard('a'), 0);
});

test('stickiness: a member that heard from the leader recently ignores vote requests', () => {
  const net = clusterWithLeaderA();
  net.run(2);
  const b = net.node('b');
  const term = b.status().term;
  for (const type of ['vote', 'preVote'] as const) {
    b.step({ type, from: 'e', to: 'b', term: term + 1, logTerm: 99, index: 999 });
    const answers = sent(drain(b));
    assert.deepEqual(answers, [], `${type} request ignored`);
    assert.equal(b.status().term, term);
    assert.equal(b.status().leader, 'a');
  }
  // Once the leader has been silent for an election timeout, the same request is granted.
  net.isolated.add('a');
  for (let i = 0; i < 10; i++) b.tick();
  if (b.status().role !== 'follower') return assert.fail('b campaigned before granting');
  b.step({ type: 'vote', from: 'e', to: 'b', term: term + 1, logTerm: 99, index: 999 });
  const answers = sent(drain(b));
  assert.deepEqual(answers.map((m) => [m.type, m.reject]), [['voteResp', false]]);
});

test('stickiness is bypassed by a vote request from a leadership transfer', () => {
  const net = clusterWithLeaderA();
  net.run(2);
  const b = net.node('b');
  const term = b.status().term;
  b.step({ type: 'vote', from: 'e', to: 'b', term: term + 1, logTerm: 99, index: 999, transfer: true });
  const answers = sent(drain(b));
  assert.deepEqual(answers.map((m) => [m.type, m.reject]), [['voteResp', false]]);
  assert.equal(b.status().term, term + 1);
});
