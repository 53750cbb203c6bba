// The blob store: content addressing, the bound, a full disk, damage and crashes on disk, garbage collection.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdir, readFile, truncate, writeFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { nodeBlobDisk, type BlobDisk } from '../../agent/blobs/disk.js';
import { MIN_CHUNK_BYTES } from '../../agent/blobs/format.js';
import { BlobStore, BlobStoreFullError, BlobVerifyError } from '../../agent/blobs/store.js';
import { patternBytes, piecesOf, withTempDir } from './helpers.js';

const CHUNK = MIN_CHUNK_BYTES;
const open = (dir: string, maxBytes = 64 * CHUNK, disk: BlobDisk = nodeBlobDisk(dir)) => BlobStore.open(disk, { maxBytes, chunkBytes: CHUNK });

async function collect(source: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  for await (const part of source) parts.push(part);
  return Buffer.concat(parts);
}

async function filesUnder(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir, { recursive: true, withFileTypes: true })).filter((d) => d.isFile()).map((d) => d.name);
  } catch {
    return [];
  }
}

describe('blob store', () => {
  it('stores a stream as chunks and a manifest whose digests are the whole blob’s, and reads it back', async () => {
    await withTempDir(async (dir) => {
      const store = await open(dir);
      const bytes = patternBytes(3 * CHUNK + 123);
      const { root, manifest } = await store.ingest(piecesOf(bytes));
      assert.equal(manifest.size, bytes.length);
      assert.equal(manifest.chunks.length, 4);
      assert.equal(manifest.sha256, createHash('sha256').update(bytes).digest('hex'));
      assert.equal(manifest.sha512, createHash('sha512').update(bytes).digest('hex'));
      assert.equal(manifest.md5, createHash('md5').update(bytes).digest('hex'));
      assert.equal(manifest.chunks[3], createHash('sha256').update(bytes.subarray(3 * CHUNK)).digest('hex'));
      assert.deepEqual(await collect(store.read(root)), bytes);
      assert.equal(store.usage().bytes, bytes.length);
      // The same bytes again: same root, nothing more stored.
      assert.equal((await store.ingest(piecesOf(bytes, 777))).root, root);
      assert.equal(store.usage().bytes, bytes.length);
      const reopened = await open(dir);
      assert.deepEqual(reopened.manifest(root), manifest);
      assert.deepEqual(await reopened.missing(root), []);
    });
  });

  it('refuses a blob whose given sha256 or announced size differs, and keeps nothing of it', async () => {
    await withTempDir(async (dir) => {
      const store = await open(dir);
      const bytes = patternBytes(2 * CHUNK + 5);
      await assert.rejects(store.ingest(piecesOf(bytes), { sha256: 'a'.repeat(64) }), (err: Error) => err instanceof BlobVerifyError && /sha256 mismatch/.test(err.message));
      await assert.rejects(store.ingest(piecesOf(bytes), { size: bytes.length - 1 }), BlobVerifyError);
      await assert.rejects(store.ingest(piecesOf(bytes), { size: bytes.length + 1 }), BlobVerifyError);
      assert.deepEqual(store.usage(), { bytes: 0, maxBytes: 64 * CHUNK, chunks: 0, blobs: 0 });
      assert.deepEqual(await filesUnder(dir), []);
    });
  });

  it('a stream that fails midway leaves nothing', async () => {
    await withTempDir(async (dir) => {
      const store = await open(dir);
      async function* cut(): AsyncGenerator<Uint8Array> {
        yield patternBytes(2 * CHUNK);
        throw new Error('client went away');
      }
      await assert.rejects(store.ingest(cut()), /client went away/);
      assert.equal(store.usage().bytes, 0);
      assert.deepEqual(await filesUnder(dir), []);
    });
  });

  it('refuses past its bound with BlobStoreFullError and keeps nothing of the refused blob', async () => {
    await withTempDir(async (dir) => {
      const store = await open(dir, 3 * CHUNK);
      const kept = await store.ingest(piecesOf(patternBytes(CHUNK, 7)));
      await assert.rejects(store.ingest(piecesOf(patternBytes(3 * CHUNK, 8))), BlobStoreFullError);
      assert.equal(store.usage().bytes, CHUNK);
      assert.equal(store.counters.fullRefusals, 1);
      assert.deepEqual(await store.missing(kept.root), []);
    });
  });

  it('a full disk (ENOSPC) is BlobStoreFullError, nothing half-written stays', async () => {
    await withTempDir(async (dir) => {
      const real = nodeBlobDisk(dir);
      let writesLeft = 2;
      const disk: BlobDisk = {
        ...real,
        writeAtomic: async (path, data) => {
          if (writesLeft-- <= 0) throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
          await real.writeAtomic(path, data);
        },
      };
      const store = await open(dir, 64 * CHUNK, disk);
      await assert.rejects(store.ingest(piecesOf(patternBytes(4 * CHUNK))), BlobStoreFullError);
      assert.equal(store.usage().bytes, 0);
      assert.equal(store.roots().length, 0);
      assert.deepEqual(await filesUnder(dir), []);
    });
  });

  it('a chunk damaged on disk is found when used, removed, counted, and taken again; good chunks are not re-fetched', async () => {
    await withTempDir(async (dir) => {
      const bytes = patternBytes(3 * CHUNK, 3);
      const { root, manifest } = await (await open(dir)).ingest(piecesOf(bytes));
      const victim = manifest.chunks[1]!;
      const file = join(dir, 'chunks', victim.slice(0, 2), victim);
      const damaged = await readFile(file);
      damaged[100] = damaged[100]! ^ 0xff;
      await writeFile(file, damaged);
      const store = await open(dir);
      assert.equal(await store.readChunk(victim), null);
      assert.deepEqual(await store.missing(root), [1]);
      assert.equal(store.counters.corruptChunksOnDisk, 1);
      await assert.rejects(collect(store.read(root)), BlobVerifyError);
      await assert.rejects(store.putChunk(victim, damaged), BlobVerifyError);
      await store.putChunk(victim, bytes.subarray(CHUNK, 2 * CHUNK));
      assert.deepEqual(await collect(store.read(root)), bytes);
    });
  });

  it('after a crash mid-write: temp files are removed, a chunk renamed before its data landed is re-fetched, whole chunks are kept', async () => {
    await withTempDir(async (dir) => {
      const bytes = patternBytes(3 * CHUNK, 4);
      const { root, manifest } = await (await open(dir)).ingest(piecesOf(bytes));
      // What a crash can leave: a temp file of a write in progress, and a chunk cut short.
      await mkdir(join(dir, 'tmp'), { recursive: true });
      await writeFile(join(dir, 'tmp', 'deadbeef'), patternBytes(1000));
      const cut = manifest.chunks[2]!;
      await truncate(join(dir, 'chunks', cut.slice(0, 2), cut), 1000);
      const store = await open(dir);
      assert.deepEqual(await readdir(dir).then((names) => names.includes('tmp')), false);
      assert.deepEqual(await store.missing(root), [2]);
      assert.equal(store.heldBytes(root), 2 * CHUNK);
      await store.putChunk(cut, bytes.subarray(2 * CHUNK));
      assert.equal(await store.isComplete(root), true);
    });
  });

  it('a manifest damaged on disk is removed at open; a manifest that is not its root is refused', async () => {
    await withTempDir(async (dir) => {
      const first = await open(dir);
      const { root, manifest } = await first.ingest(piecesOf(patternBytes(CHUNK + 1, 5)));
      await assert.rejects(first.putManifest('0'.repeat(64), manifest), /root is/);
      const path = join(dir, 'manifests', `${root}.json`);
      await writeFile(path, (await readFile(path, 'utf8')).replace(/"size":\d+/, '"size":1'));
      const store = await open(dir);
      assert.equal(store.manifest(root), undefined);
      assert.equal(store.counters.corruptManifestsOnDisk, 1);
    });
  });

  it('garbage collection keeps the chunks a kept blob lists (shared ones too) and removes the rest', async () => {
    await withTempDir(async (dir) => {
      const store = await open(dir);
      const shared = patternBytes(CHUNK, 9);
      const a = await store.ingest(piecesOf(Buffer.concat([shared, patternBytes(CHUNK, 10)])));
      const b = await store.ingest(piecesOf(Buffer.concat([shared, patternBytes(CHUNK, 11)])));
      assert.equal(store.usage().chunks, 3);
      const freed = await store.retainOnly(new Set([b.root]));
      assert.deepEqual(freed, { blobs: 1, bytes: CHUNK });
      assert.deepEqual(store.roots(), [b.root]);
      assert.deepEqual(await store.missing(b.root), []);
      assert.equal(store.manifest(a.root), undefined);
      const reopened = await open(dir);
      assert.deepEqual(reopened.usage(), { bytes: 2 * CHUNK, maxBytes: 64 * CHUNK, chunks: 2, blobs: 1 });
    });
  });
});
