// The durable LogStore: LevelDB through `level`, one synced LevelDB batch per write() (group commit).
//
// Atomicity: everything a StoreBatch implies goes into that one batch — hard state, snapshot meta and
// image, new entries, the deletes of a truncated suffix, of compacted entries and of a log replaced
// by a snapshot, the catalog record ops (with deletes of every record for replaceAll) and the applied
// index. LevelDB has no atomic range delete, so deletes are listed key by key: log keys are known
// from the contiguous range the store tracks, record keys come from an iterator. The cost of a batch
// is therefore proportional to the range it compacts; the core compacts every few thousand entries,
// which keeps it bounded. Nothing is deleted outside a batch except a damaged tail at open.
import { Level } from 'level';
import type { LogStore, Logger, StoreBatch, StoreMeta } from '../consensus/ports.js';
import { silentLogger } from '../consensus/ports.js';
import type { Entry } from '../consensus/types.js';
import {
  KeyKind,
  decodeEntry,
  encodeBytes,
  encodeEntry,
  encodeHardState,
  encodeIndex,
  encodeSnapshotMeta,
  indexOfLogKey,
  kindRange,
  logKey,
  recordKey,
  singletonKey,
} from './codec.js';
import { StorageCorruptionError, StoreStateError, StoreWriteError } from './errors.js';
import { LEVEL_MEMORY_OPTIONS } from './level-options.js';
import { checkFormatRecord, decodeOrCorrupt, readCatalogRecords, loadLogState, type Db } from './level-recovery.js';
import { checkReadRange, emptyLogState, logBase, toStoreMeta, type LogState } from './log-state.js';
import { inspectStoreDir, writeStoreMarker } from './store-dir.js';
import { planWrite, snapshotIndexOf, type WritePlan } from './write-plan.js';

export interface LevelLogStoreOptions {
  logger?: Logger;
  /** Committed entries just below the commit index verified at open; older ones are checked when read. */
  verifyCommittedEntriesAtOpen?: number;
}

export const DEFAULT_VERIFY_COMMITTED_ENTRIES = 1024;
/** write() calls waiting behind the one in progress before write() refuses more. */
export const MAX_QUEUED_WRITES = 1024;
/** Entries fetched per iterator step by entries(). */
const READ_CHUNK_ENTRIES = 256;
/** Times a read that misses a key waits for in-flight writes and looks again before calling it corruption. */
const MISSING_KEY_RETRIES = 3;

type BatchOp = { type: 'put'; key: Uint8Array; value: Uint8Array } | { type: 'del'; key: Uint8Array };
type Phase = 'new' | 'opening' | 'open' | 'closing' | 'closed';

export class LevelLogStore implements LogStore {
  readonly dir: string;
  private readonly logger: Logger;
  private readonly verifyCommitted: number;
  private db: Db | null = null;
  private phase: Phase = 'new';
  private state: LogState = emptyLogState();
  /** Writes run one after another: each is planned against the state the previous one left. */
  private writeChain: Promise<unknown> = Promise.resolve();
  private queuedWrites = 0;
  private writeFailure: StoreWriteError | null = null;

  constructor(dir: string, opts: LevelLogStoreOptions = {}) {
    this.dir = dir;
    this.logger = opts.logger ?? silentLogger;
    this.verifyCommitted = opts.verifyCommittedEntriesAtOpen ?? DEFAULT_VERIFY_COMMITTED_ENTRIES;
  }

