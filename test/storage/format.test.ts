// Bad input at open: directories that are not stackraft stores, or stores of a newer format, are
// refused with a clear StorageFormatError and left exactly as they were.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { Level } from 'level';
import { Packr } from 'msgpackr';
import { KeyKind, seal, singletonKey } from '../../storage/codec.js';
import { LevelLogStore, STORE_MARKER_FILE, StorageFormatError } from '../../storage/index.js';
import { makeEntries } from './contract.js';

/** Every file under `dir` with its size, mtime and content hash. */
async function fingerprint(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const walk = async (path: string, rel: string): Promise<void> => {
    for (const name of (await readdir(path)).sort()) {
      const full = join(path, name);
      const info = await stat(full);
      if (info.isDirectory()) {
        out[`${rel}${name}/`] = 'dir';
        await walk(full, `${rel}${name}/`);
      } else {
        const hash = createHash('sha256').update(await readFile(full)).digest('hex');
        out[rel + name] = `${info.size}:${info.mtimeMs}:${hash}`;
      }
    }
  };
  await walk(dir, '');
  return out;
}

async function openError(dir: string): Promise<StorageFormatError> {
  const err = await new LevelLogStore(dir).open().catch((e: unknown) => e);
  assert.ok(err instanceof StorageFormatError, `expected StorageFormatError, got ${String(err)}`);
  return err;
}

async function makeStore(dir: string): Promise<void> {
  const store = new LevelLogStore(dir);
  await store.open();
  await store.write({ entries: makeEntries(1, 3, 1) });
  await store.close();
}

describe('store format checks', { timeout: 20_000 }, () => {
  let root = '';
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'stackraft-format-'));
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('refuses a directory of unrelated files and changes nothing', async () => {
    await writeFile(join(root, 'notes.txt'), 'hello');
    await writeFile(join(root, 'random.bin'), Buffer.from([0, 1, 2, 250, 251]));
    await mkdir(join(root, 'sub'));
    await writeFile(join(root, 'sub', 'x'), 'y');
    const before = await fingerprint(root);
    const err = await openError(root);
    assert.match(err.message, /is not empty and is not a stackraft store \(found: notes\.txt, random\.bin, sub\)/);
    assert.match(err.message, /Nothing was changed/);
    assert.equal(err.code, 'STORAGE_FORMAT');
    assert.deepEqual(await fingerprint(root), before);
  });

  it('refuses a LevelDB database stackraft did not create and does not open it', async () => {
    const db = new Level(root);
    await db.put('some', 'thing');
    await db.close();
    const before = await fingerprint(root);
    const err = await openError(root);
    assert.match(err.message, /holds a LevelDB database that stackraft did not create/);
    assert.deepEqual(await fingerprint(root), before);
  });

  it('refuses a store whose marker names a newer format version, naming both versions', async () => {
    await makeStore(root);
    await writeFile(join(root, STORE_MARKER_FILE), JSON.stringify({ format: 'stackraft-log-store', version: 999 }));
    const before = await fingerprint(root);
    const err = await openError(root);
    assert.equal(err.foundVersion, 999);
    assert.equal(err.supportedVersion, 1);
    assert.match(err.message, /written by store format version 999; this build reads versions 1 to 1/);
    assert.deepEqual(await fingerprint(root), before);
  });

  it('refuses a store whose in-store format record names a newer version', async () => {
    await makeStore(root);
    const db = new Level<Uint8Array, Uint8Array>(root, { keyEncoding: 'view', valueEncoding: 'view' });
    const record = new Packr({ useRecords: false }).pack({ format: 'stackraft-log-store', version: 999 });
    await db.put(singletonKey(KeyKind.Format), seal(record));
    await db.close();
    const err = await openError(root);
    assert.equal(err.foundVersion, 999);
    assert.match(err.message, /version 999/);
  });

  it('refuses an unreadable marker, a foreign format name and a path that is a file', async () => {
    await writeFile(join(root, STORE_MARKER_FILE), '{not json');
    assert.match((await openError(root)).message, /is unreadable/);
    await writeFile(join(root, STORE_MARKER_FILE), JSON.stringify({ format: 'other-thing', version: 1 }));
    assert.match((await openError(root)).message, /holds format "other-thing"/);
    const file = join(root, 'plain-file');
    await writeFile(file, 'x');
    assert.match((await openError(file)).message, /exists and is not a directory/);
  });

  it('finishes a creation that stopped after the marker was written', async () => {
    await makeStore(join(root, 'a'));
    const dir = join(root, 'b');
    await mkdir(dir);
    await writeFile(join(dir, STORE_MARKER_FILE), await readFile(join(root, 'a', STORE_MARKER_FILE)));
    const store = new LevelLogStore(dir);
    assert.equal((await store.open()).lastIndex, 0);
    await store.close();
    const onlyTemp = join(root, 'c');
    await mkdir(onlyTemp);
    await writeFile(join(onlyTemp, `${STORE_MARKER_FILE}.tmp`), '{"form');
    const again = new LevelLogStore(onlyTemp);
    await again.open();
    await again.close();
  });
});
