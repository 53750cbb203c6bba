// Storage benchmark (npm run bench:storage): what the durable log costs on this machine, for the
// write-ahead log store (WalLogStore, what the daemon uses) beside the LevelDB-only store.
//  - raw fsyncs per second (write + fsync of a small record in a loop): the ceiling for unbatched commits;
//  - appends per second and MB/s with sync on, for batches of 1, 16 and 256 entries, one at a time;
//  - writes per second with 16 writers waiting at once (group commit: they share fdatasyncs);
//  - open time of a store holding one million entries (metadata + tail check + first/last term);
//  - bytes on disk per entry, after close (and, for LevelDB, after a full compaction).
// Each figure is the median of RUNS runs of about RUN_MS each. Everything lives in a temp directory
// that is removed at the end.
import { randomBytes } from 'node:crypto';
import { closeSync, fdatasyncSync, fsyncSync, openSync, writeSync } from 'node:fs';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Level } from 'level';
import type { Entry } from '../consensus/types.js';
import type { LogStore } from '../consensus/ports.js';
import { LevelLogStore, WalLogStore } from '../storage/index.js';

const RUNS = 5;
const RUN_MS = 1000;
const ENTRY_BYTES = 256;
const BATCH_SIZES = [1, 16, 256];
const CONCURRENT_WRITERS = 16;

interface StoreKind {
  name: string;
  make(dir: string): LogStore;
}

const STORES: StoreKind[] = [
  { name: 'wal', make: (dir) => new WalLogStore(dir) },
  { name: 'leveldb', make: (dir) => new LevelLogStore(dir) },
];
const BIG_STORE_ENTRIES = 1_000_000;
const BIG_STORE_BATCH = 10_000;
/** Random bytes entries are cut from, so LevelDB's compression sees realistic (incompressible) data. */
const PAYLOAD_POOL_BYTES = 1 << 20;

const pool = randomBytes(PAYLOAD_POOL_BYTES);

function payload(index: number): Uint8Array {
  const offset = (index * 7919) % (PAYLOAD_POOL_BYTES - ENTRY_BYTES);
  return new Uint8Array(pool.buffer, pool.byteOffset + offset, ENTRY_BYTES);
}

function makeBatch(from: number, count: number): Entry[] {
  return Array.from({ length: count }, (_, i) => ({ index: from + i, term: 1, type: 0 as const, data: payload(from + i) }));
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

const fmt = (n: number, digits = 0): string => n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

/** `sync` is fsyncSync (the physical limit of unbatched commits) or fdatasyncSync (data only, no inode times). */
function rawSyncsPerSecond(dir: string, sync: (fd: number) => void): number {
  const fd = openSync(join(dir, 'fsync-probe'), 'w');
  const record = Buffer.alloc(ENTRY_BYTES, 7);
  try {
    let count = 0;
    const started = performance.now();
    while (performance.now() - started < RUN_MS) {
      writeSync(fd, record);
      sync(fd);
      count++;
    }
    return count / ((performance.now() - started) / 1000);
  } finally {
    closeSync(fd);
  }
}

async function appendRuns(kind: StoreKind, dir: string, batchSize: number): Promise<{ entriesPerSec: number; batchesPerSec: number; mbPerSec: number }> {
  const store = kind.make(dir);
  const meta = await store.open();
  let next = meta.lastIndex + 1;
  const entryRates: number[] = [];
  const batchRates: number[] = [];
  try {
    for (let run = 0; run < RUNS; run++) {
      let batches = 0;
      const started = performance.now();
      while (performance.now() - started < RUN_MS) {
        const entries = makeBatch(next, batchSize);
        next += batchSize;
        await store.write({ entries, hardState: { term: 1, vote: '', commit: next - 1 } });
        batches++;
      }
      const seconds = (performance.now() - started) / 1000;
      batchRates.push(batches / seconds);
      entryRates.push((batches * batchSize) / seconds);
    }
  } finally {
    await store.close();
  }
  const entriesPerSec = median(entryRates);
  return { entriesPerSec, batchesPerSec: median(batchRates), mbPerSec: (entriesPerSec * ENTRY_BYTES) / 1e6 };
}

/** `writers` callers each write a one-entry batch and wait for it, over and over: how many writes/s. */
async function concurrentRuns(kind: StoreKind, dir: string, writers: number): Promise<number> {
  const store = kind.make(dir);
  const meta = await store.open();
  let next = meta.lastIndex + 1;
  const rates: number[] = [];
  try {
    for (let run = 0; run < RUNS; run++) {
      let writes = 0;
      const started = performance.now();
      const writer = async (): Promise<void> => {
        while (performance.now() - started < RUN_MS) {
          // Indices are taken at call time: the store orders writes as they are called.
          const index = next++;
          await store.write({ entries: makeBatch(index, 1), hardState: { term: 1, vote: '', commit: index - 1 } });
          writes++;
        }
      };
      await Promise.all(Array.from({ length: writers }, writer));
      rates.push(writes / ((performance.now() - started) / 1000));
    }
  } finally {
    await store.close();
  }
  return median(rates);
}

async function buildBigStore(kind: StoreKind, dir: string): Promise<number> {
  const store = kind.make(dir);
  await store.open();
  const started = performance.now();
  for (let from = 1; from <= BIG_STORE_ENTRIES; from += BIG_STORE_BATCH) {
    const last = from + BIG_STORE_BATCH - 1;
    await store.write({ entries: makeBatch(from, BIG_STORE_BATCH), hardState: { term: 1, vote: '', commit: last } });
  }
  await store.close();
  return (performance.now() - started) / 1000;
}

async function openTimeMs(kind: StoreKind, dir: string): Promise<{ ms: number; firstIndex: number; lastIndex: number }> {
  const times: number[] = [];
  let bounds = { firstIndex: 0, lastIndex: 0 };
  for (let run = 0; run < RUNS; run++) {
    const store = kind.make(dir);
    const started = performance.now();
    const meta = await store.open();
    await store.term(meta.firstIndex);
    await store.term(meta.lastIndex);
    times.push(performance.now() - started);
    bounds = { firstIndex: meta.firstIndex, lastIndex: meta.lastIndex };
    await store.close();
  }
  return { ms: median(times), ...bounds };
}

async function directoryBytes(dir: string): Promise<number> {
  let total = 0;
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    total += entry.isDirectory() ? await directoryBytes(path) : (await stat(path)).size;
  }
  return total;
}

