// LevelLogStore against the shared LogStore contract, plus what only a real directory has: locking.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { LevelLogStore, StoreStateError } from '../../storage/index.js';
import { makeEntries, runLogStoreContract } from './contract.js';

runLogStoreContract('LevelLogStore', async () => {
  const root = await mkdtemp(join(tmpdir(), 'stackraft-storage-'));
  const dir = join(root, 'nested', 'store');
  return {
    open: async () => {
      const store = new LevelLogStore(dir);
      return { store, meta: await store.open() };
    },
    dispose: () => rm(root, { recursive: true, force: true }),
  };
});

describe('LevelLogStore', { timeout: 20_000 }, () => {
  it('refuses a second store on a directory already open', async () => {
    const root = await mkdtemp(join(tmpdir(), 'stackraft-storage-'));
    const first = new LevelLogStore(root);
    try {
      await first.open();
      const second = new LevelLogStore(root);
      const err = await second.open().catch((e: unknown) => e);
      assert.ok(err instanceof StoreStateError, String(err));
      assert.equal(err.code, 'STORE_LOCKED');
      assert.match(err.message, /in use by another process/);
    } finally {
      await first.close();
      await rm(root, { recursive: true, force: true });
    }
  });

  it('serializes concurrent writes in call order', async () => {
    const root = await mkdtemp(join(tmpdir(), 'stackraft-storage-'));
    const store = new LevelLogStore(root);
    try {
      await store.open();
      const writes = [];
      for (let i = 1; i <= 20; i++) writes.push(store.write({ entries: makeEntries(i, i, 1) }));
      await Promise.all(writes);
      assert.deepEqual(await store.entries(1, 21), makeEntries(1, 20, 1));
    } finally {
      await store.close();
      await rm(root, { recursive: true, force: true });
    }
  });
});
