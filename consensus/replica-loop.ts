// The Ready loop: ticks the core on the clock, and turns each Ready into one LogStore write (hard
// state, entries, a received snapshot, and the records changed by applying the committed entries,
// with the applied index) before it sends what depends on it, then hands the applied entries and
// read states to the rest of the runtime and compacts the log when due.
import { invariant } from './invariant.js';
import type { RecordOp, StoreBatch } from './ports.js';
import type { ReplicaContext } from './replica-context.js';
import { EntryType, type Entry, type Ready } from './types.js';

/** A snapshot for bytes waits for at least this many newly applied entries (no snapshot storms while the held bytes are unapplied ones). */
const MIN_ENTRIES_PER_SNAPSHOT = 64;

/** What the loop tells the rest of the runtime, in this order within one Ready. */
export interface ReadyLoopEvents {
  /** A received snapshot replaces the state up to `index` (called before it is written). */
  snapshotInstalled(index: number): void;
  /** An entry is applied; it is durable in this site's log (its applied records may still be on their way to the store). */
  entryApplied(entry: Entry, result: unknown): void;
  /** The core confirmed leadership for pending read barriers. */
  readStates(rd: Ready): void;
  /** The applied index moved (after the core's advance()). */
  appliedAdvanced(applied: number): void;
  /** Role, term, leader or membership may have changed. */
  changed(): void;
  fatal(err: unknown): void;
}

/** One Ready's applies, before they are durable. */
interface AppliedBatch {
  index: number;
  replaceAll: boolean;
  ops: RecordOp[];
  entries: Array<{ entry: Entry; result: unknown }>;
}

export class ReadyLoop {
  private tickTimer: { cancel(): void } | null = null;
  /** When the next tick is due on the clock (ticks are on a grid of tickMs). */
  private nextTickAt = 0;
  private driving = false;
  private kickQueued = false;
  private earlySendQueued = false;
  private driveDone: Promise<void> = Promise.resolve();
  /**
   * A write that needs no fsync (the commit index and applied records of entries already durable
   * here) still in flight: the loop goes on to the next Ready without it, and the next store write
   * waits for it, so writes reach the store in order.
   */
  private unsyncedWrite: Promise<void> | null = null;
  private appliedIndex: number;
  private snapshotIndex: number;
  /** The last log index the store holds synced: nothing past it may be committed or applied here. */
  private lastDurableIndex: number;

  constructor(
    private readonly ctx: Pick<ReplicaContext, 'core' | 'deps' | 'hooks' | 'settings' | 'stopped' | 'beforeTick'>,
    private readonly events: ReadyLoopEvents,
    start: { applied: number; snapshotIndex: number; lastIndex: number },
  ) {
    this.appliedIndex = start.applied;
    this.snapshotIndex = start.snapshotIndex;
    this.lastDurableIndex = start.lastIndex;
  }

  get applied(): number {
    return this.appliedIndex;
  }

  /** Settles once the Ready being processed (if any) is done. */
  get idle(): Promise<void> {
    return this.driveDone.then(() => this.unsyncedWrite ?? undefined);
  }

  start(): void {
    this.nextTickAt = this.ctx.deps.clock.now() + this.ctx.settings.tickMs;
    this.scheduleTick();
  }

  stop(): void {
    this.tickTimer?.cancel();
  }

  /**
   * One tick per timer, on a fixed grid of tickMs. A timer that fires late (a busy event loop, a
   * loaded machine) still makes one tick, never a burst of the ticks it missed: a burst would count
   * the stall as silence all at once and fire elections and CheckQuorum step-downs on a member
   * that was only slow (as Go's time.Ticker drops ticks for etcd). The next tick is due on the
   * grid, or a whole tickMs from now when the grid point has passed, so being late never drifts
   * the pace either.
   */
  private scheduleTick(): void {
    const { clock } = this.ctx.deps;
    const { tickMs } = this.ctx.settings;
    this.tickTimer = clock.setTimer(Math.max(0, this.nextTickAt - clock.now()), () => {
      if (this.ctx.stopped) return;
      const now = clock.now();
      this.nextTickAt += tickMs;
      if (this.nextTickAt <= now) this.nextTickAt = now + tickMs;
      try {
        this.ctx.beforeTick();
        this.ctx.core.tick();
      } catch (err) {
        this.events.fatal(err);
        return;
      }
      this.events.changed();
      this.kick();
      this.scheduleTick();
    });
  }

