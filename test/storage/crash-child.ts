// Child process of crash-safety.test.ts: opens a WalLogStore (small segments, so rotation and
// segment removal are cut by kills too) or, with `level`, a LevelLogStore, and writes batches in a tight loop until it
// is killed, printing one line per acknowledged (durable) batch. Each batch carries log entries,
// applied catalog records and the applied index together; some also carry a snapshot with
// compaction or a snapshot that replaces the log, so every kind of batch is cut by SIGKILL.
//
// Usage: node crash-child.js <dir> <seed> [wal|level]
import { writeSync } from 'node:fs';
import type { StoreBatch } from '../../consensus/ports.js';
import type { Entry } from '../../consensus/types.js';
import { crashStore } from './crash-store.js';

/** What each entry's data and the 'last' record hold (JSON), so the parent can check batches whole. */
export interface BatchMark {
  batch: number;
  /** Position of this entry in its batch, and the batch's size. */
  position?: number;
  size?: number;
  lastIndex: number;
}

const ENTRY_PAD_BYTES = 64;
const COMPACT_EVERY_BATCHES = 20;
const REPLACE_LOG_EVERY_BATCHES = 97;
const TERM_EVERY_BATCHES = 7;
const RETAIN_ENTRIES = 50;

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const json = (value: unknown): Uint8Array => encoder.encode(JSON.stringify(value));

function say(line: string): void {
  writeSync(1, line + '\n');
}

async function main(): Promise<void> {
  const [dir, seedText, kind = 'wal'] = process.argv.slice(2);
  if (!dir || !seedText) throw new Error('usage: crash-child <dir> <seed> [wal|level]');
  let seed = Number(seedText) >>> 0;
  const random = (): number => {
    seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
    return seed / 2 ** 32;
  };

  const store = crashStore(dir, kind);
  const meta = await store.open();
  const records = new Map(await store.records());
  const lastRecord = records.get('last');
  let batch = lastRecord ? (JSON.parse(decoder.decode(lastRecord)) as BatchMark).batch : 0;
  // `ready` names the batch the applied state holds (after the replay below): the parent reads it as
  // acknowledged.
  let appliedBatch = batch;
  if (meta.lastIndex >= meta.firstIndex) {
    // The WAL store writes the log before the applied state: after a kill the log can hold one batch
    // more. The replica replays such a batch when it starts; so does this child, or a second kill
    // could leave the applied state two batches behind, which the replica never lets happen.
    const [tail] = await store.entries(meta.lastIndex, meta.lastIndex + 1);
    const logBatch = (JSON.parse(decoder.decode(tail.data)) as BatchMark).batch;
    if (logBatch > batch) {
      const mark = json({ batch: logBatch, lastIndex: meta.lastIndex } satisfies BatchMark);
      await store.write({ applied: { index: meta.lastIndex, ops: [{ type: 'put', key: 'last', value: mark }, { type: 'put', key: `batch/${logBatch % 10}`, value: mark }] } });
      appliedBatch = logBatch;
    }
    batch = Math.max(batch, logBatch);
  }
  let lastIndex = meta.lastIndex;
  let term = Math.max(meta.hardState.term, 1);
  say(`ready ${appliedBatch} ${lastIndex}`);

  for (;;) {
    batch++;
    if (batch % TERM_EVERY_BATCHES === 0) term++;
    const committed = lastIndex;
    const write: StoreBatch = { hardState: { term, vote: '', commit: committed } };
    if (batch % REPLACE_LOG_EVERY_BATCHES === 0) {
      // A snapshot from "the leader" past our log: it replaces the log and every record.
      lastIndex += 3;
      const mark: BatchMark = { batch, lastIndex };
      write.snapshot = { meta: { index: lastIndex, term, conf: { voters: ['a'], learners: [] } }, data: json(mark) };
      write.hardState = { term, vote: '', commit: lastIndex };
      write.applied = { index: lastIndex, replaceAll: true, ops: [{ type: 'put', key: 'last', value: json(mark) }] };
    } else {
      const size = 1 + Math.floor(random() * 8);
      const entries: Entry[] = [];
      for (let position = 0; position < size; position++) {
        const mark: BatchMark = { batch, position, size, lastIndex: lastIndex + size };
        const text = JSON.stringify(mark).padEnd(ENTRY_PAD_BYTES, ' ');
        entries.push({ index: lastIndex + 1 + position, term, type: 0, data: encoder.encode(text) });
      }
      lastIndex += size;
      write.entries = entries;
      write.applied = {
        index: lastIndex,
        ops: [
          { type: 'put', key: 'last', value: json({ batch, lastIndex } satisfies BatchMark) },
          { type: 'put', key: `batch/${batch % 10}`, value: json({ batch, lastIndex } satisfies BatchMark) },
        ],
      };
      if (batch % COMPACT_EVERY_BATCHES === 0 && committed > 0) {
        const snapTerm = (await store.term(committed))!;
        write.snapshot = {
          meta: { index: committed, term: snapTerm, conf: { voters: ['a'], learners: [] } },
          data: json({ batch: batch - 1, lastIndex: committed }),
        };
        write.compactTo = Math.max(1, committed - RETAIN_ENTRIES + 1);
      }
    }
    await store.write(write);
    say(`ack ${batch} ${lastIndex}`);
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`crash-child failed: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(2);
});
