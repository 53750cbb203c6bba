// Snapshots: compaction with a retained tail, chunked and resumable transfer to a lagging member,
// installation through Ready.snapshot, and restarting from a snapshot.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bootstrapState } from '../../consensus/bootstrap.js';
import { encodeConfChange } from '../../consensus/confchange.js';
import { Raft } from '../../consensus/raft.js';
import { EntryType, type Message, type Snapshot } from '../../consensus/types.js';
import { Net, makeConfig } from './core-net.js';

const image = (n: number): Uint8Array => Uint8Array.from({ length: n }, (_, i) => i % 251);

function chunksTo(msgs: Message[], to: string): Array<[number, number]> {
  return msgs.filter((m) => m.type === 'snapshot' && m.to === to).map((m) => [m.snapshot?.offset ?? -1, m.snapshot?.data.byteLength ?? -1]);
}

/** Leader a with c cut off while 10 entries commit; a then compacts everything it applied. */
function compactedCluster(chunkBytes = 10, imageBytes = 35): { net: Net; snapIndex: number } {
  const net = new Net(['a', 'b', 'c'], { snapshotChunkBytes: chunkBytes });
  net.campaign('a');
  net.isolated.add('c');
  for (let i = 0; i < 10; i++) net.propose('a', `v${i}`);
  net.stabilize();
  net.run(1);
  const a = net.node('a');
  const snapIndex = a.status().applied;
  const meta = a.compact(snapIndex, image(imageBytes), 0);
  assert.equal(meta.index, snapIndex);
  assert.equal(a.status().firstIndex, snapIndex + 1);
  return { net, snapIndex };
}

test('compact keeps the snapshot metadata and drops entries below index - retain + 1', () => {
  const net = new Net(['a', 'b', 'c']);
  net.campaign('a');
  for (let i = 0; i < 10; i++) net.propose('a', `v${i}`);
  net.stabilize();
  const a = net.node('a');
  const applied = a.status().applied;
  assert.throws(() => a.compact(applied + 1, image(1), 0), /beyond the applied index/);
  const meta = a.compact(applied - 2, image(4), 3);
  assert.deepEqual(meta, { index: applied - 2, term: a.status().term, conf: { voters: ['a', 'b', 'c'], learners: [] } });
  assert.equal(a.status().firstIndex, applied - 4, 'retains 3 entries at or below the snapshot index');
  assert.throws(() => a.compact(applied - 3, image(1), 0), /older than the current snapshot/);
  assert.throws(() => a.compact(applied, image(1), -1), /retainEntries/);
  a.compact(applied, image(4), 0);
  assert.equal(a.status().firstIndex, applied + 1);
  assert.deepEqual(a.entries(1, applied + 1), []);
});

test('a member behind the compacted log is caught up with a chunked snapshot', () => {
  const { net, snapIndex } = compactedCluster();
  net.keepReadies = true;
  net.isolated.delete('c');
  net.run(3);
  const chunks = chunksTo(net.delivered, 'c');
  assert.deepEqual(chunks, [[0, 10], [10, 10], [20, 10], [30, 5]]);
  const installs = (net.readies.get('c') ?? []).filter((rd) => rd.snapshot).map((rd) => rd.snapshot as Snapshot);
  assert.equal(installs.length, 1);
  assert.deepEqual(installs[0].data, image(35));
  assert.equal(installs[0].meta.index, snapIndex);
  assert.deepEqual(installs[0].meta.conf, { voters: ['a', 'b', 'c'], learners: [] });
  const c = net.node('c').status();
  assert.equal(c.firstIndex, snapIndex + 1);
  assert.ok(c.commit >= snapIndex);
  assert.equal(c.applied, c.commit);
  // The follower acknowledged each chunk with the bytes it holds so far.
  const acks = net.delivered.filter((m) => m.type === 'snapshotResp' && m.from === 'c').map((m) => [m.snapshot?.offset, m.snapshot?.done]);
  assert.deepEqual(acks, [[10, false], [20, false], [30, false], [35, true]]);
  // Replication continues after the snapshot.
  net.propose('a', 'after-snapshot');
  net.stabilize();
  net.run(1);
  assert.deepEqual(net.appliedTexts('c').slice(-1), ['after-snapshot']);
  assert.equal(net.node('a').status().progress?.find((p) => p.member === 'c')?.state, 'replicate');
});

