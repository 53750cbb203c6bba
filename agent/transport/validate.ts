// Structural validation of everything a peer can put in a frame, before it reaches the replica.
// Hand-written for the hot path: no schema library, no allocation on success. Each check returns
// null when the value is well-formed, else a short reason naming the offending field.
//
// The field tables are typed against consensus/types.ts and consensus/ports.ts so that adding a
// field to Message or WireMessage fails to compile here until the new field has a check: a
// field this code does not know is refused on the wire (DESIGN.md: refuse what you do not know).
import type { ProposalOutcome, RefusalCode, WireMessage } from '../../consensus/ports.js';
import type { ConfState, Entry, Message, MessageType, RelayedProgress, SnapshotChunk, SnapshotMeta } from '../../consensus/types.js';
import { EntryType } from '../../consensus/types.js';

/** Site names are short DNS-like labels; anything longer is not one of ours. */
export const MAX_MEMBER_ID_LENGTH = 128;
/** Forwarded request ids (`<site>:<sequence>`). */
export const MAX_REQUEST_ID_LENGTH = 256;
/** Human-readable messages inside outcomes. */
export const MAX_TEXT_LENGTH = 4096;
/** Far above any sane maxEntriesPerAppend; the frame size bound applies as well. */
export const MAX_ENTRIES_PER_MESSAGE = 65_536;
/** Voters plus learners in one configuration. */
export const MAX_CONF_MEMBERS = 4096;
/** Sites a forwarded write may require to be live. */
export const MAX_REQUIRE_LIVE = 256;

type Check = (value: unknown) => string | null;
type FieldChecks<T> = { readonly [K in keyof T]-?: Check };

type Variant<K extends WireMessage['kind']> = Extract<WireMessage, { kind: K }>;
type Outcome<S extends ProposalOutcome['status']> = Extract<ProposalOutcome, { status: S }>;

const MESSAGE_TYPES: Readonly<Record<MessageType, true>> = {
  preVote: true,
  preVoteResp: true,
  vote: true,
  voteResp: true,
  append: true,
  appendResp: true,
  heartbeat: true,
  heartbeatResp: true,
  snapshot: true,
  snapshotResp: true,
  timeoutNow: true,
};

const REFUSAL_CODES: Readonly<Record<RefusalCode, true>> = {
  NO_LEADER: true,
  NO_QUORUM: true,
  PEER_UNREACHABLE: true,
  PEER_REACHABLE: true,
  BUSY: true,
  INVALID: true,
};

// ------------------------------------------------------------------ primitive checks

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

const checkIndex: Check = (v) =>
  typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 ? null : 'not a non-negative safe integer';

/** A round trip in ticks: a finite fraction, bounded so a peer cannot make it absurd. */
export const MAX_RTT_TICKS = 1_000_000;
const checkRttTicks: Check = (v) =>
  typeof v === 'number' && Number.isFinite(v) && v >= 0 && v <= MAX_RTT_TICKS ? null : `not a round trip in ticks (0 to ${MAX_RTT_TICKS})`;

const checkBoolean: Check = (v) => (typeof v === 'boolean' ? null : 'not a boolean');

const checkBytes: Check = (v) => (v instanceof Uint8Array ? null : 'not binary data');

const checkMemberId: Check = (v) =>
  typeof v === 'string' && v.length > 0 && v.length <= MAX_MEMBER_ID_LENGTH
    ? null
    : `not a site name (1..${MAX_MEMBER_ID_LENGTH} characters)`;

/** '' stands for "nobody" (an unknown leader). */
const checkMemberIdOrEmpty: Check = (v) =>
  typeof v === 'string' && v.length <= MAX_MEMBER_ID_LENGTH ? null : `not a site name (0..${MAX_MEMBER_ID_LENGTH} characters)`;

