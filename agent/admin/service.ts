// The boundary between the admin socket and the daemon. The admin server (server.ts) calls only
// this interface; the daemon implements it over the replica, catalog and reconciler; tests fake it.
// Everything crossing it is plain JSON-able data: no class instances, no functions, no Uint8Array.
// Failures that are part of the domain (refused, rejected, unknown) are returned as values, never
// thrown; a thrown error means a bug and becomes HTTP 500.
import type { BlobFetchProgress } from '../blobs/fetcher.js';
import type { BlobUploads } from '../blobs/uploads.js';
import type { GlanceAdoptions } from '../blobs/glance-adopt.js';
import type { RefusalCode } from '../../consensus/ports.js';
import type { Role } from '../../consensus/types.js';
import { RESOURCE_KINDS, type ResourceKind } from '../catalog/types.js';

export type { RefusalCode } from '../../consensus/ports.js';

/** Resource kinds the catalog holds: its own definition (agent/catalog/types.ts). */
export { RESOURCE_KINDS, type ResourceKind };

export function isResourceKind(value: string): value is ResourceKind {
  return (RESOURCE_KINDS as readonly string[]).includes(value);
}

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

// ---------------------------------------------------------------- resources and reads

export interface ResourceView {
  kind: ResourceKind;
  id: string;
  /** Log index of the entry that last changed this resource. */
  revision: number;
  /** The catalog's normalized spec (agent/catalog/types.ts: SiteSpec, FlavorSpec, ...). */
  spec: JsonObject;
  /** Where a placed kind (flavor, image, quota) goes, as text ('all', a selector); null for other kinds. */
  placement: string | null;
  /** The last change was forced past a liveness requirement: the operator's reason. */
  forced?: { reason: string; index: number; time: number };
  /** Protection groups that have been through a DR operation: its state (agent/catalog/dr-types.ts DrState). */
  dr?: JsonObject;
}

export interface ReadOptions {
  /** Serve through ReadIndex (confirmed by the leader with a quorum) instead of the local state. */
  linearizable: boolean;
}

/** How fresh a read is. */
export interface ReadMeta {
  /** Catalog index the answer reflects. */
  appliedIndex: number;
  /** Commit index this agent knows of (appliedIndex may trail it). */
  commitIndex: number;
  linearizable: boolean;
  /**
   * Local reads: milliseconds since this agent last heard from a leader (0 on the leader while it has
   * a quorum); the answer includes every write committed before about that long ago. null when no
   * leader has been heard from. Linearizable reads: 0.
   */
  stalenessMs: number | null;
}

export type ReadOutcome<T> =
  | { status: 'ok'; value: T; meta: ReadMeta }
  /** Only linearizable reads are refused (no leader, no quorum). */
  | { status: 'refused'; code: RefusalCode; message: string; leader?: string };

// ---------------------------------------------------------------- writes

/**
 * The catalog's write ops (agent/catalog/types.ts), as the admin API carries them.
 * - `expectedRevision` (compare-and-set): absent = unconditional; 0 = the resource must not exist
 *   yet; N > 0 = its current revision must be N. A mismatch is rejected as CONFLICT.
 * - `placement` (flavor, image, quota): 'all' (or '*') or a selector such as
 *   `country in (CA, US), region != us-east`. Absent: a new resource goes to every site, an
 *   existing one keeps its placement. (The admin API maps a JSON null to 'all'.)
 * - `patch` is a JSON merge patch (RFC 7386) of the spec: nested maps (extraSpecs, compute, ...)
 *   merge key by key, arrays replace, null removes a key.
 */
export type WriteOp =
  | { op: 'put'; kind: ResourceKind; id: string; spec: JsonObject; placement?: string; expectedRevision?: number }
  | { op: 'patch'; kind: ResourceKind; id: string; patch: JsonObject; placement?: string; expectedRevision?: number }
  | { op: 'delete'; kind: ResourceKind; id: string; expectedRevision?: number }
  /** A disaster-recovery operation on a protection group (agent/catalog/dr-types.ts); built by the admin server, not a batch op. */
  | { op: 'dr'; kind: 'protection-group'; id: string; action: 'failover' | 'failback' | 'test-failover' | 'test-cleanup'; epoch: number; from?: string; to?: string; site?: string };