test('an interrupted transfer resumes from the last acknowledged offset', () => {
  const { net } = compactedCluster();
  net.isolated.delete('c');
  // The third chunk is lost once; the transport reports c unreachable.
  let lost = false;
  net.drops.push((m) => {
    if (!lost && m.type === 'snapshot' && m.snapshot?.offset === 20) {
      lost = true;
      return true;
    }
    return false;
  });
  net.run(1);
  assert.ok(lost);
  assert.equal(net.node('a').status().progress?.find((p) => p.member === 'c')?.state, 'snapshot');
  net.node('a').reportUnreachable('c');
  net.run(2);
  const offsets = chunksTo(net.delivered, 'c').map(([offset]) => offset);
  assert.deepEqual(offsets, [0, 10, 20, 30], 'resent from 20, not from 0');
  assert.deepEqual(net.appliedTexts('c').length > 0 || net.node('c').status().commit >= 13, true);
});

test('a lost chunk without any report is resent after an election timeout', () => {
  const { net } = compactedCluster();
  net.isolated.delete('c');
  let lost = false;
  net.drops.push((m) => {
    if (!lost && m.type === 'snapshot' && m.snapshot?.offset === 10) {
      lost = true;
      return true;
    }
    return false;
  });
  net.run(15);
  assert.equal(net.node('c').status().commit, net.node('a').status().commit);
});

test('a new leader sending the same snapshot continues from what the follower already holds', () => {
  const { net, snapIndex } = compactedCluster();
  // b compacts at the same index with the same image (the state machine is deterministic).
  net.node('b').compact(snapIndex, image(35), 0);
  net.isolated.delete('c');
  // c receives the first two chunks from a, then a disappears.
  let fromA = 0;
  net.drops.push((m) => m.from === 'a' && m.type === 'snapshot' && ++fromA > 2);
  net.run(1);
  net.isolated.add('a');
  net.drops.length = 0;
  for (let i = 0; i < 60 && net.leaders().length === 0; i++) net.run(1);
  // b (c cannot win: it lacks the log) leads and sends the snapshot to c.
  for (let i = 0; i < 60 && net.node('c').status().commit < snapIndex; i++) net.run(1);
  assert.equal(net.leaders()[0], 'b');
  const fromB = chunksTo(net.delivered.filter((m) => m.from === 'b'), 'c').map(([offset]) => offset);
  assert.deepEqual(fromB, [0, 20, 30], 'b starts at 0, c answers 20, b continues from 20');
  assert.ok(net.node('c').status().commit >= snapIndex);
});

test('a follower whose log already holds the snapshot index only fast-forwards its commit', () => {
  const net = new Net(['a', 'b', 'c'], { snapshotChunkBytes: 1000 });
  net.campaign('a');
  for (let i = 0; i < 3; i++) net.propose('a', `v${i}`);
  net.stabilize();
  const a = net.node('a');
  const meta = a.compact(a.status().applied, image(5), 0);
  const c = net.node('c');
  const before = c.status().commit;
  c.step({
    type: 'snapshot',
    from: 'a',
    to: 'c',
    term: a.status().term,
    snapshot: { meta, offset: 0, totalBytes: 5, data: image(5), done: true },
  });
  const rd = c.ready();
  assert.equal(rd.snapshot, undefined, 'nothing to install');
  assert.ok(c.status().commit >= meta.index && before <= meta.index);
  c.advance(rd);
});

