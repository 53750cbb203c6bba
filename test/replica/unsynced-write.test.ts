// A Ready that needs no fsync (the commit index and the applied records of entries already durable
// here) does not hold up the next Ready (2dcaa16): with one writer, the next proposal's appends leave
// while that write is still in flight. The store still takes one write at a time, in order, and
// stop() waits for the write. On real replica runtimes in virtual time, with a disk whose unsynced
// writes are the slow ones (writeback throttling under contention, 15-47 ms measured on real agents).
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import type { ApplyResult, LogStore, ProposalOutcome, StateMachine, StoreBatch } from '../../consensus/ports.js';
import type { Entry } from '../../consensus/types.js';
import { MemoryLogStore } from '../../storage/memory-store.js';
import { ManualClock, TestCluster } from './harness.js';

const SYNCED_MS = 2;
const UNSYNCED_MS = 40;

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

interface DiskLog {
  timed: boolean;
  /** Writes handed to the store and not yet settled, at most. */
  maxInFlight: number;
  /** Each unsynced write with the applied index it carries: when it was called and when it settled. */
  unsynced: Array<{ applied: number; calledAt: number; doneAt?: number }>;
}

function slowUnsyncedDisk(store: MemoryLogStore, clock: ManualClock, log: DiskLog): LogStore {
  let inFlight = 0;
  return {
    open: () => store.open(),
    async write(batch: StoreBatch): Promise<void> {
      inFlight++;
      log.maxInFlight = Math.max(log.maxInFlight, inFlight);
      const unsynced: DiskLog['unsynced'][number] | undefined = batch.sync === false ? { applied: batch.applied?.index ?? -1, calledAt: clock.now() } : undefined;
      if (unsynced) log.unsynced.push(unsynced);
      try {
        // (No delay while the cluster starts: the bootstrap write runs before anyone advances the clock.)
        if (log.timed) await new Promise<void>((resolve) => clock.setTimer(unsynced ? UNSYNCED_MS : SYNCED_MS, resolve));
        await store.write(batch);
      } finally {
        inFlight--;
        if (unsynced) unsynced.doneAt = clock.now();
      }
    },
    entries: (lo, hi, maxBytes) => store.entries(lo, hi, maxBytes),
    term: (index) => store.term(index),
    records: () => store.records(),
    close: () => store.close(),
  };
}

describe('a Ready that needs no fsync', () => {
  it('does not hold up the next proposal\'s appends; the store still takes one write at a time, and stop() waits for it', async () => {
    const disks = new Map<string, DiskLog>();
    const c = new TestCluster<CountingMachine>({
      voters: ['a', 'b', 'c'],
      makeStateMachine: () => new CountingMachine(),
      storeFor: (site, store, clock) => {
        const log: DiskLog = { timed: false, maxInFlight: 0, unsynced: [] };
        disks.set(site, log);
        return slowUnsyncedDisk(store, clock, log);
      },
    });
    await c.start();
    for (const log of disks.values()) log.timed = true;
    const leader = await c.waitForLeader();
    // One follower only: with two, the second one's acknowledgement of the first write arrives at the
    // same instant as the first one's and its answering append (sent early) would carry the next write.
    const cut = c.names.find((n) => n !== leader.name)!;
    c.net.isolate(cut, c.names);
    await c.clock.advance(1_000);
    const firstSent = new Map<number, number>();
    c.net.onSend = (from, _to, m) => {
      if (from !== leader.name || m.kind !== 'raft' || m.msg.type !== 'append') return;
      for (const e of m.msg.entries ?? []) if (!firstSent.has(e.index)) firstSent.set(e.index, c.clock.now());
    };

    // One writer: the next write is proposed the moment the previous one is answered.
    const data = new TextEncoder().encode('w');
    let answeredFirstAt = -1;
    const second = c.run(
      leader.replica.propose(data).then((first: ProposalOutcome) => {
        assert.equal(first.status, 'committed');
        answeredFirstAt = c.clock.now();
        return leader.replica.propose(data).then((second) => ({ first, second }));
      }),
    );
    const { first, second: outcome } = await second;
    assert.equal(outcome.status, 'committed');
    const i1 = (first as { index: number }).index;
    const i2 = (outcome as { index: number }).index;
    assert.equal(i2, i1 + 1);

    // The leader answered the first write before its commit Ready's write (no fsync), which took
    // UNSYNCED_MS; the second write's appends left while that write was still in flight.
    const commitWrite = disks.get(leader.name)!.unsynced.find((w) => w.applied === i1);
    assert.ok(commitWrite, `no unsynced write of the leader carried applied index ${i1}`);
    assert.ok(commitWrite.calledAt <= answeredFirstAt, `first write answered at ${answeredFirstAt}, its commit write called at ${commitWrite.calledAt}`);
    const sentAt = firstSent.get(i2);
    assert.ok(sentAt !== undefined, `entry ${i2} was never sent`);
    assert.ok(commitWrite.doneAt !== undefined && sentAt < commitWrite.doneAt, `entry ${i2} left at ${sentAt}, the commit write of ${i1} ended at ${commitWrite.doneAt}`);
    assert.equal(sentAt, answeredFirstAt);

    // Still one write at a time on every site: the next write waited for the unsynced one.
    for (const [site, log] of disks) assert.equal(log.maxInFlight, 1, `${site} had ${log.maxInFlight} writes in flight at once`);

    // stop() returns only once an unsynced write in flight has settled.
    const third = leader.replica.propose(data);
    const answered = await c.run(third);
    assert.equal(answered.status, 'committed');
    const pending = disks.get(leader.name)!.unsynced.find((w) => w.applied === (answered as { index: number }).index);
    assert.ok(pending && pending.doneAt === undefined, 'the commit write of the third write should still be in flight');
    let writeDoneWhenStopped: boolean | undefined;
    void leader.replica.stop().then(() => (writeDoneWhenStopped = pending.doneAt !== undefined));
    for (let t = 0; t < 1_000 && writeDoneWhenStopped === undefined; t++) await c.clock.advance(1);
    assert.equal(writeDoneWhenStopped, true, 'stop() returned before the unsynced write settled (or never)');
    await c.run(c.stopAll());
  });
});
