// The LogStore contract, run against LevelLogStore and MemoryLogStore alike. Each case reopens the
// store (a new instance over the same durable state) and checks the state came back the same.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { LogStore, StoreMeta } from '../../consensus/ports.js';
import type { Entry, Snapshot } from '../../consensus/types.js';
import { InvalidBatchError, LogRangeError, StoreStateError } from '../../storage/index.js';

/** One durable location; open() makes a new store instance over it and opens it. */
export interface ContractTarget {
  open(): Promise<{ store: LogStore; meta: StoreMeta }>;
  dispose(): Promise<void>;
}

export type TargetFactory = () => Promise<ContractTarget>;

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);
const text = (data: Uint8Array): string => new TextDecoder().decode(data);

export function makeEntries(from: number, to: number, term: number, size = 8): Entry[] {
  const out: Entry[] = [];
  for (let index = from; index <= to; index++) {
    const data = new Uint8Array(size).fill(index % 251);
    out.push({ index, term, type: 0, data });
  }
  return out;
}

function snapshotAt(index: number, term: number, image = `image@${index}`): Snapshot {
  return { meta: { index, term, conf: { voters: ['a', 'b', 'c'], learners: ['d'] } }, data: bytes(image) };
}

async function terms(store: LogStore, lo: number, hi: number): Promise<Array<number | undefined>> {
  const out: Array<number | undefined> = [];
  for (let i = lo; i < hi; i++) out.push(await store.term(i));
  return out;
}

async function recordTexts(store: LogStore): Promise<Array<[string, string]>> {
  return (await store.records()).map(([k, v]) => [k, text(v)]);
}

/** Runs `body` with an open store, reopening between steps via the `reopen` callback it gets. */
async function withTarget(
  factory: TargetFactory,
  body: (s: { store: LogStore; meta: StoreMeta; reopen: () => Promise<{ store: LogStore; meta: StoreMeta }> }) => Promise<void>,
): Promise<void> {
  const target = await factory();
  let current = await target.open();
  const reopen = async (): Promise<{ store: LogStore; meta: StoreMeta }> => {
    await current.store.close();
    current = await target.open();
    return current;
  };
  try {
    await body({ ...current, reopen });
  } finally {
    await current.store.close();
    await target.dispose();
  }
}

