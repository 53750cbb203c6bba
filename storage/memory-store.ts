// The in-memory twin of the durable stores for tests and the simulator: same rules (write-plan.ts),
// same errors, plus the faults a disk has. A write is applied to the instance's view at once (reads
// see it) and reaches the MemoryDisk only when its simulated fsync completes, as the WAL store's
// writes do: the log's part (hard state, entries, first index) in one lane — the write-ahead log —
// and the applied records and index in another — LevelDB, written without sync, durable only
// through a later synced write to LevelDB. A write with a snapshot is synced in both lanes (the WAL
// store syncs the snapshot to LevelDB before the log record naming it). crash() drops what was not
// synced in each lane and leaves the unsettled write() promises unsettled, as a killed process
// leaves its callers; the applied state can therefore come back behind the log (the replica applies
// the committed entries again) or ahead of the log's commit index (open() raises the commit index
// to it, as the WAL store does).
//
// Restart after a crash: call open() again on the same instance, or make a new instance over the
// same disk (`new MemoryLogStore({ disk: old.disk })`). Either way only synced writes are there.
import type { AppliedChanges, Clock, LogStore, StoreBatch, StoreMeta } from '../consensus/ports.js';
import type { Entry } from '../consensus/types.js';
import { STORE_FORMAT_NAME, STORE_FORMAT_VERSION } from './codec.js';
import { StoreStateError, StoreWriteError } from './errors.js';
import { checkReadRange, logBase, toStoreMeta } from './log-state.js';
import {
  MemoryDisk,
  applyApplied,
  applyPlan,
  splitPlan,
  cloneImage,
  detachPlan,
  stateOfImage,
  termInImage,
  type MemoryImage,
  type StoredRecord,
} from './memory-disk.js';
import { checkFormatVersion } from './store-dir.js';
import { planWrite, snapshotIndexOf, type WritePlan } from './write-plan.js';

export interface MemoryLogStoreOptions {
  /** The durable state; shared by successive instances to model a restart. Default: a fresh disk. */
  disk?: MemoryDisk;
  /**
   * Time source for simulated fsyncs: each write becomes durable `syncDelayMs()` later on this clock
   * (a virtual clock makes writes take virtual time). Without a clock, writes sync at the next microtask.
   */
  clock?: Clock;
  syncDelayMs?: () => number;
  /** Names the store in error messages (the simulator passes the site name). */
  name?: string;
  /**
   * Keep the caller's entry bytes and record puts by reference instead of copying them. Only for a
   * caller that never changes a buffer it has handed over (the simulator: messages and entries are
   * shared, never mutated, and the catalog's record values are frozen). Default false: copied, so a
   * later change to the caller's buffers cannot reach the "disk".
   */
  shareBuffers?: boolean;
}

/** write() calls whose fsync has not completed before write() refuses more. */
export const MAX_INFLIGHT_WRITES = 1024;

/** Where a part of a write becomes durable: the log (WAL), the state store (LevelDB), or both at once. */
type Lane = 'log' | 'state' | 'both';

interface InflightWrite {
  /** Order of the write() calls (a lane's writes reach the disk in this order). */
  seq: number;
  lane: Lane;
  /** The log's part (lane log or both), null for none or for a write the disk fails. */
  plan: WritePlan | null;
  /** The state store's part (lane state), when the write is split. */
  applied: AppliedChanges | null;
  error: StoreWriteError | null;
  synced: boolean;
  /** Written without sync (durable only through a later synced write in its lane). */
  lazy: boolean;
}

type Phase = 'closed' | 'open' | 'closing' | 'crashed';

