// The public surface of the Raft core (raft.ts implements it). The replica runtime, the tests,
// the benchmark and the simulator use only this. No I/O, clock or randomness of its own.
import type { PickRelay } from './relay-plan.js';
import type {
  ConfChange,
  ConfState,
  Entry,
  HardState,
  MemberId,
  Message,
  RaftStatus,
  RaftSummary,
  Ready,
  Snapshot,
  SnapshotMeta,
} from './types.js';

export interface RaftConfig {
  id: MemberId;
  /** Base election timeout; each member draws its timeout uniformly from [base, 2*base). */
  electionTimeoutTicks: number;
  heartbeatTicks: number;
  /** Seeded PRNG in [0, 1): the only source of randomness the core may use. */
  random: () => number;
  /** Batching bound of one append message. */
  maxEntriesPerAppend: number;
  maxBytesPerAppend: number;
  /** Pipelining bound: appends sent to one follower and not yet acknowledged. */
  maxInflightAppends: number;
  /** Size of one snapshot chunk. */
  snapshotChunkBytes: number;
  /** Leader refuses proposals once this many bytes are appended but not committed. */
  maxUncommittedBytes: number;
  preVote: boolean;
  checkQuorum: boolean;
  /**
   * Learners are fed by relays (live voters) instead of the leader once they answer it
   * (relay-plan.ts, relay-feeds.ts): the leader's traffic per entry stays bounded by its voters.
   */
  relayLearners: boolean;
  /** Which live voter relays to a learner (default: spread by the learner's name). Deterministic. */
  pickRelay?: PickRelay;
  /**
   * Ceiling of the election timeout (default 2 * electionTimeoutTicks). With measured round trips
   * (setLinkRtts) each member draws from a range scaled to them inside [electionTimeoutTicks, this).
   */
  electionTimeoutMaxTicks?: number;
  /**
   * A leader hands over to a live, caught-up voter whose quorum round trip is clearly lower than
   * its own (placement.ts; default true). Needs measured round trips; without them nothing moves.
   */
  leaderPlacement?: boolean;
}

export const DEFAULT_RAFT_CONFIG: Omit<RaftConfig, 'id' | 'random'> = {
  electionTimeoutTicks: 10,
  heartbeatTicks: 1,
  maxEntriesPerAppend: 256,
  maxBytesPerAppend: 1 << 20,
  maxInflightAppends: 64,
  snapshotChunkBytes: 256 << 10,
  maxUncommittedBytes: 64 << 20,
  preVote: true,
  checkQuorum: true,
  relayLearners: true,
};

/** What a member restarts from: exactly what its LogStore holds. */
export interface RaftBootState {
  hardState: HardState;
  /** Latest snapshot (meta and image), or null. */
  snapshot: Snapshot | null;
  /** The log after the snapshot (or from index 1), contiguous. May start at or below snapshot.meta.index. */
  entries: Entry[];
  /** Index the state machine has applied (the core resumes handing out committed entries after it). */
  applied: number;
}

export type RefusalReason =
  | 'notLeader'
  | 'transferPending'
  | 'noQuorum'
  | 'confChangePending'
  | 'uncommittedLimit'
  | 'invalidConfChange';

export type ProposeResult =
  | { ok: true; index: number; term: number }
  | { ok: false; reason: RefusalReason; leader: MemberId; detail?: string };

export interface RaftCore {
  readonly id: MemberId;
  tick(): void;
  step(message: Message): void;
  /** Appends a Normal entry if this member is leader and may accept it. */
  propose(data: Uint8Array): ProposeResult;
  proposeConfChange(change: ConfChange): ProposeResult;
  /** Leader only: asks for a ReadState for `ctx` (answered through Ready.readStates). */
  readIndex(ctx: string): { ok: true } | { ok: false; reason: RefusalReason; leader: MemberId };
  transferLeader(to: MemberId): { ok: true } | { ok: false; reason: RefusalReason | 'unknownMember'; leader: MemberId };
  /** The transport could not deliver to `member`: its progress goes back to probing. */
  reportUnreachable(member: MemberId): void;
  /**
   * The state machine has applied through `index` and produced `data` (its image at `index`):
   * keep it as the snapshot to send, and drop log entries below `index - retainEntries + 1`.
   * Returns the snapshot's metadata (term and conf at `index`) so the runtime can persist it.
   */
  compact(index: number, data: Uint8Array, retainEntries: number, retainBytes?: number): SnapshotMeta;
  /** Bytes of the entries held in memory (payloads plus a fixed overhead each). */
  logBytes(): number;
  /** The first index held in the log (compaction drops what is below). */
  logFirstIndex(): number;
  /**
   * Takes the messages that may leave before any pending write is durable (Ready.messagesEarly),
   * so the runtime can send them while an earlier Ready's write is still in flight.
   */
  takeEarlyMessages(): Message[];
  hasReady(): boolean;
  ready(): Ready;
  advance(ready: Ready): void;
  status(): RaftStatus;
  /**
   * Role, term, leader and membership: what the runtime checks on every proposal and every Ready,
   * without the leader's per-follower progress that status() builds.
   */
  summary(): RaftSummary;
  /** Membership in force (the last ConfChange in the log, committed or not, else the snapshot's). */
  conf(): ConfState;
  /** Leader only: heard from a quorum of voters within the election timeout. */
  quorumActive(): boolean;
  /** Leader only: ticks since `member` last answered (Infinity if never, 0 for self). */
  ticksSinceHeard(member: MemberId): number;
  /** Entries in [lo, hi) still held in memory (for tests and the snapshot/catch-up path). */
  entries(lo: number, hi: number): Entry[];
  /**
   * Round trips to other members as the runtime last measured them, in ticks (fractions allowed);
   * a member left out is unknown. Only voters' entries are kept. Inputs only: the core never measures.
   */
  setLinkRtts(rttTicks: ReadonlyMap<MemberId, number>): void;
}
