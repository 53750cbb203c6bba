// The write-ahead log at open: a torn write at the very end (never acknowledged) is cut off and
// reported; anything else — damage with acknowledged data after it, damage in an older segment, a
// missing segment, a stray file, a newer format — stops the open with an error naming what and
// where, and changes nothing. Also the joins with LevelDB a crash between the two can leave.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { Level } from 'level';
import type { Logger } from '../../consensus/ports.js';
import { KeyKind, encodeBytes, encodeIndex, encodeSnapshotMeta, singletonKey } from '../../storage/codec.js';
import { StorageCorruptionError, StorageFormatError, WalLogStore } from '../../storage/index.js';
import { SEGMENT_HEADER_BYTES, segmentFileName } from '../../storage/wal/record.js';
import { scanSegment } from '../../storage/wal/segments.js';
import { makeEntries } from './contract.js';

const SEGMENT_BYTES = 64 * 1024;

function capturingLogger(): Logger & { warnings: Array<{ obj: Record<string, unknown>; msg: string }> } {
  const warnings: Array<{ obj: Record<string, unknown>; msg: string }> = [];
  return { warnings, debug() {}, info() {}, error() {}, warn: (obj, msg) => void warnings.push({ obj: obj as Record<string, unknown>, msg: String(msg) }) };
}

/** Entries whose data has no zero byte, so damage in them is never mistaken for unwritten sectors. */
function dense(from: number, to: number, term: number, size: number) {
  return makeEntries(from, to, term, size).map((e) => ({ ...e, data: e.data.map((_, i) => 1 + ((e.index + i) % 250)) }));
}

/** Writes `batches` batches of 10 entries of `size` bytes, each committing the one before. */
async function build(dir: string, batches: number, size = 100): Promise<void> {
  const store = new WalLogStore(dir, { segmentBytes: SEGMENT_BYTES });
  await store.open();
  for (let b = 0; b < batches; b++) {
    const from = b * 10 + 1;
    await store.write({ entries: dense(from, from + 9, 1, size), hardState: { term: 1, vote: '', commit: from - 1 } });
  }
  await store.close();
}

const segmentPath = (dir: string, seq: number): string => join(dir, 'wal', segmentFileName(seq));

async function recordsIn(dir: string, seq: number) {
  return scanSegment(new Uint8Array(await readFile(segmentPath(dir, seq))), seq, false).records;
}

async function patch(path: string, change: (bytes: Uint8Array) => void): Promise<void> {
  const bytes = new Uint8Array(await readFile(path));
  change(bytes);
  await writeFile(path, bytes);
}

async function openError(dir: string): Promise<unknown> {
  return new WalLogStore(dir, { segmentBytes: SEGMENT_BYTES }).open().catch((e: unknown) => e);
}