  /**
   * Processes Readies soon; steps made in the same turn share one Ready (and one fsync). While a
   * Ready's write is in flight, what may leave before any write (heartbeats and their answers,
   * appends answering acknowledgements) leaves now instead of waiting for that write to finish.
   */
  kick(): void {
    if (this.driving) {
      this.scheduleEarlySend();
      return;
    }
    if (this.kickQueued || this.ctx.stopped) return;
    this.kickQueued = true;
    queueMicrotask(() => {
      this.kickQueued = false;
      if (this.driving || this.ctx.stopped) return;
      this.driving = true;
      this.driveDone = this.drive();
    });
  }

  private scheduleEarlySend(): void {
    if (this.earlySendQueued || this.ctx.stopped) return;
    this.earlySendQueued = true;
    queueMicrotask(() => {
      this.earlySendQueued = false;
      if (!this.driving || this.ctx.stopped) return;
      try {
        for (const msg of this.ctx.core.takeEarlyMessages()) this.ctx.deps.transport.send(msg.to, { kind: 'raft', msg });
      } catch (err) {
        this.events.fatal(err);
      }
    });
  }

  private async drive(): Promise<void> {
    try {
      while (!this.ctx.stopped && this.ctx.core.hasReady()) {
        await this.handleReady(this.ctx.core.ready());
      }
    } catch (err) {
      this.events.fatal(err);
    } finally {
      this.driving = false;
    }
  }

  private async handleReady(rd: Ready): Promise<void> {
    const { transport } = this.ctx.deps;
    for (const msg of rd.messagesEarly) transport.send(msg.to, { kind: 'raft', msg });
    const batch: StoreBatch = {};
    if (rd.hardState) batch.hardState = rd.hardState;
    if (rd.entries.length > 0) batch.entries = rd.entries;
    const applied = this.applyCommitted(rd, batch);
    // Entries this site already holds durably (always so on the leader, which counts itself only
    // after its write) are answered before their applied records are written: they are committed,
    // and a crash before the write rebuilds those records from the log.
    const answerNow = applied.index <= this.lastDurableIndex && !batch.snapshot;
    if (answerNow) this.announceApplied(applied);
    await this.persist(rd, batch);
    if (this.ctx.stopped) return;
    for (const msg of rd.messages) transport.send(msg.to, { kind: 'raft', msg });
    this.checkDurable(rd, applied);
    invariant(applied.index >= this.appliedIndex, () => `the applied index would go back from ${this.appliedIndex} to ${applied.index}`);
    this.appliedIndex = applied.index;
    if (!answerNow) this.announceApplied(applied);
    this.events.readStates(rd);
    this.ctx.core.advance(rd);
    this.events.appliedAdvanced(this.appliedIndex);
    this.events.changed();
    await this.compactIfDue();
  }

  private announceApplied(applied: AppliedBatch): void {
    for (const { entry, result } of applied.entries) this.events.entryApplied(entry, result);
  }

  /** Installs a received snapshot and applies the committed entries; their records join the batch. */
  private applyCommitted(rd: Ready, batch: StoreBatch): AppliedBatch {
    const { stateMachine } = this.ctx.deps;
    const out: AppliedBatch = { index: this.appliedIndex, replaceAll: false, ops: [], entries: [] };
    if (rd.snapshot) {
      const index = rd.snapshot.meta.index;
      invariant(index > this.appliedIndex, () => `a received snapshot at ${index} is not past the applied index ${this.appliedIndex}`);
      batch.snapshot = rd.snapshot;
      for (const [key, value] of stateMachine.restore(rd.snapshot.data)) out.ops.push({ type: 'put', key, value });
      out.replaceAll = true;
      out.index = index;
      this.snapshotIndex = index;
      this.events.snapshotInstalled(index);
    }
    for (const entry of rd.committedEntries) {
      invariant(entry.index === out.index + 1, () => `committed entry ${entry.index} does not follow the applied index ${out.index}`);
      if (entry.type === EntryType.Normal) {
        const r = stateMachine.apply(entry);
        for (const op of r.ops) out.ops.push(op);
        out.entries.push({ entry, result: r.result });
      } else {
        out.entries.push({ entry, result: null });
      }
      out.index = entry.index;
    }
    if (out.index > this.appliedIndex || out.replaceAll) batch.applied = { index: out.index, replaceAll: out.replaceAll, ops: out.ops };
    return out;
  }