const checkRequestId: Check = (v) =>
  typeof v === 'string' && v.length > 0 && v.length <= MAX_REQUEST_ID_LENGTH
    ? null
    : `not a request id (1..${MAX_REQUEST_ID_LENGTH} characters)`;

const checkText: Check = (v) =>
  typeof v === 'string' && v.length <= MAX_TEXT_LENGTH ? null : `not a text of at most ${MAX_TEXT_LENGTH} characters`;

const checkRefusalCode: Check = (v) =>
  typeof v === 'string' && Object.hasOwn(REFUSAL_CODES, v) ? null : 'not a known refusal code';

const checkMessageType: Check = (v) =>
  typeof v === 'string' && Object.hasOwn(MESSAGE_TYPES, v) ? null : 'not a known Raft message type';

const checkAny: Check = () => null;

function checkMemberList(maxCount: number): Check {
  return (v) => {
    if (!Array.isArray(v)) return 'not a list';
    if (v.length > maxCount) return `more than ${maxCount} sites`;
    for (let i = 0; i < v.length; i++) {
      const reason = checkMemberId(v[i]);
      if (reason !== null) return `[${i}]: ${reason}`;
    }
    return null;
  };
}

// ------------------------------------------------------------------ object walking

/**
 * Every own key of `obj` must have a check (an undefined value counts as absent), and every
 * `required` key must be present.
 */
function checkFields(obj: Record<string, unknown>, fields: ReadonlyMap<string, Check>, required: readonly string[]): string | null {
  for (const key in obj) {
    const value = obj[key];
    if (value === undefined) continue;
    const check = fields.get(key);
    if (check === undefined) return `${key}: unknown field`;
    const reason = check(value);
    if (reason !== null) return `${key}: ${reason}`;
  }
  for (const key of required) {
    if (obj[key] === undefined) return `${key}: missing`;
  }
  return null;
}

function fieldMap<T>(checks: FieldChecks<T>): ReadonlyMap<string, Check> {
  return new Map(Object.entries(checks) as Array<[string, Check]>);
}

function objectCheck<T>(checks: FieldChecks<T>, required: ReadonlyArray<keyof T & string>): Check {
  const fields = fieldMap(checks);
  return (v) => (isPlainObject(v) ? checkFields(v, fields, required) : 'not an object');
}

// ------------------------------------------------------------------ Raft values

const checkConfState: Check = (() => {
  const list = checkMemberList(MAX_CONF_MEMBERS);
  const shape = objectCheck<ConfState>({ voters: list, learners: list }, ['voters', 'learners']);
  return (v) => {
    const reason = shape(v);
    if (reason !== null) return reason;
    const conf = v as ConfState;
    if (conf.voters.length + conf.learners.length > MAX_CONF_MEMBERS) return `more than ${MAX_CONF_MEMBERS} members`;
    const seen = new Set<string>();
    for (const member of conf.voters.concat(conf.learners)) {
      if (seen.has(member)) return `site ${member} listed twice`;
      seen.add(member);
    }
    return null;
  };
})();

const checkSnapshotMeta = objectCheck<SnapshotMeta>(
  { index: checkIndex, term: checkIndex, conf: checkConfState },
  ['index', 'term', 'conf'],
);

const checkSnapshotChunk: Check = (() => {
  const shape = objectCheck<SnapshotChunk>(
    { meta: checkSnapshotMeta, offset: checkIndex, totalBytes: checkIndex, data: checkBytes, done: checkBoolean },
    ['meta', 'offset', 'totalBytes', 'data', 'done'],
  );
  return (v) => {
    const reason = shape(v);
    if (reason !== null) return reason;
    const chunk = v as SnapshotChunk;
    const end = chunk.offset + chunk.data.length;
    if (end > chunk.totalBytes) return `chunk ends at byte ${end}, past totalBytes ${chunk.totalBytes}`;
    if (chunk.done && end !== chunk.totalBytes) return `last chunk ends at byte ${end}, not at totalBytes ${chunk.totalBytes}`;
    return null;
  };
})();

