// Property 16: flow control. In replicate state at most maxInflightAppends appends are
// unacknowledged; in probe state one at a time; a rejection, reportUnreachable, or a heartbeat
// response showing a lost append moves the follower to probe. Batching bounds each append.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Message } from '../../consensus/types.js';
import { Net } from './core-net.js';

function progressOf(net: Net, leader: string, member: string) {
  const p = net.node(leader).status().progress?.find((x) => x.member === member);
  assert.ok(p, `progress of ${member}`);
  return p;
}

function appendsTo(msgs: Message[], to: string): Message[] {
  return msgs.filter((m) => m.type === 'append' && m.to === to);
}

function leaderWithReplicatingFollowers(overrides = {}): Net {
  const net = new Net(['a', 'b', 'c'], { maxInflightAppends: 3, maxEntriesPerAppend: 2, ...overrides });
  net.campaign('a');
  net.run(1);
  assert.equal(progressOf(net, 'a', 'b').state, 'replicate');
  return net;
}

test('replicate state: at most maxInflightAppends unacknowledged appends, then more as acks arrive', () => {
  const net = leaderWithReplicatingFollowers();
  for (let i = 0; i < 20; i++) net.propose('a', `e${i}`);
  const rd = net.node('a').ready();
  const toB = appendsTo(rd.messagesEarly, 'b');
  assert.equal(toB.length, 3, 'the window is 3 appends');
  assert.ok(toB.every((m) => (m.entries ?? []).length <= 2), 'each append holds at most maxEntriesPerAppend');
  assert.equal(progressOf(net, 'a', 'b').inflight, 3);
  net.node('a').advance(rd);
  net.queue.push(...rd.messagesEarly);
  net.stabilize();
  net.run(1);
  assert.equal(net.appliedTexts('b').length, 20, 'acks opened the window until everything went');
  assert.equal(progressOf(net, 'a', 'b').inflight, 0);
});

test('appends are bounded by maxBytesPerAppend (at least one entry each)', () => {
  const net = leaderWithReplicatingFollowers({ maxEntriesPerAppend: 100, maxBytesPerAppend: 1000, maxInflightAppends: 100 });
  const a = net.node('a');
  for (let i = 0; i < 10; i++) assert.ok(a.propose(new Uint8Array(400)).ok);
  assert.ok(a.propose(new Uint8Array(5000)).ok);
  const rd = a.ready();
  const sizes = appendsTo(rd.messagesEarly, 'b').map((m) => (m.entries ?? []).length);
  assert.deepEqual(sizes, [2, 2, 2, 2, 2, 1]);
  a.advance(rd);
});

test('probe state: one append at a time until the follower answers', () => {
  const net = leaderWithReplicatingFollowers();
  const a = net.node('a');
  a.reportUnreachable('b');
  assert.equal(progressOf(net, 'a', 'b').state, 'probe');
  for (let i = 0; i < 10; i++) net.propose('a', `e${i}`);
  const rd = a.ready();
  assert.equal(appendsTo(rd.messagesEarly, 'b').length, 1, 'a single probe');
  assert.equal(appendsTo(rd.messagesEarly, 'c').length, 3, 'c is still replicating');
  a.advance(rd);
  // More proposals do not send another append to b while the probe is unanswered.
  net.propose('a', 'more');
  const rd2 = a.ready();
  assert.equal(appendsTo(rd2.messagesEarly, 'b').length, 0);
  a.advance(rd2);
  // Delivering the probe and its answer moves b back to replicate.
  net.queue.push(...rd.messagesEarly, ...rd2.messagesEarly);
  net.stabilize();
  assert.equal(progressOf(net, 'a', 'b').state, 'replicate');
  net.run(1);
  assert.equal(net.appliedTexts('b').length, 11);
});

test('a rejected append moves the follower to probe', () => {
  const net = leaderWithReplicatingFollowers();
  // Lose the next append to b; the one after it no longer matches b's log and is rejected.
  let dropped = 0;
  net.drops.push((m) => m.type === 'append' && m.to === 'b' && dropped++ === 0);
  net.propose('a', 'lost');
  net.processAllReadies();
  net.propose('a', 'after');
  net.processAllReadies();
  const states: string[] = [];
  const b = net.node('b');
  // Deliver by hand to observe the leader's reaction to b's rejection.
  for (const m of net.queue.splice(0)) {
    if (net.isDropped(m)) continue;
    net.node(m.to).step(m);
  }
  net.processReady('b');
  const rejection = net.queue.find((m) => m.type === 'appendResp' && m.from === 'b' && m.reject === true);
  assert.ok(rejection, 'b rejected the append that skipped the lost one');
  net.node('a').step(rejection);
  states.push(progressOf(net, 'a', 'b').state);
  assert.deepEqual(states, ['probe']);
  net.queue = net.queue.filter((m) => m !== rejection);
  net.stabilize();
  net.run(1);
  assert.deepEqual(net.appliedTexts('b'), ['lost', 'after']);
  assert.equal(b.status().commit, net.node('a').status().commit);
});