export class MemoryLogStore implements LogStore {
  readonly disk: MemoryDisk;
  readonly name: string;
  private readonly clock: Clock | undefined;
  private readonly syncDelayMs: (() => number) | undefined;
  private readonly shareBuffers: boolean;
  private phase: Phase = 'closed';
  /** The disk plus every write not yet synced: what reads see. */
  private view: MemoryImage | null = null;
  /**
   * Writes not yet on the disk, by lane, in the order they were made (a write to both lanes is in
   * both). Kept apart so that a sync looks at each lane's oldest write only: the state lane holds
   * every unsynced apply until the next snapshot, hundreds in the simulator, and scanning them on
   * every log fsync was quadratic.
   */
  private lanes = { log: new WriteQueue(), state: new WriteQueue() };
  private inflightCount = 0;
  private nextSeq = 0;
  /** Per lane, the seq past the last write whose fsync completed: unsynced writes before it are durable. */
  private syncedBefore = { log: 0, state: 0 };
  /** How to settle each write() call still waiting for its fsync. */
  private settlers = new Map<InflightWrite, { resolve: () => void; reject: (err: Error) => void }>();
  /** Settles (never rejects) with each write() call not yet settled; close() waits for them. */
  private pendingSettled = new Set<Promise<void>>();
  /** Bumped by crash() and open(): sync callbacks of an earlier life are ignored. */
  private life = 0;
  private writeFailure: StoreWriteError | null = null;
  /** Resolves when the current life ends in crash() (a close() waiting on writes then gives up). */
  private crashed: Promise<void> = Promise.resolve();
  private signalCrash: () => void = () => undefined;

  constructor(opts: MemoryLogStoreOptions = {}) {
    if (opts.syncDelayMs && !opts.clock) throw new TypeError('MemoryLogStore: syncDelayMs needs a clock to run on');
    this.disk = opts.disk ?? new MemoryDisk();
    this.clock = opts.clock;
    this.syncDelayMs = opts.syncDelayMs;
    this.name = opts.name ?? 'memory-store';
    this.shareBuffers = opts.shareBuffers ?? false;
  }

  async open(): Promise<StoreMeta> {
    if (this.phase === 'open' || this.phase === 'closing') {
      throw new StoreStateError(`store ${this.name} is already open`);
    }
    if (this.disk.holder !== null && this.disk.holder !== this) {
      throw new StoreStateError(`store ${this.name}: its disk is held open by another instance`, 'STORE_LOCKED');
    }
    if (this.disk.formatVersion === null) this.disk.formatVersion = STORE_FORMAT_VERSION;
    checkFormatVersion(this.name, STORE_FORMAT_NAME, this.disk.formatVersion);
    this.disk.holder = this;
    this.life++;
    // The applied state may have reached the disk while the log's commit index did not.
    const image = this.disk.image;
    if (image.appliedIndex > image.hardState.commit) image.hardState = { ...image.hardState, commit: image.appliedIndex };
    this.view = cloneImage(this.disk.image);
    this.resetInflight();
    this.settlers = new Map();
    this.pendingSettled = new Set();
    this.writeFailure = null;
    this.crashed = new Promise<void>((resolve) => (this.signalCrash = resolve));
    this.phase = 'open';
    return toStoreMeta(stateOfImage(this.view), this.view.snapshot);
  }

  async write(batch: StoreBatch): Promise<void> {
    const view = this.openView();
    if (this.phase !== 'open') throw new StoreStateError(`store ${this.name} is closing`);
    if (this.writeFailure) throw this.writeFailure;
    if (this.inflightCount >= MAX_INFLIGHT_WRITES) {
      throw new StoreStateError(`store ${this.name} has ${MAX_INFLIGHT_WRITES} writes in flight; refusing more`);
    }
    if (this.disk.takeWriteFailure()) {
      this.writeFailure = new StoreWriteError(this.name, new Error('simulated disk failure'));
      return this.awaitSync({ seq: this.nextSeq++, lane: 'both', plan: null, applied: null, error: this.writeFailure, synced: false, lazy: false });
    }
    const snapshotIndex = snapshotIndexOf(batch);
    const termAtSnapshot = snapshotIndex === undefined ? undefined : termInImage(view, snapshotIndex);
    const planned = planWrite(stateOfImage(view), batch, termAtSnapshot);
    const plan = this.shareBuffers ? planned : detachPlan(planned);
    applyPlan(view, plan);
    const sync = batch.sync !== false;
    const write = (lane: Lane, part: WritePlan | null, applied: AppliedChanges | null, lazy: boolean): InflightWrite =>
      ({ seq: this.nextSeq++, lane, plan: part, applied, error: null, synced: false, lazy });
    if (plan.snapshot) return this.awaitSync(write('both', plan, null, false));
    const { log, applied } = splitPlan(plan);
    const changesLog = plan.entries.length > 0 || plan.hardState !== undefined || plan.deleteRanges.length > 0;
    if (!changesLog) return this.awaitSync(write('state', null, applied ?? null, !sync));
    if (!applied) return this.awaitSync(write('log', log, null, !sync));
    // The log's part settles the call; the applied part follows it to LevelDB without sync.
    const done = this.awaitSync(write('log', log, null, !sync));
    this.enqueue(write('state', null, applied, true));
    return done;
  }