describe('write-ahead log damage', { timeout: 30_000 }, () => {
  let dir = '';
  beforeEach(async () => {
    dir = join(await mkdtemp(join(tmpdir(), 'stackraft-wal-damage-')), 'store');
  });
  afterEach(async () => {
    await rm(join(dir, '..'), { recursive: true, force: true });
  });

  it('cuts a torn last record (part of it never written) and keeps every record before it', async () => {
    await build(dir, 5, 1000);
    const records = await recordsIn(dir, 1);
    const last = records[records.length - 1];
    // The write reached the disk only up to some sector: the rest is still preallocated zeros.
    await patch(segmentPath(dir, 1), (b) => b.fill(0, last.offset + 1024, last.offset + last.bytes));
    const logger = capturingLogger();
    const store = new WalLogStore(dir, { segmentBytes: SEGMENT_BYTES, logger });
    const meta = await store.open();
    assert.deepEqual([meta.firstIndex, meta.lastIndex, meta.hardState.commit], [1, 40, 30]);
    assert.deepEqual(await store.entries(31, 41), dense(31, 40, 1, 1000));
    assert.equal(logger.warnings.length, 1);
    assert.match(logger.warnings[0].msg, /torn write/);
    assert.equal(logger.warnings[0].obj.reason, 'record checksum mismatch');
    // The log goes on where the torn record was, and reads back whole after another open.
    await store.write({ entries: dense(41, 42, 2, 10), hardState: { term: 2, vote: '', commit: 40 } });
    await store.close();
    const again = new WalLogStore(dir, { segmentBytes: SEGMENT_BYTES, logger });
    const meta2 = await again.open();
    assert.deepEqual([meta2.lastIndex, meta2.hardState.term], [42, 2]);
    assert.deepEqual(await again.entries(40, 43), [...dense(40, 40, 1, 1000), ...dense(41, 42, 2, 10)]);
    await again.close();
    assert.equal(logger.warnings.length, 1, 'a clean log is not reported');
  });

  it('cuts a torn record header at the end', async () => {
    await build(dir, 3);
    const records = await recordsIn(dir, 1);
    const end = records[records.length - 1].offset + records[records.length - 1].bytes;
    await patch(segmentPath(dir, 1), (b) => b.set([0, 0, 1, 0], end)); // a length with no checksum and no body
    const store = new WalLogStore(dir, { segmentBytes: SEGMENT_BYTES, logger: capturingLogger() });
    assert.equal((await store.open()).lastIndex, 30);
    await store.close();
  });

  it('refuses a flipped bit in the last record: that is damage to an acknowledged write, not a torn one', async () => {
    await build(dir, 5);
    const records = await recordsIn(dir, 1);
    const last = records[records.length - 1];
    await patch(segmentPath(dir, 1), (b) => (b[last.offset + 200] ^= 0x10));
    const err = await openError(dir);
    assert.ok(err instanceof StorageCorruptionError, String(err));
    assert.equal(err.index, 41);
    assert.match(err.message, /record checksum mismatch; the record after entry 40 is damaged/);
    assert.match(err.message, /re-join the site from a peer/);
  });

  it('refuses damage in the middle of the log, naming the entry, and changes nothing', async () => {
    await build(dir, 5);
    const records = await recordsIn(dir, 1);
    await patch(segmentPath(dir, 1), (b) => (b[records[2].offset + 100] ^= 0x01));
    const before = await readFile(segmentPath(dir, 1));
    for (let i = 0; i < 2; i++) {
      const err = await openError(dir);
      assert.ok(err instanceof StorageCorruptionError, String(err));
      assert.equal(err.index, 11, 'the record after entry 10');
      assert.ok(err.message.includes(dir));
    }
    assert.deepEqual(await readFile(segmentPath(dir, 1)), before);
  });

  it('refuses a torn-looking record in an older segment, and a missing segment', async () => {
    await build(dir, 30, 1000); // about 300 KB: several 64 KiB segments
    const seqs = (await readdir(join(dir, 'wal'))).filter((n) => n.endsWith('.wal')).length;
    assert.ok(seqs >= 3, `several segments (${seqs})`);
    const records = await recordsIn(dir, 1);
    const last = records[records.length - 1];
    await patch(segmentPath(dir, 1), (b) => b.fill(0, last.offset + 1024, last.offset + last.bytes));
    const err = await openError(dir);
    assert.ok(err instanceof StorageCorruptionError, String(err));
    assert.match(err.message, /segment 1 at offset/);

    await rm(join(dir, '..'), { recursive: true, force: true });
    await build(dir, 30, 1000);
    await rm(segmentPath(dir, 2));
    assert.match(String(await openError(dir)), /WAL segment 2 is missing/);
  });

  it('refuses a segment of a newer format, a bad segment header and a stray file', async () => {
    await build(dir, 2);
    await patch(segmentPath(dir, 1), (b) => new DataView(b.buffer).setUint32(8, 99));
    const err = await openError(dir);
    assert.ok(err instanceof StorageCorruptionError || err instanceof StorageFormatError, String(err));
    assert.match(String(err), /segment header checksum mismatch/); // the version is under the header checksum

    await rm(join(dir, '..'), { recursive: true, force: true });
    await build(dir, 2);
    await writeFile(join(dir, 'wal', 'notes.txt'), 'x');
    assert.match(String(await openError(dir)), /notes\.txt is not a WAL segment/);
  });

  it('removes a segment prepared but never put in place', async () => {
    await build(dir, 2);
    await writeFile(join(dir, 'wal', `${segmentFileName(2)}.tmp`), new Uint8Array(SEGMENT_HEADER_BYTES));
    const store = new WalLogStore(dir, { segmentBytes: SEGMENT_BYTES });
    assert.equal((await store.open()).lastIndex, 20);
    await store.close();
  });
});

