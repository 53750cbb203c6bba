// Stored records: one per resource, session and sync status entry, plus one meta record. Each value
// is canonical msgpack carrying CATALOG_RECORD_VERSION; a record of another version is refused.
import type { RecordOp } from '../../consensus/ports.js';
import type { AuditEntry } from './audit.js';
import { decodeMsgpack, encodeCanonical, exceedsDepth } from './codec.js';
import { MAX_VALUE_DEPTH, SESSION_RECENT_SEQS } from './limits.js';
import { isPlainObject } from './spec-reader.js';
import {
  CATALOG_RECORD_VERSION,
  RESOURCE_KINDS,
  SYNC_STATES,
  type Resource,
  type ResourceKind,
  type Session,
  type SiteSyncDigest,
  type SyncStatusEntry,
} from './types.js';

export const RESOURCE_PREFIX = 'r/';
export const SESSION_PREFIX = 's/';
/** A site's sync exceptions, one per resource that is not plainly in sync there (sync-status.ts). */
export const SYNC_PREFIX = 'y/';
/** One record per site: its sync digest (sync-status.ts). */
export const SYNC_DIGEST_PREFIX = 'd/';
export const AUDIT_PREFIX = 'a/';
export const META_KEY = 'm/catalog';
/** The audit ring's meta record: the newest index it has dropped (its history is complete after it). */
export const AUDIT_META_KEY = 'm/audit';
/** Audit keys carry the index zero-padded, so key order is index order. */
const AUDIT_INDEX_DIGITS = 16;

/** A stored record, a snapshot image or a restore input the catalog cannot read. */
export class CatalogFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CatalogFormatError';
  }
}

/**
 * A stored format version for an error message. Only numbers and short strings are shown: the value
 * comes from bytes that failed to decode, and String() of an object can itself throw.
 */
export function describeVersion(value: unknown): string {
  if (typeof value === 'number') return String(value);
  if (typeof value === 'string') return JSON.stringify(value.slice(0, 32));
  return value === undefined ? 'missing' : `(a ${value === null ? 'null' : typeof value})`;
}

export function resourceKey(kind: ResourceKind, id: string): string {
  return `${RESOURCE_PREFIX}${kind}/${id}`;
}

export function sessionKey(clientId: string): string {
  return `${SESSION_PREFIX}${clientId}`;
}

export function syncKey(kind: ResourceKind, id: string, site: string): string {
  return `${SYNC_PREFIX}${kind}/${id}/${site}`;
}

export function auditKey(index: number): string {
  return `${AUDIT_PREFIX}${String(index).padStart(AUDIT_INDEX_DIGITS, '0')}`;
}

/** A put record op (value always present). */
export type PutRecordOp = Extract<RecordOp, { type: 'put' }>;

/**
 * The encoding of a frozen record value, memoised by identity. Every value the catalog stores is
 * deep-frozen (deepFreeze) before it is put, so the same object always encodes to the same bytes:
 * a snapshot (every record of the state) then re-encodes only what changed since the last one, not
 * the whole catalog. A value that is not frozen is encoded every time. One map per record kind,
 * since the kind's wrapper is part of the bytes; weak, so the memo lives only as long as the value.
 */
class RecordEncodings<T extends object> {
  private readonly byValue = new WeakMap<T, Uint8Array>();
  constructor(private readonly wrap: (value: T) => unknown) {}

  of(value: T): Uint8Array {
    const known = this.byValue.get(value);
    if (known !== undefined) return known;
    const bytes = encodeCanonical(this.wrap(value));
    if (Object.isFrozen(value)) this.byValue.set(value, bytes);
    return bytes;
  }

  /**
   * The put of a record. A frozen value is encoded when the put's value is first read: the
   * daemon's stores read it in the same write, while the simulator's in-memory store keeps the put
   * and reads it only when a site restarts from its disk, so 100 sites applying an entry do not
   * encode its records 100 times for nothing. A value that is not frozen is encoded now.
   */
  put(key: string, value: T): PutRecordOp {
    return Object.isFrozen(value) ? new EncodedOnRead(key, value, this) : { type: 'put', key, value: this.of(value) };
  }
}

class EncodedOnRead<T extends object> {
  readonly type = 'put' as const;
  constructor(
    readonly key: string,
    private readonly source: T,
    private readonly encodings: RecordEncodings<T>,
  ) {}

  get value(): Uint8Array {
    return this.encodings.of(this.source);
  }
}

