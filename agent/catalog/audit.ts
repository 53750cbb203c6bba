// Who asked for a write and why: the stamp a proposer puts in a write command, and the entry the
// catalog keeps for every applied write in its bounded audit ring (audit-log.ts). The bounds are part
// of the replicated protocol, as every bound in limits.ts is: the same entry must be accepted or
// refused on every site.
import { SITE_NAME } from './names.js';
import { SpecError, checkString, isPlainObject, rejectUnknownFields, type StringRule } from './spec-reader.js';
import type { ResourceKind } from './types.js';

/** Operator names: what `--operator` or the login user says (self-declared; see DESIGN.md "Audit trail"). */
export const MAX_AUDIT_OPERATOR_CHARS = 128;
/** Host names: RFC 1035 caps a name at 253 characters; a little room for what `hostname` prints. */
export const MAX_AUDIT_HOST_CHARS = 255;
/** Reasons (`--reason`); the same bound as a forced write's reason. */
export const MAX_AUDIT_REASON_CHARS = 1024;
/** Writes the ring keeps; the oldest is dropped first. */
export const MAX_AUDIT_ENTRIES = 4096;
/**
 * Op targets (kind/id) over the whole ring: a batch names up to 100, so without this bound the ring
 * could hold 409,600 of them. When a new entry would pass it, the oldest entries are dropped first.
 */
export const MAX_AUDIT_TARGETS = 65_536;

const OPERATOR: StringRule = { min: 1, max: MAX_AUDIT_OPERATOR_CHARS, trimmed: true };
const HOST: StringRule = { min: 1, max: MAX_AUDIT_HOST_CHARS, trimmed: true };
const REASON: StringRule = { min: 1, max: MAX_AUDIT_REASON_CHARS, trimmed: true };
const STAMP_FIELDS = ['operator', 'host', 'site', 'reason'] as const;

/** What the proposer says about a write. Every field is optional: a write from a tool that sends none is still recorded. */
export interface AuditStamp {
  /** The operator the CLI names (`--operator`, else the login user). */
  operator?: string;
  /** The host the CLI ran on. */
  host?: string;
  /** The site whose agent took the write in. */
  site?: string;
  /** Why (`--reason`; required for a forced write, where it is also the forced reason). */
  reason?: string;
}

/** Throws SpecError naming the field (`audit.operator`, ...) for a malformed stamp. */
export function checkAuditStamp(value: unknown): AuditStamp {
  if (!isPlainObject(value)) throw new SpecError('audit', 'audit must be a map');
  rejectUnknownFields(value, STAMP_FIELDS, 'audit');
  const stamp: AuditStamp = {};
  if (value.operator !== undefined) stamp.operator = checkString(value.operator, 'audit.operator', OPERATOR);
  if (value.host !== undefined) stamp.host = checkString(value.host, 'audit.host', HOST);
  if (value.site !== undefined) stamp.site = checkString(value.site, 'audit.site', SITE_NAME);
  if (value.reason !== undefined) stamp.reason = checkString(value.reason, 'audit.reason', REASON);
  return stamp;
}

/** The problem with one stamp field, or undefined: the admin API checks before it proposes. */
export function auditFieldProblem(field: 'operator' | 'host' | 'reason', value: string): string | undefined {
  try {
    checkAuditStamp({ [field]: value });
    return undefined;
  } catch (error) {
    if (error instanceof SpecError) return error.message;
    throw error;
  }
}

export interface AuditTarget {
  op: 'put' | 'patch' | 'delete';
  kind: ResourceKind;
  id: string;
}

/** One applied write, as the ring keeps it. */
export interface AuditEntry extends AuditStamp {
  /** Log index of the write (the revision it gave what it changed). */
  index: number;
  /** The command's time (the proposer's clock, milliseconds since the epoch). */
  time: number;
  clientId: string;
  seq: number;
  /** Forced past a liveness requirement (its reason is `reason`). */
  forced?: true;
  /** What the write named, in order (unreadable ops of a rejected write are left out). */
  targets: AuditTarget[];
  /** 'committed', or the code the catalog rejected it with (VALIDATION, CONFLICT, NOT_FOUND). */
  outcome: string;
}

export interface AuditFilter {
  kind?: ResourceKind;
  id?: string;
  /** Entries at or after this time (ms since the epoch). */
  sinceMs?: number;
  /** At most this many, the newest (the answer is still oldest first). */
  limit?: number;
}

export function auditEntryMatches(entry: AuditEntry, filter: AuditFilter): boolean {
  if (filter.sinceMs !== undefined && entry.time < filter.sinceMs) return false;
  if (filter.kind === undefined && filter.id === undefined) return true;
  return entry.targets.some((t) => (filter.kind === undefined || t.kind === filter.kind) && (filter.id === undefined || t.id === filter.id));
}
