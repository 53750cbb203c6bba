// The vocabulary of the Raft core. Plain data only: every value here can be msgpack-encoded,
// copied between simulated sites, persisted, and compared. Member ids are site names.

export type MemberId = string;

/** Wire and storage format version of everything defined here (DESIGN.md: refuse what you do not know). */
export const RAFT_FORMAT_VERSION = 1;

export const EntryType = {
  /** Application command for the state machine (may be empty: a new leader's no-op). */
  Normal: 0,
  /** A membership change; `data` is an encoded ConfChange (see confchange.ts). */
  ConfChange: 1,
} as const;
export type EntryType = (typeof EntryType)[keyof typeof EntryType];

export interface Entry {
  index: number;
  term: number;
  type: EntryType;
  data: Uint8Array;
}

/** What must be durable before a member says anything that depends on it. */
export interface HardState {
  term: number;
  /** Who this member voted for in `term` ('' = nobody). */
  vote: MemberId;
  commit: number;
}

export interface ConfState {
  voters: MemberId[];
  learners: MemberId[];
}

export type ConfChangeType = 'addVoter' | 'addLearner' | 'promote' | 'demote' | 'remove';

/**
 * One membership step (one voter at a time, DESIGN.md). `context` is opaque to the core:
 * the agent puts the site's peer id and addresses there so every member can dial it.
 */
export interface ConfChange {
  type: ConfChangeType;
  member: MemberId;
  context?: Uint8Array;
}

export interface SnapshotMeta {
  /** Last log index the snapshot covers. */
  index: number;
  term: number;
  /** Membership in force at `index`. */
  conf: ConfState;
}

export interface Snapshot {
  meta: SnapshotMeta;
  /** The state machine's image at meta.index (opaque to the core). */
  data: Uint8Array;
}

export type MessageType =
  | 'preVote'
  | 'preVoteResp'
  | 'vote'
  | 'voteResp'
  | 'append'
  | 'appendResp'
  | 'heartbeat'
  | 'heartbeatResp'
  | 'snapshot'
  | 'snapshotResp'
  | 'timeoutNow';

/**
 * One Raft message. Fields not used by a type are absent. For the meaning per type, see raft.ts;
 * the transport validates shape (validate.ts) before a message reaches `step`.
 */
export interface Message {
  type: MessageType;
  from: MemberId;
  to: MemberId;
  term: number;
  /** append: previous entry's term; vote/preVote: candidate's last log term. */
  logTerm?: number;
  /** append: previous entry's index; vote/preVote: candidate's last index; appendResp: match or rejected index. */
  index?: number;
  entries?: Entry[];
  /** Leader's commit index (append, heartbeat). */
  commit?: number;
  reject?: boolean;
  /** appendResp reject: the follower's hint (its last index, or the first index of the conflicting term). */
  rejectHint?: number;
  /** appendResp reject: the term of the follower's entry at rejectHint (0 if none) for fast backtracking. */
  hintTerm?: number;
  /** heartbeat/heartbeatResp: ReadIndex round id the heartbeat confirms (0 = none). */
  readRound?: number;
  /** snapshot: one chunk of a snapshot transfer. snapshotResp: `offset` acknowledged. */
  snapshot?: SnapshotChunk;
  /** timeoutNow and votes it causes: the campaign was asked for by a leadership transfer. */
  transfer?: boolean;
  /** Sent by a relay (append, heartbeat, snapshot to a learner): the leader it relays for. */
  leader?: MemberId;
  /** heartbeat from the leader to a voter: the learners it is to relay to (the whole list; [] = none). */
  relayTo?: MemberId[];
  /** heartbeatResp from a relay: what it knows of the learners it relays to. */
  relayed?: RelayedProgress[];
  /** heartbeatResp from a voter: its measured quorum round trip in ticks (placement.ts), if known. */
  quorumRtt?: number;
}

/** A relay's word on one learner: how much of the log it holds, and how long ago it last answered. */
export interface RelayedProgress {
  member: MemberId;
  match: number;
  /** Ticks of the relay since the learner last answered it. */
  heardTicksAgo: number;
}

export interface SnapshotChunk {
  meta: SnapshotMeta;
  /** Byte offset of `data` within the whole snapshot image. */
  offset: number;
  /** Size of the whole snapshot image. */
  totalBytes: number;
  data: Uint8Array;
  /** True on the last chunk. */
  done: boolean;
}

export interface ReadState {
  /** Commit index at which the read may be served, once applied. */
  index: number;
  /** Caller's request id passed to readIndex(). */
  ctx: string;
}

/**
 * What the runtime must do, in this order:
 *  1. send `messagesEarly` at once (leader appends/heartbeats: they do not depend on this Ready's writes);
 *  2. persist `snapshot`, `entries` and `hardState` in one synced batch;
 *  3. send `messages` (they may depend on what step 2 made durable);
 *  4. apply `committedEntries` in order, answer `readStates` once applied >= their index;
 *  5. call advance(ready).
 */
export interface Ready {
  hardState?: HardState;
  /** Entries to append; entries[0].index may be <= the stored last index: truncate from there first. */
  entries: Entry[];
  /** A snapshot received from the leader: install it (state machine and log) before applying anything. */
  snapshot?: Snapshot;
  messagesEarly: Message[];
  messages: Message[];
  committedEntries: Entry[];
  readStates: ReadState[];
  /** True when hardState, entries or snapshot must be fsynced before `messages` go out. */
  mustSync: boolean;
}

export type Role = 'follower' | 'preCandidate' | 'candidate' | 'leader';

export type ProgressState = 'probe' | 'replicate' | 'snapshot';

export interface FollowerProgress {
  member: MemberId;
  isLearner: boolean;
  match: number;
  next: number;
  state: ProgressState;
  /** Number of appends sent and not acknowledged. */
  inflight: number;
  /** Heard from this member within the last election timeout (leader only). */
  recentActive: boolean;
  /** The voter that relays the log to this learner (absent: the leader feeds it). */
  relay?: MemberId;
}

/** What the runtime checks on every proposal and Ready (RaftCore.summary()). */
export interface RaftSummary {
  role: Role;
  term: number;
  /** '' when unknown. */
  leader: MemberId;
  conf: ConfState;
}

export interface RaftStatus {
  id: MemberId;
  role: Role;
  term: number;
  vote: MemberId;
  /** '' when unknown. */
  leader: MemberId;
  commit: number;
  applied: number;
  firstIndex: number;
  lastIndex: number;
  conf: ConfState;
  /** Present only on the leader. */
  progress?: FollowerProgress[];
  /** The member a leadership transfer is heading to, '' if none. */
  transferTarget: MemberId;
  /** Set when this member last stopped leading because the voter it transferred to campaigned: that voter. */
  handedOverTo?: MemberId;
  /** Leadership transfers this member started to a better-placed voter (placement.ts), over its life. */
  placementTransfers?: number;
}