export interface WriteOptions {
  /** Write even though a site the operation names is unreachable (only where the catalog defines it). */
  force: boolean;
  /** Why: required with force; recorded with the entry (the audit ring keeps it for every write). */
  reason?: string;
  /** Who asked (the CLI's --operator, else the login user) and from which host: kept in the audit ring. */
  operator?: string;
  host?: string;
  /**
   * Exactly-once identity (DESIGN.md): a retry with the same clientId and seq is applied at most once.
   * The admin server always fills them (it generates them when the request carried none).
   */
  clientId: string;
  seq: number;
  /** How long to wait for the outcome before answering `unknown`; the service's default when absent. */
  timeoutMs?: number;
}

/** The canonical write id for a client id and sequence: what writeStatus() accepts. */
export { writeIdOf as writeIdFor } from '../catalog/write-id.js';

/** The client id and sequence a write id names, or null when it is not `CLIENT_ID:SEQ` (SEQ a positive integer). */
export { parseWriteId } from '../catalog/write-id.js';

export interface ResourceRevision {
  kind: ResourceKind;
  id: string;
  /** The revision the resource now has (for a delete: the index of the delete). */
  revision: number;
}

export type RejectionCode = 'VALIDATION' | 'CONFLICT';

export type WriteOutcome =
  | { status: 'committed'; writeId: string; index: number; revisions: ResourceRevision[] }
  /** Refused before anything was proposed: nothing was written. */
  | { status: 'refused'; code: RefusalCode; message: string; leader?: string; member?: string }
  /** Committed to the log but rejected by the catalog's apply: nothing changed. */
  | {
      status: 'rejected';
      code: RejectionCode;
      message: string;
      /** Field path inside the op, e.g. `spec.vcpus`. */
      field?: string;
      /** Position of the offending op in a batch. */
      opIndex?: number;
      /** Extra JSON details from the catalog (e.g. expectedRevision, actualRevision). */
      details?: JsonObject;
    }
  /** Proposed but no outcome within the timeout: it may still commit. Ask writeStatus(writeId). */
  | { status: 'unknown'; writeId: string; message: string };

/** What became of a write (agent/write/catalog-writer.ts `WriteStatus`): never more than the log proves. */
export type WriteStatusView =
  | { writeId: string; status: 'committed'; index: number; revisions: ResourceRevision[] }
  | { writeId: string; status: 'rejected'; index: number; code: RejectionCode; message: string; field?: string }
  /** Being proposed by the agent asked, right now. */
  | { writeId: string; status: 'pending'; message: string }
  /**
   * Not applied as of `asOfIndex` (confirmed with the leader). `final`: it never can be; otherwise a
   * copy still in flight may yet commit, and only a retry with the same client id and seq is safe.
   */
  | { writeId: string; status: 'not-committed'; final: boolean; asOfIndex: number; message: string }
  /** The log no longer says (older than the client's remembered writes), or the leader could not be asked. */
  | { writeId: string; status: 'unknown'; appliedIndex: number; message: string };

// ---------------------------------------------------------------- membership

export type MemberRole = 'voter' | 'learner';

export interface MemberView {
  site: string;
  role: MemberRole;
  /** Heard from within the last election timeout (as seen by this agent). */
  live: boolean;
  /** Leader's view of the replicated index; null when this agent is not the leader. */
  matchIndex: number | null;
  /** Leader's view: the voter relaying the log to this learner (absent: the leader feeds it). */
  relay?: string;
  rttMs: number | null;
  peerId?: string;
}

export interface StatusView {
  clusterId: string;
  /** This agent's site name. */
  site: string;
  peerId: string;
  role: Role;
  membership: MemberRole | 'none';
  term: number;
  /** Leader's site name, null when unknown. */
  leader: string | null;
  commitIndex: number;
  appliedIndex: number;
  members: MemberView[];
  /** Agent software version. */
  version: string;
  /** The cluster incarnation this site's disk belongs to ('' for the original; agent/recovery/incarnation.ts). */
  incarnation?: string;
}

/** A backup file (agent/recovery/backup-file.ts), base64, and the index it stands at. */
export interface BackupView {
  /** The whole file, base64. */
  backup: string;
  index: number;
  term: number;
  linearizable: boolean;
  bytes: number;
}

export interface SiteAddRequest {
  name: string;
  /** Absent for a site added with a join token: it brings its own key when it redeems the token. */
  peerId?: string;
  /** Multiaddrs other agents dial (each may end in /p2p/<peerId>). */
  addrs: string[];
  region: string;
  /** ISO 3166-1 alpha-2, upper case. */
  country: string;
  labels: Record<string, string>;
  /** Added with a join token (agent/recovery/join-token.ts): waits, without a key, for its redemption before expiresAt. */
  join?: { expiresAt: number; secretHash: string };
}