const ENTRY_KEYS: ReadonlySet<string> = new Set(
  Object.keys({ index: true, term: true, type: true, data: true } satisfies Record<keyof Entry, true>),
);

/** Entries are the bulk of the traffic: checked field by field without the generic walker. */
export function validateEntry(v: unknown): string | null {
  if (!isPlainObject(v)) return 'not an object';
  for (const key in v) {
    if (v[key] !== undefined && !ENTRY_KEYS.has(key)) return `${key}: unknown field`;
  }
  if (checkIndex(v.index) !== null) return 'index: not a non-negative safe integer';
  if (checkIndex(v.term) !== null) return 'term: not a non-negative safe integer';
  if (v.type !== EntryType.Normal && v.type !== EntryType.ConfChange) return 'type: not a known entry type';
  if (!(v.data instanceof Uint8Array)) return 'data: not binary data';
  return null;
}

function checkEntries(v: unknown): string | null {
  if (!Array.isArray(v)) return 'not a list';
  if (v.length > MAX_ENTRIES_PER_MESSAGE) return `more than ${MAX_ENTRIES_PER_MESSAGE} entries`;
  for (let i = 0; i < v.length; i++) {
    const reason = validateEntry(v[i]);
    if (reason !== null) return `[${i}].${reason}`;
  }
  return null;
}

const checkRelayedProgress = objectCheck<RelayedProgress>(
  { member: checkMemberId, match: checkIndex, heardTicksAgo: checkIndex },
  ['member', 'match', 'heardTicksAgo'],
);

/** A relay reports at most one entry per learner of the configuration. */
function checkRelayedList(v: unknown): string | null {
  if (!Array.isArray(v)) return 'not a list';
  if (v.length > MAX_CONF_MEMBERS) return `more than ${MAX_CONF_MEMBERS} entries`;
  for (let i = 0; i < v.length; i++) {
    const reason = checkRelayedProgress(v[i]);
    if (reason !== null) return `[${i}].${reason}`;
  }
  return null;
}

const MESSAGE_FIELDS = fieldMap<Message>({
  type: checkMessageType,
  from: checkMemberId,
  to: checkMemberId,
  term: checkIndex,
  logTerm: checkIndex,
  index: checkIndex,
  entries: checkEntries,
  commit: checkIndex,
  reject: checkBoolean,
  rejectHint: checkIndex,
  hintTerm: checkIndex,
  readRound: checkIndex,
  snapshot: checkSnapshotChunk,
  transfer: checkBoolean,
  leader: checkMemberId,
  relayTo: checkMemberList(MAX_CONF_MEMBERS),
  relayed: checkRelayedList,
  quorumRtt: checkRttTicks,
});

/** Fields a message type is meaningless without (types.ts documents them per type). */
const REQUIRED_BY_TYPE: Readonly<Record<MessageType, readonly (keyof Message & string)[]>> = {
  preVote: ['type', 'from', 'to', 'term', 'index', 'logTerm'],
  vote: ['type', 'from', 'to', 'term', 'index', 'logTerm'],
  append: ['type', 'from', 'to', 'term', 'index', 'logTerm', 'commit'],
  snapshot: ['type', 'from', 'to', 'term', 'snapshot'],
  preVoteResp: ['type', 'from', 'to', 'term'],
  voteResp: ['type', 'from', 'to', 'term'],
  appendResp: ['type', 'from', 'to', 'term'],
  heartbeat: ['type', 'from', 'to', 'term'],
  heartbeatResp: ['type', 'from', 'to', 'term'],
  snapshotResp: ['type', 'from', 'to', 'term'],
  timeoutNow: ['type', 'from', 'to', 'term'],
};

