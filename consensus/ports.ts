// The interfaces through which the replica runtime touches the world. The daemon plugs in real
// timers, LevelDB and libp2p; the simulator plugs in virtual time, the in-memory store and a
// simulated WAN. Nothing here does I/O itself.
import type { Entry, HardState, MemberId, Message, Snapshot } from './types.js';

// ---------------------------------------------------------------- storage

/** Catalog records the state machine changed by applying entries, written with the applied index. */
export interface AppliedChanges {
  /** Index of the last entry these changes include. */
  index: number;
  /** Drop every stored record first (installing a snapshot). */
  replaceAll?: boolean;
  /** Applied in order: a later op on the same key wins. */
  ops: RecordOp[];
}

export type RecordOp = { type: 'put'; key: string; value: Uint8Array } | { type: 'del'; key: string };

/** One atomic, synced write: what one Ready (plus the applies done with it) makes durable. */
export interface StoreBatch {
  hardState?: HardState;
  /** Appended; if entries[0].index <= the stored last index, the stored suffix from there is deleted first. */
  entries?: Entry[];
  /**
   * A snapshot to keep (received from the leader, or made locally by compaction). Saved with its
   * image; log entries at or below `compactTo` are dropped. A received snapshot whose index is past the
   * stored log, or whose term at its index differs, also drops every stored entry.
   */
  snapshot?: Snapshot;
  /** Drop log entries with index < compactTo (without a new snapshot: a snapshot must already cover them). */
  compactTo?: number;
  applied?: AppliedChanges;
  /**
   * false: write without fsync. The batch is still atomic; it becomes durable with the next synced
   * write, and a crash before that loses it (with every later unsynced batch), never part of it.
   * Only for what Raft can rebuild from the synced log: the commit index, applied records and index,
   * a local snapshot. Default true.
   */
  sync?: boolean;
}

export interface StoreMeta {
  hardState: HardState;
  /** First and last index of the stored log (firstIndex = lastIndex + 1 when empty). */
  firstIndex: number;
  lastIndex: number;
  snapshot: Snapshot | null;
  appliedIndex: number;
}

export interface LogStore {
  /** Reads only metadata (never the whole log). Called once, before anything else. */
  open(): Promise<StoreMeta>;
  /** One atomic batch, fsynced before the promise resolves (unless batch.sync is false). */
  write(batch: StoreBatch): Promise<void>;
  /** Entries in [lo, hi), stopping after the entry that makes the total exceed maxBytes (at least one). */
  entries(lo: number, hi: number, maxBytes?: number): Promise<Entry[]>;
  /** Term of the entry at `index` (snapshot index included), undefined if not held. */
  term(index: number): Promise<number | undefined>;
  /** All applied catalog records. */
  records(): Promise<Array<[string, Uint8Array]>>;
  close(): Promise<void>;
}

// ---------------------------------------------------------------- state machine

export interface ApplyResult {
  /** Returned to the proposer (msgpack-able). */
  result: unknown;
  ops: RecordOp[];
}

export interface StateMachine {
  /** Applies one committed Normal entry (empty data = leader no-op). Deterministic; never throws on bad input. */
  apply(entry: Entry): ApplyResult;
  /** The whole state as an image (at the last applied index). */
  snapshot(): Uint8Array;
  /** Replaces the whole state with a snapshot image; returns the records that now stand for it. */
  restore(image: Uint8Array): Array<[string, Uint8Array]>;
  /** Rebuilds the in-memory state from stored records at restart. */
  load(records: Array<[string, Uint8Array]>): void;
}

// ---------------------------------------------------------------- time

export interface TimerHandle {
  cancel(): void;
}

export interface Clock {
  /** Milliseconds (real or virtual); only differences matter. */
  now(): number;
  setTimer(delayMs: number, callback: () => void): TimerHandle;
}

// ---------------------------------------------------------------- network

/** INVALID: a request the leader cannot act on (e.g. a membership change that makes no sense). */
/** PEER_REACHABLE: a write allowed only while a named site is cut off from the leader, and it is not. */
export type RefusalCode = 'NO_LEADER' | 'NO_QUORUM' | 'PEER_UNREACHABLE' | 'PEER_REACHABLE' | 'BUSY' | 'INVALID';

export type ProposalOutcome =
  | { status: 'committed'; index: number; result: unknown }
  | { status: 'refused'; code: RefusalCode; message: string; leader?: MemberId; member?: MemberId }
  | { status: 'unknown'; message: string };

/** Everything replicas say to each other. Raft messages plus the runtime's forwarding RPCs. */
export type WireMessage =
  | { kind: 'raft'; msg: Message }
  /**
   * A follower forwards a write to the leader; `requireLive` names members that must be live,
   * `requireUnreachable` members that must not be (the leader decides both from its own link facts).
   * With `confChange: true`, `data` is an encoded ConfChange for proposeConfChange.
   */
  | { kind: 'propose'; id: string; data: Uint8Array; requireLive: MemberId[]; requireUnreachable?: MemberId[]; confChange?: boolean }
  | { kind: 'proposeResult'; id: string; outcome: ProposalOutcome }
  | { kind: 'readIndex'; id: string }
  | { kind: 'readIndexResult'; id: string; ok: boolean; index: number; code?: RefusalCode; message?: string };

export interface Transport {
  /** Best effort: may drop (a bounded queue, an unreachable peer). Never throws. */
  send(to: MemberId, message: WireMessage): void;
  /** Register the one receiver of validated messages. */
  onMessage(handler: (from: MemberId, message: WireMessage) => void): void;
  /** Register the receiver of "could not deliver to member" reports. */
  onUnreachable(handler: (member: MemberId) => void): void;
  /**
   * Optional: true when the transport knows it cannot reach `member` right now (its connection was
   * refused or lost and has not come back). False means "not known to be down", not "up". Lets a
   * write be refused at once after a peer dies, instead of after a timeout.
   */
  linkDown?(member: MemberId): boolean;
}

// ---------------------------------------------------------------- logging

export interface Logger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export const silentLogger: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
};
