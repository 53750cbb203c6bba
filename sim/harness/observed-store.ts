// A LogStore that passes everything to the in-memory store and tells the harness what a site
// writes: which entries it appended (the leader's append time starts a commit-latency sample) and
// which snapshot it installed (the safety checker must know a site jumped ahead). It also keeps a
// compact map of the log's terms (one run per term), so the checker can ask a new leader which
// term it holds at a committed index without reading the store.
import type { LogStore, StoreBatch, StoreMeta } from '../../consensus/ports.js';
import type { Entry, SnapshotMeta } from '../../consensus/types.js';
import type { MemoryLogStore } from '../../storage/memory-store.js';

export interface StoreObserver {
  /** Entries handed to write(), at the time of the call. */
  onEntriesWritten(entries: readonly Entry[]): void;
  /** A snapshot received from a leader is durable and the state machine was replaced by it. */
  onSnapshotInstalled(meta: SnapshotMeta): void;
}

/** The terms of a log as runs: run k covers [starts[k], starts[k+1]) with terms[k]. */
export class TermRuns {
  private starts: number[] = [];
  private terms: number[] = [];
  private baseIndex = 0;
  private baseTerm = 0;
  private last = 0;

  get lastIndex(): number {
    return this.last;
  }

  /** Appends entries, dropping any held suffix from their first index on (as the store does). */
  append(entries: readonly Entry[]): void {
    // Entries at or below the snapshot base are covered by it (a restart reads retained ones too).
    let k = 0;
    while (k < entries.length && entries[k].index <= this.baseIndex) k++;
    if (k === entries.length) return;
    this.truncateFrom(entries[k].index);
    for (; k < entries.length; k++) {
      const e = entries[k];
      const runs = this.terms.length;
      if (runs === 0 || this.terms[runs - 1] !== e.term) {
        this.starts.push(e.index);
        this.terms.push(e.term);
      }
      this.last = e.index;
    }
  }

  /**
   * A restart: the stored log (which may keep entries below the snapshot, or start right above it
   * when the snapshot was received) over the stored snapshot. The store already made the two agree,
   * so unlike a received snapshot this never drops stored entries.
   */
  restore(entries: readonly Entry[], snapshot: SnapshotMeta | undefined): void {
    this.starts = [];
    this.terms = [];
    this.baseIndex = 0;
    this.baseTerm = 0;
    this.last = 0;
    this.append(entries);
    if (snapshot === undefined || this.termAt(snapshot.index) === snapshot.term) return;
    if (this.last > snapshot.index && this.starts[0] !== snapshot.index + 1) {
      throw new Error(`stored log [${this.starts[0]}, ${this.last}] neither holds nor continues the snapshot at ${snapshot.index}`);
    }
    this.baseIndex = snapshot.index;
    this.baseTerm = snapshot.term;
    if (this.last < snapshot.index) {
      this.starts = [];
      this.terms = [];
      this.last = snapshot.index;
    }
  }

  /** A received snapshot: the log keeps its suffix only if it holds the snapshot's last entry. */
  installSnapshot(meta: SnapshotMeta): void {
    if (this.termAt(meta.index) === meta.term) return;
    this.starts = [];
    this.terms = [];
    this.baseIndex = meta.index;
    this.baseTerm = meta.term;
    this.last = meta.index;
  }

  /** Term at `index`, or undefined when the log does not reach it (or it is below the base). */
  termAt(index: number): number | undefined {
    if (index === this.baseIndex) return this.baseIndex === 0 ? undefined : this.baseTerm;
    if (index < this.baseIndex || index > this.last || this.starts.length === 0 || index < this.starts[0]) return undefined;
    let lo = 0;
    let hi = this.starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.starts[mid] <= index) lo = mid;
      else hi = mid - 1;
    }
    return this.terms[lo];
  }

  private truncateFrom(index: number): void {
    if (index > this.last) return;
    while (this.starts.length > 0 && this.starts[this.starts.length - 1] >= index) {
      this.starts.pop();
      this.terms.pop();
    }
    this.last = index - 1;
  }
}

export class ObservedStore implements LogStore {
  readonly terms = new TermRuns();

  constructor(
    readonly inner: MemoryLogStore,
    private readonly observer: StoreObserver,
  ) {}

  async open(): Promise<StoreMeta> {
    const meta = await this.inner.open();
    const stored = meta.lastIndex >= meta.firstIndex ? await this.inner.entries(meta.firstIndex, meta.lastIndex + 1) : [];
    this.terms.restore(stored, meta.snapshot?.meta);
    return meta;
  }

  write(batch: StoreBatch): Promise<void> {
    const installs = batch.snapshot !== undefined && batch.applied?.replaceAll === true;
    if (installs) this.terms.installSnapshot(batch.snapshot!.meta);
    if (batch.entries && batch.entries.length > 0) {
      this.terms.append(batch.entries);
      this.observer.onEntriesWritten(batch.entries);
    }
    const done = this.inner.write(batch);
    if (!installs) return done;
    const meta = batch.snapshot!.meta;
    return done.then(() => this.observer.onSnapshotInstalled(meta));
  }

  entries(lo: number, hi: number, maxBytes?: number): Promise<Entry[]> {
    return this.inner.entries(lo, hi, maxBytes);
  }

  term(index: number): Promise<number | undefined> {
    return this.inner.term(index);
  }

  records(): Promise<Array<[string, Uint8Array]>> {
    return this.inner.records();
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}