const resourceEncodings = new RecordEncodings<Resource>((resource) => ({ resource, v: CATALOG_RECORD_VERSION }));
const sessionEncodings = new RecordEncodings<Session>((session) => ({ session, v: CATALOG_RECORD_VERSION }));
const syncEncodings = new RecordEncodings<SyncStatusEntry>((sync) => ({ sync, v: CATALOG_RECORD_VERSION }));
const syncDigestEncodings = new RecordEncodings<SiteSyncDigest>((syncDigest) => ({ syncDigest, v: CATALOG_RECORD_VERSION }));
const auditEncodings = new RecordEncodings<AuditEntry>((audit) => ({ audit, v: CATALOG_RECORD_VERSION }));

export function resourcePut(resource: Resource): PutRecordOp {
  return resourceEncodings.put(resourceKey(resource.kind, resource.id), resource);
}

export function sessionPut(session: Session): PutRecordOp {
  return sessionEncodings.put(sessionKey(session.clientId), session);
}

export function syncPut(entry: SyncStatusEntry): PutRecordOp {
  return syncEncodings.put(syncKey(entry.kind, entry.id, entry.site), entry);
}

export function syncDigestKey(site: string): string {
  return `${SYNC_DIGEST_PREFIX}${site}`;
}

export function syncDigestPut(digest: SiteSyncDigest): PutRecordOp {
  return syncDigestEncodings.put(syncDigestKey(digest.site), digest);
}

export function auditPut(entry: AuditEntry): PutRecordOp {
  return auditEncodings.put(auditKey(entry.index), entry);
}

export function auditMetaPut(droppedThrough: number): PutRecordOp {
  return new AuditMetaPut(droppedThrough);
}

/**
 * The audit ring's meta record, rewritten by every write once the ring is full: encoded when read,
 * so a store that keeps only the last put of a key in a group (storage/wal-store.ts) encodes it once
 * per group instead of once per write.
 */
class AuditMetaPut {
  readonly type = 'put' as const;
  readonly key = AUDIT_META_KEY;
  constructor(private readonly droppedThrough: number) {}

  get value(): Uint8Array {
    return encodeCanonical({ droppedThrough: this.droppedThrough, v: CATALOG_RECORD_VERSION });
  }
}

export function metaPut(appliedIndex: number): PutRecordOp {
  return new MetaPut(appliedIndex);
}

/** The applied index's record, written with every apply: encoded when read (see RecordEncodings.put). */
class MetaPut {
  readonly type = 'put' as const;
  readonly key = META_KEY;
  constructor(private readonly appliedIndex: number) {}

  get value(): Uint8Array {
    return encodeCanonical({ appliedIndex: this.appliedIndex, v: CATALOG_RECORD_VERSION });
  }
}

export type DecodedRecord =
  | { type: 'resource'; resource: Resource }
  | { type: 'session'; session: Session }
  | { type: 'sync'; entry: SyncStatusEntry }
  | { type: 'syncDigest'; digest: SiteSyncDigest }
  | { type: 'audit'; entry: AuditEntry }
  | { type: 'audit-meta'; droppedThrough: number }
  | { type: 'meta'; appliedIndex: number };

/** Throws CatalogFormatError naming the key when a record is unreadable or of an unknown version. */
export function decodeRecord(key: string, value: Uint8Array): DecodedRecord {
  let body: unknown;
  try {
    body = decodeMsgpack(value);
  } catch {
    throw new CatalogFormatError(`catalog record ${key} is not valid msgpack`);
  }
  if (!isPlainObject(body)) throw new CatalogFormatError(`catalog record ${key} is not an object`);
  // The encoder refuses such a value, so this agent never wrote it; accepted here it would make the
  // next snapshot() throw (on every site that restored it) instead of failing at the door.
  if (exceedsDepth(body, MAX_VALUE_DEPTH)) {
    throw new CatalogFormatError(`catalog record ${key} is nested more than ${MAX_VALUE_DEPTH} levels deep (no agent writes such a record)`);
  }
  if (body.v !== CATALOG_RECORD_VERSION) {
    throw new CatalogFormatError(
      `catalog record ${key} has format version ${describeVersion(body.v)}; this agent reads version ${CATALOG_RECORD_VERSION} (upgrade the agent)`,
    );
  }
  if (key === META_KEY) return { type: 'meta', appliedIndex: requireIndex(body.appliedIndex, key) };
  if (key === AUDIT_META_KEY) return { type: 'audit-meta', droppedThrough: requireIndex(body.droppedThrough, key) };
  if (key.startsWith(RESOURCE_PREFIX)) return { type: 'resource', resource: checkResource(body.resource, key) };
  if (key.startsWith(SESSION_PREFIX)) return { type: 'session', session: checkSession(body.session, key) };
  if (key.startsWith(SYNC_PREFIX)) return { type: 'sync', entry: checkSync(body.sync, key) };
  if (key.startsWith(SYNC_DIGEST_PREFIX)) return { type: 'syncDigest', digest: checkSyncDigest(body.syncDigest, key) };
  if (key.startsWith(AUDIT_PREFIX)) return { type: 'audit', entry: checkAudit(body.audit, key) };
  throw new CatalogFormatError(`catalog record key ${key} has an unknown prefix`);
}

