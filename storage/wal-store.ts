// The durable LogStore: the Raft log and hard state in a write-ahead log of our own (storage/wal/),
// the applied catalog, snapshots and metadata in LevelDB (`state/`). See DESIGN.md, "Storage: a
// log for the log, LevelDB for the state", for why the split is safe across a crash.
//
// Writes are queued and taken in groups: every write waiting when the previous group finishes
// goes into the next one, which costs one write() and at most one fdatasync (group commit). Each
// write of a group is planned against the state the one before it leaves (write-plan.ts, as the
// twin does); a write that breaks a rule is refused alone. A write that carries a snapshot forms a
// group by itself. Order within a group:
//   1. a snapshot (image and metadata; with the records it stands for when it replaces them) goes
//      to LevelDB with sync, so a log record naming it is never durable without it;
//   2. the log records (hard state, entries, snapshot marker, first index) are appended and, when
//      any write of the group asks for sync, fdatasynced;
//   3. applied records and the applied index go to LevelDB without sync (rebuilt from the log).
// The group's writes settle after step 2 (a write with nothing for the log, after step 3): an append's
// answer or a write's acknowledgement needs only the log, and the next group starts after step 3.
import { join } from 'node:path';
import { Level } from 'level';
import type { LogStore, Logger, RecordOp, StoreBatch, StoreMeta } from '../consensus/ports.js';
import { silentLogger } from '../consensus/ports.js';
import type { Entry, Snapshot } from '../consensus/types.js';
import {
  KeyKind,
  decodeIndex,
  encodeBytes,
  encodeIndex,
  encodeSnapshotMeta,
  kindRange,
  recordKey,
  singletonKey,
} from './codec.js';
import { StorageCorruptionError, StorageFormatError, StoreStateError, StoreWriteError } from './errors.js';
import { checkFormatRecord, decodeOrCorrupt, readCatalogRecords, loadSnapshot, type Db } from './level-recovery.js';
import { checkReadRange, emptyLogState, logBase, toStoreMeta, type LogState } from './log-state.js';
import { inspectPartedStoreDir, writeStoreMarker } from './store-dir.js';
import { EntryIndex } from './wal/entry-index.js';
import { nodeFileSystem, type WalFileSystem } from './wal/file-port.js';
import { ENTRY_HEADER_BYTES, WalDecodeError, decodeEntryAt, type RecordContent } from './wal/record.js';
import { applyRecord, type ReplayRecord, type WalLogState } from './wal/replay.js';
import { SegmentFormatError } from './wal/segments.js';
import { WalCorruptionError, WriteAheadLog } from './wal/wal.js';
import { planWrite, snapshotIndexOf, type WritePlan } from './write-plan.js';
import { LEVEL_MEMORY_OPTIONS } from './level-options.js';

export const WAL_STORE_FORMAT_NAME = 'stackraft-wal-store';
export const WAL_STORE_FORMAT_VERSION = 1;
const WAL_DIR = 'wal';
const STATE_DIR = 'state';
/** write() calls waiting for their group before write() refuses more. */
export const MAX_QUEUED_WAL_WRITES = 1024;
/** Writes taken into one group, and the entry bytes after which a group closes. */
export const MAX_GROUP_WRITES = 256;
export const MAX_GROUP_ENTRY_BYTES = 8 * 1024 * 1024;
/** Bytes read per file read by entries(); a longer range is read in several. */
const MAX_READ_BYTES = 4 * 1024 * 1024;

export interface WalLogStoreOptions {
  logger?: Logger;
  /** The file port the log writes through (default: the real disk). */
  fs?: WalFileSystem;
  /** Size a segment file is preallocated to (default 16 MiB). */
  segmentBytes?: number;
}

export type BatchOp = { type: 'put'; key: Uint8Array; value: Uint8Array } | { type: 'del'; key: Uint8Array };
type Phase = 'new' | 'opening' | 'open' | 'closing' | 'closed';

interface QueuedWrite {
  batch: StoreBatch;
  resolve: () => void;
  reject: (err: Error) => void;
}

interface Accepted {
  write: QueuedWrite;
  plan: WritePlan;
  prev: LogState;
}

