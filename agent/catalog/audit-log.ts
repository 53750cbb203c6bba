// The audit ring: the last MAX_AUDIT_ENTRIES applied writes (who, from where, why, what, outcome),
// kept in the catalog's state so it is in every snapshot and survives log compaction. Eviction is
// by log index, oldest first, identical on every site.
import type { RecordOp } from '../../consensus/ports.js';
import { MAX_AUDIT_ENTRIES, MAX_AUDIT_TARGETS, auditEntryMatches, type AuditEntry, type AuditFilter, type AuditStamp, type AuditTarget } from './audit.js';
import { MAX_OPS_PER_COMMAND } from './limits.js';
import { auditKey, auditMetaPut, auditPut, type PutRecordOp } from './records.js';
import { isPlainObject } from './spec-reader.js';
import { RESOURCE_KINDS, type CommandResult, type ResourceKind } from './types.js';

/** Longest id an audit target keeps (any kind's id rule is shorter; a rejected op's may not be). */
const MAX_TARGET_ID_CHARS = 255;

export interface AuditBounds {
  maxEntries: number;
  maxTargets: number;
}

export const AUDIT_BOUNDS: AuditBounds = { maxEntries: MAX_AUDIT_ENTRIES, maxTargets: MAX_AUDIT_TARGETS };

export class AuditLog {
  /** By log index; insertion order is index order because apply goes forward. */
  private readonly entries = new Map<number, AuditEntry>();
  private targets = 0;
  /** The newest index dropped to stay in bounds (0: none): the history is complete after it. */
  private dropped = 0;

  constructor(readonly bounds: AuditBounds = AUDIT_BOUNDS) {}

  get size(): number {
    return this.entries.size;
  }

  /** Records an applied write; returns the record ops (its put and the deletes of evicted entries). */
  record(entry: AuditEntry): RecordOp[] {
    const ops: RecordOp[] = [];
    this.add(entry);
    ops.push(auditPut(entry));
    const evicted = this.evict();
    for (const index of evicted) ops.push({ type: 'del', key: auditKey(index) });
    if (evicted.length > 0) ops.push(auditMetaPut(this.dropped));
    return ops;
  }

  /** Restores an entry from a stored record (load); bounds are applied after every record is in. */
  set(entry: AuditEntry): void {
    this.add(entry);
  }

  /** After load: drops what a smaller bound no longer allows (their records are rewritten by the next snapshot). */
  trim(): void {
    this.evict();
  }

  /** Restores the meta record (load). */
  setDroppedThrough(index: number): void {
    this.dropped = index;
  }

  get droppedThrough(): number {
    return this.dropped;
  }

  /** The records that stand for the ring (snapshot). */
  records(): PutRecordOp[] {
    const puts = [...this.entries.values()].map(auditPut);
    if (this.dropped > 0) puts.push(auditMetaPut(this.dropped));
    return puts;
  }

  clear(): void {
    this.entries.clear();
    this.targets = 0;
    this.dropped = 0;
  }

  /** Oldest first. */
  list(filter: AuditFilter = {}): AuditEntry[] {
    const matching = [...this.entries.values()].filter((entry) => auditEntryMatches(entry, filter));
    return filter.limit !== undefined && matching.length > filter.limit ? matching.slice(matching.length - filter.limit) : matching;
  }

  all(): IterableIterator<AuditEntry> {
    return this.entries.values();
  }

  /** The oldest index still held, or null when empty. */
  oldestIndex(): number | null {
    const first = this.entries.keys().next();
    return first.done ? null : first.value;
  }

  private add(entry: AuditEntry): void {
    const previous = this.entries.get(entry.index);
    if (previous !== undefined) this.targets -= previous.targets.length;
    this.entries.set(entry.index, entry);
    this.targets += entry.targets.length;
  }

  private evict(): number[] {
    const evicted: number[] = [];
    for (const [index, entry] of this.entries) {
      if (this.entries.size <= this.bounds.maxEntries && this.targets <= this.bounds.maxTargets) break;
      this.entries.delete(index);
      this.targets -= entry.targets.length;
      this.dropped = Math.max(this.dropped, index);
      evicted.push(index);
    }
    return evicted;
  }
}

/**
 * The entry for one applied write command. Its fields are set in sorted key order (the order its
 * record is encoded in, codec.ts), so encoding the entry reads it as it is instead of copying it
 * first: this runs for every write on every site.
 */
export function auditEntryOf(
  command: { clientId: string; seq: number; time: number; forced?: string; audit?: AuditStamp; ops: unknown },
  index: number,
  result: CommandResult,
): AuditEntry {
  const stamp = command.audit ?? {};
  // A forced write's reason is the one the command carries for it; older proposers sent only that.
  const reason = stamp.reason ?? command.forced;
  const entry = { clientId: command.clientId } as AuditEntry;
  if (command.forced !== undefined) entry.forced = true;
  if (stamp.host !== undefined) entry.host = stamp.host;
  entry.index = index;
  if (stamp.operator !== undefined) entry.operator = stamp.operator;
  entry.outcome = result.ok ? 'committed' : result.code;
  if (reason !== undefined) entry.reason = reason;
  entry.seq = command.seq;
  if (stamp.site !== undefined) entry.site = stamp.site;
  entry.targets = targetsOf(command.ops);
  entry.time = command.time;
  return entry;
}

/** The kind/id/op of every readable op (a rejected write's malformed ones are left out). */
function targetsOf(rawOps: unknown): AuditTarget[] {
  if (!Array.isArray(rawOps)) return [];
  const targets: AuditTarget[] = [];
  for (const raw of rawOps.slice(0, MAX_OPS_PER_COMMAND)) {
    if (!isPlainObject(raw)) continue;
    const { op, kind, id } = raw;
    if (op !== 'put' && op !== 'patch' && op !== 'delete') continue;
    if (typeof kind !== 'string' || !(RESOURCE_KINDS as readonly string[]).includes(kind)) continue;
    if (typeof id !== 'string' || id.length === 0 || id.length > MAX_TARGET_ID_CHARS) continue;
    targets.push({ id, kind: kind as ResourceKind, op }); // sorted keys, as in auditEntryOf
  }
  return targets;
}