function requireIndex(value: unknown, key: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new CatalogFormatError(`catalog record ${key} has no valid index`);
  }
  return value;
}

function isKind(value: unknown): value is ResourceKind {
  return typeof value === 'string' && (RESOURCE_KINDS as readonly string[]).includes(value);
}

function checkResource(value: unknown, key: string): Resource {
  if (!isPlainObject(value) || !isKind(value.kind) || typeof value.id !== 'string' || !isPlainObject(value.spec)) {
    throw new CatalogFormatError(`catalog record ${key} does not hold a resource`);
  }
  if (resourceKey(value.kind, value.id) !== key) throw new CatalogFormatError(`catalog record ${key} holds ${value.kind}/${value.id}`);
  requireIndex(value.revision, key);
  return value as unknown as Resource;
}

function checkSession(value: unknown, key: string): Session {
  if (!isPlainObject(value) || typeof value.clientId !== 'string' || !isPlainObject(value.lastResult)) {
    throw new CatalogFormatError(`catalog record ${key} does not hold a session`);
  }
  requireIndex(value.lastSeq, key);
  requireIndex(value.lastIndex, key);
  if (value.recent !== undefined) checkRecentSeqs(value.recent, key);
  return value as unknown as Session;
}

function checkRecentSeqs(value: unknown, key: string): void {
  if (!Array.isArray(value) || value.length > SESSION_RECENT_SEQS) {
    throw new CatalogFormatError(`catalog record ${key}: recent must list at most ${SESSION_RECENT_SEQS} sequences`);
  }
  for (const applied of value) {
    const shaped = Array.isArray(applied) && (applied.length === 2 || (applied.length === 3 && typeof applied[2] === 'string'));
    if (!shaped) throw new CatalogFormatError(`catalog record ${key}: recent holds ${JSON.stringify(applied)}, not [seq, index] or [seq, index, code]`);
    requireIndex(applied[0], key);
    requireIndex(applied[1], key);
  }
}

function checkSync(value: unknown, key: string): SyncStatusEntry {
  if (
    !isPlainObject(value) ||
    typeof value.site !== 'string' ||
    !isKind(value.kind) ||
    typeof value.id !== 'string' ||
    !SYNC_STATES.includes(value.state as never)
  ) {
    throw new CatalogFormatError(`catalog record ${key} does not hold a sync status entry`);
  }
  return value as unknown as SyncStatusEntry;
}

function checkSyncDigest(value: unknown, key: string): SiteSyncDigest {
  if (!isPlainObject(value) || typeof value.site !== 'string' || syncDigestKey(value.site) !== key) {
    throw new CatalogFormatError(`catalog record ${key} does not hold a sync digest`);
  }
  requireIndex(value.through, key);
  requireIndex(value.throughAt, key);
  return value as unknown as SiteSyncDigest;
}

function checkAudit(value: unknown, key: string): AuditEntry {
  if (!isPlainObject(value) || typeof value.clientId !== 'string' || typeof value.outcome !== 'string' || !Array.isArray(value.targets)) {
    throw new CatalogFormatError(`catalog record ${key} does not hold an audit entry`);
  }
  if (auditKey(requireIndex(value.index, key)) !== key) throw new CatalogFormatError(`catalog record ${key} holds the audit entry of index ${String(value.index)}`);
  requireIndex(value.time, key);
  requireIndex(value.seq, key);
  for (const target of value.targets) {
    if (!isPlainObject(target) || !isKind(target.kind) || typeof target.id !== 'string' || typeof target.op !== 'string') {
      throw new CatalogFormatError(`catalog record ${key} holds a malformed audit target`);
    }
  }
  return value as unknown as AuditEntry;
}