test('a member restarts from a snapshot plus later entries (conf from the later conf entries)', () => {
  const conf = { voters: ['a', 'b', 'c'], learners: [] };
  const snapshot: Snapshot = { meta: { index: 10, term: 3, conf }, data: image(8) };
  const later = [
    { index: 11, term: 3, type: EntryType.Normal, data: new Uint8Array([1]) },
    { index: 12, term: 4, type: EntryType.ConfChange, data: encodeConfChange({ type: 'addLearner', member: 'd' }) },
  ];
  const r = new Raft(makeConfig('a', 1), { hardState: { term: 4, vote: 'a', commit: 11 }, snapshot, entries: later, applied: 10 });
  const st = r.status();
  assert.equal(st.firstIndex, 11);
  assert.equal(st.lastIndex, 12);
  assert.equal(st.commit, 11);
  assert.deepEqual(r.conf(), { voters: ['a', 'b', 'c'], learners: ['d'] });
  const rd = r.ready();
  assert.deepEqual(rd.committedEntries.map((e) => e.index), [11], 'resumes after the applied index');
  r.advance(rd);

  // Retained entries at or below the snapshot index are kept; the log still starts after them.
  const retained = [
    { index: 9, term: 3, type: EntryType.Normal, data: new Uint8Array() },
    { index: 10, term: 3, type: EntryType.Normal, data: new Uint8Array() },
    ...later,
  ];
  const r2 = new Raft(makeConfig('a', 1), { hardState: { term: 4, vote: '', commit: 11 }, snapshot, entries: retained, applied: 10 });
  assert.deepEqual(r2.entries(1, 20).map((e) => e.index), [10, 11, 12]);
  assert.deepEqual(r2.conf(), { voters: ['a', 'b', 'c'], learners: ['d'] });
});

test('a restarted member keeps its log, term and vote', () => {
  const net = new Net(['a', 'b', 'c']);
  net.campaign('a');
  for (let i = 0; i < 3; i++) net.propose('a', `v${i}`);
  net.stabilize();
  net.run(1);
  const before = net.node('b').status();
  const b = net.restart('b');
  const after = b.status();
  assert.deepEqual([after.term, after.vote, after.lastIndex, after.commit], [before.term, before.vote, before.lastIndex, before.commit]);
  assert.deepEqual(b.conf(), bootstrapConf());
  net.run(2);
  assert.deepEqual(net.leaders(), ['a']);
});

function bootstrapConf() {
  return { voters: bootstrapState(['a', 'b', 'c']).entries.map((_, i) => ['a', 'b', 'c'][i]), learners: [] };
}

test('compact at the applied index after a newer snapshot arrived mid-write keeps the newer one', () => {
  const { net, snapIndex } = compactedCluster(1000);
  net.isolated.delete('c');
  const c = net.node('c');
  // c starts a write (answering a heartbeat) and the whole snapshot arrives before it completes.
  net.tick('a');
  net.processReady('a');
  for (const m of net.queue.splice(0)) if (m.to === 'c') c.step(m);
  const inFlight = c.ready();
  for (const m of [...inFlight.messagesEarly, ...inFlight.messages]) net.node(m.to).step(m); // the leader hears c and sends the snapshot
  net.processReady('a');
  assert.ok(net.queue.some((m) => m.type === 'snapshot' && m.to === 'c'));
  for (const m of net.queue.splice(0)) if (m.to === 'c') c.step(m);
  assert.equal(c.status().firstIndex, snapIndex + 1, 'the snapshot replaced the log in memory');
  c.advance(inFlight);
  const before = c.status().applied;
  assert.ok(before > 0 && before < snapIndex);
  // The runtime compacts at its applied index, which is below the snapshot: that must not fail.
  const meta = c.compact(before, image(3), 0);
  assert.equal(meta.index, before);
  assert.equal(meta.term, before > 3 ? net.node('a').status().term : 1);
  assert.deepEqual(meta.conf, { voters: ['a', 'b', 'c'], learners: [] });
  const rd = c.ready();
  assert.equal(rd.snapshot?.meta.index, snapIndex, 'the newer snapshot is still handed out');
  c.advance(rd);
  assert.throws(() => c.compact(before - 1, image(1), 0), /older than the current snapshot/);
});

test('acks lost with a full window, then the leader compacts past them: the follower gets a snapshot', () => {
  const net = new Net(['a', 'b', 'c'], { maxInflightAppends: 2, maxEntriesPerAppend: 1 });
  net.campaign('a');
  net.run(1);
  net.drops.push((m) => m.type === 'appendResp' && m.from === 'b');
  for (let i = 0; i < 6; i++) net.propose('a', `w${i}`);
  net.stabilize();
  net.run(1);
  const a = net.node('a');
  assert.ok(net.node('b').status().lastIndex < a.status().lastIndex, 'the window filled: b missed later writes');
  a.compact(a.status().applied, image(20), 0);
  net.drops.length = 0;
  net.run(5);
  assert.ok(net.delivered.some((m) => m.type === 'snapshot' && m.to === 'b'), 'caught up by snapshot');
  assert.equal(net.node('b').status().commit, a.status().commit);
});