export class WalLogStore implements LogStore {
  readonly dir: string;
  private readonly logger: Logger;
  private readonly fs: WalFileSystem;
  private readonly segmentBytes: number | undefined;
  private phase: Phase = 'new';
  private db: Db | null = null;
  private wal: WriteAheadLog | null = null;
  private state: LogState = emptyLogState();
  private index = new EntryIndex(1);
  private queue: QueuedWrite[] = [];
  private pumping: Promise<void> | null = null;
  private writeFailure: StoreWriteError | null = null;
  /** The applied records' LevelDB batch in flight, written after its writes were settled. */
  private stateWrite: Promise<void> | null = null;
  /** Groups written and fdatasyncs made (for tests and the benchmark). */
  readonly counters = { groups: 0, syncs: 0, writes: 0 };

  constructor(dir: string, opts: WalLogStoreOptions = {}) {
    this.dir = dir;
    this.logger = opts.logger ?? silentLogger;
    this.fs = opts.fs ?? nodeFileSystem;
    this.segmentBytes = opts.segmentBytes;
  }

  async open(): Promise<StoreMeta> {
    if (this.phase !== 'new') throw new StoreStateError(`store ${this.dir} was already opened`);
    this.phase = 'opening';
    try {
      const dirState = await inspectPartedStoreDir(this.dir, WAL_STORE_FORMAT_NAME, WAL_STORE_FORMAT_VERSION, [WAL_DIR, STATE_DIR]);
      if (dirState === 'new') await writeStoreMarker(this.dir, WAL_STORE_FORMAT_NAME, WAL_STORE_FORMAT_VERSION);
      this.db = await this.openLevel();
      await checkFormatRecord(this.db, this.dir);
      const snapshot = await loadSnapshot(this.db, this.dir);
      const appliedValue = await this.db.get(singletonKey(KeyKind.AppliedIndex));
      const appliedIndex = appliedValue ? decodeOrCorrupt(this.dir, 'applied index', () => decodeIndex(appliedValue)) : 0;
      const { wal, replay } = await this.openWal();
      this.wal = wal;
      if (replay.tornTail) {
        this.logger.warn(
          { dir: this.dir, segment: replay.tornTail.seq, offset: replay.tornTail.offset, reason: replay.tornTail.reason, lastIndex: replay.state.lastIndex },
          'storage: cut a torn write at the end of the log (it was never acknowledged)',
        );
      }
      this.index = replay.index;
      await this.reconcile(replay.state, snapshot, appliedIndex);
      wal.prepareNext();
      this.phase = 'open';
      this.logger.info({ dir: this.dir, firstIndex: this.state.firstIndex, lastIndex: this.state.lastIndex }, 'storage: opened');
      return toStoreMeta(this.state, snapshot);
    } catch (err) {
      this.phase = 'closed';
      await this.wal?.close().catch(() => undefined);
      await this.db?.close().catch(() => undefined);
      this.wal = null;
      this.db = null;
      throw err;
    }
  }