async function compactLevel(dir: string): Promise<void> {
  const db = new Level<Uint8Array, Uint8Array>(dir, { keyEncoding: 'view', valueEncoding: 'view' });
  await db.open();
  // In Node, `level` is classic-level, which has compactRange; level's own typings leave it out.
  const classic = db as unknown as { compactRange(start: Uint8Array, end: Uint8Array): Promise<void> };
  await classic.compactRange(Uint8Array.of(0x00), Uint8Array.of(0xff));
  await db.close();
}

async function main(): Promise<void> {
  const root = await mkdtemp(join(tmpdir(), 'stackraft-storage-bench-'));
  try {
    console.log(`storage benchmark: medians of ${RUNS} runs of ~${RUN_MS} ms; entries of ${ENTRY_BYTES} random bytes; sync on`);
    console.log(`temp dir ${root}\n`);

    const fsyncs = median(Array.from({ length: RUNS }, () => rawSyncsPerSecond(root, fsyncSync)));
    console.log(`raw fsyncs/s (write ${ENTRY_BYTES} B + fsync)         ${fmt(fsyncs)}`);
    const fdatasyncs = median(Array.from({ length: RUNS }, () => rawSyncsPerSecond(root, fdatasyncSync)));
    console.log(`raw fdatasyncs/s (write ${ENTRY_BYTES} B + fdatasync) ${fmt(fdatasyncs)}`);

    const results: Record<string, unknown> = {};
    for (const kind of STORES) {
      console.log(`\n== ${kind.name} store`);
      const appends: Record<string, unknown> = {};
      for (const size of BATCH_SIZES) {
        const dir = join(root, `${kind.name}-append-${size}`);
        const r = await appendRuns(kind, dir, size);
        appends[size] = r;
        console.log(
          `append, batches of ${String(size).padStart(3)}: ${fmt(r.entriesPerSec).padStart(9)} entries/s  ` +
            `${fmt(r.batchesPerSec).padStart(6)} writes/s  ${fmt(r.mbPerSec, 2).padStart(6)} MB/s`,
        );
        await rm(dir, { recursive: true, force: true });
      }
      const concurrentDir = join(root, `${kind.name}-concurrent`);
      const concurrent = await concurrentRuns(kind, concurrentDir, CONCURRENT_WRITERS);
      await rm(concurrentDir, { recursive: true, force: true });
      console.log(`${CONCURRENT_WRITERS} writers at once, 1 entry each:  ${fmt(concurrent).padStart(9)} writes/s`);

      const bigDir = join(root, `${kind.name}-million`);
      const buildSeconds = await buildBigStore(kind, bigDir);
      console.log(`store of ${fmt(BIG_STORE_ENTRIES)} entries built in ${fmt(buildSeconds, 1)} s (${fmt(BIG_STORE_ENTRIES / buildSeconds)} entries/s)`);
      const open = await openTimeMs(kind, bigDir);
      console.log(`open + first/last term, 1M entries           ${fmt(open.ms, 1)} ms (log [${open.firstIndex}, ${open.lastIndex}])`);
      const bytesAfterClose = await directoryBytes(bigDir);
      console.log(`bytes on disk per entry, after close          ${fmt(bytesAfterClose / BIG_STORE_ENTRIES, 1)} (payload ${ENTRY_BYTES})`);
      let bytesCompacted: number | undefined;
      if (kind.name === 'leveldb') {
        await compactLevel(bigDir);
        bytesCompacted = await directoryBytes(bigDir);
        console.log(`bytes on disk per entry, after compaction     ${fmt(bytesCompacted / BIG_STORE_ENTRIES, 1)}`);
      }
      await rm(bigDir, { recursive: true, force: true });
      results[kind.name] = {
        appends,
        concurrentWritesPerSec: concurrent,
        millionEntryStore: {
          buildSeconds,
          openMs: open.ms,
          bytesPerEntryAfterClose: bytesAfterClose / BIG_STORE_ENTRIES,
          ...(bytesCompacted === undefined ? {} : { bytesPerEntryCompacted: bytesCompacted / BIG_STORE_ENTRIES }),
        },
      };
    }

    console.log('\n' + JSON.stringify({ rawFsyncsPerSec: Math.round(fsyncs), rawFdatasyncsPerSec: Math.round(fdatasyncs), ...results }));
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