describe('log and state store after a crash between them', { timeout: 30_000 }, () => {
  let dir = '';
  beforeEach(async () => {
    dir = join(await mkdtemp(join(tmpdir(), 'stackraft-wal-join-')), 'store');
  });
  afterEach(async () => {
    await rm(join(dir, '..'), { recursive: true, force: true });
  });

  async function putState(ops: Array<[number, Uint8Array]>): Promise<void> {
    const db = new Level<Uint8Array, Uint8Array>(join(dir, 'state'), { keyEncoding: 'view', valueEncoding: 'view' });
    for (const [kind, value] of ops) await db.put(singletonKey(kind), value);
    await db.close();
  }

  it('finishes a received snapshot whose log record was never written: the log is replaced', async () => {
    await build(dir, 2);
    const meta = { index: 50, term: 3, conf: { voters: ['a'], learners: [] } };
    const image = new Uint8Array([7, 7]);
    await putState([
      [KeyKind.SnapshotMeta, encodeSnapshotMeta(meta, image.byteLength)],
      [KeyKind.SnapshotImage, encodeBytes(image)],
      [KeyKind.AppliedIndex, encodeIndex(50)],
    ]);
    const logger = capturingLogger();
    const store = new WalLogStore(dir, { logger });
    const opened = await store.open();
    assert.deepEqual([opened.firstIndex, opened.lastIndex, opened.hardState.commit, opened.hardState.term], [51, 50, 50, 3]);
    assert.equal(await store.term(50), 3);
    assert.match(logger.warnings[0].msg, /finished a write the crash interrupted/);
    await store.write({ entries: makeEntries(51, 52, 3) });
    await store.close();
    const again = new WalLogStore(dir);
    const meta2 = await again.open();
    assert.deepEqual([meta2.firstIndex, meta2.lastIndex], [51, 52]);
    await again.close();
  });

  it('keeps the log under a local snapshot that agrees with it, and raises the commit index to the applied index', async () => {
    await build(dir, 3); // log [1, 30], commit 20
    const meta = { index: 15, term: 1, conf: { voters: ['a'], learners: [] } };
    await putState([
      [KeyKind.SnapshotMeta, encodeSnapshotMeta(meta, 1)],
      [KeyKind.SnapshotImage, encodeBytes(new Uint8Array([1]))],
      [KeyKind.AppliedIndex, encodeIndex(25)],
    ]);
    const store = new WalLogStore(dir, { logger: capturingLogger() });
    const opened = await store.open();
    assert.deepEqual([opened.firstIndex, opened.lastIndex, opened.hardState.commit, opened.appliedIndex], [1, 30, 25, 25]);
    assert.deepEqual(await store.entries(1, 31), dense(1, 30, 1, 100));
    await store.close();
  });

  it('refuses an applied index past the end of the log', async () => {
    await build(dir, 1);
    await putState([[KeyKind.AppliedIndex, encodeIndex(99)]]);
    const err = await new WalLogStore(dir).open().catch((e: unknown) => e);
    assert.ok(err instanceof StorageCorruptionError, String(err));
    assert.match(err.message, /applied index 99 is past the end of the log \(10\)/);
  });
});