  async open(): Promise<StoreMeta> {
    if (this.phase !== 'new') throw new StoreStateError(`store ${this.dir} was already opened`);
    this.phase = 'opening';
    let db: Db | null = null;
    try {
      const dirState = await inspectStoreDir(this.dir);
      if (dirState === 'new') await writeStoreMarker(this.dir);
      db = await this.openLevel(dirState !== 'store');
      await checkFormatRecord(db, this.dir);
      const loaded = await loadLogState(db, this.dir, this.logger, this.verifyCommitted);
      this.db = db;
      this.state = loaded.state;
      this.phase = 'open';
      this.logger.info(
        { dir: this.dir, firstIndex: loaded.state.firstIndex, lastIndex: loaded.state.lastIndex },
        'storage: opened',
      );
      return toStoreMeta(loaded.state, loaded.snapshot);
    } catch (err) {
      this.phase = 'closed';
      await db?.close().catch(() => undefined);
      throw err;
    }
  }

  private async openLevel(createIfMissing: boolean): Promise<Db> {
    const db = new Level<Uint8Array, Uint8Array>(this.dir, {
      keyEncoding: 'view',
      valueEncoding: 'view',
      createIfMissing,
      errorIfExists: false,
      ...LEVEL_MEMORY_OPTIONS,
    });
    try {
      await db.open();
    } catch (err) {
      const cause = (err as { cause?: { code?: string } }).cause;
      if (cause?.code === 'LEVEL_LOCKED') {
        throw new StoreStateError(`data directory ${this.dir} is in use by another process (LevelDB lock held)`, 'STORE_LOCKED');
      }
      throw err;
    }
    return db;
  }

  write(batch: StoreBatch): Promise<void> {
    if (this.phase !== 'open') return Promise.reject(this.notOpen());
    if (this.queuedWrites >= MAX_QUEUED_WRITES) {
      return Promise.reject(new StoreStateError(`store ${this.dir} has ${MAX_QUEUED_WRITES} writes queued; refusing more`));
    }
    this.queuedWrites++;
    const done = this.writeChain.then(() => this.writeNow(batch)).finally(() => this.queuedWrites--);
    this.writeChain = done.catch(() => undefined);
    return done;
  }

  private async writeNow(batch: StoreBatch): Promise<void> {
    const db = this.openDb();
    if (this.writeFailure) throw this.writeFailure;
    const snapshotIndex = snapshotIndexOf(batch);
    const termAtSnapshot = snapshotIndex === undefined ? undefined : await this.readTerm(snapshotIndex, 0);
    const plan = planWrite(this.state, batch, termAtSnapshot);
    const ops = await this.batchOps(db, plan);
    try {
      await db.batch(ops, { sync: batch.sync !== false });
    } catch (err) {
      this.writeFailure = new StoreWriteError(this.dir, err);
      this.logger.error({ dir: this.dir, err: (err as Error).message }, 'storage: write failed');
      throw this.writeFailure;
    }
    this.state = plan.next;
  }

  private async batchOps(db: Db, plan: WritePlan): Promise<BatchOp[]> {
    const ops: BatchOp[] = [];
    for (const [lo, hi] of plan.deleteRanges) {
      for (let index = lo; index < hi; index++) ops.push({ type: 'del', key: logKey(index) });
    }
    if (plan.snapshot) {
      const { meta, data } = plan.snapshot;
      ops.push({ type: 'put', key: singletonKey(KeyKind.SnapshotMeta), value: encodeSnapshotMeta(meta, data.byteLength) });
      ops.push({ type: 'put', key: singletonKey(KeyKind.SnapshotImage), value: encodeBytes(data) });
    }
    for (const entry of plan.entries) ops.push({ type: 'put', key: logKey(entry.index), value: encodeEntry(entry) });
    if (plan.hardState) {
      ops.push({ type: 'put', key: singletonKey(KeyKind.HardState), value: encodeHardState(plan.hardState) });
    }
    if (plan.applied) {
      if (plan.applied.replaceAll) {
        for (const key of await db.keys(kindRange(KeyKind.Record)).all()) ops.push({ type: 'del', key });
      }
      for (const op of plan.applied.ops) {
        ops.push(
          op.type === 'put'
            ? { type: 'put', key: recordKey(op.key), value: encodeBytes(op.value) }
            : { type: 'del', key: recordKey(op.key) },
        );
      }
      ops.push({ type: 'put', key: singletonKey(KeyKind.AppliedIndex), value: encodeIndex(plan.applied.index) });
    }
    return ops;
  }

