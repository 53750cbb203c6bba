// What the core has handed to the runtime in Ready batches, and what the runtime has confirmed
// durable and applied by calling advance(). One Ready is outstanding at a time; messages may be
// stepped while it is (the runtime awaits its write), so everything here tolerates changes made
// between ready() and advance(), such as a truncation of entries already handed out.
import { invariant } from './invariant.js';
import type { RaftLog } from './raft-log.js';
import type { Entry, HardState, Message, ReadState, Ready, Snapshot } from './types.js';

/** Bound on the committed entries handed out in one Ready (at least one entry always goes). */
export const MAX_COMMITTED_BYTES_PER_READY = 1 << 20;

const NO_ENTRIES: Entry[] = [];

export class ReadyTracker {
  private outstanding: Ready | null = null;
  /** Last log index handed out to be written. */
  private handedTo: number;
  /** Last log index the runtime confirmed durable: the leader counts itself only up to here. */
  persistedTo: number;
  /** Last committed index handed out to be applied. */
  private appliedHandedTo: number;
  /** Last index the runtime confirmed applied. */
  applied: number;
  private handedHardState: HardState;
  /** Term of the last hard state confirmed durable. */
  persistedTerm: number;
  /** A snapshot received from the leader, to be installed by the runtime. */
  snapshotToInstall: Snapshot | null = null;
  /** Leader traffic that may leave before the next Ready's write. */
  early: Message[] = [];
  /** Messages that leave only after the next Ready's write. */
  later: Message[] = [];
  readStates: ReadState[] = [];

  constructor(lastIndex: number, applied: number, hardState: HardState) {
    this.handedTo = lastIndex;
    this.persistedTo = lastIndex;
    this.appliedHandedTo = applied;
    this.applied = applied;
    this.handedHardState = { ...hardState };
    this.persistedTerm = hardState.term;
  }

  get isOutstanding(): boolean {
    return this.outstanding !== null;
  }

  hasWork(log: RaftLog, hs: HardState): boolean {
    if (this.outstanding !== null) return false;
    return (
      this.early.length > 0 ||
      this.later.length > 0 ||
      this.readStates.length > 0 ||
      this.snapshotToInstall !== null ||
      this.handedTo < log.lastIndex ||
      this.appliedHandedTo < Math.min(hs.commit, log.lastIndex) ||
      this.hardStateChanged(hs)
    );
  }

  /** Builds the next Ready and marks its contents as handed out. */
  take(log: RaftLog, hs: HardState): Ready {
    invariant(this.outstanding === null, 'raft: ready() called before advance() of the previous Ready');
    const last = log.lastIndex;
    const entries = this.handedTo < last ? log.slice(this.handedTo + 1, last + 1) : NO_ENTRIES;
    const committedEntries = this.nextCommitted(log, hs.commit);
    const snapshot = this.snapshotToInstall;
    const rd: Ready = {
      entries,
      messagesEarly: this.early,
      messages: this.later,
      committedEntries,
      readStates: this.readStates,
      mustSync: entries.length > 0 || snapshot !== null || hs.term !== this.handedHardState.term || hs.vote !== this.handedHardState.vote,
    };
    if (this.hardStateChanged(hs)) {
      rd.hardState = { term: hs.term, vote: hs.vote, commit: hs.commit };
      this.handedHardState = rd.hardState;
    }
    if (snapshot !== null) rd.snapshot = snapshot;
    this.handedTo = last;
    if (committedEntries.length > 0) this.appliedHandedTo = committedEntries[committedEntries.length - 1].index;
    this.snapshotToInstall = null;
    this.early = [];
    this.later = [];
    this.readStates = [];
    this.outstanding = rd;
    return rd;
  }

  /** The runtime has written `rd` and applied its committed entries. */
  acknowledge(rd: Ready): void {
    invariant(rd === this.outstanding, 'raft: advance() called with a Ready that is not the outstanding one');
    this.outstanding = null;
    if (rd.hardState !== undefined) this.persistedTerm = rd.hardState.term;
    if (rd.snapshot !== undefined) {
      this.persistedTo = Math.max(this.persistedTo, Math.min(rd.snapshot.meta.index, this.handedTo));
      this.applied = Math.max(this.applied, rd.snapshot.meta.index);
    }
    if (rd.entries.length > 0) {
      const lastWritten = rd.entries[rd.entries.length - 1].index;
      // A truncation since ready() lowered handedTo: what was written past it is no longer ours.
      this.persistedTo = Math.max(this.persistedTo, Math.min(lastWritten, this.handedTo));
    }
    if (rd.committedEntries.length > 0) {
      this.applied = Math.max(this.applied, rd.committedEntries[rd.committedEntries.length - 1].index);
    }
  }

  /** Entries from `index` on were removed from the log: they must be written again (or not at all). */
  truncatedFrom(index: number): void {
    if (this.handedTo >= index) this.handedTo = index - 1;
    if (this.persistedTo >= index) this.persistedTo = index - 1;
  }

  /** The log was replaced by a snapshot at `index`: it is handed out with the snapshot itself. */
  snapshotRestored(snap: Snapshot): void {
    const index = snap.meta.index;
    this.snapshotToInstall = snap;
    this.handedTo = index;
    if (this.persistedTo > index) this.persistedTo = index;
    if (this.appliedHandedTo < index) this.appliedHandedTo = index;
  }

  private hardStateChanged(hs: HardState): boolean {
    const handed = this.handedHardState;
    return handed.term !== hs.term || handed.vote !== hs.vote || handed.commit !== hs.commit;
  }

  /** Committed entries not yet handed out; those written by this same Ready count (written first). */
  private nextCommitted(log: RaftLog, commit: number): Entry[] {
    const hi = Math.min(commit, log.lastIndex);
    const lo = Math.max(this.appliedHandedTo + 1, log.firstIndex);
    if (lo > hi) return NO_ENTRIES;
    return log.slice(lo, hi + 1, MAX_COMMITTED_BYTES_PER_READY);
  }
}