  private async openLevel(): Promise<Db> {
    const db = new Level<Uint8Array, Uint8Array>(join(this.dir, STATE_DIR), { keyEncoding: 'view', valueEncoding: 'view', ...LEVEL_MEMORY_OPTIONS });
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

  private async openWal(): ReturnType<typeof WriteAheadLog.open> {
    try {
      return await WriteAheadLog.open(join(this.dir, WAL_DIR), { fs: this.fs, logger: this.logger, segmentBytes: this.segmentBytes });
    } catch (err) {
      if (err instanceof WalCorruptionError) throw new StorageCorruptionError(this.dir, `write-ahead log: ${err.message}`, err.index);
      if (err instanceof SegmentFormatError) {
        if (err.foundVersion !== undefined) {
          throw new StorageFormatError(
            this.dir,
            `${this.dir}: ${err.message}. Run a stackraft release that supports it. Nothing was changed.`,
            WAL_STORE_FORMAT_VERSION,
            err.foundVersion,
          );
        }
        throw new StorageCorruptionError(this.dir, `write-ahead log: ${err.message}`);
      }
      throw err;
    }
  }

  /**
   * Joins the log's state with LevelDB's. LevelDB's snapshot is written (synced) before the log
   * record that names it, so after a crash it can be one step ahead: then the snapshot's batch is
   * finished here (the log continues after it, or is replaced by it when it disagrees). The applied
   * index (written without sync, after the log) may be ahead of the commit index the log kept;
   * both are facts of the cluster, so the commit index is raised to it.
   */
  private async reconcile(log: WalLogState, snapshot: Snapshot | null, appliedIndex: number): Promise<void> {
    const meta = snapshot?.meta ?? null;
    if (log.snapshot && (!meta || meta.index < log.snapshot.index || (meta.index === log.snapshot.index && meta.term !== log.snapshot.term))) {
      throw new StorageCorruptionError(
        this.dir,
        `the log names a snapshot at ${log.snapshot.index} (term ${log.snapshot.term}) that the state store does not hold (it holds ${meta ? `${meta.index}, term ${meta.term}` : 'none'})`,
      );
    }
    const repair: RecordContent = { entries: [] };
    const next: WalLogState = { ...log, hardState: { ...log.hardState } };
    if (meta && (!log.snapshot || meta.index > log.snapshot.index)) {
      const reset = meta.index > log.lastIndex || this.index.term(meta.index) !== meta.term;
      repair.snapshot = { index: meta.index, term: meta.term, reset };
      next.snapshot = { index: meta.index, term: meta.term };
      if (reset) {
        next.firstIndex = meta.index + 1;
        next.lastIndex = meta.index;
        this.index.clear(meta.index + 1);
      }
    }
    const base = meta?.index ?? 0;
    if (appliedIndex > Math.max(next.lastIndex, base)) {
      throw new StorageCorruptionError(this.dir, `the applied index ${appliedIndex} is past the end of the log (${next.lastIndex})`);
    }
    const commit = Math.max(next.hardState.commit, base, appliedIndex);
    const term = Math.max(next.hardState.term, meta?.term ?? 0);
    if (commit !== next.hardState.commit || term !== next.hardState.term) {
      next.hardState = { term, vote: term === next.hardState.term ? next.hardState.vote : '', commit };
      repair.hardState = next.hardState;
    }
    this.state = { hardState: next.hardState, firstIndex: next.firstIndex, lastIndex: next.lastIndex, snapshotMeta: meta, appliedIndex };
    if (repair.snapshot || repair.hardState) {
      this.logger.warn({ dir: this.dir, snapshot: repair.snapshot, hardState: repair.hardState }, 'storage: finished a write the crash interrupted');
      await this.wal!.append([repair], log, true);
    }
  }

  write(batch: StoreBatch): Promise<void> {
    if (this.phase !== 'open') return Promise.reject(this.notOpen());
    if (this.writeFailure) return Promise.reject(this.writeFailure);
    if (this.queue.length >= MAX_QUEUED_WAL_WRITES) {
      return Promise.reject(new StoreStateError(`store ${this.dir} has ${MAX_QUEUED_WAL_WRITES} writes queued; refusing more`));
    }
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ batch, resolve, reject });
      if (this.pumping === null) this.pumping = this.pump();
    });
  }

  private async pump(): Promise<void> {
    // Let writes made in this turn join the first group.
    await Promise.resolve();
    while (this.queue.length > 0) {
      const group = this.takeGroup();
      try {
        await this.writeGroup(group);
      } catch (err) {
        // Refused writes are settled inside writeGroup; anything that gets here happened once the
        // group's I/O had begun (a disk error, a broken invariant): the stored state is no longer
        // known to match this.state, so every later write is refused.
        if (!this.writeFailure) {
          this.writeFailure = new StoreWriteError(this.dir, err);
          this.logger.error({ dir: this.dir, err: (err as Error).message }, 'storage: write failed');
        }
        this.failAll(group, err);
      }
    }
    this.pumping = null;
  }

  private takeGroup(): QueuedWrite[] {
    if (writesAlone(this.queue[0].batch)) return this.queue.splice(0, 1);
    let n = 0;
    let bytes = 0;
    while (n < this.queue.length && n < MAX_GROUP_WRITES && bytes < MAX_GROUP_ENTRY_BYTES && !writesAlone(this.queue[n].batch)) {
      for (const e of this.queue[n].batch?.entries ?? []) bytes += e?.data?.byteLength ?? 0;
      n++;
    }
    return this.queue.splice(0, n);
  }

  private async writeGroup(group: QueuedWrite[]): Promise<void> {
    const accepted: Accepted[] = [];
    let cur = this.state;
    for (const write of group) {
      if (this.writeFailure) {
        write.reject(this.writeFailure);
        continue;
      }
      try {
        const snapshotIndex = snapshotIndexOf(write.batch);
        // A snapshot's write is alone in its group, so `cur` is the stored state here.
        const termAtSnapshot = snapshotIndex === undefined ? undefined : this.termIn(cur, snapshotIndex);
        const plan = planWrite(cur, write.batch, termAtSnapshot);
        accepted.push({ write, plan, prev: cur });
        cur = plan.next;
      } catch (err) {
        write.reject(err as Error);
      }
    }
    if (accepted.length === 0) return;
    const sync = accepted.some((a) => a.write.batch.sync !== false);
    const contents = accepted.map((a) => logRecordOf(a.plan, a.prev));
    const db = this.db!;
    let located: Array<{ content: RecordContent; seq: number; offsets: number[] }> = [];
    try {
      const withSnapshot = accepted.find((a) => a.plan.snapshot);
      if (withSnapshot) await writeBatch(db, await this.snapshotOps(db, withSnapshot.plan), true);
      const toLog = contents.filter((c) => c !== null);
      const appending = toLog.length > 0 ? this.wal!.append(toLog, walStateOf(this.state), sync) : null;
      // The applied records are encoded while the log's write is in flight.
      const ops = await this.appliedOps(db, accepted).catch(async (err: unknown) => {
        await appending?.catch(() => undefined);
        throw err;
      });
      if (appending) {
        const written = await appending;
        located = toLog.map((content, i) => ({ content, seq: written.seq, offsets: written.entryOffsets[i] }));
        this.counters.syncs += sync ? 1 : 0;
        // Once the log's part is written (and fdatasynced when asked), the writes are settled: what
        // depends on them (an append's answer, a write's acknowledgement) needs only the log, and the
        // applied records follow without sync, as the twin's state lane does. The next group waits
        // for them, so LevelDB still takes the batches in log order.
        this.settle(located, cur, accepted);
      }
      if (ops.length > 0) await this.writeState(db, ops, sync && toLog.length === 0);
    } catch (err) {
      this.writeFailure = new StoreWriteError(this.dir, err);
      this.logger.error({ dir: this.dir, err: (err as Error).message }, 'storage: write failed');
      throw this.writeFailure;
    }
    if (located.length === 0) this.settle(located, cur, accepted);
    if (sync) await this.removeCompactedSegments();
  }

  private settle(located: Array<{ content: RecordContent; seq: number; offsets: number[] }>, cur: LogState, accepted: Accepted[]): void {
    this.follow(located, cur);
    this.state = cur;
    this.counters.groups++;
    this.counters.writes += accepted.length;
    for (const a of accepted) a.write.resolve();
  }

  /** The applied records' batch; records() waits for the one in flight, so it reads what write() settled. */
  private async writeState(db: Db, ops: BatchOp[], sync: boolean): Promise<void> {
    const written = writeBatch(db, ops, sync);
    this.stateWrite = written.catch(() => undefined);
    try {
      await written;
    } finally {
      this.stateWrite = null;
    }
  }

  /** Moves the entry index along the records just written and checks it lands where planWrite said. */
  private follow(located: Array<{ content: RecordContent; seq: number; offsets: number[] }>, planned: LogState): void {
    const walState = walStateOf(this.state);
    for (const { content, seq, offsets } of located) {
      const rec: ReplayRecord = {
        ...content,
        entries: content.entries.map((e, i) => ({ index: e.index, term: e.term, spot: { seq, offset: offsets[i], dataBytes: e.data.byteLength } })),
      };
      applyRecord(walState, this.index, rec, false);
    }
    if (walState.firstIndex !== planned.firstIndex || walState.lastIndex !== planned.lastIndex || this.index.end !== planned.lastIndex + 1) {
      throw new Error(
        `WAL store invariant: the log records lead to [${walState.firstIndex}, ${walState.lastIndex}] but the write planned [${planned.firstIndex}, ${planned.lastIndex}]`,
      );
    }
  }

  private async removeCompactedSegments(): Promise<void> {
    try {
      await this.wal!.removeSegmentsBelow(this.state.firstIndex);
    } catch (err) {
      // Only disk space is at stake: the segments are retried after the next synced write.
      this.logger.warn({ dir: this.dir, err: (err as Error).message }, 'storage: could not remove compacted log segments');
    }
  }

  private async snapshotOps(db: Db, plan: WritePlan): Promise<BatchOp[]> {
    const { meta, data } = plan.snapshot!;
    const ops: BatchOp[] = [
      { type: 'put', key: singletonKey(KeyKind.SnapshotMeta), value: encodeSnapshotMeta(meta, data.byteLength) },
      { type: 'put', key: singletonKey(KeyKind.SnapshotImage), value: encodeBytes(data) },
    ];
    if (plan.applied?.replaceAll) {
      for (const key of await db.keys(kindRange(KeyKind.Record)).all()) ops.push({ type: 'del', key });
      pushAppliedOps(ops, plan.applied.ops, plan.applied.index);
    }
    return ops;
  }

  /**
   * LevelDB ops for the applied changes of the group, except a snapshot's records (written before
   * the log). A replaceAll write is alone in its group, so listing the stored keys here is exact.
   */
  private async appliedOps(db: Db, accepted: Accepted[]): Promise<BatchOp[]> {
    const ops: BatchOp[] = [];
    const latest = new LatestRecordOps();
    let appliedIndex: number | null = null;
    for (const { plan } of accepted) {
      if (!plan.applied || (plan.snapshot && plan.applied.replaceAll)) continue;
      if (plan.applied.replaceAll) for (const key of await db.keys(kindRange(KeyKind.Record)).all()) ops.push({ type: 'del', key });
      latest.add(plan.applied.ops);
      appliedIndex = plan.applied.index;
    }
    if (appliedIndex !== null) pushAppliedOps(ops, latest.ops(), appliedIndex);
    return ops;
  }

  private failAll(group: QueuedWrite[], err: unknown): void {
    const error = err instanceof Error ? err : new Error(String(err));
    for (const w of group) w.reject(error);
    if (this.writeFailure) for (const w of this.queue.splice(0)) w.reject(this.writeFailure);
  }

  /** The term the stored log (or its snapshot base) holds at `index`. */
  private termIn(state: LogState, index: number): number | undefined {
    const base = logBase(state);
    if (index === base.index) return base.term;
    if (index < state.firstIndex || index > state.lastIndex) return undefined;
    return this.index.term(index);
  }

  async entries(lo: number, hi: number, maxBytes = Infinity): Promise<Entry[]> {
    this.openWalOrThrow();
    checkReadRange(this.state, lo, hi);
    let end = lo;
    let bytes = 0;
    while (end < hi) {
      bytes += this.index.dataBytes(end);
      end++;
      if (bytes > maxBytes) break;
    }
    const spots: Array<{ index: number; seq: number; offset: number; dataBytes: number }> = [];
    for (let i = lo; i < end; i++) spots.push({ index: i, ...this.index.spot(i) });
    const out: Entry[] = [];
    let i = 0;
    while (i < spots.length) {
      // One read per run of entries that sit one after another in the same segment.
      let j = i + 1;
      const runEnd = (k: number): number => spots[k].offset + ENTRY_HEADER_BYTES + spots[k].dataBytes;
      while (j < spots.length && spots[j].seq === spots[i].seq && spots[j].offset >= runEnd(j - 1) && runEnd(j) - spots[i].offset <= MAX_READ_BYTES) j++;
      const data = await this.wal!.read(spots[i].seq, spots[i].offset, runEnd(j - 1) - spots[i].offset);
      for (let k = i; k < j; k++) {
        const index = spots[k].index;
        out.push(decodeOrCorrupt(this.dir, `log entry ${index}`, () => {
          try {
            return decodeEntryAt(data, spots[k].offset - spots[i].offset, index);
          } catch (err) {
            if (err instanceof WalDecodeError) throw new StorageCorruptionError(this.dir, `log entry ${index}: ${err.message}`, index);
            throw err;
          }
        }, index));
      }
      i = j;
    }
    return out;
  }

  async term(index: number): Promise<number | undefined> {
    this.openWalOrThrow();
    if (!Number.isSafeInteger(index)) return undefined;
    return this.termIn(this.state, index);
  }

  async records(): Promise<Array<[string, Uint8Array]>> {
    const db = this.openWalOrThrow();
    if (this.stateWrite) await this.stateWrite;
    if (this.writeFailure) throw this.writeFailure;
    return readCatalogRecords(db, this.dir);
  }

  meta(): { firstIndex: number; lastIndex: number; appliedIndex: number; commit: number } {
    const s = this.state;
    return { firstIndex: s.firstIndex, lastIndex: s.lastIndex, appliedIndex: s.appliedIndex, commit: s.hardState.commit };
  }

  /** The log's segment files, oldest first (for tests). */
  segmentSeqs(): number[] {
    return this.wal?.segmentSeqs() ?? [];
  }

  async close(): Promise<void> {
    if (this.phase === 'closed' || this.phase === 'closing') return;
    if (this.phase !== 'open') {
      this.phase = 'closed';
      return;
    }
    this.phase = 'closing';
    while (this.pumping) await this.pumping;
    await this.wal?.close();
    await this.db?.close();
    this.wal = null;
    this.db = null;
    this.phase = 'closed';
  }

  private openWalOrThrow(): Db {
    if (this.db === null || this.wal === null || (this.phase !== 'open' && this.phase !== 'closing')) throw this.notOpen();
    return this.db;
  }

  private notOpen(): StoreStateError {
    return new StoreStateError(`store ${this.dir} is ${this.phase === 'new' ? 'not opened yet' : this.phase}`);
  }
}

