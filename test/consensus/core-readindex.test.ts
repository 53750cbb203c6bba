// ReadIndex: a read is answered with the commit index at the time it arrived, once a quorum of
// voters has confirmed the leader is still the leader (a heartbeat round); queued until the leader
// has committed an entry of its term; dropped if the leader is deposed.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Net, drain, electByHand, founder, sent } from './core-net.js';

test('readIndex is refused on a follower', () => {
  const net = new Net(['a', 'b', 'c']);
  net.campaign('a');
  assert.deepEqual(net.node('b').readIndex('r1'), { ok: false, reason: 'notLeader', leader: 'a' });
});

test('a single voter answers a read at once with its commit index', () => {
  const net = new Net(['a']);
  net.campaign('a');
  const commit = net.node('a').status().commit;
  assert.deepEqual(net.node('a').readIndex('solo'), { ok: true });
  net.processAllReadies();
  assert.deepEqual(net.readStates.get('a'), [{ index: commit, ctx: 'solo' }]);
});

test('a read is answered only after a quorum acknowledges a heartbeat round', () => {
  const net = new Net(['a', 'b', 'c', 'd', 'e']);
  net.campaign('a');
  net.run(1);
  const a = net.node('a');
  const commit = a.status().commit;
  net.isolated.add('c');
  net.isolated.add('d');
  net.isolated.add('e');
  assert.deepEqual(a.readIndex('r1'), { ok: true });
  assert.deepEqual(a.readIndex('r2'), { ok: true });
  net.stabilize();
  assert.deepEqual(net.readStates.get('a'), [], 'a and b are two of five: no quorum');
  const rounds = new Set(net.delivered.filter((m) => m.type === 'heartbeat' && m.readRound).map((m) => m.readRound));
  assert.equal(rounds.size, 1, 'reads at the same commit index share one heartbeat round');
  net.isolated.delete('c');
  net.run(1); // the periodic heartbeat carries the pending round too
  assert.deepEqual(net.readStates.get('a'), [
    { index: commit, ctx: 'r1' },
    { index: commit, ctx: 'r2' },
  ]);
});

test('the read index is the commit index when the read arrived, not when it was confirmed', () => {
  const net = new Net(['a', 'b', 'c']);
  net.campaign('a');
  net.run(1);
  const a = net.node('a');
  const before = a.status().commit;
  a.readIndex('early');
  net.processReady('a'); // the round's heartbeats are out
  net.propose('a', 'later-write');
  net.stabilize();
  const states = net.readStates.get('a') ?? [];
  assert.deepEqual(states, [{ index: before, ctx: 'early' }]);
  assert.ok(a.status().commit > before);
});

test('reads before the leader commits an entry of its term are queued, then served', () => {
  const a = founder('a', ['a', 'b', 'c'], { preVote: false });
  electByHand(a, ['b']);
  assert.deepEqual(a.readIndex('queued'), { ok: true });
  let rd = drain(a);
  assert.ok(!sent(rd).some((m) => m.readRound), 'no read round before the first commit of the term');
  assert.deepEqual(rd.readStates, []);
  a.step({ type: 'appendResp', from: 'b', to: 'a', term: 2, index: 4 }); // commits the no-op
  rd = drain(a);
  const hb = sent(rd).find((m) => m.type === 'heartbeat' && m.to === 'b' && m.readRound);
  assert.ok(hb, 'the queued read started its round');
  a.step({ type: 'heartbeatResp', from: 'b', to: 'a', term: 2, readRound: hb.readRound });
  rd = drain(a);
  assert.deepEqual(rd.readStates, [{ index: 4, ctx: 'queued' }]);
});

test('a deposed leader drops its pending reads', () => {
  const net = new Net(['a', 'b', 'c']);
  net.campaign('a');
  net.run(1);
  const a = net.node('a');
  net.isolated.add('b');
  net.isolated.add('c');
  a.readIndex('lost');
  net.stabilize();
  // A newer term deposes a; later acknowledgements of the old round produce nothing.
  a.step({ type: 'heartbeat', from: 'b', to: 'a', term: a.status().term + 1, commit: 0 });
  a.step({ type: 'heartbeatResp', from: 'c', to: 'a', term: a.status().term, readRound: 1 });
  net.processAllReadies();
  assert.deepEqual(net.readStates.get('a'), []);
  assert.equal(a.status().role, 'follower');
  // Even if a leads again later, the old read stays dropped; new reads are answered.
  net.isolated.clear();
  net.queue = [];
  for (let i = 0; i < 100 && net.node('a').status().role !== 'leader'; i++) {
    net.run(1);
    if (net.leaders().length === 1 && net.leaders()[0] !== 'a') net.node(net.leaders()[0]).transferLeader('a');
  }
  assert.equal(a.status().role, 'leader');
  net.run(2);
  assert.ok(a.readIndex('fresh').ok);
  net.run(2);
  assert.deepEqual((net.readStates.get('a') ?? []).map((r) => r.ctx), ['fresh']);
});

test('a learner acknowledging a read round does not count', () => {
  const net = new Net(['a', 'b', 'c'], {}, ['l']);
  net.campaign('a');
  net.run(1);
  const a = net.node('a');
  const term = a.status().term;
  net.isolated.add('b');
  net.isolated.add('c');
  a.readIndex('r');
  net.processAllReadies();
  a.step({ type: 'heartbeatResp', from: 'l', to: 'a', term, readRound: 1 });
  net.processAllReadies();
  assert.deepEqual(net.readStates.get('a'), []);
  a.step({ type: 'heartbeatResp', from: 'b', to: 'a', term, readRound: 1 });
  net.processAllReadies();
  assert.equal((net.readStates.get('a') ?? []).length, 1);
});
