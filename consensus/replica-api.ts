// The replica runtime's public types: configuration, the ports it is given, the hooks it calls,
// outcomes, and the limits that bound every collection of waiting requests.
import type { RaftBootState, RaftConfig, RaftCore } from './api.js';
import type { Clock, Logger, LogStore, RefusalCode, StateMachine, Transport } from './ports.js';
import type { ConfChange, ConfState, Entry, MemberId, Role } from './types.js';

export interface ReplicaConfig {
  id: MemberId;
  /** Real or virtual milliseconds per Raft tick. */
  tickMs: number;
  /** Core settings; unset fields take DEFAULT_RAFT_CONFIG. */
  raft?: Partial<Omit<RaftConfig, 'id' | 'random'>>;
  /** Seeded PRNG handed to the core (election jitter). */
  random: () => number;
  /** A write not committed within this time is reported `unknown`. */
  proposalTimeoutMs?: number;
  /** Take a snapshot and compact the log every this many applied entries. */
  snapshotEveryEntries?: number;
  /**
   * Also take a snapshot once the entries held in memory (the core's log after the last snapshot,
   * with the retained tail) reach this many bytes: a count alone lets a log of large batches hold
   * snapshotEveryEntries x the largest entry.
   */
  snapshotEveryBytes?: number;
  /** Entries kept below a snapshot so slightly lagging followers need no snapshot... */
  retainEntries?: number;
  /** ...and at most this many bytes of them. */
  retainBytes?: number;
  /** Bound on proposals waiting for commit on this member (leader) and on forwarded ones. */
  maxPendingProposals?: number;
  /** Only when the store is empty: found a new cluster with these members. */
  bootstrap?: { voters: MemberId[]; learners?: MemberId[] };
}

export interface ReplicaHooks {
  /** A Normal entry was applied (after the batch holding its effects was made durable). */
  onApplied?(entry: Entry, result: unknown): void;
  /** A ConfChange entry was committed and applied (`entry` is the log entry that carried it). */
  onConfChangeApplied?(change: ConfChange, entry: Entry, conf: ConfState): void;
  /** Role, term or known leader changed. */
  onRoleChange?(role: Role, term: number, leader: MemberId): void;
  /** Membership in force changed (ConfChange appended, truncated, or from a snapshot). */
  onConfChange?(conf: ConfState): void;
  /** Duration of one store write (the fsync of a Ready). */
  onPersist?(durationMs: number, entries: number): void;
  /** The replica stopped on a broken invariant or a failed disk write. */
  onFatal?(error: Error): void;
}

export interface ReplicaDeps {
  clock: Clock;
  store: LogStore;
  transport: Transport;
  stateMachine: StateMachine;
  logger: Logger;
  hooks?: ReplicaHooks;
  /**
   * Round trip to a member as the transport last measured it (ms), if known. The runtime hands the
   * voters' round trips to the core every election timeout (election timeouts and leader placement).
   */
  rttMs?(member: MemberId): number | undefined;
  /** Builds the Raft core (default: consensus/raft.ts); the runtime sees only the RaftCore interface. */
  createCore?(config: RaftConfig, boot: RaftBootState): RaftCore;
}

export interface ProposeOptions {
  /** Members that must have answered the leader within the election timeout. */
  requireLive?: MemberId[];
  /**
   * Members that must NOT be reachable from the leader when it proposes (a forced failover away from
   * a lost primary): not heard within the election timeout, or the transport knows the link is down.
   */
  requireUnreachable?: MemberId[];
  timeoutMs?: number;
}

export type ReadOutcome =
  | { ok: true; index: number }
  | { ok: false; code: RefusalCode | 'UNKNOWN'; message: string; leader?: MemberId };

/**
 * Every collection of waiting requests is bounded: past its limit a new request is refused BUSY
 * at once (a definite answer: nothing was proposed), never queued without end.
 */
export const REPLICA_LIMITS = {
  /**
   * Proposals waiting for their entry to commit on this leader, and separately writes this member
   * forwarded to the leader (ReplicaConfig.maxPendingProposals overrides both).
   */
  pendingProposals: 10_000,
  /** Read barriers waiting for the leader to confirm its leadership (local and served for followers). */
  pendingReads: 10_000,
  /** Read barriers this member forwarded to the leader. */
  forwardedReads: 10_000,
  /** Reads waiting for this member to apply up to their index. */
  appliedWaiters: 10_000,
  /** Requests waiting to learn who the leader is. */
  leaderWaiters: 10_000,
  /** Forwarded request ids the leader remembers (with their answers) to answer network duplicates. */
  recentForwardIds: 16_384,
} as const;