  /**
   * A synced write resolves when its simulated fsync completes. An unsynced one resolves at once
   * but reaches the disk only when a later synced write in its lane completes (as a log is fsynced
   * up to that point); crash() before that loses it.
   */
  private awaitSync(write: InflightWrite): Promise<void> {
    const life = this.life;
    const promise = new Promise<void>((resolve, reject) => {
      this.enqueue(write);
      this.settlers.set(write, { resolve, reject });
      if (write.lazy) {
        queueMicrotask(() => {
          if (life !== this.life) return;
          this.settlers.delete(write);
          resolve();
        });
        return;
      }
      const synced = (): void => {
        if (life !== this.life) return;
        // This fsync also makes the unsynced writes made before it in its lane(s) durable.
        if (write.lane !== 'state') this.syncedBefore.log = Math.max(this.syncedBefore.log, write.seq);
        if (write.lane !== 'log') this.syncedBefore.state = Math.max(this.syncedBefore.state, write.seq);
        write.synced = true;
        this.completeSyncedWrites();
      };
      if (this.clock) this.clock.setTimer(Math.max(0, this.syncDelayMs?.() ?? 0), synced);
      else queueMicrotask(synced);
    });
    const settled: Promise<void> = promise.then(
      () => void this.pendingSettled.delete(settled),
      () => void this.pendingSettled.delete(settled),
    );
    this.pendingSettled.add(settled);
    return promise;
  }

  /**
   * Each lane's writes reach the disk in the order they were made, each once it and all before it in
   * its lane are synced (a write to both lanes waits for both). Completed oldest first, so callers
   * are settled in the order of their write() calls.
   */
  private completeSyncedWrites(): void {
    for (;;) {
      const write = this.nextCompletable();
      if (write === undefined) return;
      if (write.lane !== 'state') this.lanes.log.shift();
      if (write.lane !== 'log') this.lanes.state.shift();
      this.inflightCount--;
      const settle = this.settlers.get(write);
      this.settlers.delete(write);
      if (write.error) {
        settle?.reject(write.error);
        continue;
      }
      if (write.plan) applyPlan(this.disk.image, write.plan);
      if (write.applied) applyApplied(this.disk.image, write.applied);
      this.disk.syncedWrites++;
      settle?.resolve();
    }
  }

  /** The oldest write at the head of its lane(s) whose data is synced, if any. */
  private nextCompletable(): InflightWrite | undefined {
    const log = this.lanes.log.peek();
    const state = this.lanes.state.peek();
    const logReady = log !== undefined && this.isSynced(log) && (log.lane === 'log' || log === state);
    const stateReady = state !== undefined && this.isSynced(state) && (state.lane === 'state' || state === log);
    if (logReady && stateReady) return log!.seq <= state!.seq ? log : state;
    return logReady ? log : stateReady ? state : undefined;
  }

  private isSynced(write: InflightWrite): boolean {
    if (write.synced) return true;
    if (!write.lazy) return false;
    return (write.lane !== 'state' && write.seq < this.syncedBefore.log) || (write.lane !== 'log' && write.seq < this.syncedBefore.state);
  }

  private enqueue(write: InflightWrite): void {
    if (write.lane !== 'state') this.lanes.log.push(write);
    if (write.lane !== 'log') this.lanes.state.push(write);
    this.inflightCount++;
  }

  private resetInflight(): void {
    this.lanes = { log: new WriteQueue(), state: new WriteQueue() };
    this.inflightCount = 0;
    this.syncedBefore = { log: 0, state: 0 };
  }