export function runLogStoreContract(name: string, factory: TargetFactory): void {
  describe(`LogStore contract: ${name}`, { timeout: 30_000 }, () => {
    it('opens empty with zeroed metadata and answers reads on an empty log', async () => {
      await withTarget(factory, async ({ store, meta }) => {
        assert.deepEqual(meta, {
          hardState: { term: 0, vote: '', commit: 0 },
          firstIndex: 1,
          lastIndex: 0,
          snapshot: null,
          appliedIndex: 0,
        });
        assert.equal(await store.term(0), 0);
        assert.equal(await store.term(1), undefined);
        assert.deepEqual(await store.entries(1, 1), []);
        assert.deepEqual(await store.records(), []);
        await assert.rejects(store.entries(1, 2), LogRangeError);
      });
    });

    it('appends, reads ranges within byte budgets, and keeps them across reopen', async () => {
      await withTarget(factory, async ({ store, reopen }) => {
        const written = [...makeEntries(1, 5, 1, 100), ...makeEntries(6, 10, 2, 100)];
        await store.write({ entries: written.slice(0, 4) });
        await store.write({ entries: written.slice(4), hardState: { term: 2, vote: 'a', commit: 4 } });
        const check = async (s: LogStore): Promise<void> => {
          assert.deepEqual(await s.entries(1, 11), written);
          assert.deepEqual(await s.entries(3, 6), written.slice(2, 5));
          // 100 bytes each: the third entry makes the total exceed 250, and is the last returned.
          assert.deepEqual(await s.entries(1, 11, 250), written.slice(0, 3));
          assert.deepEqual(await s.entries(1, 11, 300), written.slice(0, 4));
          assert.deepEqual(await s.entries(4, 11, 0), written.slice(3, 4));
          assert.deepEqual(await terms(s, 0, 12), [0, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, undefined]);
          const range = await s.entries(0, 3).catch((e: unknown) => e);
          assert.ok(range instanceof LogRangeError && range.reason === 'compacted', String(range));
          const beyond = await s.entries(8, 12).catch((e: unknown) => e);
          assert.ok(beyond instanceof LogRangeError && beyond.reason === 'unavailable', String(beyond));
          await assert.rejects(s.entries(5, 3), RangeError);
        };
        await check(store);
        const again = await reopen();
        assert.equal(again.meta.firstIndex, 1);
        assert.equal(again.meta.lastIndex, 10);
        assert.deepEqual(again.meta.hardState, { term: 2, vote: 'a', commit: 4 });
        await check(again.store);
      });
    });

    it('truncates a conflicting suffix, and refuses gaps and rewriting committed entries', async () => {
      await withTarget(factory, async ({ store, reopen }) => {
        await store.write({ entries: makeEntries(1, 10, 1), hardState: { term: 1, vote: '', commit: 3 } });
        await store.write({ entries: makeEntries(6, 8, 2), hardState: { term: 2, vote: 'b', commit: 3 } });
        const { store: s2, meta } = await reopen();
        assert.equal(meta.lastIndex, 8);
        assert.deepEqual(await terms(s2, 1, 10), [1, 1, 1, 1, 1, 2, 2, 2, undefined]);
        assert.deepEqual(await s2.entries(6, 9), makeEntries(6, 8, 2));
        await assert.rejects(s2.write({ entries: makeEntries(3, 4, 2) }), InvalidBatchError);
        await assert.rejects(s2.write({ entries: makeEntries(10, 11, 2) }), InvalidBatchError);
        await assert.rejects(s2.write({ entries: [...makeEntries(9, 9, 2), ...makeEntries(11, 11, 2)] }), InvalidBatchError);
        await assert.rejects(s2.write({ entries: [...makeEntries(9, 9, 3), ...makeEntries(10, 10, 2)] }), InvalidBatchError);
        await s2.write({ entries: makeEntries(9, 9, 2) });
        const { store: s3, meta: meta3 } = await reopen();
        assert.equal(meta3.lastIndex, 9);
        assert.deepEqual(await terms(s3, 1, 10), [1, 1, 1, 1, 1, 2, 2, 2, 2]);
      });
    });

    it('keeps the hard state and refuses a term going down, a changed vote or a commit going back', async () => {
      await withTarget(factory, async ({ store, reopen }) => {
        await store.write({ entries: makeEntries(1, 4, 3), hardState: { term: 3, vote: 'b', commit: 2 } });
        const { store: s2, meta } = await reopen();
        assert.deepEqual(meta.hardState, { term: 3, vote: 'b', commit: 2 });
        await assert.rejects(s2.write({ hardState: { term: 2, vote: '', commit: 2 } }), /term would go down/);
        await assert.rejects(s2.write({ hardState: { term: 3, vote: 'c', commit: 2 } }), /vote in term 3/);
        await assert.rejects(s2.write({ hardState: { term: 3, vote: 'b', commit: 1 } }), /commit index would go back/);
        await assert.rejects(s2.write({ hardState: { term: 3, vote: 'b', commit: 5 } }), /past the last stored index/);
        await assert.rejects(s2.write({ hardState: { term: -1, vote: 'b', commit: 1 } } as never), InvalidBatchError);
        await s2.write({ hardState: { term: 4, vote: '', commit: 4 } });
        const { meta: meta3 } = await reopen();
        assert.deepEqual(meta3.hardState, { term: 4, vote: '', commit: 4 });
      });
    });

    it('a refused batch writes nothing of itself', async () => {
      await withTarget(factory, async ({ store, reopen }) => {
        await store.write({ entries: makeEntries(1, 2, 1), hardState: { term: 1, vote: '', commit: 1 } });
        const bad = {
          entries: makeEntries(3, 5, 1),
          hardState: { term: 1, vote: '', commit: 0 },
          applied: { index: 1, ops: [{ type: 'put' as const, key: 'x', value: bytes('1') }] },
        };
        await assert.rejects(store.write(bad), InvalidBatchError);
        await assert.rejects(
          store.write({ entries: makeEntries(3, 3, 1), applied: { index: 1, ops: [{ type: 'put', key: '', value: bytes('') }] } }),
          /has no key/,
        );
        const nothingWritten = async (s: LogStore): Promise<void> => {
          assert.equal(await s.term(3), undefined);
          assert.deepEqual(await s.records(), []);
          assert.deepEqual((await s.entries(1, 3)).length, 2);
        };
        await nothingWritten(store);
        await nothingWritten((await reopen()).store);
      });
    });

    it('compacts only what a snapshot covers, with and without a new snapshot', async () => {
      await withTarget(factory, async ({ store, reopen }) => {
        await store.write({ entries: makeEntries(1, 10, 1), hardState: { term: 1, vote: '', commit: 8 } });
        await assert.rejects(store.write({ compactTo: 2 }), /past the snapshot index 0/);
        await store.write({ snapshot: snapshotAt(5, 1), compactTo: 3 });
        let { store: s, meta } = await reopen();
        assert.equal(meta.firstIndex, 3);
        assert.equal(meta.lastIndex, 10);
        assert.deepEqual(meta.snapshot, snapshotAt(5, 1));
        assert.deepEqual(await terms(s, 1, 12), [undefined, undefined, 1, 1, 1, 1, 1, 1, 1, 1, undefined]);
        assert.deepEqual(await s.entries(3, 11), makeEntries(3, 10, 1));
        await assert.rejects(s.entries(2, 4), LogRangeError);
        await assert.rejects(s.write({ compactTo: 7 }), /past the snapshot index 5/);
        await s.write({ compactTo: 6 });
        ({ store: s, meta } = await reopen());
        assert.equal(meta.firstIndex, 6);
        assert.equal(await s.term(5), 1, 'the snapshot answers for its own index');
        assert.equal(await s.term(4), undefined);
        await s.write({ compactTo: 2 });
        assert.equal((await reopen()).meta.firstIndex, 6, 'compacting below the first index changes nothing');
      });
    });

    it('installs a received snapshot past the log: the log and the records are replaced', async () => {
      await withTarget(factory, async ({ store, reopen }) => {
        await store.write({
          entries: makeEntries(1, 10, 1),
          hardState: { term: 1, vote: '', commit: 5 },
          applied: { index: 5, ops: [{ type: 'put', key: 'old', value: bytes('gone') }] },
        });
        await store.write({
          snapshot: snapshotAt(20, 3),
          hardState: { term: 3, vote: '', commit: 20 },
          applied: { index: 20, replaceAll: true, ops: [{ type: 'put', key: 'new', value: bytes('here') }] },
        });
        let { store: s, meta } = await reopen();
        assert.equal(meta.firstIndex, 21);
        assert.equal(meta.lastIndex, 20);
        assert.equal(meta.appliedIndex, 20);
        assert.deepEqual(meta.snapshot, snapshotAt(20, 3));
        assert.equal(await s.term(20), 3);
        assert.equal(await s.term(10), undefined);
        assert.deepEqual(await recordTexts(s), [['new', 'here']]);
        await s.write({ entries: makeEntries(21, 22, 3) });
        ({ store: s, meta } = await reopen());
        assert.deepEqual([meta.firstIndex, meta.lastIndex], [21, 22]);
        await assert.rejects(s.write({ snapshot: snapshotAt(15, 3) }), /older than the stored snapshot/);
      });
    });

    it('a snapshot whose term differs from the stored entry at its index replaces the log', async () => {
      await withTarget(factory, async ({ store, reopen }) => {
        await store.write({ entries: makeEntries(1, 10, 1), hardState: { term: 2, vote: '', commit: 2 } });
        await assert.rejects(store.write({ snapshot: snapshotAt(1, 2) }), /disagrees with the log committed/);
        await store.write({ snapshot: snapshotAt(8, 2), entries: makeEntries(9, 9, 2) });
        const { store: s, meta } = await reopen();
        assert.deepEqual([meta.firstIndex, meta.lastIndex], [9, 9]);
        assert.deepEqual(await terms(s, 7, 11), [undefined, 2, 2, undefined]);
        assert.deepEqual(await s.entries(9, 10), makeEntries(9, 9, 2));
      });
    });

    it('writes applied records with the applied index, in op order, and replaceAll drops the rest', async () => {
      await withTarget(factory, async ({ store, reopen }) => {
        await store.write({ entries: makeEntries(1, 6, 1), hardState: { term: 1, vote: '', commit: 6 } });
        await store.write({
          applied: {
            index: 3,
            ops: [
              { type: 'put', key: 'b', value: bytes('b1') },
              { type: 'put', key: 'a', value: bytes('a1') },
              { type: 'put', key: 'a', value: bytes('a2') },
              { type: 'put', key: 'c', value: bytes('c1') },
              { type: 'del', key: 'c' },
              { type: 'put', key: 'é', value: bytes('e1') },
            ],
          },
        });
        let { store: s, meta } = await reopen();
        assert.equal(meta.appliedIndex, 3);
        assert.deepEqual(await recordTexts(s), [['a', 'a2'], ['b', 'b1'], ['é', 'e1']]);
        await assert.rejects(s.write({ applied: { index: 2, ops: [] } }), /applied index would go back/);
        await s.write({ applied: { index: 6, replaceAll: true, ops: [{ type: 'put', key: 'z', value: bytes('z') }] } });
        ({ store: s, meta } = await reopen());
        assert.equal(meta.appliedIndex, 6);
        assert.deepEqual(await recordTexts(s), [['z', 'z']]);
      });
    });

    it('refuses calls before open and after close', async () => {
      await withTarget(factory, async ({ reopen }) => {
        const { store } = await reopen();
        await store.close();
        await assert.rejects(store.write({ entries: makeEntries(1, 1, 1) }), StoreStateError);
        await assert.rejects(store.entries(1, 1), StoreStateError);
        await store.close(); // closing twice is harmless
      });
    });
  });
}
