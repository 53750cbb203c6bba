// CPU per applied write on one replica, in process: what every site does for each committed flavor
// PUT of the agent bench (bench/stackraft-client.ts: a 256-byte description, one client id per
// writer, the agent's site in the audit stamp). Timed per entry: Catalog.apply of the bytes the
// leader encoded, then, per group of --group entries, the LevelDB ops the WAL store makes of the
// group (storage/wal-store.ts: the last op of each key, every value read and sealed). The commands
// are encoded before the clock starts, since on a follower they arrive encoded.
// --leveldb chained|array also writes each group's ops to a LevelDB in a temporary directory, as
// the WAL store does (chained) or as an array batch (what it did before), without sync.
// Prints µs of CPU per applied write for each run (after an untimed one) and the median.
// Run: node dist/bench/apply-bench.js [--writes 20000] [--writers 64] [--group 8] [--runs 5] [--leveldb chained|array]
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Level } from 'level';
import type { RecordOp } from '../consensus/ports.js';
import { EntryType, type Entry } from '../consensus/types.js';
import { Catalog, encodeCommand, putOp, writeCommand } from '../agent/catalog/index.js';
import { LEVEL_MEMORY_OPTIONS } from '../storage/level-options.js';
import { LatestRecordOps, pushAppliedOps, writeBatch, type BatchOp } from '../storage/wal-store.js';

type Db = Level<Uint8Array, Uint8Array>;
type LevelWrite = 'chained' | 'array';

const DESCRIPTION = 'x'.repeat(256);
const EPOCH_MS = 1_700_000_000_000;

function entriesOf(writes: number, writers: number, firstIndex: number): Entry[] {
  const entries: Entry[] = [];
  for (let i = 0; i < writes; i++) {
    const writer = i % writers;
    const seq = Math.floor(i / writers) + 1;
    const spec = { name: `bench-${writer}`, vcpus: 1 + (seq % 64), ram: 512, disk: 1, description: DESCRIPTION };
    const command = writeCommand({ clientId: `bench-client-${writer}`, seq, time: EPOCH_MS + i, audit: { site: 'site-1' } }, [putOp('flavor', `bench-${writer}`, spec)]);
    entries.push({ index: firstIndex + i, term: 2, type: EntryType.Normal, data: encodeCommand(command) });
  }
  return entries;
}

/** One run: applies every entry to a fresh catalog (warmed with `warm` entries first); returns µs of CPU per write. */
async function run(encoded: Entry[], warm: number, group: number, level: { db: Db; write: LevelWrite } | null): Promise<number> {
  // Bytes of their own for each run, as each entry reaches a site once: a decode remembered by its
  // bytes (the simulator's shared decode) must not serve a later run.
  const entries = encoded.map((entry) => ({ ...entry, data: entry.data.slice() }));
  const catalog = new Catalog();
  let sink = 0;
  const applyGroup = async (from: number, to: number): Promise<void> => {
    const latest = new LatestRecordOps();
    for (let i = from; i < to; i++) {
      const applied = catalog.apply(entries[i]!);
      if (!(applied.result as { ok: boolean }).ok) throw new Error(`entry ${entries[i]!.index} was not committed: ${JSON.stringify(applied.result)}`);
      latest.add(applied.ops as RecordOp[]);
    }
    const ops: BatchOp[] = [];
    pushAppliedOps(ops, latest.ops(), entries[to - 1]!.index);
    sink += ops.length;
    if (level?.write === 'chained') await writeBatch(level.db, ops, false);
    else if (level?.write === 'array') await level.db.batch(ops, { sync: false });
  };
  for (let i = 0; i < warm; i += group) await applyGroup(i, Math.min(i + group, warm));
  const start = process.cpuUsage();
  for (let i = warm; i < entries.length; i += group) await applyGroup(i, Math.min(i + group, entries.length));
  const used = process.cpuUsage(start);
  if (sink === 0) throw new Error('no ops');
  return (used.user + used.system) / (entries.length - warm);
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      writes: { type: 'string', default: '20000' },
      writers: { type: 'string', default: '64' },
      group: { type: 'string', default: '8' },
      runs: { type: 'string', default: '5' },
      leveldb: { type: 'string' },
    },
  });
  const write = values.leveldb;
  if (write !== undefined && write !== 'chained' && write !== 'array') throw new Error('--leveldb takes chained or array');
  const writes = Number(values.writes);
  const writers = Number(values.writers);
  const group = Number(values.group);
  const runs = Number(values.runs);
  // The first quarter fills the session table and the audit ring's first part and warms the JIT.
  const warm = Math.floor(writes / 4);
  const entries = entriesOf(writes, writers, 1);
  // One untimed run first: the optimising compiler has not settled within the first run's warm-up.
  const dir = write === undefined ? null : await mkdtemp(join(tmpdir(), 'apply-bench-'));
  const db: Db | null = dir === null ? null : new Level<Uint8Array, Uint8Array>(dir, { keyEncoding: 'view', valueEncoding: 'view', ...LEVEL_MEMORY_OPTIONS });
  try {
    await db?.open();
    const level = db === null ? null : { db, write: write as LevelWrite };
    await run(entries, warm, group, level);
    const perRun: number[] = [];
    for (let r = 0; r < runs; r++) perRun.push(await run(entries, warm, group, level));
    const into = write === undefined ? '' : `, LevelDB ${write} batches`;
    console.log(`apply-bench: ${writes - warm} writes per run, ${writers} writers, groups of ${group}${into}: µs CPU per write ${perRun.map((v) => v.toFixed(1)).join(' ')}; median ${median(perRun).toFixed(1)}`);
  } finally {
    await db?.close();
    if (dir !== null) await rm(dir, { recursive: true, force: true });
  }
}

await main();
