// Damage on disk: a bad entry at or below the commit index stops the store with an error naming the
// index, the directory and what the operator does; a damaged tail past the commit index is cut off
// at open (those entries were never committed) and reported.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { Level } from 'level';
import type { Logger } from '../../consensus/ports.js';
import { KeyKind, logKey, recordKey, singletonKey } from '../../storage/codec.js';
import { LevelLogStore, StorageCorruptionError } from '../../storage/index.js';
import { makeEntries } from './contract.js';

const ENTRIES_PER_BATCH = 500;

async function buildStore(dir: string, lastIndex: number, commit: number): Promise<void> {
  const store = new LevelLogStore(dir);
  await store.open();
  for (let from = 1; from <= lastIndex; from += ENTRIES_PER_BATCH) {
    await store.write({ entries: makeEntries(from, Math.min(lastIndex, from + ENTRIES_PER_BATCH - 1), 1, 32) });
  }
  await store.write({
    hardState: { term: 1, vote: '', commit },
    snapshot: { meta: { index: 1, term: 1, conf: { voters: ['a'], learners: [] } }, data: new Uint8Array([1, 2, 3]) },
    applied: { index: 1, ops: [{ type: 'put', key: 'rec', value: new Uint8Array([4, 5]) }] },
  });
  await store.close();
}

/** Rewrites (or deletes, when `change` returns undefined) one raw value, as a failing disk would. */
async function damage(dir: string, key: Uint8Array, change: (value: Uint8Array) => Uint8Array | undefined): Promise<void> {
  const db = new Level<Uint8Array, Uint8Array>(dir, { keyEncoding: 'view', valueEncoding: 'view' });
  const value = await db.get(key);
  assert.ok(value, 'value to damage exists');
  const changed = change(new Uint8Array(value));
  if (changed) await db.put(key, changed);
  else await db.del(key);
  await db.close();
}

const flipByte = (value: Uint8Array): Uint8Array => {
  const copy = value.slice();
  copy[copy.length - 3] ^= 0x5a;
  return copy;
};
const tear = (value: Uint8Array): Uint8Array => value.slice(0, Math.floor(value.length / 2));

function capturingLogger(): Logger & { warnings: Array<Record<string, unknown>> } {
  const warnings: Array<Record<string, unknown>> = [];
  return { warnings, debug() {}, info() {}, error() {}, warn: (obj) => void warnings.push(obj as Record<string, unknown>) };
}

function assertCorruption(err: unknown, dir: string, index?: number): void {
  assert.ok(err instanceof StorageCorruptionError, `expected StorageCorruptionError, got ${String(err)}`);
  assert.equal(err.code, 'STORAGE_CORRUPTION');
  assert.equal(err.index, index);
  assert.equal(err.dir, dir);
  assert.ok(err.message.includes(dir), 'names the directory');
  if (index !== undefined) assert.match(err.message, new RegExp(`log entry ${index}\\b`));
  assert.match(err.message, /stop this agent, move the data directory aside and re-join the site from a peer \(stackraft site remove\/add\)/i);
}

describe('corruption handling', { timeout: 30_000 }, () => {
  let dir = '';
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'stackraft-corrupt-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('refuses to open when an entry just below the commit index fails its checksum', async () => {
    await buildStore(dir, 100, 80);
    await damage(dir, logKey(50), flipByte);
    assertCorruption(await new LevelLogStore(dir).open().catch((e: unknown) => e), dir, 50);
    // Nothing was "repaired": the next open refuses the same way.
    assertCorruption(await new LevelLogStore(dir).open().catch((e: unknown) => e), dir, 50);
  });

  it('refuses to open when an entry below the commit index is missing', async () => {
    await buildStore(dir, 100, 80);
    await damage(dir, logKey(70), () => undefined);
    assertCorruption(await new LevelLogStore(dir).open().catch((e: unknown) => e), dir, 70);
  });

  it('finds older committed damage when the entry is read, and reads around it', async () => {
    await buildStore(dir, 1200, 1200);
    await damage(dir, logKey(10), flipByte);
    const store = new LevelLogStore(dir);
    const meta = await store.open(); // the last 1024 committed entries are checked at open, not entry 10
    try {
      assert.equal(meta.lastIndex, 1200);
      assertCorruption(await store.entries(5, 20).catch((e: unknown) => e), dir, 10);
      assertCorruption(await store.term(10).catch((e: unknown) => e), dir, 10);
      assert.deepEqual(await store.entries(11, 20), makeEntries(11, 19, 1, 32));
      assert.equal(await store.term(9), 1);
    } finally {
      await store.close();
    }
  });

  it('cuts a damaged tail past the commit index at open, and reports it', async () => {
    await buildStore(dir, 100, 80);
    await damage(dir, logKey(90), flipByte);
    const logger = capturingLogger();
    const store = new LevelLogStore(dir, { logger });
    const meta = await store.open();
    await store.close();
    assert.deepEqual([meta.firstIndex, meta.lastIndex, meta.hardState.commit], [1, 89, 80]);
    assert.equal(logger.warnings.length, 1);
    assert.deepEqual(
      { from: logger.warnings[0].from, to: logger.warnings[0].to, reason: logger.warnings[0].reason },
      { from: 90, to: 100, reason: 'checksum mismatch' },
    );
    const again = new LevelLogStore(dir, { logger });
    assert.equal((await again.open()).lastIndex, 89);
    assert.deepEqual(await again.entries(80, 90), makeEntries(80, 89, 1, 32));
    await again.write({ entries: makeEntries(90, 91, 1, 32) });
    await again.close();
    assert.equal(logger.warnings.length, 1, 'a clean tail is not reported');
  });

  it('cuts a torn entry and a hole past the commit index', async () => {
    await buildStore(dir, 100, 80);
    await damage(dir, logKey(95), tear);
    await damage(dir, logKey(85), () => undefined);
    const logger = capturingLogger();
    const store = new LevelLogStore(dir, { logger });
    assert.equal((await store.open()).lastIndex, 84);
    await store.close();
    assert.equal(logger.warnings[0].reason, 'entry is missing');
  });

  it('refuses to open when the hard state or the snapshot image is damaged', async () => {
    await buildStore(dir, 20, 10);
    await damage(dir, singletonKey(KeyKind.SnapshotImage), flipByte);
    const err = await new LevelLogStore(dir).open().catch((e: unknown) => e);
    assertCorruption(err, dir);
    assert.match((err as Error).message, /snapshot image at 1: checksum mismatch/);

    await rm(dir, { recursive: true, force: true });
    await buildStore(dir, 20, 10);
    await damage(dir, singletonKey(KeyKind.HardState), tear);
    assert.match(String(await new LevelLogStore(dir).open().catch((e: unknown) => e)), /hard state: truncated value/);
  });

  it('refuses to return a damaged catalog record', async () => {
    await buildStore(dir, 20, 10);
    await damage(dir, recordKey('rec'), flipByte);
    const store = new LevelLogStore(dir);
    await store.open();
    try {
      const err = await store.records().catch((e: unknown) => e);
      assertCorruption(err, dir);
      assert.match((err as Error).message, /catalog record rec: checksum mismatch/);
    } finally {
      await store.close();
    }
  });
});
