// The leader's view of one follower: how much of the log it holds (match), what to send next,
// and the flow-control state that decides whether another append may go out now.
import { invariant } from './invariant.js';
import type { MemberId, ProgressState } from './types.js';

/**
 * Last indexes of appends sent and not yet acknowledged, oldest first, in a ring of fixed size
 * (the config's maxInflightAppends: the bound of the pipelining window).
 */
export class Inflights {
  private readonly ring: Float64Array;
  private start = 0;
  private size = 0;

  constructor(capacity: number) {
    this.ring = new Float64Array(capacity);
  }

  get count(): number {
    return this.size;
  }

  get full(): boolean {
    return this.size === this.ring.length;
  }

  add(lastIndex: number): void {
    invariant(!this.full, 'raft invariant: inflight window overflow');
    this.ring[(this.start + this.size) % this.ring.length] = lastIndex;
    this.size++;
  }

  /** Acknowledges every append whose last index is <= `index`. */
  freeTo(index: number): void {
    while (this.size > 0 && this.ring[this.start] <= index) {
      this.start = (this.start + 1) % this.ring.length;
      this.size--;
    }
  }

  reset(): void {
    this.start = 0;
    this.size = 0;
  }
}

export class Progress {
  match = 0;
  next: number;
  state: ProgressState = 'probe';
  /** Probe state: an append is out and unanswered, so wait before probing again. */
  probeSent = false;
  readonly inflights: Inflights;
  /** Tick (of the leader's tick counter) when this member was last heard from. */
  lastHeardTick = -Infinity;
  /** Highest ReadIndex round this member has acknowledged. */
  readAck = 0;
  /** The voter's quorum round trip in ticks, as its last heartbeat answer reported it (placement.ts). */
  reportedQuorumRtt: number | undefined = undefined;
  /** Snapshot state: index of the snapshot being sent. */
  pendingSnapshot = 0;
  /** Snapshot state: bytes the follower has acknowledged; the next chunk starts here. */
  snapshotOffset = 0;
  /** Snapshot state: tick the last chunk went out, to resend a chunk that got lost. */
  snapshotSentTick = 0;
  /**
   * Index of the ConfChange that removed this member (0 while it is a member). The leader keeps
   * replicating to a removed member until it holds that entry and has been told it is committed,
   * so that it learns of its removal and goes quiet instead of campaigning forever.
   */
  removedAt = 0;
  /** Highest commit index sent to this member. */
  sentCommit = 0;
  /** A learner fed by this relay instead of the leader ('' = the leader feeds it; relay-plan.ts). */
  relay: MemberId = '';
  /** The relay that last failed this learner: not chosen again while another is live. */
  failedRelay: MemberId = '';
  /** Tick the current relay was assigned (its report is awaited for an election timeout). */
  relayAssignedTick = 0;

  constructor(
    readonly member: MemberId,
    public isLearner: boolean,
    next: number,
    maxInflightAppends: number,
  ) {
    this.next = next;
    this.inflights = new Inflights(maxInflightAppends);
  }

  /** One append at a time until the follower answers. */
  becomeProbe(): void {
    this.next = this.state === 'snapshot' ? Math.max(this.match + 1, this.pendingSnapshot + 1) : this.match + 1;
    this.state = 'probe';
    this.probeSent = false;
    this.pendingSnapshot = 0;
    this.inflights.reset();
  }

  /** Optimistic pipelining from just after what the follower is known to hold. */
  becomeReplicate(): void {
    this.next = this.match + 1;
    this.state = 'replicate';
    this.probeSent = false;
    this.inflights.reset();
  }

  becomeSnapshot(snapshotIndex: number): void {
    this.state = 'snapshot';
    this.pendingSnapshot = snapshotIndex;
    this.snapshotOffset = 0;
    this.probeSent = false;
    this.inflights.reset();
  }

  /** The follower holds the log through `index`; returns true if that is news. */
  maybeUpdate(index: number): boolean {
    this.probeSent = false;
    if (index <= this.match) return false;
    this.match = index;
    if (this.next <= index) this.next = index + 1;
    return true;
  }

  isPaused(): boolean {
    switch (this.state) {
      case 'probe':
        return this.probeSent;
      case 'replicate':
        return this.inflights.full;
      case 'snapshot':
        return true;
    }
  }
}