  async entries(lo: number, hi: number, maxBytes = Infinity): Promise<Entry[]> {
    const view = this.openView();
    checkReadRange(stateOfImage(view), lo, hi);
    const out: Entry[] = [];
    let bytes = 0;
    for (let index = lo; index < hi; index++) {
      const entry = view.log[index - view.logFirst];
      out.push({ ...entry });
      bytes += entry.data.byteLength;
      if (bytes > maxBytes) break;
    }
    return out;
  }

  async term(index: number): Promise<number | undefined> {
    return termInImage(this.openView(), index);
  }

  async records(): Promise<Array<[string, Uint8Array]>> {
    const rows = [...this.openView().records.entries()];
    // The LevelDB store returns records in UTF-8 byte order of their keys; so does its twin.
    const keyed = rows.map((row) => ({ row, bytes: Buffer.from(row[0], 'utf8') }));
    keyed.sort((a, b) => Buffer.compare(a.bytes, b.bytes));
    return keyed.map(({ row }) => [row[0], this.recordValue(row[0], row[1])]);
  }

  /** A put's value, read now (it may be encoded on read); anything but bytes is a bug of the caller. */
  private recordValue(key: string, record: StoredRecord): Uint8Array {
    const value = record.value;
    if (!(value instanceof Uint8Array)) throw new StoreStateError(`store ${this.name}: record ${key} holds a value that is not a Uint8Array`);
    return value;
  }

  /** First, last, applied and commit index of the view (for tests and the simulator's checkers). */
  meta(): { firstIndex: number; lastIndex: number; appliedIndex: number; commit: number; snapshotIndex: number } {
    const state = stateOfImage(this.openView());
    return {
      firstIndex: state.firstIndex,
      lastIndex: state.lastIndex,
      appliedIndex: state.appliedIndex,
      commit: state.hardState.commit,
      snapshotIndex: logBase(state).index,
    };
  }

  /** Writes made and not yet durable. */
  get inflightWrites(): number {
    return this.inflightCount;
  }

  /** See MemoryDisk.failNextWrites. */
  failNextWrites(count: number): void {
    this.disk.failNextWrites(count);
  }

  /** Waits for writes in flight, then releases the disk. open() may be called again afterwards. */
  async close(): Promise<void> {
    if (this.phase !== 'open') return;
    this.phase = 'closing';
    const life = this.life;
    await Promise.race([Promise.all([...this.pendingSettled]), this.crashed]);
    if (life !== this.life) return;
    // A clean close leaves unsynced writes in the OS's hands, as a process that exits does.
    this.lanes.log.forEach((write) => (write.synced = true));
    this.lanes.state.forEach((write) => (write.synced = true));
    this.completeSyncedWrites();
    this.release('closed');
  }

  /** The process dies now: writes not yet synced are lost and their write() promises never settle. */
  crash(): void {
    if (this.phase !== 'open' && this.phase !== 'closing') return;
    this.life++;
    this.release('crashed');
    this.signalCrash();
  }

  private release(phase: Phase): void {
    this.phase = phase;
    this.view = null;
    this.resetInflight();
    this.settlers = new Map();
    this.pendingSettled = new Set();
    if (this.disk.holder === this) this.disk.holder = null;
  }

  private openView(): MemoryImage {
    if ((this.phase !== 'open' && this.phase !== 'closing') || this.view === null) {
      throw new StoreStateError(`store ${this.name} is ${this.phase === 'crashed' ? 'crashed' : 'not open'}`);
    }
    return this.view;
  }
}

/** A FIFO of writes: an array read from a moving head, trimmed once the head is past half of it. */
class WriteQueue {
  private items: InflightWrite[] = [];
  private head = 0;

  push(write: InflightWrite): void {
    this.items.push(write);
  }

  peek(): InflightWrite | undefined {
    return this.head < this.items.length ? this.items[this.head] : undefined;
  }

  shift(): void {
    this.head++;
    if (this.head === this.items.length) {
      this.items = [];
      this.head = 0;
    } else if (this.head >= 64 && this.head * 2 >= this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
  }

  forEach(fn: (write: InflightWrite) => void): void {
    for (let i = this.head; i < this.items.length; i++) fn(this.items[i]);
  }
}
