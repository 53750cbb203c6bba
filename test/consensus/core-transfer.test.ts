// Property 13: leadership transfer — to a caught-up voter at once, to a lagging voter after
// catching it up, aborted after one election timeout if the target does not take over; proposals
// are refused while it is pending.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Net } from './core-net.js';

function cluster(): Net {
  const net = new Net(['a', 'b', 'c']);
  net.campaign('a');
  net.run(2);
  assert.deepEqual(net.leaders(), ['a']);
  return net;
}

test('transfer to a caught-up voter: timeoutNow, and the target leads the next term', () => {
  const net = cluster();
  const term = net.node('a').status().term;
  assert.deepEqual(net.node('a').transferLeader('b'), { ok: true });
  assert.equal(net.node('a').status().transferTarget, 'b');
  net.processReady('a');
  assert.ok(net.queue.some((m) => m.type === 'timeoutNow' && m.to === 'b'), 'timeoutNow sent at once');
  net.stabilize();
  assert.deepEqual(net.leaders(), ['b']);
  assert.equal(net.node('b').status().term, term + 1);
  assert.equal(net.node('a').status().role, 'follower');
  assert.equal(net.node('a').status().leader, 'b');
  assert.ok(net.delivered.some((m) => m.type === 'vote' && m.transfer === true), 'votes carried the transfer flag');
});

test('transfer to a lagging voter catches it up first; proposals are refused meanwhile', () => {
  const net = cluster();
  net.isolated.add('c');
  for (let i = 0; i < 5; i++) net.propose('a', `p${i}`);
  net.stabilize();
  const a = net.node('a');
  assert.deepEqual(a.transferLeader('c'), { ok: true });
  net.processReady('a');
  assert.ok(!net.queue.some((m) => m.type === 'timeoutNow'), 'no timeoutNow to a target that is behind');
  const refused = a.propose(new Uint8Array([1]));
  assert.deepEqual(refused, { ok: false, reason: 'transferPending', leader: 'a' });
  const refusedConf = a.proposeConfChange({ type: 'addLearner', member: 'z' });
  assert.equal(refusedConf.ok, false);
  net.isolated.delete('c');
  net.run(1);
  assert.deepEqual(net.leaders(), ['c']);
  assert.deepEqual(net.appliedTexts('c').slice(0, 5), ['p0', 'p1', 'p2', 'p3', 'p4']);
});

test('transfer to an unreachable voter aborts after one election timeout', () => {
  const net = cluster();
  net.isolated.add('c');
  const a = net.node('a');
  assert.deepEqual(a.transferLeader('c'), { ok: true });
  let ticks = 0;
  while (a.status().transferTarget !== '' && ticks < 50) {
    net.tickAll();
    net.stabilize();
    ticks++;
    if (a.status().transferTarget !== '') assert.equal(a.propose(new Uint8Array([1])).ok, false);
  }
  assert.equal(a.status().transferTarget, '');
  assert.ok(ticks <= 10, `aborted after ${ticks} ticks`);
  assert.deepEqual(net.leaders(), ['a']);
  assert.equal(a.propose(new Uint8Array([2])).ok, true, 'proposals accepted again');
});

test('transfer refusals: not leader, learner or unknown target', () => {
  const net = new Net(['a', 'b', 'c'], {}, ['l']);
  net.campaign('a');
  assert.deepEqual(net.node('b').transferLeader('c'), { ok: false, reason: 'notLeader', leader: 'a' });
  assert.deepEqual(net.node('a').transferLeader('l'), { ok: false, reason: 'unknownMember', leader: 'a' });
  assert.deepEqual(net.node('a').transferLeader('zz'), { ok: false, reason: 'unknownMember', leader: 'a' });
  assert.deepEqual(net.node('a').transferLeader('a'), { ok: true });
  assert.equal(net.node('a').status().transferTarget, '');
});
