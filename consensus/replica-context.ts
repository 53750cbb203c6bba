// What the parts of the replica runtime share: the core (through the RaftCore interface), the
// ports, the settings, and a few facts and actions of the runtime as a whole.
import type { RaftCore } from './api.js';
import type { ReplicaDeps, ReplicaHooks } from './replica-api.js';
import type { MemberId } from './types.js';

export interface ReplicaSettings {
  tickMs: number;
  proposalTimeoutMs: number;
  snapshotEveryEntries: number;
  snapshotEveryBytes: number;
  retainEntries: number;
  retainBytes: number;
  maxPendingProposals: number;
  electionTimeoutTicks: number;
  electionTimeoutMs: number;
}

export interface ReplicaContext {
  readonly id: MemberId;
  readonly core: RaftCore;
  readonly deps: ReplicaDeps;
  readonly hooks: ReplicaHooks;
  readonly settings: ReplicaSettings;
  readonly stopped: boolean;
  /** The index whose effects are durable in the store and in the state machine. */
  readonly applied: number;
  /** Processes Readies soon (steps in one event-loop turn share one Ready and one fsync). */
  kick(): void;
  /** Unique across this member's restarts (the leader remembers forwarded ids). */
  nextRequestId(): string;
  /** The transport knows it cannot reach `member` now (never true for this member). */
  linkDown(member: MemberId): boolean;
  /** Leader only: whether `member` answered within the election timeout. */
  isLive(member: MemberId): boolean;
  /** Called before every tick of the core (hands it the measured round trips when due). */
  beforeTick(): void;
}