export type LeaderTransferOutcome =
  | { status: 'transferred'; leader: string; term: number }
  | { status: 'refused'; code: RefusalCode; message: string; leader?: string }
  | { status: 'rejected'; code: 'VALIDATION'; message: string }
  | { status: 'unknown'; message: string };

// ---------------------------------------------------------------- reconciliation

export type SyncState = 'in-sync' | 'pending' | 'fetching' | 'error' | 'unreachable';

export interface ResourceSyncView {
  kind: ResourceKind;
  id: string;
  /** 'present': the site should hold it; 'absent': it must go (deleted, or no longer placed there). */
  wanted: 'present' | 'absent';
  /** Revision the site should have converged to; null for a removal. */
  desiredRevision: number | null;
  /** Revision the site last converged to, null if never. */
  syncedRevision: number | null;
  state: SyncState;
  /** What the site's reconciler last said (the error, for state error). */
  message?: string;
}

export interface SiteSyncView {
  site: string;
  /** When the site last reported (ISO 8601, from the entry that carried the report), null if never. */
  reportedAt: string | null;
  resources: ResourceSyncView[];
}

export interface SyncStatusView {
  sites: SiteSyncView[];
}

// ---------------------------------------------------------------- watch

/** One committed change of a resource (a line of the watch stream). */
export interface WatchEventView {
  index: number;
  type: 'put' | 'delete';
  kind: ResourceKind;
  id: string;
  /** The resource as that entry left it; null for a delete. */
  resource: ResourceView | null;
}

/** Why a watch stream ended (its last line): COMPACTED (history lost here), STOPPING, TOO_SLOW. */
export interface WatchEndView {
  code: 'COMPACTED' | 'STOPPING' | 'TOO_SLOW';
  message: string;
  resumeFrom: number;
}

export interface WatchSink {
  onEvent(event: WatchEventView): void;
  onEnd(end: WatchEndView): void;
}

export type WatchStartView =
  | { ok: true; fromIndex: number; cancel(): void }
  | { ok: false; code: 'COMPACTED' | 'BUSY'; message: string; firstIndex: number };

// ---------------------------------------------------------------- audit trail

/** GET /v1/audit filters (agent/catalog/audit.ts AuditFilter). */
export interface AuditQuery {
  kind?: ResourceKind;
  id?: string;
  /** Entries at or after this instant (ms since the epoch). */
  sinceMs?: number;
  /** At most this many of the newest matching entries. */
  limit?: number;
}

/** One applied write as the audit ring keeps it. */
export interface AuditEntryView {
  index: number;
  /** The command's time, ISO 8601 (the proposing agent's clock). */
  time: string;
  writeId: string;
  /** Absent when the writer named none (a tool other than the CLI, an older CLI). */
  operator?: string;
  host?: string;
  /** The site whose agent took the write in. */
  site?: string;
  reason?: string;
  forced: boolean;
  /** 'committed', or the catalog's rejection code. */
  outcome: string;
  targets: Array<{ op: string; kind: ResourceKind; id: string }>;
}

export interface AuditView {
  entries: AuditEntryView[];
  /**
   * The ring: its bounds, how many entries it holds, the oldest index it still has (null: empty), and
   * the newest index it dropped to stay in bounds (0: none): every write after it is listed.
   */
  ring: { maxEntries: number; maxTargets: number; entries: number; oldestIndex: number | null; droppedThrough: number };
}

// ---------------------------------------------------------------- import (adopt what exists)

/** The kinds `stackraft import` adopts (an image's bits are taken from Glance by the CLI's --apply, through /v1/glance-adoptions). */
export const IMPORT_KINDS = ['flavor', 'quota', 'image'] as const;
export type ImportKind = (typeof IMPORT_KINDS)[number];

export interface ImportRequest {
  kind: ImportKind;
  /** Quotas have no listing: the projects whose quota sets to read. */
  projects: string[];
  /** Where the imported resources go; absent: this site only. */
  placement?: string;
  /** false: the plan only (dry run). */
  apply: boolean;
}