function walStateOf(state: LogState): WalLogState {
  return {
    hardState: { ...state.hardState },
    snapshot: state.snapshotMeta ? { index: state.snapshotMeta.index, term: state.snapshotMeta.term } : null,
    firstIndex: state.firstIndex,
    lastIndex: state.lastIndex,
  };
}

/** The log record of one planned write, or null when it changes nothing the log holds. */
function logRecordOf(plan: WritePlan, prev: LogState): RecordContent | null {
  const content: RecordContent = { entries: plan.entries };
  if (plan.hardState) content.hardState = plan.hardState;
  if (plan.snapshot) content.snapshot = { index: plan.snapshot.meta.index, term: plan.snapshot.meta.term, reset: plan.logReset };
  if (plan.next.firstIndex !== prev.firstIndex) content.firstIndex = plan.next.firstIndex;
  const empty = !content.hardState && !content.snapshot && content.firstIndex === undefined && content.entries.length === 0;
  return empty ? null : content;
}

/** A write that forms a group alone: a snapshot (written to LevelDB first), or one that replaces every record. */
function writesAlone(batch: StoreBatch): boolean {
  return Boolean(batch?.snapshot || batch?.applied?.replaceAll);
}

/**
 * One atomic LevelDB batch, built op by op (a chained batch) rather than handed over as an array:
 * the array form clones every op and classic-level reads each one's fields through N-API, and it
 * cost about 3x the CPU per op (classic-level 3, 40 puts of 500 bytes per batch: 20-24 vs 6-7 µs per
 * op, alternating, load ~30). Same LevelDB WriteBatch, so the same atomicity.
 */
