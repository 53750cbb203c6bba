// The in-memory Raft log: the entries after `base` held in one array offset by the first index.
// `base` is the index just before the first held entry (the snapshot index, or the last entry
// dropped by compaction) and its term is remembered so an append right after it can be checked.
import { invariant } from './invariant.js';
import type { Entry } from './types.js';

/** Per-entry bookkeeping added to the payload size when bounding batches by bytes. */
export const ENTRY_OVERHEAD_BYTES = 24;

export function entryBytes(entry: Entry): number {
  return entry.data.byteLength + ENTRY_OVERHEAD_BYTES;
}

export class RaftLog {
  private held: Entry[];
  private base: number;
  private baseTerm: number;
  /** entryBytes() summed over the held entries: what the log holds in memory. */
  private heldBytes = 0;

  constructor(base: number, baseTerm: number, entries: Entry[]) {
    for (let i = 0; i < entries.length; i++) {
      invariant(entries[i].index === base + 1 + i, () => `raft invariant: log is not contiguous: expected index ${base + 1 + i}, found ${entries[i].index}`);
    }
    this.held = entries.slice();
    this.base = base;
    this.baseTerm = baseTerm;
    for (const entry of entries) this.heldBytes += entryBytes(entry);
  }

  /** Bytes of the held entries (payloads plus ENTRY_OVERHEAD_BYTES each). */
  get bytes(): number {
    return this.heldBytes;
  }

  get firstIndex(): number {
    return this.base + 1;
  }

  get lastIndex(): number {
    return this.base + this.held.length;
  }

  get lastTerm(): number {
    return this.held.length === 0 ? this.baseTerm : this.held[this.held.length - 1].term;
  }

  /** Term at `index`, or undefined when `index` is neither held nor the base. */
  term(index: number): number | undefined {
    if (index === this.base) return this.baseTerm;
    if (index < this.base || index > this.base + this.held.length) return undefined;
    return this.held[index - this.base - 1].term;
  }

  matchTerm(index: number, term: number): boolean {
    return this.term(index) === term;
  }

  /** The held entry at `index` (caller guarantees firstIndex <= index <= lastIndex). */
  at(index: number): Entry {
    return this.held[index - this.base - 1];
  }

  /**
   * Entries in [lo, hi), stopping before the entry that would push the total past `maxBytes`
   * (but always at least one). Caller guarantees firstIndex <= lo and hi <= lastIndex + 1.
   */
  slice(lo: number, hi: number, maxBytes = Infinity): Entry[] {
    const start = lo - this.base - 1;
    const end = hi - this.base - 1;
    if (maxBytes === Infinity) return this.held.slice(start, end);
    let bytes = 0;
    let stop = start;
    while (stop < end) {
      bytes += entryBytes(this.held[stop]);
      if (bytes > maxBytes && stop > start) break;
      stop++;
    }
    return this.held.slice(start, stop);
  }

  append(entry: Entry): void {
    invariant(entry.index === this.lastIndex + 1, () => `raft invariant: append of index ${entry.index} to a log ending at ${this.lastIndex}`);
    this.held.push(entry);
    this.heldBytes += entryBytes(entry);
  }

  /** Drops every entry at or after `index`. */
  truncateFrom(index: number): void {
    invariant(index > this.base, () => `raft invariant: truncation at ${index} reaches the compacted prefix (base ${this.base})`);
    if (index > this.lastIndex) return;
    const keep = index - this.base - 1;
    for (let i = keep; i < this.held.length; i++) this.heldBytes -= entryBytes(this.held[i]);
    this.held.length = keep;
  }

  /** Drops every entry before `firstIndex`; the entry just before it becomes the base. */
  compactTo(firstIndex: number): void {
    if (firstIndex <= this.base + 1) return;
    invariant(firstIndex <= this.lastIndex + 1, () => `raft invariant: compaction to ${firstIndex} past the last index ${this.lastIndex}`);
    const newBaseTerm = this.term(firstIndex - 1) as number;
    const dropped = firstIndex - this.base - 1;
    for (let i = 0; i < dropped; i++) this.heldBytes -= entryBytes(this.held[i]);
    this.held = this.held.slice(dropped);
    this.base = firstIndex - 1;
    this.baseTerm = newBaseTerm;
  }

  /** Replaces the whole log by nothing after (base, baseTerm): installing a snapshot. */
  reset(base: number, baseTerm: number): void {
    this.held = [];
    this.heldBytes = 0;
    this.base = base;
    this.baseTerm = baseTerm;
  }

  /**
   * The first index to keep when compacting up to `upTo` so that at most `maxEntries` entries at or
   * below `upTo`, of at most `maxBytes` together, stay held (never below firstIndex).
   */
  firstIndexRetaining(upTo: number, maxEntries: number, maxBytes: number): number {
    let first = upTo + 1;
    let bytes = 0;
    while (first > this.firstIndex && upTo - first + 1 < maxEntries) {
      const size = entryBytes(this.at(first - 1));
      if (bytes + size > maxBytes) break;
      bytes += size;
      first--;
    }
    return first;
  }

  /**
   * The largest index <= `index` whose term is <= `term` (the base if none is held). Used on both
   * sides of a rejected append to skip a whole conflicting term in one round trip.
   */
  findConflictByTerm(index: number, term: number): number {
    let i = Math.min(index, this.lastIndex);
    if (i < this.base) return i;
    while (i > this.base && this.held[i - this.base - 1].term > term) i--;
    return i;
  }
}

/**
 * The log a member restarts with: the stored entries after a snapshot at (snapIndex, snapTerm).
 * Entries at or below the snapshot index (a retained tail) are kept when they agree with it; the
 * first of them becomes the base, whose term a probe right after it needs.
 */
export function logFromBoot(snapIndex: number, snapTerm: number, entries: Entry[]): RaftLog {
  if (entries.length === 0) return new RaftLog(snapIndex, snapTerm, []);
  const first = entries[0].index;
  for (let i = 1; i < entries.length; i++) {
    invariant(entries[i].index === first + i, () => `raft invariant: log is not contiguous: expected index ${first + i}, found ${entries[i].index}`);
  }
  const last = entries[entries.length - 1].index;
  if (first === snapIndex + 1) return new RaftLog(snapIndex, snapTerm, entries);
  invariant(first <= snapIndex + 1, () => `raft invariant: boot log starts at ${first} but the snapshot ends at ${snapIndex}`);
  if (last <= snapIndex) return new RaftLog(snapIndex, snapTerm, []);
  const atSnapshot = entries[snapIndex - first];
  invariant(atSnapshot.term === snapTerm, () => `raft invariant: boot log has term ${atSnapshot.term} at the snapshot index ${snapIndex}, the snapshot says ${snapTerm}`);
  return new RaftLog(first, entries[0].term, entries.slice(1));
}
