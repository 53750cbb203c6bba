// Property 7: entries are appended, persisted, committed and applied in order on the leader, and
// the commit index reaches the followers. Plus the persistence contract of Ready.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EntryType, type Entry, type Message } from '../../consensus/types.js';
import { Net } from './core-net.js';

test('a 3-member cluster elects a leader, commits its no-op, and replicates proposals in order', () => {
  const net = new Net(['a', 'b', 'c']);
  net.campaign('a');
  assert.deepEqual(net.leaders(), ['a']);
  const term = net.node('a').status().term;
  assert.equal(term, 2);
  for (let i = 0; i < 20; i++) net.propose('a', `cmd-${i}`);
  net.stabilize();
  net.run(2); // heartbeats carry the final commit to followers
  const expected = Array.from({ length: 20 }, (_, i) => `cmd-${i}`);
  for (const id of ['a', 'b', 'c']) {
    assert.deepEqual(net.appliedTexts(id), expected, `applied on ${id}`);
    const st = net.node(id).status();
    assert.equal(st.commit, 3 + 1 + 20, `commit on ${id}`);
    assert.equal(st.applied, st.commit);
    // The applied sequence is exactly 1..commit, in order, with no gaps.
    const indexes = (net.applied.get(id) ?? []).map((e) => e.index);
    assert.deepEqual(indexes, Array.from({ length: st.commit }, (_, i) => i + 1));
  }
});

test('a leader sends appends early but commits only what it has persisted (advance)', () => {
  const net = new Net(['a', 'b', 'c']);
  net.campaign('a');
  net.run(1);
  const a = net.node('a');
  const r = a.propose(new TextEncoder().encode('x'));
  assert.ok(r.ok);
  const rd = a.ready();
  assert.deepEqual(rd.entries.map((e) => e.index), [r.index]);
  assert.equal(rd.mustSync, true);
  const appends = rd.messagesEarly.filter((m) => m.type === 'append');
  assert.deepEqual(appends.map((m) => m.to).sort(), ['b', 'c'], 'appends leave before the leader write');
  // Both followers persist and acknowledge before the leader's own write completes.
  for (const m of appends) net.node(m.to).step(m);
  const commits: number[] = [];
  for (const id of ['b', 'c']) {
    const frd = net.node(id).ready();
    assert.deepEqual(frd.messagesEarly, [], 'a follower says nothing before its write');
    const ack = frd.messages.find((m) => m.type === 'appendResp');
    assert.ok(ack && ack.index === r.index);
    net.node(id).advance(frd);
    a.step(ack);
    commits.push(a.status().commit);
  }
  // The leader's own write is in flight: it does not count itself, so one follower is not enough,
  // but two followers are a majority of three.
  assert.deepEqual(commits, [r.index - 1, r.index]);
  a.advance(rd);
});

test('a single voter commits an entry only after its own write is acknowledged by advance()', () => {
  const net = new Net(['a']);
  net.campaign('a');
  assert.deepEqual(net.leaders(), ['a']);
  const a = net.node('a');
  const r = a.propose(new TextEncoder().encode('solo'));
  assert.ok(r.ok);
  const rd = a.ready();
  assert.equal(rd.entries.length, 1);
  assert.equal(rd.committedEntries.length, 0, 'not committed before it is durable');
  assert.equal(a.status().commit, r.index - 1);
  a.advance(rd);
  assert.equal(a.status().commit, r.index);
  const rd2 = a.ready();
  assert.deepEqual(rd2.committedEntries.map((e) => e.index), [r.index]);
  a.advance(rd2);
});

test('followers learn the commit index from appends and heartbeats, and apply in order', () => {
  const net = new Net(['a', 'b', 'c']);
  net.campaign('a');
  const idx = net.propose('a', 'one');
  net.stabilize();
  assert.equal(net.node('a').status().commit, idx);
  // The followers learn it with the next heartbeat at the latest.
  net.run(1);
  for (const id of ['b', 'c']) {
    assert.equal(net.node(id).status().commit, idx, `commit on ${id}`);
    assert.deepEqual(net.appliedTexts(id), ['one']);
  }
  // Committed entries are handed out at most once per member, in index order.
  for (const id of ['a', 'b', 'c']) {
    const indexes = (net.applied.get(id) ?? []).map((e) => e.index);
    assert.deepEqual(indexes, [...indexes].sort((x, y) => x - y));
    assert.equal(new Set(indexes).size, indexes.length);
  }
});