  /** One store write for the Ready; synced only when term, vote, entries or a received snapshot changed. */
  private async persist(rd: Ready, batch: StoreBatch): Promise<void> {
    if (!(batch.hardState || batch.entries || batch.snapshot || batch.applied)) return;
    invariant(rd.mustSync || (!batch.entries && !batch.snapshot), 'entries or a received snapshot in a Ready that does not need an fsync');
    // Only term, vote, entries and a received snapshot need an fsync before anything is sent;
    // the commit index and applied state can be rebuilt from the synced log after a crash.
    if (!rd.mustSync) batch.sync = false;
    const { clock, store } = this.ctx.deps;
    await this.writesBefore();
    if (!rd.mustSync && !batch.entries && !batch.snapshot) {
      // Nothing sent or answered depends on it (its committed entries were answered already), so
      // the next Ready, with the next proposals' appends, need not wait for this write.
      const write = store.write(batch).then(
        () => undefined,
        (err: unknown) => this.events.fatal(err),
      );
      this.unsyncedWrite = write;
      void write.then(() => {
        if (this.unsyncedWrite === write) this.unsyncedWrite = null;
      });
      return;
    }
    const started = clock.now();
    await store.write(batch);
    if (rd.mustSync) this.ctx.hooks.onPersist?.(clock.now() - started, rd.entries.length);
    if (batch.entries) this.lastDurableIndex = batch.entries[batch.entries.length - 1].index;
    if (batch.snapshot) this.lastDurableIndex = Math.max(this.lastDurableIndex, batch.snapshot.meta.index);
  }

  /** Waits for an unsynced write still in flight, so the next write follows it. */
  private async writesBefore(): Promise<void> {
    if (this.unsyncedWrite) await this.unsyncedWrite;
  }

  private checkDurable(rd: Ready, applied: AppliedBatch): void {
    const commit = rd.hardState?.commit ?? 0;
    invariant(commit <= this.lastDurableIndex, () => `commit index ${commit} is past the last durable index ${this.lastDurableIndex}`);
    invariant(applied.index <= this.lastDurableIndex, () => `applied index ${applied.index} is past the last durable index ${this.lastDurableIndex}`);
  }

  private compactionDue(): boolean {
    const { settings, core } = this.ctx;
    const newlyApplied = this.appliedIndex - this.snapshotIndex;
    if (newlyApplied >= settings.snapshotEveryEntries) return true;
    return newlyApplied >= MIN_ENTRIES_PER_SNAPSHOT && core.logBytes() >= settings.snapshotEveryBytes;
  }

  private async compactIfDue(): Promise<void> {
    if (!this.compactionDue()) return;
    const { settings, deps, core } = this.ctx;
    const index = this.appliedIndex;
    const data = deps.stateMachine.snapshot();
    const meta = core.compact(index, data, settings.retainEntries, settings.retainBytes);
    this.snapshotIndex = index;
    // The store keeps what the core keeps: the retained tail, bounded by count and bytes. (When a
    // newer snapshot from the leader already replaced the core's log, the count alone, as before.)
    const retainedFrom = core.logFirstIndex();
    const compactTo = Math.max(1, retainedFrom <= index + 1 ? retainedFrom : index - settings.retainEntries + 1);
    await this.writesBefore();
    await deps.store.write({ snapshot: { meta, data }, compactTo, sync: false });
  }
}
