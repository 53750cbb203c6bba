// ReadIndex rounds on the leader. A round remembers the commit index when its reads arrived and
// is confirmed once a quorum of voters has answered a heartbeat tagged with the round (or a later
// one): then no newer leader can have committed anything the reads would miss.
import type { ReadState } from './types.js';

interface ReadRound {
  id: number;
  /** Commit index when the round was opened: the reads may be served once applied >= index. */
  index: number;
  ctxs: string[];
}

export class ReadIndexRounds {
  /** Rounds waiting for a quorum, oldest (lowest id) first. */
  private waiting: ReadRound[] = [];
  /** The newest round still accepting reads (its heartbeats have not been handed out yet). */
  private open: ReadRound | null = null;
  private lastId = 0;
  private readCount = 0;

  /** Reads waiting for confirmation (bounded by the caller). */
  get pendingReads(): number {
    return this.readCount;
  }

  /** Id of the newest unconfirmed round, 0 if none: periodic heartbeats carry it too. */
  get newestPendingId(): number {
    return this.waiting.length === 0 ? 0 : this.waiting[this.waiting.length - 1].id;
  }

  /**
   * Adds a read at `commitIndex`; returns the round id if a new round was opened (the caller sends
   * its heartbeats), or 0 if the read joined the open round (same commit index, not yet sent).
   */
  add(ctx: string, commitIndex: number): number {
    this.readCount++;
    if (this.open !== null && this.open.index === commitIndex) {
      this.open.ctxs.push(ctx);
      return 0;
    }
    const round: ReadRound = { id: ++this.lastId, index: commitIndex, ctxs: [ctx] };
    this.waiting.push(round);
    this.open = round;
    return round.id;
  }

  /** The open round's heartbeats are on their way: later reads start a new round. */
  closeOpen(): void {
    this.open = null;
  }

  /** Moves every confirmed round (oldest first) to `out` as ReadStates. */
  releaseConfirmed(isConfirmed: (roundId: number) => boolean, out: ReadState[]): void {
    let done = 0;
    while (done < this.waiting.length && isConfirmed(this.waiting[done].id)) {
      const round = this.waiting[done];
      for (const ctx of round.ctxs) out.push({ index: round.index, ctx });
      this.readCount -= round.ctxs.length;
      if (round === this.open) this.open = null;
      done++;
    }
    if (done > 0) this.waiting.splice(0, done);
  }

  /** Leadership lost: the reads are dropped and never produce ReadStates. */
  clear(): void {
    this.waiting = [];
    this.open = null;
    this.readCount = 0;
  }
}
