// MemoryLogStore against the shared contract (with instant and with timer-driven fsyncs), and the
// faults it models for the simulator: crash losing unsynced writes, a failing disk, the lock.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Clock, TimerHandle } from '../../consensus/ports.js';
import {
  MemoryDisk,
  MemoryLogStore,
  StorageFormatError,
  StoreStateError,
  StoreWriteError,
} from '../../storage/index.js';
import { makeEntries, runLogStoreContract } from './contract.js';

runLogStoreContract('MemoryLogStore', async () => {
  const disk = new MemoryDisk();
  return {
    open: async () => {
      const store = new MemoryLogStore({ disk });
      return { store, meta: await store.open() };
    },
    dispose: async () => undefined,
  };
});

const realClock: Clock = {
  now: () => Date.now(),
  setTimer(delayMs, callback) {
    const timer = setTimeout(callback, delayMs);
    return { cancel: () => clearTimeout(timer) };
  },
};

runLogStoreContract('MemoryLogStore with timer-driven fsyncs finishing out of order', async () => {
  const disk = new MemoryDisk();
  let n = 0;
  return {
    open: async () => {
      const store = new MemoryLogStore({ disk, clock: realClock, syncDelayMs: () => [3, 0, 1][n++ % 3] });
      return { store, meta: await store.open() };
    },
    dispose: async () => undefined,
  };
});

/** Virtual time: timers fire only when the test advances the clock. */
class ManualClock implements Clock {
  private time = 0;
  private timers: Array<{ at: number; callback: () => void; cancelled: boolean }> = [];

  now(): number {
    return this.time;
  }

  setTimer(delayMs: number, callback: () => void): TimerHandle {
    const timer = { at: this.time + delayMs, callback, cancelled: false };
    this.timers.push(timer);
    return { cancel: () => (timer.cancelled = true) };
  }

  async advance(ms: number): Promise<void> {
    const until = this.time + ms;
    for (;;) {
      const due = this.timers.filter((t) => !t.cancelled && t.at <= until).sort((a, b) => a.at - b.at)[0];
      if (!due) break;
      this.timers.splice(this.timers.indexOf(due), 1);
      this.time = due.at;
      due.callback();
      await new Promise((resolve) => setImmediate(resolve));
    }
    this.time = until;
    await new Promise((resolve) => setImmediate(resolve));
  }
}

function tracked(promise: Promise<void>): { state: 'pending' | 'resolved' | 'rejected'; error?: unknown } {
  const t: { state: 'pending' | 'resolved' | 'rejected'; error?: unknown } = { state: 'pending' };
  promise.then(
    () => (t.state = 'resolved'),
    (error: unknown) => Object.assign(t, { state: 'rejected', error }),
  );
  return t;
}