/** A Raft message: shape, bounds, and the entries' own consistency. */
export function validateRaftMessage(v: unknown): string | null {
  if (!isPlainObject(v)) return 'not an object';
  const type = v.type;
  if (typeof type !== 'string' || !Object.hasOwn(MESSAGE_TYPES, type)) return 'type: not a known Raft message type';
  const reason = checkFields(v, MESSAGE_FIELDS, REQUIRED_BY_TYPE[type as MessageType]);
  if (reason !== null) return reason;
  return checkEntriesFollow(v as unknown as Message);
}

/** Entries follow the previous index contiguously, with terms that never go down nor pass the sender's. */
function checkEntriesFollow(m: Message): string | null {
  const entries = m.entries;
  if (entries === undefined || entries.length === 0) return null;
  if (m.index === undefined) return 'index: missing (entries need the previous index)';
  let previousTerm = m.logTerm ?? 0;
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i];
    if (e.index !== m.index + 1 + i) return `entries[${i}].index: ${e.index} does not follow ${m.index + i}`;
    if (e.term < previousTerm) return `entries[${i}].term: ${e.term} is below the previous term ${previousTerm}`;
    if (e.term > m.term) return `entries[${i}].term: ${e.term} is above the message term ${m.term}`;
    previousTerm = e.term;
  }
  return null;
}

// ------------------------------------------------------------------ wire messages

const OUTCOME_CHECKS: Readonly<Record<ProposalOutcome['status'], Check>> = {
  committed: objectCheck<Outcome<'committed'>>(
    { status: checkAny, index: checkIndex, result: checkAny },
    ['status', 'index'],
  ),
  refused: objectCheck<Outcome<'refused'>>(
    { status: checkAny, code: checkRefusalCode, message: checkText, leader: checkMemberIdOrEmpty, member: checkMemberIdOrEmpty },
    ['status', 'code', 'message'],
  ),
  unknown: objectCheck<Outcome<'unknown'>>({ status: checkAny, message: checkText }, ['status', 'message']),
};

const checkOutcome: Check = (v) => {
  if (!isPlainObject(v)) return 'not an object';
  const status = v.status;
  if (typeof status !== 'string' || !Object.hasOwn(OUTCOME_CHECKS, status)) return 'status: not a known outcome';
  return OUTCOME_CHECKS[status as ProposalOutcome['status']](v);
};

const WIRE_CHECKS: Readonly<Record<WireMessage['kind'], Check>> = {
  raft: objectCheck<Variant<'raft'>>({ kind: checkAny, msg: validateRaftMessage }, ['kind', 'msg']),
  propose: objectCheck<Variant<'propose'>>(
    {
      kind: checkAny,
      id: checkRequestId,
      data: checkBytes,
      requireLive: checkMemberList(MAX_REQUIRE_LIVE),
      requireUnreachable: checkMemberList(MAX_REQUIRE_LIVE),
      confChange: checkBoolean,
    },
    ['kind', 'id', 'data', 'requireLive'],
  ),
  proposeResult: objectCheck<Variant<'proposeResult'>>(
    { kind: checkAny, id: checkRequestId, outcome: checkOutcome },
    ['kind', 'id', 'outcome'],
  ),
  readIndex: objectCheck<Variant<'readIndex'>>({ kind: checkAny, id: checkRequestId }, ['kind', 'id']),
  readIndexResult: objectCheck<Variant<'readIndexResult'>>(
    { kind: checkAny, id: checkRequestId, ok: checkBoolean, index: checkIndex, code: checkRefusalCode, message: checkText },
    ['kind', 'id', 'ok', 'index'],
  ),
};

/** Any WireMessage; null when well-formed, else the reason (e.g. "msg.entries[2].data: not binary data"). */
export function validateWireMessage(v: unknown): string | null {
  if (!isPlainObject(v)) return 'not an object';
  const kind = v.kind;
  if (typeof kind !== 'string' || !Object.hasOwn(WIRE_CHECKS, kind)) return 'kind: not a known message kind';
  return WIRE_CHECKS[kind as WireMessage['kind']](v);
}
