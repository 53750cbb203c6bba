// Storage benchmark (npm run bench:storage): what the durable log costs on this machine, for the
// write-ahead log store (WalLogStore, what the daemon uses) beside the LevelDB-only store.
//  - raw fsyncs per second (write + fsync of a small record in a loop): the ceiling for unbatched commits;
//  - appends per second and MB/s with sync on, for batches of 1, 16 and 256 entries, one at a time;
//  - writes per second with 16 writers waiting at once (group commit: they share fdatasyncs);
//  - open time of a store holding one million entries (metadata + tail check + first/last term);
//  - bytes on disk per entry, after close (and, for LevelDB, after a full compaction).
// Throughput runs alternate between the two stores run by run (load from other tenants hits both);
// each figure is the median of RUNS runs of about RUN_MS each, and the ratio the median of the
// run-by-run ratios. Everything lives in a temp directory
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

interface NextIndex {
  value: number;
}

/**
 * Opens one store of each kind under `root` and measures `run` RUNS times on each, alternating the
 * kinds run by run (the order flips every run), so load from other tenants hits both alike.
 * Returns each kind's per-run figures, in run order.
 */
async function alternate(root: string, label: string, run: (store: LogStore, next: NextIndex) => Promise<number>): Promise<Record<string, number[]>> {
  const opened = [];
  for (const kind of STORES) {
    const store = kind.make(join(root, `${kind.name}-${label}`));
    const meta = await store.open();
    opened.push({ kind, store, next: { value: meta.lastIndex + 1 } });
  }
  const figures: Record<string, number[]> = Object.fromEntries(STORES.map((k) => [k.name, []]));
  try {
    for (let r = 0; r < RUNS; r++) {
      const order = r % 2 === 0 ? opened : [...opened].reverse();
      for (const { kind, store, next } of order) figures[kind.name].push(await run(store, next));
    }
  } finally {
    for (const { kind, store } of opened) {
      await store.close();
      await rm(join(root, `${kind.name}-${label}`), { recursive: true, force: true });
    }
  }
  return figures;
}

/** Synced writes of `batchSize` entries one after another for RUN_MS: writes per second. */
function appendRun(batchSize: number): (store: LogStore, next: NextIndex) => Promise<number> {
  return async (store, next) => {
    let batches = 0;
    const started = performance.now();
    while (performance.now() - started < RUN_MS) {
      const entries = makeBatch(next.value, batchSize);
      next.value += batchSize;
      await store.write({ entries, hardState: { term: 1, vote: '', commit: next.value - 1 } });
      batches++;
    }
    return batches / ((performance.now() - started) / 1000);
  };
}

/** `writers` callers each write a one-entry batch and wait for it, over and over: writes per second. */
function concurrentRun(writers: number): (store: LogStore, next: NextIndex) => Promise<number> {
  return async (store, next) => {
    let writes = 0;
    const started = performance.now();
    const writer = async (): Promise<void> => {
      while (performance.now() - started < RUN_MS) {
        // Indices are taken at call time: the store orders writes as they are called.
        const index = next.value++;
        await store.write({ entries: makeBatch(index, 1), hardState: { term: 1, vote: '', commit: index - 1 } });
        writes++;
      }
    };
    await Promise.all(Array.from({ length: writers }, writer));
    return writes / ((performance.now() - started) / 1000);
  };
}

/** The line for one measurement: each kind's median, and the median of the run-by-run ratios. */
function compareLine(what: string, figures: Record<string, number[]>, entriesPerWrite: number): string {
  const [a, b] = STORES.map((k) => figures[k.name]);
  const ratio = median(a.map((x, i) => x / b[i]));
  const cell = (k: StoreKind): string => {
    const writes = median(figures[k.name]);
    const mb = (writes * entriesPerWrite * ENTRY_BYTES) / 1e6;
    return `${k.name} ${fmt(writes).padStart(6)} writes/s ${fmt(writes * entriesPerWrite).padStart(8)} entries/s ${fmt(mb, 2).padStart(6)} MB/s`;
  };
  return `${what.padEnd(36)} ${STORES.map(cell).join('  |  ')}  |  ${STORES[0].name}/${STORES[1].name} ${fmt(ratio, 2)}x`;
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
    console.log(`\nthroughput, ${STORES.map((k) => k.name).join(' and ')} alternating run by run:`);
    const throughput: Record<string, Record<string, number[]>> = {};
    for (const size of BATCH_SIZES) {
      const figures = await alternate(root, `append-${size}`, appendRun(size));
      throughput[`append${size}`] = figures;
      console.log(compareLine(`append, batches of ${size}, one at a time`, figures, size));
    }
    const concurrent = await alternate(root, 'concurrent', concurrentRun(CONCURRENT_WRITERS));
    throughput.concurrent = concurrent;
    console.log(compareLine(`${CONCURRENT_WRITERS} writers at once, 1 entry each`, concurrent, 1));
    results.throughputWritesPerSec = throughput;

    for (const kind of STORES) {
      console.log(`\n== ${kind.name} store`);
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