test('a follower learns the commit index from the next append, without waiting for a heartbeat', () => {
  const net = new Net(['a', 'b', 'c']);
  net.campaign('a');
  net.run(1);
  const first = net.propose('a', 'first');
  net.stabilize();
  assert.equal(net.node('a').status().commit, first);
  assert.ok(net.node('b').status().commit < first, 'no heartbeat yet');
  net.propose('a', 'second');
  net.stabilize(); // no tick, so no heartbeat: only the append of 'second' carries the commit
  assert.equal(net.node('b').status().commit, first);
  assert.deepEqual(net.appliedTexts('b'), ['first']);
});

test('committed entries per Ready are bounded by bytes (but at least one goes)', () => {
  const net = new Net(['a']);
  net.campaign('a');
  const a = net.node('a');
  const big = new Uint8Array(300 * 1024);
  for (let i = 0; i < 8; i++) assert.ok(a.propose(big).ok);
  net.keepReadies = true;
  net.processAllReadies();
  const sizes = (net.readies.get('a') ?? []).map((rd) => rd.committedEntries.reduce((n, e) => n + e.data.byteLength, 0));
  assert.ok(sizes.every((s) => s <= 1 << 20), `committed bytes per Ready: ${sizes}`);
  assert.equal(net.appliedTexts('a').length, 8);
});

test('a follower rejects an append whose previous entry does not match, with a hint', () => {
  const net = new Net(['a', 'b', 'c']);
  const b = net.node('b');
  b.step({ type: 'append', from: 'a', to: 'b', term: 2, logTerm: 2, index: 7, entries: [], commit: 3 });
  const resp = b.ready().messages.find((m) => m.type === 'appendResp');
  assert.ok(resp);
  assert.equal(resp.reject, true);
  assert.equal(resp.index, 7);
  assert.equal(resp.rejectHint, 3, 'its last index, since its log is shorter');
  assert.equal(resp.hintTerm, 1);
});

// ---------------------------------------------------------------- Figure 7 of the Raft paper

const EMPTY = new Uint8Array(0);
function logOfTerms(terms: number[]): Entry[] {
  return terms.map((term, i) => ({ index: i + 1, term, type: EntryType.Normal, data: EMPTY }));
}

test('Figure 7: a new leader repairs every follower log (a-f), skipping whole terms on rejection', () => {
  const leaderTerms = [1, 1, 1, 4, 4, 5, 5, 6, 6, 6];
  const followers: Record<string, number[]> = {
    fa: [1, 1, 1, 4, 4, 5, 5, 6, 6],
    fb: [1, 1, 1, 4],
    fc: [1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 6],
    fd: [1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 7, 7],
    fe: [1, 1, 1, 4, 4, 4, 4],
    ff: [1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 3],
  };
  const all = ['L', ...Object.keys(followers)];
  const conf = { voters: all, learners: [] };
  const snapshot = { meta: { index: 0, term: 0, conf }, data: EMPTY };
  const net = new Net([], { checkQuorum: false });
  net.add('L', { hardState: { term: 7, vote: '', commit: 0 }, snapshot, entries: logOfTerms(leaderTerms), applied: 0 });
  for (const [id, terms] of Object.entries(followers)) {
    const term = Math.max(...terms, 6);
    net.add(id, { hardState: { term, vote: '', commit: 0 }, snapshot, entries: logOfTerms(terms), applied: 0 });
  }
  // L campaigns for term 8: a, b, e and f grant (their logs are behind), c and d refuse.
  net.node('L').step({ type: 'timeoutNow', from: 'L', to: 'L', term: 7 });
  net.stabilize();
  assert.deepEqual(net.leaders(), ['L']);
  assert.equal(net.node('L').status().term, 8);
  const expected = [...leaderTerms, 8];
  for (const id of all) {
    assert.deepEqual(net.node(id).entries(1, 100).map((e) => e.term), expected, `log of ${id}`);
    assert.deepEqual(net.stores.get(id)?.entries.map((e) => e.term), expected, `stored log of ${id}`);
  }
  // Fast backtracking: each follower needed at most two rejected probes.
  for (const id of Object.keys(followers)) {
    const rejections = net.delivered.filter((m) => m.type === 'appendResp' && m.from === id && m.reject === true).length;
    assert.ok(rejections <= 2, `${id} rejected ${rejections} appends`);
  }
  assert.equal(net.node('L').status().commit, 11);
});

// ---------------------------------------------------------------- Figure 8 of the Raft paper

const S = ['s1', 's2', 's3', 's4', 's5'];

/** Ticks `id` alone (others stay quiet) through as many elections as it takes it to win. */
function campaignUntilLeader(net: Net, id: string): void {
  const node = net.node(id);
  for (let i = 0; i < 10 && node.status().role !== 'leader'; i++) {
    const term = node.status().term;
    for (let t = 0; t < 40 && node.status().term === term; t++) node.tick();
    net.stabilize();
  }
  assert.equal(net.node(id).status().role, 'leader', `${id} should win`);
}

