// The power-loss layers of the power-loss suite: what a cut keeps and what it undoes.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { LogStore, StoreBatch, StoreMeta } from '../../consensus/ports.js';
import { PowerLossStore } from '../../storage/power-loss-store.js';
import { PowerCutFileSystem } from '../../storage/wal/power-cut-fs.js';

const bytes = (text: string) => new TextEncoder().encode(text);

describe('PowerCutFileSystem', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'stackraft-powercut-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('undoes writes after the last datasync, keeps those before it, and restores the old size', async () => {
    const fs = new PowerCutFileSystem();
    const path = join(dir, 'a.wal');
    const file = await fs.open(path, 'create');
    await fs.syncDir(dir);
    await file.write(bytes('synced.'), 0);
    await file.datasync();
    await file.write(bytes('lost-lost'), 7);
    await file.write(bytes('X'), 0);
    const report = await fs.powerCut(() => 0);
    assert.equal(await readFile(path, 'utf8'), 'synced.');
    assert.equal(report.writesUndone, 2);
    assert.equal(report.createsUndone, 0);
  });

  it('keeps a prefix of the unsynced writes when told to, and can tear the first lost one at a sector', async () => {
    const fs = new PowerCutFileSystem();
    const path = join(dir, 'b.wal');
    const file = await fs.open(path, 'create');
    await fs.syncDir(dir);
    await file.write(new Uint8Array(2048), 0);
    await file.datasync();
    await file.write(new Uint8Array(100).fill(1), 0);
    await file.write(new Uint8Array(1000).fill(2), 1000);
    const picks = [1, 2]; // keep the first unsynced write; tear the second at the first sector boundary past 1024
    const report = await fs.powerCut(() => picks.shift() ?? 0);
    const data = await readFile(path);
    assert.equal(data.length, 2048);
    assert.equal(data[0], 1, 'the kept write');
    assert.equal(data[1535], 2, 'the torn write: its sectors up to the boundary at 1536 reached the disk');
    assert.equal(data[1536], 0, 'the torn write: the rest did not');
    assert.equal(report.tornWrites, 1);
  });

  it('may undo a create its directory sync does not cover, and nothing reaches the disk after the cut', async () => {
    const fs = new PowerCutFileSystem();
    const path = join(dir, 'c.wal');
    const file = await fs.open(path, 'create');
    await file.write(bytes('data'), 0);
    await file.datasync();
    await fs.powerCut(() => 0);
    assert.equal(existsSync(path), false, 'the file was never made durable in its directory');
    const late = Promise.race([fs.mkdir(join(dir, 'late')).then(() => 'done'), new Promise((r) => setTimeout(() => r('pending'), 50))]);
    assert.equal(await late, 'pending');
  });

  it('undoes an unsynced extension by truncate', async () => {
    const fs = new PowerCutFileSystem();
    const path = join(dir, 'd.wal');
    const file = await fs.open(path, 'create');
    await fs.syncDir(dir);
    await file.truncate(4096);
    await fs.powerCut(() => 0);
    assert.equal((await stat(path)).size, 0);
  });
});

class RecordingStore implements LogStore {
  readonly written: StoreBatch[] = [];
  async open(): Promise<StoreMeta> {
    return { hardState: { term: 0, vote: '', commit: 0 }, firstIndex: 1, lastIndex: 0 } as unknown as StoreMeta;
  }
  async write(batch: StoreBatch): Promise<void> {
    this.written.push(batch);
  }
  async entries(): Promise<never[]> {
    return [];
  }
  async term(): Promise<undefined> {
    return undefined;
  }
  async records(): Promise<Array<[string, Uint8Array]>> {
    return [];
  }
  async close(): Promise<void> {}
}

describe('PowerLossStore', () => {
  it('holds unsynced commit-only batches until a synced batch, then writes them first, in order', async () => {
    const inner = new RecordingStore();
    const store = new PowerLossStore(inner);
    await store.write({ hardState: { term: 1, vote: 'a', commit: 1 }, sync: false });
    assert.equal(inner.written.length, 0);
    await store.write({ entries: [{ index: 2, term: 1, type: 0, data: new Uint8Array(0) }] });
    assert.deepEqual(inner.written.map((b) => b.sync), [false, undefined]);
  });

  it('at power loss drops the held batches past the survivors, and later writes never complete', async () => {
    const inner = new RecordingStore();
    const store = new PowerLossStore(inner);
    await store.write({ hardState: { term: 1, vote: 'a', commit: 1 }, sync: false });
    await store.write({ hardState: { term: 1, vote: 'a', commit: 2 }, sync: false });
    await store.powerLoss(1);
    assert.deepEqual(inner.written.map((b) => b.hardState?.commit), [1]);
    const late = Promise.race([store.write({ entries: [] }).then(() => 'done'), new Promise((r) => setTimeout(() => r('pending'), 50))]);
    assert.equal(await late, 'pending');
  });

  it('writes an unsynced batch that carries entries through at once (reads must see it)', async () => {
    const inner = new RecordingStore();
    const store = new PowerLossStore(inner);
    await store.write({ entries: [{ index: 1, term: 1, type: 0, data: new Uint8Array(0) }], sync: false });
    assert.equal(inner.written.length, 1);
  });
});

describe('the write-ahead log under a power cut', () => {
  it('preallocates its segments when no segment size is given (a torn tail lands on zeros, not past the end)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'stackraft-walprealloc-'));
    try {
      const { WalLogStore } = await import('../../storage/wal-store.js');
      const store = new WalLogStore(dir, { fs: new PowerCutFileSystem(), segmentBytes: undefined });
      await store.open();
      await store.write({ hardState: { term: 1, vote: 'a', commit: 0 }, entries: [{ index: 1, term: 1, type: 0, data: new Uint8Array(10) }] });
      await store.close();
      const { DEFAULT_SEGMENT_BYTES } = await import('../../storage/wal/wal.js');
      assert.equal((await stat(join(dir, 'wal', '0000000000000001.wal'))).size, DEFAULT_SEGMENT_BYTES);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