  entries(lo: number, hi: number, maxBytes = Infinity): Promise<Entry[]> {
    return this.readEntries(lo, hi, maxBytes, MISSING_KEY_RETRIES);
  }

  private async readEntries(lo: number, hi: number, maxBytes: number, retries: number): Promise<Entry[]> {
    const db = this.openDb();
    checkReadRange(this.state, lo, hi);
    const out: Entry[] = [];
    let bytes = 0;
    let expected = lo;
    const iterator = db.iterator({ gte: logKey(lo), lt: logKey(hi) });
    try {
      reading: while (expected < hi) {
        const chunk = await iterator.nextv(Math.min(hi - expected, READ_CHUNK_ENTRIES));
        if (chunk.length === 0) break;
        for (const [key, value] of chunk) {
          if (this.indexOfKey(key) !== expected) break reading;
          const entry = this.decodeEntryAt(value, expected);
          out.push(entry);
          bytes += entry.data.byteLength;
          expected++;
          if (bytes > maxBytes) return out;
        }
      }
    } finally {
      await iterator.close();
    }
    if (expected < hi) {
      if (retries === 0) throw new StorageCorruptionError(this.dir, `log entry ${expected} is missing`, expected);
      // A write that compacted or truncated may have landed between the range check and the read:
      // let writes settle, then read again (the range check then refuses what is gone).
      await this.writeChain;
      return this.readEntries(lo, hi, maxBytes, retries - 1);
    }
    return out;
  }

  term(index: number): Promise<number | undefined> {
    return this.readTerm(index, MISSING_KEY_RETRIES);
  }

  /** `retries` as in readEntries; 0 inside a write, where no other write can be landing. */
  private async readTerm(index: number, retries: number): Promise<number | undefined> {
    const db = this.openDb();
    const base = logBase(this.state);
    if (index === base.index) return base.term;
    if (!Number.isSafeInteger(index) || index < this.state.firstIndex || index > this.state.lastIndex) return undefined;
    const value = await db.get(logKey(index));
    if (value !== undefined) return this.decodeEntryAt(value, index).term;
    if (retries === 0) throw new StorageCorruptionError(this.dir, `log entry ${index} is missing`, index);
    await this.writeChain;
    return this.readTerm(index, retries - 1);
  }

  async records(): Promise<Array<[string, Uint8Array]>> {
    const db = this.openDb();
    return readCatalogRecords(db, this.dir);
  }

  /** The state the store tracks (for metrics and tests). */
  meta(): { firstIndex: number; lastIndex: number; appliedIndex: number; commit: number } {
    const s = this.state;
    return { firstIndex: s.firstIndex, lastIndex: s.lastIndex, appliedIndex: s.appliedIndex, commit: s.hardState.commit };
  }

  async close(): Promise<void> {
    if (this.phase === 'closed' || this.phase === 'closing') return;
    if (this.phase !== 'open') {
      this.phase = 'closed';
      return;
    }
    this.phase = 'closing';
    await this.writeChain;
    await this.db?.close();
    this.db = null;
    this.phase = 'closed';
  }

  private decodeEntryAt(value: Uint8Array, index: number): Entry {
    return decodeOrCorrupt(this.dir, `log entry ${index}`, () => decodeEntry(value, index), index);
  }

  private indexOfKey(key: Uint8Array): number {
    return decodeOrCorrupt(this.dir, 'log key', () => indexOfLogKey(key));
  }

  private openDb(): Db {
    if (this.db === null || (this.phase !== 'open' && this.phase !== 'closing')) throw this.notOpen();
    return this.db;
  }

  private notOpen(): StoreStateError {
    return new StoreStateError(`store ${this.dir} is ${this.phase === 'new' ? 'not opened yet' : this.phase}`);
  }
}