/** Steps (a) and (b): s1 leads term 2 and reaches only s2; s5 leads term 3 and reaches nobody. */
function figure8Start(): Net {
  const net = new Net(S, { preVote: false, checkQuorum: false, maxEntriesPerAppend: 1 });
  const leaderTraffic = (m: Message): boolean => m.type === 'append' || m.type === 'heartbeat';
  const s1Reaches = net.drops.push((m) => m.from === 's1' && m.to !== 's2' && leaderTraffic(m)) - 1;
  campaignUntilLeader(net, 's1');
  assert.equal(net.node('s1').status().term, 2);
  assert.equal(net.node('s2').entries(6, 7)[0]?.term, 2, 's2 holds s1 term-2 entry at 6');
  assert.equal(net.node('s1').status().commit, 5, 'two of five hold it: not committed');
  // (b) s1 crashes; s5 wins term 3 with s3 and s4 and appends its own entry at 6, reaching nobody.
  net.drops.splice(s1Reaches, 1);
  net.isolated.add('s1');
  net.drops.push((m) => m.from === 's5' && leaderTraffic(m));
  campaignUntilLeader(net, 's5');
  assert.equal(net.node('s5').status().term, 3);
  assert.equal(net.node('s5').entries(6, 7)[0]?.term, 3);
  net.drops.length = 0;
  return net;
}

test('Figure 8 (c, d): an old-term entry on a majority is not committed, and may be overwritten', () => {
  const net = figure8Start();
  // (c) s5 crashes; s1 restarts and wins term 4; it copies its term-2 entry to s3 (now on s1, s2, s3)
  // but its own term-4 entry reaches only s2.
  net.isolated.delete('s1');
  net.restart('s1');
  net.isolated.add('s5');
  const s3HasIndex6 = (): boolean => net.node('s3').status().lastIndex >= 6;
  const carriesTerm4 = (m: Message): boolean => (m.entries ?? []).some((e) => e.term === 4);
  net.drops.push((m) => m.from === 's1' && m.type === 'append' && (m.to === 's4' || (m.to === 's3' && s3HasIndex6() && carriesTerm4(m))));
  campaignUntilLeader(net, 's1');
  assert.equal(net.node('s1').status().term, 4);
  for (const id of ['s1', 's2', 's3']) assert.equal(net.node(id).entries(6, 7)[0]?.term, 2, `${id} holds index 6 of term 2`);
  assert.equal(net.node('s1').status().commit, 5, 'a majority holds index 6 but it is not of the current term: not committed');
  // (d) s1 crashes; s5 wins (term 5, with s3 and s4) and overwrites index 6 everywhere.
  net.drops.length = 0;
  net.isolated.delete('s5');
  net.restart('s5');
  net.isolated.add('s1');
  campaignUntilLeader(net, 's5');
  net.run(2);
  for (const id of ['s2', 's3', 's4', 's5']) {
    assert.equal(net.node(id).entries(6, 7)[0]?.term, 3, `${id} holds s5's entry at 6`);
    assert.ok(net.node(id).status().commit >= 7);
  }
  // Safety: nobody ever applied the term-2 entry that was overwritten.
  for (const id of S) {
    const applied = net.applied.get(id) ?? [];
    assert.ok(!applied.some((e) => e.index === 6 && e.term === 2), `${id} applied the overwritten entry`);
  }
});

test('Figure 8 (e): once an entry of the current term is on a majority, earlier ones commit and survive', () => {
  const net = figure8Start();
  net.isolated.delete('s1');
  net.restart('s1');
  net.isolated.add('s5');
  net.drops.push((m) => m.from === 's1' && m.type === 'append' && m.to === 's4');
  campaignUntilLeader(net, 's1');
  const s1 = net.node('s1').status();
  assert.equal(s1.term, 4);
  assert.equal(s1.commit, 7, 'index 7 (term 4) is on s1, s2, s3, which commits 6 as well');
  // s1 crashes; s5 cannot win: s2 and s3 hold a newer last term.
  net.drops.length = 0;
  net.isolated.add('s1');
  net.isolated.delete('s5');
  net.restart('s5');
  for (let i = 0; i < 5; i++) net.campaign('s5');
  assert.notEqual(net.node('s5').status().role, 'leader');
  net.run(100);
  const leaders = net.leaders();
  assert.equal(leaders.length, 1);
  assert.notEqual(leaders[0], 's5');
  for (const id of ['s2', 's3', 's4', 's5']) {
    assert.deepEqual(net.node(id).entries(6, 8).map((e) => e.term), [2, 4], `${id} kept the committed entries`);
  }
});
