// The in-memory twin of LevelLogStore for tests and the simulator: same rules (write-plan.ts), same
// errors, plus the faults a disk has. A write is applied to the instance's view at once (reads see
// it) and reaches the MemoryDisk only when its simulated fsync completes; the write() promise
// resolves then, in write order, as an append-only log would. crash() drops the writes whose fsync
// had not completed and leaves their promises unsettled, as a killed process leaves its callers.
//
// Restart after a crash: call open() again on the same instance, or make a new instance over the
// same disk (`new MemoryLogStore({ disk: old.disk })`). Either way only synced writes are there.
import type { Clock, LogStore, StoreBatch, StoreMeta } from '../consensus/ports.js';
import type { Entry } from '../consensus/types.js';
import { STORE_FORMAT_NAME, STORE_FORMAT_VERSION } from './codec.js';
import { StoreStateError, StoreWriteError } from './errors.js';
import { checkReadRange, logBase, toStoreMeta } from './log-state.js';
import {
  MemoryDisk,
  applyPlan,
  cloneImage,
  detachPlan,
  stateOfImage,
  termInImage,
  type MemoryImage,
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
}

/** write() calls whose fsync has not completed before write() refuses more. */
export const MAX_INFLIGHT_WRITES = 1024;

interface InflightWrite {
  /** null for a write the disk fails. */
  plan: WritePlan | null;
  error: StoreWriteError | null;
  synced: boolean;
  /** Written with sync: false (durable only through a later synced write). */
  lazy: boolean;
  resolve: () => void;
  reject: (err: Error) => void;
  /** Settles (never rejects) when the write does. */
  settled: Promise<void>;
}

type Phase = 'closed' | 'open' | 'closing' | 'crashed';

export class MemoryLogStore implements LogStore {
  readonly disk: MemoryDisk;
  readonly name: string;
  private readonly clock: Clock | undefined;
  private readonly syncDelayMs: (() => number) | undefined;
  private phase: Phase = 'closed';
  /** The disk plus every write not yet synced: what reads see. */
  private view: MemoryImage | null = null;
  private inflight: InflightWrite[] = [];
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
    this.view = cloneImage(this.disk.image);
    this.inflight = [];
    this.writeFailure = null;
    this.crashed = new Promise<void>((resolve) => (this.signalCrash = resolve));
    this.phase = 'open';
    return toStoreMeta(stateOfImage(this.view), this.view.snapshot);
  }

  async write(batch: StoreBatch): Promise<void> {
    const view = this.openView();
    if (this.phase !== 'open') throw new StoreStateError(`store ${this.name} is closing`);
    if (this.writeFailure) throw this.writeFailure;
    if (this.inflight.length >= MAX_INFLIGHT_WRITES) {
      throw new StoreStateError(`store ${this.name} has ${MAX_INFLIGHT_WRITES} writes in flight; refusing more`);
    }
    if (this.disk.takeWriteFailure()) {
      this.writeFailure = new StoreWriteError(this.name, new Error('simulated disk failure'));
      return this.awaitSync(null, this.writeFailure, true);
    }
    const snapshotIndex = snapshotIndexOf(batch);
    const termAtSnapshot = snapshotIndex === undefined ? undefined : termInImage(view, snapshotIndex);
    const plan = detachPlan(planWrite(stateOfImage(view), batch, termAtSnapshot));
    applyPlan(view, plan);
    return this.awaitSync(plan, null, batch.sync !== false);
  }

  /**
   * A synced write resolves when its simulated fsync completes. An unsynced one resolves at once
   * but reaches the disk only when a later synced write completes (as LevelDB's log is fsynced
   * up to that point); crash() before that loses it.
   */
  private awaitSync(plan: WritePlan | null, error: StoreWriteError | null, sync: boolean): Promise<void> {
    const life = this.life;
    let resolve!: () => void;
    let reject!: (err: Error) => void;
    const promise = new Promise<void>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    const write: InflightWrite = { plan, error, synced: false, lazy: !sync, resolve, reject, settled: promise.catch(() => undefined) };
    this.inflight.push(write);
    if (!sync) {
      queueMicrotask(() => {
        if (life === this.life) resolve();
      });
      return promise;
    }
    const synced = (): void => {
      if (life !== this.life) return;
      // This fsync also makes the unsynced writes made before it durable (they share the log).
      for (const earlier of this.inflight) {
        if (earlier === write) break;
        if (earlier.lazy) earlier.synced = true;
      }
      write.synced = true;
      this.completeSyncedWrites();
    };
    if (this.clock) this.clock.setTimer(Math.max(0, this.syncDelayMs?.() ?? 0), synced);
    else queueMicrotask(synced);
    return promise;
  }

  /** Writes reach the disk in the order they were made, each once it and all before it are synced. */
  private completeSyncedWrites(): void {
    while (this.inflight.length > 0 && this.inflight[0].synced) {
      const write = this.inflight.shift()!;
      if (write.error) {
        write.reject(write.error);
        continue;
      }
      applyPlan(this.disk.image, write.plan!);
      this.disk.syncedWrites++;
      write.resolve();
    }
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
    return keyed.map(({ row }) => [row[0], row[1]]);
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
    return this.inflight.length;
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
    await Promise.race([Promise.all(this.inflight.map((w) => w.settled)), this.crashed]);
    if (life !== this.life) return;
    // A clean close leaves unsynced writes in the OS's hands, as a process that exits does.
    for (const write of this.inflight) write.synced = true;
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
    this.inflight = [];
    if (this.disk.holder === this) this.disk.holder = null;
  }

  private openView(): MemoryImage {
    if ((this.phase !== 'open' && this.phase !== 'closing') || this.view === null) {
      throw new StoreStateError(`store ${this.name} is ${this.phase === 'crashed' ? 'crashed' : 'not open'}`);
    }
    return this.view;
  }
}
