// WalLogStore against the shared LogStore contract (with small segments, so rotation and segment
// removal happen inside the contract's cases too), plus what only the log has: group commit,
// preallocated segments, rotation and removal after compaction, the directory lock.
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { silentLogger } from '../../consensus/ports.js';
import { LevelLogStore, StoreStateError, StoreWriteError, WalLogStore, nodeFileSystem, openDurableStore, type WalFileSystem } from '../../storage/index.js';
import { makeEntries, runLogStoreContract } from './contract.js';

const SMALL_SEGMENT_BYTES = 4096;

for (const segmentBytes of [undefined, SMALL_SEGMENT_BYTES]) {
  runLogStoreContract(`WalLogStore${segmentBytes ? ` with ${segmentBytes}-byte segments` : ''}`, async () => {
    const root = await mkdtemp(join(tmpdir(), 'stackraft-wal-'));
    const dir = join(root, 'nested', 'store');
    return {
      open: async () => {
        const store = new WalLogStore(dir, { segmentBytes });
        return { store, meta: await store.open() };
      },
      dispose: () => rm(root, { recursive: true, force: true }),
    };
  });
}

async function withDir(body: (dir: string) => Promise<void>): Promise<void> {
  const root = await mkdtemp(join(tmpdir(), 'stackraft-wal-'));
  try {
    await body(join(root, 'store'));
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

describe('WalLogStore', { timeout: 30_000 }, () => {
  it('is what a daemon opens on a new directory; a directory of the LevelDB-only store stays one', async () => {
    await withDir(async (dir) => {
      const legacy = new LevelLogStore(join(dir, 'old'));
      await legacy.open();
      await legacy.write({ entries: makeEntries(1, 3, 1) });
      await legacy.close();
      const reopened = await openDurableStore(join(dir, 'old'), silentLogger);
      assert.ok(reopened instanceof LevelLogStore);
      assert.equal((await reopened.open()).lastIndex, 3);
      await reopened.close();
      const fresh = await openDurableStore(join(dir, 'new'), silentLogger);
      assert.ok(fresh instanceof WalLogStore);
      await fresh.open();
      await fresh.close();
      assert.deepEqual((await readdir(join(dir, 'new'))).sort(), ['STACKRAFT-STORE', 'state', 'wal']);
      const err = await new LevelLogStore(join(dir, 'new')).open().catch((e: unknown) => e);
      assert.match(String(err), /holds format "stackraft-wal-store", not "stackraft-log-store"/);
    });
  });

  it('refuses a second store on a directory already open', async () => {
    await withDir(async (dir) => {
      const first = new WalLogStore(dir);
      await first.open();
      try {
        const err = await new WalLogStore(dir).open().catch((e: unknown) => e);
        assert.ok(err instanceof StoreStateError, String(err));
        assert.equal(err.code, 'STORE_LOCKED');
      } finally {
        await first.close();
      }
    });
  });

  it('writes concurrent batches as groups, in call order, with fewer fdatasyncs than writes', async () => {
    await withDir(async (dir) => {
      const store = new WalLogStore(dir);
      await store.open();
      try {
        const writes = [];
        for (let i = 1; i <= 50; i++) writes.push(store.write({ entries: makeEntries(i, i, 1), hardState: { term: 1, vote: '', commit: i - 1 } }));
        await Promise.all(writes);
        assert.deepEqual(await store.entries(1, 51), makeEntries(1, 50, 1));
        assert.equal(store.counters.writes, 50);
        assert.ok(store.counters.syncs < 50, `group commit shared fdatasyncs (${store.counters.syncs} for 50 writes)`);
        assert.ok(store.counters.syncs >= 1);
      } finally {
        await store.close();
      }
      const again = new WalLogStore(dir);
      const meta = await again.open();
      assert.deepEqual([meta.lastIndex, meta.hardState.commit], [50, 49]);
      await again.close();
    });
  });

  it('a group that changes one record several times stores the last change (put, delete, put again)', async () => {
    await withDir(async (dir) => {
      const bytes = (text: string) => new TextEncoder().encode(text);
      const applied = (index: number, ops: Array<{ type: 'put'; key: string; value: Uint8Array } | { type: 'del'; key: string }>) => ({
        entries: makeEntries(index, index, 1),
        hardState: { term: 1, vote: '', commit: index },
        applied: { index, replaceAll: false, ops },
      });
      const store = new WalLogStore(dir);
      await store.open();
      try {
        // Written in one turn: one group. 'k' ends as put 3, 'gone' ends deleted, 'kept' is put once.
        await Promise.all([
          store.write(applied(1, [{ type: 'put', key: 'k', value: bytes('1') }, { type: 'put', key: 'gone', value: bytes('x') }])),
          store.write(applied(2, [{ type: 'del', key: 'k' }, { type: 'put', key: 'kept', value: bytes('y') }])),
          store.write(applied(3, [{ type: 'put', key: 'k', value: bytes('3') }, { type: 'del', key: 'gone' }])),
        ]);
        assert.ok(store.counters.groups < 3, `the three writes shared a group (${store.counters.groups} groups)`);
      } finally {
        await store.close();
      }
      const again = new WalLogStore(dir);
      const meta = await again.open();
      try {
        assert.equal(meta.appliedIndex, 3);
        const records = (await again.records()).map(([key, value]) => [key, new TextDecoder().decode(value)]);
        assert.deepEqual(records, [['k', '3'], ['kept', 'y']]);
      } finally {
        await again.close();
      }
    });
  });

  it('a refused batch in a group does not take the others down', async () => {
    await withDir(async (dir) => {
      const store = new WalLogStore(dir);
      await store.open();
      try {
        const results = await Promise.allSettled([
          store.write({ entries: makeEntries(1, 2, 1) }),
          store.write({ entries: makeEntries(5, 5, 1) }), // a gap: refused
          store.write({ entries: makeEntries(3, 3, 1) }),
        ]);
        assert.deepEqual(results.map((r) => r.status), ['fulfilled', 'rejected', 'fulfilled']);
        assert.deepEqual(await store.entries(1, 4), makeEntries(1, 3, 1));
      } finally {
        await store.close();
      }
    });
  });

  it('preallocates segments: appending does not grow the segment file', async () => {
    await withDir(async (dir) => {
      const segmentBytes = 64 * 1024;
      const store = new WalLogStore(dir, { segmentBytes });
      await store.open();
      const segment = join(dir, 'wal', '0000000000000001.wal');
      assert.equal((await stat(segment)).size, segmentBytes, 'full size before anything is written');
      for (let i = 1; i <= 20; i++) await store.write({ entries: makeEntries(i, i, 1, 100) });
      assert.equal((await stat(segment)).size, segmentBytes, 'same size after appends');
      await store.close();
    });
  });

  it('goes through its file port; a failed fdatasync fails the write and every later one', async () => {
    await withDir(async (dir) => {
      let failSyncs = false;
      let datasyncs = 0;
      const fs: WalFileSystem = {
        ...nodeFileSystem,
        async open(path, mode) {
          const file = await nodeFileSystem.open(path, mode);
          return {
            ...file,
            write: (data, position) => file.write(data, position),
            read: (into, position) => file.read(into, position),
            sync: () => file.sync(),
            truncate: (length) => file.truncate(length),
            size: () => file.size(),
            close: () => file.close(),
            datasync: async () => {
              datasyncs++;
              if (failSyncs) throw Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' });
              return file.datasync();
            },
          };
        },
      };
      const store = new WalLogStore(dir, { fs });
      await store.open();
      await store.write({ entries: makeEntries(1, 1, 1) });
      assert.equal(datasyncs, 1, 'one fdatasync for one synced write, through the port');
      await store.write({ hardState: { term: 1, vote: '', commit: 1 }, sync: false });
      assert.equal(datasyncs, 1, 'an unsynced write does not fdatasync');
      failSyncs = true;
      const err = await store.write({ entries: makeEntries(2, 2, 1) }).catch((e: unknown) => e);
      assert.ok(err instanceof StoreWriteError, String(err));
      assert.match(err.message, /EIO/);
      failSyncs = false;
      await assert.rejects(store.write({ entries: makeEntries(2, 2, 1) }), StoreWriteError);
      await store.close();
      const again = new WalLogStore(dir);
      assert.equal((await again.open()).lastIndex, 2, 'the record whose fdatasync failed may be there (its outcome was unknown)');
      await again.close();
    });
  });

  it('rotates into new segments and removes the ones a snapshot made useless', async () => {
    await withDir(async (dir) => {
      const store = new WalLogStore(dir, { segmentBytes: SMALL_SEGMENT_BYTES });
      await store.open();
      for (let i = 1; i <= 200; i += 10) {
        await store.write({ entries: makeEntries(i, i + 9, 1, 64), hardState: { term: 1, vote: '', commit: i + 9 } });
      }
      const before = store.segmentSeqs();
      assert.ok(before.length > 3, `several segments (${before.length})`);
      await store.write({ snapshot: { meta: { index: 180, term: 1, conf: { voters: ['a'], learners: [] } }, data: new Uint8Array([9]) }, compactTo: 171 });
      await store.write({ hardState: { term: 2, vote: '', commit: 200 } }); // synced: removal happens after a durable compaction record
      const after = store.segmentSeqs();
      assert.ok(after.length < before.length, `segments removed (${before.join(',')} -> ${after.join(',')})`);
      assert.deepEqual((await readdir(join(dir, 'wal'))).filter((n) => n.endsWith('.wal')).length, after.length);
      assert.deepEqual(await store.entries(171, 201), makeEntries(171, 200, 1, 64));
      await store.close();
      const again = new WalLogStore(dir, { segmentBytes: SMALL_SEGMENT_BYTES });
      const meta = await again.open();
      assert.deepEqual([meta.firstIndex, meta.lastIndex, meta.snapshot?.meta.index, meta.hardState.term], [171, 200, 180, 2]);
      assert.deepEqual(await again.entries(171, 201), makeEntries(171, 200, 1, 64));
      await again.write({ entries: makeEntries(201, 201, 2) });
      await again.close();
    });
  });
});