/** One cloud resource in an import plan. */
export interface ImportItemView {
  kind: ImportKind;
  id: string;
  name: string;
  /** import: it becomes a catalog resource; conflict: it cannot, as things stand; skip: nothing to do. */
  action: 'import' | 'conflict' | 'skip';
  detail: string;
  /** The catalog spec it would get (action import). */
  spec?: JsonObject;
  /** After --apply: what happened (imported, imported but not marked, not imported). */
  result?: string;
}

export interface ImportView {
  site: string;
  kind: ImportKind;
  placement: string;
  applied: boolean;
  items: ImportItemView[];
}

export type ImportOutcome = { status: 'ok'; value: ImportView } | { status: 'refused'; code: 'NO_CLOUD' | 'CLOUD_ERROR'; message: string };

// ---------------------------------------------------------------- the service

export interface AgentService {
  /** Uploads into this site's blob store (absent on a site built without blob ports). */
  readonly blobUploads?: BlobUploads;
  /** What this site holds of a blob and how its fetch goes (absent without blob ports). */
  blobState?(root: string): BlobStateView;
  /** Takes images' bits from this site's Glance into the blob store (absent without blob ports or a cloud). */
  readonly glanceAdoptions?: GlanceAdoptions;
  status(): Promise<StatusView>;
  /** Applies `ops` atomically (all or nothing) through the leader. */
  write(ops: WriteOp[], options: WriteOptions): Promise<WriteOutcome>;
  writeStatus(writeId: string): Promise<WriteStatusView>;
  /** value is null when the resource does not exist. */
  get(kind: ResourceKind, id: string, options: ReadOptions): Promise<ReadOutcome<ResourceView | null>>;
  list(kind: ResourceKind, options: ReadOptions): Promise<ReadOutcome<ResourceView[]>>;
  /** Registers a site (catalog record) and adds it as a learner. */
  siteAdd(request: SiteAddRequest, options: WriteOptions): Promise<WriteOutcome>;
  /** Removes a site from the membership and the catalog. */
  siteRemove(site: string, options: WriteOptions): Promise<WriteOutcome>;
  /** Learner -> voter. */
  memberPromote(site: string, options: WriteOptions): Promise<WriteOutcome>;
  /** Voter -> learner. */
  memberDemote(site: string, options: WriteOptions): Promise<WriteOutcome>;
  leaderTransfer(site: string, options: { timeoutMs?: number }): Promise<LeaderTransferOutcome>;
  syncStatus(): Promise<SyncStatusView>;
  /** A backup of the catalog and membership (`stackraft snapshot save`); optional so test fakes need not take one. */
  snapshotSave?(options: ReadOptions): Promise<ReadOutcome<BackupView>>;
  /** Committed resource changes from `fromIndex` (absent: from now on), then live, until cancelled or ended. */
  watch(filter: { fromIndex?: number; kind?: ResourceKind }, sink: WatchSink): WatchStartView;
  /** The audit trail (applied writes: who, from where, why, what). Optional so older fakes still compile. */
  audit?(query: AuditQuery, options: ReadOptions): Promise<ReadOutcome<AuditView>>;
  /** Reads resources this site's cloud already has (not managed by this cluster) and plans, or applies, their adoption. Optional so fakes still compile. */
  importResources?(request: ImportRequest, options: WriteOptions): Promise<ImportOutcome>;
  /** `stackraft site rotate-key`: starts a rotation of this site's key, or reports the one in progress (daemon only). */
  rotateKey?(): Promise<KeyRotationView>;
  /** Where this site's key rotation stands (daemon only). */
  keyRotation?(): KeyRotationView;
  /** Prometheus text exposition format. */
  metrics(): Promise<string>;
}

/** A key rotation (agent/recovery/key-rotation.ts) as the admin API shows it. */
export interface KeyRotationView {
  site: string;
  /** idle: none in progress; announcing, switching, retiring: its three steps; refused: it cannot start. */
  stage: 'idle' | 'announcing' | 'switching' | 'retiring' | 'refused';
  /** The peer id this agent runs under now. */
  peerId: string;
  /** What this site's applied catalog records for it. */
  recordedPeerId?: string;
  recordedNextPeerId?: string;
  /** The new key's peer id, while it waits on disk for the switch. */
  nextPeerId?: string;
  /** The rotation's last step, or why it waits. */
  message: string;
}

/** One blob at this site: bytes held verified, and the fetch's progress when there is one. */
export interface BlobStateView {
  root: string;
  site: string;
  heldBytes: number;
  totalBytes: number | null;
  fetch: BlobFetchProgress | null;
}