test('a heartbeat response showing a lost append moves the follower to probe, and it catches up', () => {
  const net = leaderWithReplicatingFollowers();
  let dropped = 0;
  net.drops.push((m) => m.type === 'append' && m.to === 'b' && dropped++ === 0);
  net.propose('a', 'only');
  net.stabilize();
  assert.equal(progressOf(net, 'a', 'b').state, 'replicate');
  assert.equal(progressOf(net, 'a', 'b').inflight, 1, 'the lost append is still counted in flight');
  // The next heartbeat tells b what was sent; b answers that it lacks it.
  net.tick('a');
  net.processReady('a');
  for (const m of net.queue.splice(0)) net.node(m.to).step(m);
  net.processReady('b');
  const resp = net.queue.find((m) => m.type === 'heartbeatResp' && m.from === 'b');
  assert.ok(resp && resp.reject === true, 'b reports the gap');
  net.node('a').step(resp);
  assert.equal(progressOf(net, 'a', 'b').state, 'probe');
  net.queue = net.queue.filter((m) => m !== resp);
  net.stabilize();
  net.run(1);
  assert.deepEqual(net.appliedTexts('b'), ['only']);
  assert.equal(progressOf(net, 'a', 'b').state, 'replicate');
});

test('reportUnreachable moves a replicating follower to probe', () => {
  const net = leaderWithReplicatingFollowers();
  net.node('a').reportUnreachable('c');
  assert.equal(progressOf(net, 'a', 'c').state, 'probe');
  assert.equal(progressOf(net, 'a', 'b').state, 'replicate');
});

test('lost acknowledgements in an idle cluster: the heartbeat answer (last index and term) restores match', () => {
  const net = leaderWithReplicatingFollowers();
  net.drops.push((m) => m.type === 'appendResp' && m.from === 'b');
  net.isolated.add('c');
  const idx = net.propose('a', 'acks-lost');
  net.stabilize();
  assert.equal(net.node('b').status().lastIndex, idx, 'b holds the entry');
  assert.ok(net.node('a').status().commit < idx, 'nobody acknowledged it');
  net.drops.length = 0;
  net.run(2); // no new write: only heartbeats
  assert.equal(progressOf(net, 'a', 'b').match, idx);
  assert.equal(net.node('a').status().commit, idx);
  assert.deepEqual(net.appliedTexts('b'), ['acks-lost']);
});

test('a heartbeat answer moves match only for an entry the leader holds with the same term', () => {
  const net = leaderWithReplicatingFollowers();
  net.isolated.add('b');
  const idx = net.propose('a', 'x');
  net.stabilize();
  const a = net.node('a');
  const before = progressOf(net, 'a', 'b').match;
  assert.ok(before < idx);
  const term = a.status().term;
  a.step({ type: 'heartbeatResp', from: 'b', to: 'a', term, index: idx + 5, logTerm: term });
  assert.equal(progressOf(net, 'a', 'b').match, before, 'beyond our log');
  a.step({ type: 'heartbeatResp', from: 'b', to: 'a', term, index: idx, logTerm: term - 1 });
  assert.equal(progressOf(net, 'a', 'b').match, before, 'another entry at that index');
  a.step({ type: 'heartbeatResp', from: 'b', to: 'a', term, index: idx, logTerm: term });
  assert.equal(progressOf(net, 'a', 'b').match, idx, 'the same entry');
});

test('the leader refuses proposals past maxUncommittedBytes until commits free room', () => {
  const net = new Net(['a', 'b', 'c'], { maxUncommittedBytes: 1000 });
  net.campaign('a');
  net.isolated.add('b');
  net.isolated.add('c');
  const a = net.node('a');
  const results = Array.from({ length: 5 }, () => a.propose(new Uint8Array(300)));
  assert.deepEqual(results.map((r) => r.ok), [true, true, true, false, false]);
  const refused = results[3];
  assert.ok(!refused.ok && refused.reason === 'uncommittedLimit');
  // A single oversized proposal is still accepted when nothing is pending (no deadlock).
  net.isolated.clear();
  net.stabilize();
  net.run(1);
  assert.equal(a.propose(new Uint8Array(300)).ok, true, 'room again after the commit');
  net.stabilize();
  net.run(1);
  assert.ok(a.propose(new Uint8Array(5000)).ok);
});
