// Snapshots: compaction drops log entries; a follower whose next entry is gone gets the snapshot in
// chunks, installs it, then gets entries; a transfer that loses a chunk or its link resumes from the
// offset the follower acknowledged; a core rebuilt from a snapshot has the right conf, commit and log.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DEFAULT_RAFT_CONFIG } from '../../consensus/api.js';
import { encodeConfChange } from '../../consensus/confchange.js';
import { Raft } from '../../consensus/raft.js';
import type { Entry, MemberId, Message, SnapshotChunk } from '../../consensus/types.js';
import { EntryType } from '../../consensus/types.js';
import { encodeStateImage } from './disk.js';
import { Cluster, sameConf, utf8 } from './harness.js';
import { seededUniform } from './rng.js';

const CHUNK_BYTES = 128;
const IMAGE_PAD_BYTES = 1000;

interface Lagging {
  c: Cluster;
  leader: MemberId;
  lag: MemberId;
  snapIndex: number;
}

/** A 3-member cluster where `lag` was down while the others wrote and compacted past its log. */
function lagBehindCompaction(seed: number): Lagging {
  const c = new Cluster({ voters: ['a', 'b', 'c'], seed, imagePadBytes: IMAGE_PAD_BYTES, config: { snapshotChunkBytes: CHUNK_BYTES } });
  const leader = c.electLeader();
  const lag = c.ids().find((id) => id !== leader)!;
  c.crash(lag);
  let last = 0;
  for (let i = 0; i < 20; i++) last = c.write(`w${i}`).index;
  const up = c.ids().filter((id) => id !== lag);
  c.waitApplied(last, up);
  let snapIndex = 0;
  for (const id of up) snapIndex = c.compact(id, 0);
  assert.ok(c.member(lag).disk.lastIndex() < snapIndex, 'the lagging log ends before the snapshot');
  return { c, leader, lag, snapIndex };
}

interface Traffic {
  /** Chunks sent to the lagging member, in order. */
  chunks: SnapshotChunk[];
  /** Count of chunks sent when the member installed the snapshot (undefined: not yet). */
  installedAfter?: number;
  installedIndex?: number;
  /** Appends carrying entries sent to the member after it installed. */
  appendsAfterInstall: number;
}

function watchTransfer(c: Cluster, lag: MemberId): Traffic {
  const t: Traffic = { chunks: [], appendsAfterInstall: 0 };
  c.bus.onSend = (m: Message) => {
    if (m.to !== lag) return;
    if (m.type === 'snapshot' && m.snapshot) t.chunks.push(m.snapshot);
    if (m.type === 'append' && (m.entries?.length ?? 0) > 0 && t.installedIndex !== undefined) t.appendsAfterInstall++;
  };
  c.onReady = (id, rd) => {
    if (id === lag && rd.snapshot) {
      t.installedAfter = t.chunks.length;
      t.installedIndex = rd.snapshot.meta.index;
    }
  };
  return t;
}

/** The chunks, deduplicated by offset, tile [0, totalBytes) and end with `done`. */
function assertChunksTile(chunks: SnapshotChunk[]): void {
  const byOffset = new Map<number, SnapshotChunk>();
  for (const ch of chunks) byOffset.set(ch.offset, ch);
  const ordered = [...byOffset.values()].sort((x, y) => x.offset - y.offset);
  let offset = 0;
  for (const ch of ordered) {
    assert.equal(ch.offset, offset, 'chunks are contiguous');
    assert.ok(ch.data.length <= CHUNK_BYTES, `chunk of ${ch.data.length} bytes > ${CHUNK_BYTES}`);
    offset += ch.data.length;
  }
  const last = ordered[ordered.length - 1];
  assert.equal(offset, last.totalBytes, 'chunks cover the whole image');
  assert.equal(last.done, true, 'the last chunk says done');
}