describe('MemoryLogStore faults', { timeout: 10_000 }, () => {
  it('crash() loses writes whose fsync had not completed and keeps synced ones', async () => {
    const clock = new ManualClock();
    const store = new MemoryLogStore({ clock, syncDelayMs: () => 10 });
    await store.open();
    const synced = tracked(store.write({ entries: makeEntries(1, 2, 1), hardState: { term: 1, vote: 'a', commit: 0 } }));
    await clock.advance(10);
    assert.equal(synced.state, 'resolved');
    const lost = tracked(store.write({ entries: makeEntries(3, 4, 1), hardState: { term: 1, vote: 'a', commit: 2 } }));
    await clock.advance(5);
    assert.equal(await store.term(4), 1, 'reads see a write before it is durable');
    assert.equal(store.inflightWrites, 1);
    store.crash();
    await clock.advance(50);
    assert.equal(lost.state, 'pending', 'a crashed write never settles');
    await assert.rejects(store.term(1), StoreStateError);

    const meta = await store.open();
    assert.deepEqual([meta.lastIndex, meta.hardState.commit], [2, 0]);
    assert.deepEqual(await store.entries(1, 3), makeEntries(1, 2, 1));
    const other = new MemoryLogStore({ disk: store.disk });
    await assert.rejects(other.open(), (e: unknown) => e instanceof StoreStateError && e.code === 'STORE_LOCKED');
    store.crash();
    assert.equal((await other.open()).lastIndex, 2);
  });

  it('an unsynced write resolves at once, is lost in a crash, and becomes durable with the next synced write', async () => {
    const clock = new ManualClock();
    const store = new MemoryLogStore({ clock, syncDelayMs: () => 10 });
    await store.open();
    const first = store.write({ entries: makeEntries(1, 2, 1), hardState: { term: 1, vote: 'a', commit: 0 } });
    await clock.advance(10);
    await first;
    // Commit index and applied state only, without fsync: done at once, not yet durable.
    const lazy = tracked(store.write({ hardState: { term: 1, vote: 'a', commit: 2 }, applied: { index: 2, ops: [{ type: 'put', key: 'k', value: new Uint8Array([1]) }] }, sync: false }));
    await clock.advance(0);
    assert.equal(lazy.state, 'resolved');
    store.crash();
    let meta = await store.open();
    assert.deepEqual([meta.hardState.commit, meta.appliedIndex], [0, 0], 'the unsynced batch is lost whole');
    assert.deepEqual(await store.records(), []);

    await store.write({ hardState: { term: 1, vote: 'a', commit: 2 }, applied: { index: 2, ops: [{ type: 'put', key: 'k', value: new Uint8Array([1]) }] }, sync: false });
    const next = store.write({ entries: makeEntries(3, 3, 1) });
    await clock.advance(10);
    await next;
    store.crash();
    meta = await store.open();
    // As in the WAL store: the log's fsync made the commit index durable, not the applied state,
    // which lives in the state store and waits for a synced write there.
    assert.deepEqual([meta.hardState.commit, meta.appliedIndex, meta.lastIndex], [2, 0, 3], 'a later log fsync made the log part durable');
    assert.deepEqual(await store.records(), []);

    await store.write({ applied: { index: 2, ops: [{ type: 'put', key: 'k', value: new Uint8Array([1]) }] }, sync: false });
    const stateSync = store.write({ applied: { index: 3, ops: [{ type: 'put', key: 'j', value: new Uint8Array([2]) }] } });
    await clock.advance(10);
    await stateSync;
    store.crash();
    meta = await store.open();
    assert.deepEqual([meta.hardState.commit, meta.appliedIndex], [3, 3], 'a synced state write made both applied writes durable; commit follows the applied index');
    assert.deepEqual((await store.records()).map(([k]) => k), ['j', 'k']);
  });

  it('a synced write keeps its log part across a crash; its applied part waits for a state sync', async () => {
    const clock = new ManualClock();
    const store = new MemoryLogStore({ clock, syncDelayMs: () => 10 });
    await store.open();
    const write = store.write({
      entries: makeEntries(1, 2, 1),
      hardState: { term: 1, vote: 'a', commit: 1 },
      applied: { index: 1, ops: [{ type: 'put', key: 'k', value: new Uint8Array([1]) }] },
    });
    await clock.advance(10);
    await write;
    store.crash();
    const meta = await store.open();
    assert.deepEqual([meta.lastIndex, meta.hardState.commit, meta.appliedIndex], [2, 1, 0]);
    assert.deepEqual(await store.records(), []);
  });

  it('a write resolves only when it and every earlier write are synced', async () => {
    const clock = new ManualClock();
    const delays = [50, 5];
    const store = new MemoryLogStore({ clock, syncDelayMs: () => delays.shift() ?? 0 });
    await store.open();
    const first = tracked(store.write({ entries: makeEntries(1, 1, 1) }));
    const second = tracked(store.write({ entries: makeEntries(2, 2, 1) }));
    await clock.advance(10);
    assert.deepEqual([first.state, second.state], ['pending', 'pending']);
    store.crash();
    assert.equal((await store.open()).lastIndex, 0, 'the later write synced first but cannot outlive the earlier one');
    const third = tracked(store.write({ entries: makeEntries(1, 1, 1) }));
    await clock.advance(1);
    assert.equal(third.state, 'resolved');
    assert.equal(store.disk.syncedWrites, 1);
  });

  it('a failing disk rejects the write, keeps nothing of it, and refuses writes until reopened', async () => {
    const store = new MemoryLogStore();
    await store.open();
    await store.write({ entries: makeEntries(1, 1, 1) });
    store.failNextWrites(1);
    await assert.rejects(store.write({ entries: makeEntries(2, 2, 1) }), StoreWriteError);
    assert.equal(await store.term(2), undefined);
    await assert.rejects(store.write({ entries: makeEntries(2, 2, 1) }), /refuses further writes/);
    await store.close();
    assert.equal((await store.open()).lastIndex, 1);
    await store.write({ entries: makeEntries(2, 2, 1) });
    assert.equal(store.meta().lastIndex, 2);
  });

  it('close() waits for writes in flight', async () => {
    const clock = new ManualClock();
    const store = new MemoryLogStore({ clock, syncDelayMs: () => 20 });
    await store.open();
    const write = tracked(store.write({ entries: makeEntries(1, 1, 1) }));
    const closed = tracked(store.close());
    await assert.rejects(store.write({ entries: makeEntries(2, 2, 1) }), /closing/);
    await clock.advance(5);
    assert.equal(closed.state, 'pending');
    await clock.advance(20);
    assert.deepEqual([write.state, closed.state], ['resolved', 'resolved']);
    assert.equal(store.disk.image.log.length, 1);
  });

  it('refuses a disk written by a newer store format', async () => {
    const disk = new MemoryDisk();
    disk.formatVersion = 999;
    const err = await new MemoryLogStore({ disk, name: 'site-x' }).open().catch((e: unknown) => e);
    assert.ok(err instanceof StorageFormatError);
    assert.match(err.message, /version 999; this build reads versions 1 to 1/);
  });

  it('refuses a sync delay without a clock to run it on', () => {
    assert.throws(() => new MemoryLogStore({ syncDelayMs: () => 1 }), /needs a clock/);
  });

  it('keeps its own copy of the bytes it was given', async () => {
    const store = new MemoryLogStore();
    await store.open();
    const data = new Uint8Array([1, 2, 3]);
    const value = new Uint8Array([7]);
    await store.write({ entries: [{ index: 1, term: 1, type: 0, data }], applied: { index: 1, ops: [{ type: 'put', key: 'k', value }] } });
    data[0] = 9;
    value[0] = 9;
    assert.deepEqual((await store.entries(1, 2))[0].data, new Uint8Array([1, 2, 3]));
    assert.deepEqual((await store.records())[0][1], new Uint8Array([7]));
  });

  it('with shareBuffers, keeps the caller\'s buffers and reads a put\'s value only when the records are read', async () => {
    const disk = new MemoryDisk();
    const store = new MemoryLogStore({ disk, shareBuffers: true });
    await store.open();
    const data = new Uint8Array([1, 2, 3]);
    let reads = 0;
    const put = { type: 'put' as const, key: 'k', get value() { reads++; return new Uint8Array([7]); } };
    await store.write({ entries: [{ index: 1, term: 1, type: 0, data }], applied: { index: 1, ops: [put] } });
    assert.equal(reads, 0, 'the value was read at write time');
    assert.equal((await store.entries(1, 2))[0].data, data, 'the entry bytes were copied');
    await store.close();
    const reopened = new MemoryLogStore({ disk, shareBuffers: true });
    await reopened.open();
    assert.deepEqual(await reopened.records(), [['k', new Uint8Array([7])]]);
    assert.equal(reads, 1);
  });

  it('refuses a put whose value is not bytes: at write time when it is a plain field, when read when it is an accessor', async () => {
    const store = new MemoryLogStore({ shareBuffers: true });
    await store.open();
    const plain = { type: 'put', key: 'p', value: 'text' } as unknown as { type: 'put'; key: string; value: Uint8Array };
    await assert.rejects(store.write({ applied: { index: 1, ops: [plain] } }), /value is not a Uint8Array/);
    const accessor = { type: 'put' as const, key: 'a', get value() { return 'text' as unknown as Uint8Array; } };
    await store.write({ applied: { index: 1, ops: [accessor] } });
    await assert.rejects(store.records(), /record a holds a value that is not a Uint8Array/);
  });
});
