// The in-memory Raft log is bounded in bytes as well as in entries: a log of large entries is
// snapshotted once it holds snapshotEveryBytes, and the tail kept below a snapshot holds at most
// retainBytes (in the core and in the store alike).
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import type { ApplyResult, StateMachine } from '../../consensus/ports.js';
import { ENTRY_OVERHEAD_BYTES, RaftLog } from '../../consensus/raft-log.js';
import { EntryType, type Entry } from '../../consensus/types.js';
import { TestCluster } from './harness.js';

const ENTRY_DATA_BYTES = 10_000;

/** Counts applied entries; its snapshot is the count. */
class CountingMachine implements StateMachine {
  applied = 0;
  apply(entry: Entry): ApplyResult {
    if (entry.data.byteLength > 0) this.applied++;
    return { result: this.applied, ops: [] };
  }
  snapshot(): Uint8Array {
    return new TextEncoder().encode(String(this.applied));
  }
  restore(image: Uint8Array): Array<[string, Uint8Array]> {
    this.applied = Number(new TextDecoder().decode(image));
    return [];
  }
  load(): void {}
}

function entry(index: number, bytes: number): Entry {
  return { index, term: 1, type: EntryType.Normal, data: new Uint8Array(bytes) };
}

describe('RaftLog byte accounting', () => {
  it('counts held bytes through append, truncation, compaction and reset', () => {
    const log = new RaftLog(0, 0, [entry(1, 100), entry(2, 200)]);
    const size = (n: number) => n + ENTRY_OVERHEAD_BYTES;
    assert.equal(log.bytes, size(100) + size(200));
    log.append(entry(3, 300));
    log.append(entry(4, 400));
    assert.equal(log.bytes, size(100) + size(200) + size(300) + size(400));
    log.truncateFrom(4);
    assert.equal(log.bytes, size(100) + size(200) + size(300));
    log.truncateFrom(9); // past the end: nothing
    assert.equal(log.bytes, size(100) + size(200) + size(300));
    log.compactTo(3);
    assert.equal(log.bytes, size(300));
    log.reset(10, 2);
    assert.equal(log.bytes, 0);
  });

  it('keeps a tail bounded by count and by bytes', () => {
    const log = new RaftLog(0, 0, [1, 2, 3, 4, 5, 6].map((i) => entry(i, 1000 - ENTRY_OVERHEAD_BYTES)));
    assert.equal(log.firstIndexRetaining(5, 3, Infinity), 3); // entries 3, 4, 5
    assert.equal(log.firstIndexRetaining(5, 3, 2000), 4); // 2 entries of 1000 bytes fit
    assert.equal(log.firstIndexRetaining(5, 0, Infinity), 6);
    assert.equal(log.firstIndexRetaining(5, 100, Infinity), 1); // never below the first held
    assert.equal(log.firstIndexRetaining(5, 100, 999), 6);
  });
});

describe('replica compaction by bytes', { timeout: 60_000 }, () => {
  it('snapshots a log of large entries by bytes long before the entry count, and keeps a tail within retainBytes', async () => {
    const snapshotEveryBytes = 40 * (ENTRY_DATA_BYTES + ENTRY_OVERHEAD_BYTES);
    const retainBytes = 5 * (ENTRY_DATA_BYTES + ENTRY_OVERHEAD_BYTES);
    const c = new TestCluster<CountingMachine>({
      voters: ['a', 'b', 'c'],
      makeStateMachine: () => new CountingMachine(),
      replica: { snapshotEveryEntries: 10_000, retainEntries: 1_000, snapshotEveryBytes, retainBytes },
    });
    await c.start();
    const leader = await c.waitForLeader();
    for (let i = 0; i < 200; i++) {
      const outcome = await c.run(leader.replica.propose(new Uint8Array(ENTRY_DATA_BYTES).fill(i % 251)));
      assert.equal(outcome.status, 'committed');
    }
    await c.clock.advance(1_000);
    for (const name of c.names) {
      const site = c.site(name);
      assert.equal(site.sm.applied, 200, name);
      const st = site.replica.status();
      const held = st.lastIndex - st.firstIndex + 1;
      // Without the byte bound nothing would be compacted (200 entries < snapshotEveryEntries).
      assert.ok(st.firstIndex > 100, `${name}: first held index ${st.firstIndex}`);
      assert.ok(held * (ENTRY_DATA_BYTES + ENTRY_OVERHEAD_BYTES) <= snapshotEveryBytes + retainBytes, `${name}: ${held} entries held`);
      const stored = site.store.meta();
      assert.ok(stored.snapshotIndex > 0, `${name}: no snapshot stored`);
      // The store keeps the same bounded tail below its snapshot as the core.
      assert.ok(stored.snapshotIndex - stored.firstIndex + 1 <= 5, `${name}: store keeps ${stored.snapshotIndex - stored.firstIndex + 1} entries below its snapshot`);
    }
  });
});