describe('snapshots', () => {
  test('compaction drops entries below the retained window and leaves the rest readable', () => {
    const c = new Cluster({ voters: ['a', 'b', 'c'], seed: 30 });
    const leader = c.electLeader();
    let last = 0;
    for (let i = 0; i < 30; i++) last = c.write(`w${i}`).index;
    c.waitApplied(last);
    const at = c.compact(leader, 5);
    const s = c.raft(leader).status();
    assert.equal(s.firstIndex, at - 5 + 1);
    assert.equal(s.lastIndex, last);
    const kept = c.raft(leader).entries(s.firstIndex, s.lastIndex + 1);
    assert.deepEqual(kept.map((e) => e.index), Array.from({ length: last - s.firstIndex + 1 }, (_, i) => s.firstIndex + i));
    const follower = c.ids().find((id) => id !== leader)!;
    const at2 = c.compact(follower, 0);
    assert.equal(c.raft(follower).status().firstIndex, at2 + 1);
    assert.throws(() => c.raft(follower).compact(at2 + 5, new Uint8Array(), 0), 'compacting past the applied index is refused');
    c.write('still-works');
  });

  test('a lagging follower gets the snapshot in chunks, installs it, then receives entries', () => {
    const { c, lag, snapIndex } = lagBehindCompaction(31);
    const t = watchTransfer(c, lag);
    c.restart(lag);
    c.waitFor('the snapshot to be installed', () => t.installedIndex !== undefined);
    const after = c.write('after-install');
    c.waitApplied(after.index, [lag]);
    assert.equal(t.installedIndex, snapIndex);
    assert.ok(t.installedAfter! >= 3, `image of ~${IMAGE_PAD_BYTES} bytes in chunks of ${CHUNK_BYTES}: ${t.installedAfter} chunks`);
    assertChunksTile(t.chunks);
    assert.equal(t.chunks[0].meta.index, snapIndex);
    assert.ok(t.appendsAfterInstall > 0, 'entries follow the snapshot');
    const disk = c.member(lag).disk;
    assert.equal(disk.snapshot?.meta.index, snapIndex);
    assert.ok(disk.entry(after.index), 'the entry after the snapshot is in the log');
    assert.ok(sameConf(c.raft(lag).conf(), { voters: ['a', 'b', 'c'], learners: [] }));
  });

  test('a dropped chunk: the transfer resumes from the acknowledged offset, not from zero', () => {
    const { c, lag, snapIndex } = lagBehindCompaction(32);
    const t = watchTransfer(c, lag);
    let droppedOffset: number | undefined;
    let delivered = 0;
    c.bus.intercept = (m) => {
      if (m.type !== 'snapshot' || m.to !== lag) return 'deliver';
      if (droppedOffset === undefined && ++delivered === 3) {
        droppedOffset = m.snapshot!.offset;
        return 'drop';
      }
      return 'deliver';
    };
    c.restart(lag);
    c.waitFor('the snapshot to be installed', () => t.installedIndex !== undefined);
    assert.ok(droppedOffset !== undefined && droppedOffset > 0, 'a chunk past the first was dropped');
    const sentAfterDrop = t.chunks.slice(t.chunks.findIndex((ch) => ch.offset === droppedOffset) + 1);
    assert.ok(sentAfterDrop.some((ch) => ch.offset === droppedOffset), 'the dropped chunk was sent again');
    assert.ok(!sentAfterDrop.some((ch) => ch.offset === 0), 'the transfer restarted from zero');
    const bytesSent = t.chunks.reduce((n, ch) => n + ch.data.length, 0);
    assert.ok(bytesSent < 2 * t.chunks[0].totalBytes, `${bytesSent} bytes sent for a ${t.chunks[0].totalBytes}-byte image`);
    assert.equal(t.installedIndex, snapIndex);
    assertChunksTile(t.chunks);
    const after = c.write('after');
    c.waitApplied(after.index, [lag]);
  });

  test('a link cut mid-transfer: after it heals the transfer resumes from the acknowledged offset', () => {
    const { c, lag, leader, snapIndex } = lagBehindCompaction(33);
    const t = watchTransfer(c, lag);
    let cutAtChunk: number | undefined;
    let delivered = 0;
    c.bus.intercept = (m) => {
      if (m.type === 'snapshot' && m.to === lag && cutAtChunk === undefined && ++delivered === 4) {
        cutAtChunk = t.chunks.length;
        c.bus.partition([lag], c.ids().filter((id) => id !== lag));
        return 'drop';
      }
      return 'deliver';
    };
    c.restart(lag);
    c.waitFor('the cut', () => cutAtChunk !== undefined);
    c.runTicks(5);
    assert.equal(t.installedIndex, undefined, 'not installed while cut off');
    const beforeHeal = t.chunks.length;
    c.bus.heal();
    c.waitFor('the snapshot to be installed', () => t.installedIndex !== undefined);
    const resumed = t.chunks.slice(beforeHeal);
    assert.ok(resumed.length > 0, 'chunks were sent after the heal');
    assert.ok(resumed[0].offset > 0, `resumed at offset ${resumed[0].offset}, expected the acknowledged offset`);
    assert.ok(!resumed.some((ch) => ch.offset === 0), 'the transfer restarted from zero');
    assert.equal(t.installedIndex, snapIndex);
    assert.equal(c.leader(), leader);
    const after = c.write('after');
    c.waitApplied(after.index, [lag]);
  });

  test('a new member joining after compaction is brought up by snapshot', () => {
    const c = new Cluster({ voters: ['a', 'b', 'c'], seed: 34, imagePadBytes: 300, config: { snapshotChunkBytes: CHUNK_BYTES } });
    const leader = c.electLeader();
    let last = 0;
    for (let i = 0; i < 10; i++) last = c.write(`w${i}`).index;
    c.waitApplied(last);
    for (const id of c.ids()) c.compact(id, 0);
    c.addMember('d');
    const t = watchTransfer(c, 'd');
    const r = c.proposeConfChange({ type: 'addLearner', member: 'd' }, leader);
    assert.ok(r.ok);
    const after = c.write('after-join');
    c.waitApplied(after.index, ['d']);
    assert.ok(t.installedIndex !== undefined && t.installedIndex >= last);
    assert.ok(c.raft('d').conf().learners.includes('d'));
  });

  test('restart after installing a snapshot: conf, commit and log come back from the disk', () => {
    const { c, lag, snapIndex } = lagBehindCompaction(35);
    c.restart(lag);
    const after = c.write('after');
    c.waitApplied(after.index, [lag]);
    const before = c.raft(lag).status();
    c.crash(lag);
    c.restart(lag);
    const s = c.raft(lag).status();
    assert.ok(s.commit >= c.member(lag).disk.hardState.commit);
    assert.equal(s.lastIndex, before.lastIndex);
    assert.ok(s.firstIndex <= snapIndex + 1);
    assert.ok(sameConf(c.raft(lag).conf(), before.conf));
    assert.equal(s.term, before.term);
    const more = c.write('more');
    c.waitApplied(more.index, [lag]);
  });

  test('compaction right after advance() while a received snapshot waits to be handed out does not fail', () => {
    // The replica runtime compacts at its applied index right after advance(). If the last chunk of a
    // snapshot arrived while that Ready's write was in flight, the core already holds the newer
    // snapshot in memory, and the runtime's applied index is below it.
    const c = new Cluster({ voters: ['a', 'b', 'c'], seed: 36 });
    const leader = c.electLeader();
    const lag = c.ids().find((id) => id !== leader)!;
    for (let i = 0; i < 5; i++) c.write(`early${i}`);
    c.waitApplied(c.raft(leader).status().commit);
    c.crash(lag);
    let last = 0;
    for (let i = 0; i < 20; i++) last = c.write(`w${i}`).index;
    const up = c.ids().filter((id) => id !== lag);
    c.waitApplied(last, up);
    for (const id of up) c.compact(id, 0);

    const held: Message[] = [];
    c.bus.intercept = (m) => (m.type === 'snapshot' && m.to === lag ? (held.push(m), 'drop') : 'deliver');
    c.restart(lag);
    c.waitFor('the snapshot (one chunk) to be sent', () => held.length > 0);
    c.bus.intercept = null;
    assert.equal(held[0].snapshot!.done, true, 'one chunk');

    // lag starts a slow write (answering a heartbeat) and the snapshot arrives while it is in flight.
    const m = c.member(lag);
    m.diskDelaySteps = 3;
    c.tick(leader);
    for (let i = 0; i < 3 && m.inflight === null; i++) c.round();
    assert.ok(m.inflight !== null, 'lag has a write in flight');
    c.bus.send(held[0]);
    let outcome: string | undefined;
    c.onAdvance = (id) => {
      if (id !== lag || outcome !== undefined) return;
      const applied = m.disk.appliedIndex;
      try {
        c.raft(lag).compact(applied, encodeStateImage({ index: applied, hash: m.disk.stateHash }), 0);
        outcome = 'ok';
      } catch (err) {
        outcome = (err as Error).message;
      }
    };
    for (let i = 0; i < 20 && outcome === undefined; i++) c.round();
    assert.equal(outcome, 'ok', 'compact() at the applied index right after advance() threw');
  });

  describe('a core built from a boot state with a snapshot', () => {
    const conf = { voters: ['a', 'b', 'c'], learners: ['d'] };
    const snapshot = { meta: { index: 20, term: 3, conf }, data: encodeStateImage({ index: 20, hash: 123 }) };
    const normal = (index: number, term: number): Entry => ({ index, term, type: EntryType.Normal, data: utf8(`n${index}`) });
    const boot = (entries: Entry[], commit: number) => ({
      hardState: { term: 4, vote: 'a', commit },
      snapshot,
      entries,
      applied: 20,
    });
    const core = (b: ReturnType<typeof boot>) => new Raft({ ...DEFAULT_RAFT_CONFIG, id: 'b', random: seededUniform(1) }, b);

    test('has the snapshot conf, term, vote, commit and log; hands out only entries past applied', () => {
      const entries = [21, 22, 23, 24, 25].map((i) => normal(i, 4));
      const r = core(boot(entries, 23));
      assert.ok(sameConf(r.conf(), conf));
      const s = r.status();
      assert.equal(s.role, 'follower');
      assert.equal(s.term, 4);
      assert.equal(s.vote, 'a');
      assert.equal(s.commit, 23);
      assert.equal(s.firstIndex, 21);
      assert.equal(s.lastIndex, 25);
      assert.deepEqual(r.entries(21, 26).map((e) => [e.index, e.term]), entries.map((e) => [e.index, e.term]));
      const rd = r.ready();
      assert.equal(rd.snapshot, undefined, 'no re-install of the snapshot it booted from');
      assert.deepEqual(rd.committedEntries.map((e) => e.index), [21, 22, 23]);
    });

    test('a ConfChange entry after the snapshot is in force (conf = last ConfChange in the log)', () => {
      const promote: Entry = { index: 22, term: 4, type: EntryType.ConfChange, data: encodeConfChange({ type: 'promote', member: 'd' }) };
      const r = core(boot([normal(21, 4), promote, normal(23, 4)], 20));
      assert.ok(sameConf(r.conf(), { voters: ['a', 'b', 'c', 'd'], learners: [] }));
    });

    test('entries retained at or below the snapshot index are accepted', () => {
      const entries = [18, 19, 20].map((i) => normal(i, 3)).concat([21, 22].map((i) => normal(i, 4)));
      const r = core(boot(entries, 20));
      const s = r.status();
      assert.ok(s.firstIndex <= 21);
      assert.equal(s.lastIndex, 22);
      assert.equal(s.commit, 20);
      assert.deepEqual(r.entries(21, 23).map((e) => e.index), [21, 22]);
      assert.equal(r.hasReady() ? r.ready().committedEntries.length : 0, 0, 'nothing to apply: applied = commit');
    });
  });
});
