// Property 11: learners receive the log and the commit index, never campaign, are never counted
// as votes or toward commit; once promoted they count.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Net, drain, founder, sent, tickUntilCampaign } from './core-net.js';

test('a learner replicates and applies the log', () => {
  const net = new Net(['a', 'b', 'c'], {}, ['l']);
  net.campaign('a');
  net.propose('a', 'x');
  net.propose('a', 'y');
  net.stabilize();
  net.run(1);
  assert.deepEqual(net.appliedTexts('l'), ['x', 'y']);
  assert.equal(net.node('l').status().commit, net.node('a').status().commit);
  assert.deepEqual(net.node('l').conf(), { voters: ['a', 'b', 'c'], learners: ['l'] });
  const pl = net.node('a').status().progress?.find((p) => p.member === 'l');
  assert.equal(pl?.isLearner, true);
});

test('a learner never campaigns, however long it hears nothing', () => {
  const net = new Net(['a', 'b', 'c'], {}, ['l']);
  const l = net.node('l');
  for (let i = 0; i < 200; i++) {
    l.tick();
    const msgs = sent(drain(l));
    assert.deepEqual(msgs, [], 'a learner sends no (pre-)vote requests');
  }
  assert.equal(l.status().role, 'follower');
  assert.equal(l.status().term, 1);
});

test("a learner's vote is not counted", () => {
  const a = founder('a', ['a', 'b', 'c'], { preVote: false }, ['l']);
  tickUntilCampaign(a);
  const rd = drain(a);
  assert.ok(!rd.messages.some((m) => m.to === 'l'), 'no vote request to the learner');
  a.step({ type: 'voteResp', from: 'l', to: 'a', term: 2, reject: false });
  assert.equal(a.status().role, 'candidate', 'self + learner is not a majority of three voters');
  a.step({ type: 'voteResp', from: 'b', to: 'a', term: 2, reject: false });
  assert.equal(a.status().role, 'leader');
});

test('a learner does not count toward commit; after promotion it does', () => {
  const net = new Net(['a', 'b'], {}, ['l']);
  net.campaign('a');
  assert.deepEqual(net.leaders(), ['a']);
  // b is away: a and the learner hold the entry, but a is one voter of two.
  net.isolated.add('b');
  const idx = net.propose('a', 'needs-b');
  net.stabilize();
  net.propose('a', 'needs-b-too');
  net.stabilize();
  net.run(1);
  assert.ok(net.node('l').status().lastIndex > idx, 'the learner holds them');
  assert.ok(net.node('a').status().commit < idx, 'not committed without b');
  net.isolated.delete('b');
  net.run(2);
  assert.ok(net.node('a').status().commit >= idx);

  const promoted = net.node('a').proposeConfChange({ type: 'promote', member: 'l' });
  assert.ok(promoted.ok, JSON.stringify(promoted));
  net.stabilize();
  net.run(1);
  assert.deepEqual(net.node('a').conf(), { voters: ['a', 'b', 'l'], learners: [] });
  net.isolated.add('b');
  const idx2 = net.propose('a', 'with-l');
  net.stabilize();
  assert.equal(net.node('a').status().commit, idx2, 'a and l are a majority of three voters');
  assert.ok(net.node('a').quorumActive());
});