export async function writeBatch(db: Db, ops: readonly BatchOp[], sync: boolean): Promise<void> {
  const batch = db.batch();
  try {
    for (const op of ops) {
      if (op.type === 'put') batch.put(op.key, op.value);
      else batch.del(op.key);
    }
  } catch (err) {
    await batch.close();
    throw err;
  }
  await batch.write({ sync });
}

export function pushAppliedOps(ops: BatchOp[], recordOps: Iterable<RecordOp>, appliedIndex: number): void {
  for (const op of recordOps) {
    ops.push(op.type === 'put' ? { type: 'put', key: recordKey(op.key), value: encodeBytes(op.value) } : { type: 'del', key: recordKey(op.key) });
  }
  ops.push({ type: 'put', key: singletonKey(KeyKind.AppliedIndex), value: encodeIndex(appliedIndex) });
}

/**
 * The record ops of a group of applied writes, only the last op of each key: in one LevelDB batch a
 * later op of a key replaces an earlier one anyway, so the earlier ones would be encoded, checksummed
 * and written for nothing. Every applied entry rewrites the same few records (the catalog's applied
 * index, the audit ring's meta record, a busy client's session), so a group of k writes saves ~k ops
 * per shared key. The batch stays atomic, so the state after it is the same.
 */
export class LatestRecordOps {
  private readonly byKey = new Map<string, RecordOp>();

  add(ops: readonly RecordOp[]): void {
    for (const op of ops) {
      // Deleted first so the op takes the later position (the order of distinct keys does not matter).
      this.byKey.delete(op.key);
      this.byKey.set(op.key, op);
    }
  }

  ops(): IterableIterator<RecordOp> {
    return this.byKey.values();
  }
}
