// The vocabulary of the catalog: resources, their specs, the commands that change them and the
// results every site computes for those commands. Plain data only (msgpack-able, comparable).
import type { AuditStamp } from './audit.js';

/** Format version of commands, stored records and snapshot images (DESIGN.md: refuse what you do not know). */
export const CATALOG_COMMAND_VERSION = 1;
export const CATALOG_RECORD_VERSION = 1;
export const CATALOG_SNAPSHOT_VERSION = 1;

import type { DrOp, DrState } from './dr-types.js';

export const RESOURCE_KINDS = ['site', 'flavor', 'image', 'quota', 'protection-group'] as const;
export type ResourceKind = (typeof RESOURCE_KINDS)[number];

/** Kinds that carry a placement selector (sites and protection groups do not). */
export const PLACED_KINDS = ['flavor', 'image', 'quota'] as const;
export type PlacedKind = (typeof PLACED_KINDS)[number];

// ---------------------------------------------------------------- specs

export type SiteRole = 'voter' | 'learner';

export interface SiteSpec {
  /** Equals the resource id; also the Raft member id. */
  name: string;
  /**
   * libp2p peer id (base58btc or CIDv1 text form). Absent only on a site waiting for its join
   * token's redemption: the joining site brings its own key, and the redemption records its id.
   */
  peerId?: string;
  /** Multiaddr strings; a `/p2p/<id>` component must name `peerId`. */
  addresses: string[];
  region: string;
  /** ISO 3166-1 alpha-2, upper case. */
  country: string;
  labels: Record<string, string>;
  role: SiteRole;
  /**
   * Present on a site added with a join token (agent/recovery/join-token.ts): until the token is
   * redeemed (`redeemedBy`, written once through the log by the joining agent with a
   * compare-and-set) members admit the site only before `expiresAt` (epoch ms).
   */
  join?: SiteJoin;
  /**
   * A key rotation in progress (`stackraft site rotate-key`, agent/recovery/key-rotation.ts): the
   * peer id of the site's new key. While it is set every member admits both ids; the rotated site
   * then switches to its new key and writes `peerId` = this and drops it, which retires the old id.
   */
  nextPeerId?: string;
}

export interface SiteJoin {
  /** Epoch ms; compared, when the redemption applies, with the time in that entry (never a site's clock). */
  expiresAt: number;
  /**
   * Who redeemed the token, written once through the log: the joining site's peer id (tokens of
   * format 2), or the nonce a site set up from a format-1 token drew. Absent until redeemed.
   */
  redeemedBy?: string;
  /** SHA-256 (hex) of the token's one-time secret (format 2); the secret itself is never in the log. */
  secretHash?: string;
}

export interface FlavorSpec {
  name: string;
  vcpus: number;
  /** MiB */
  ram: number;
  /** GiB */
  disk: number;
  /** GiB */
  ephemeral: number;
  /** MiB */
  swap: number;
  rxtxFactor: number;
  isPublic: boolean;
  extraSpecs: Record<string, string>;
  description?: string;
  /** Projects given access to a private flavor (Nova os-flavor-access), sorted; absent when none. */
  accessProjects?: string[];
}

export const DISK_FORMATS = ['raw', 'qcow2', 'vmdk', 'vdi', 'iso', 'ploop', 'vhd', 'vhdx', 'aki', 'ari', 'ami'] as const;
export type DiskFormat = (typeof DISK_FORMATS)[number];
export const CONTAINER_FORMATS = ['bare', 'ovf', 'ova', 'aki', 'ari', 'ami', 'docker', 'compressed'] as const;
export type ContainerFormat = (typeof CONTAINER_FORMATS)[number];
// Where an image's bits come from and who may see it mean the same to the catalog and to a cloud:
// defined once, in the drivers' vocabulary (agent/ may import drivers/, not the other way).
export { IMAGE_VISIBILITIES, type ImageSource, type ImageVisibility } from '../../drivers/types.js';
import type { ImageSource, ImageVisibility } from '../../drivers/types.js';

/**
 * The catalog's image source: the URL and digests a cloud sees, plus where the bits came in. For
 * bits that travel over the peer network (kind `file` or `glance`) `blob` names them in the sites'
 * blob stores (agent/blobs), `origin` is the site that first held them whole, and `url` is
 * `blobSourceUrl(root)`: a name under the reserved `.invalid` domain that no resolver answers, which
 * each site's driver opens from its own blob store (agent/blobs/local-source.ts).
 */
export interface CatalogImageSource extends ImageSource {
  kind?: ImageSourceKind;
  blob?: ImageBlob;
  origin?: string;
}

export const IMAGE_SOURCE_KINDS = ['url', 'file', 'glance'] as const;
export type ImageSourceKind = (typeof IMAGE_SOURCE_KINDS)[number];

export interface ImageBlob {
  /** The blob's manifest root (agent/blobs/format.ts). */
  root: string;
  size: number;
  /** Glance's `checksum` of the bits. */
  md5: string;
}

export const BLOB_SOURCE_HOST = 'blob.stackraft.invalid';

export function blobSourceUrl(root: string): string {
  return `http://${BLOB_SOURCE_HOST}/${root}`;
}

export interface ImageSpec {
  name: string;
  diskFormat: DiskFormat;
  containerFormat: ContainerFormat;
  visibility: ImageVisibility;
  /** GiB */
  minDisk: number;
  /** MiB */
  minRam: number;
  protected: boolean;
  properties: Record<string, string>;
  /** Sorted, unique. */
  tags: string[];
  source: CatalogImageSource;
}

/**
 * A quota spec's limits, by group (one per OpenStack service: Nova, Cinder, Neutron). The one list of
 * them: validation, the admin API's checks and the CLI's options all read it. `ram` is in MiB.
 */
export const QUOTA_GROUPS = {
  compute: ['cores', 'instances', 'ram', 'keyPairs', 'serverGroups'],
  volume: ['volumes', 'gigabytes', 'snapshots', 'backups'],
  network: ['networks', 'subnets', 'ports', 'routers', 'floatingIps', 'securityGroups'],
} as const;
export type QuotaGroup = keyof typeof QUOTA_GROUPS;

/** -1 = unlimited. Every field optional: only the limits given are enforced on the clouds. */
export type QuotaLimits<G extends QuotaGroup> = { [field in (typeof QUOTA_GROUPS)[G][number]]?: number };
export type ComputeQuota = QuotaLimits<'compute'>;
export type VolumeQuota = QuotaLimits<'volume'>;
export type NetworkQuota = QuotaLimits<'network'>;

export interface QuotaSpec {
  /** Keystone project id; equals the resource id. */
  project: string;
  compute?: ComputeQuota;
  volume?: VolumeQuota;
  network?: NetworkQuota;
}

export type ReplicationType = 'sync' | 'async';
export const PROTECTION_GROUP_STATUSES = ['active', 'failing-over', 'failed-over', 'failing-back', 'error'] as const;
export type ProtectionGroupStatus = (typeof PROTECTION_GROUP_STATUSES)[number];

/** Primary-site id -> secondary-site id. */
export interface ProtectionGroupMappings {
  networks: Record<string, string>;
  flavors: Record<string, string>;
  securityGroups: Record<string, string>;
}

export interface ProtectionGroupSpec {
  /** Equals the resource id. */
  name: string;
  project: string;
  replicationType: ReplicationType;
  /** Site names: both exist as `site` resources and differ. */
  primarySite: string;
  secondarySite: string;
  volumeType: string;
  /** Nova server ids (lower-case UUIDs), unique. */
  members: string[];
  mappings: ProtectionGroupMappings;
  status: ProtectionGroupStatus;
  /** Never decreases. */
  failoverEpoch: number;
}

export interface SpecByKind {
  site: SiteSpec;
  flavor: FlavorSpec;
  image: ImageSpec;
  quota: QuotaSpec;
  'protection-group': ProtectionGroupSpec;
}

// ---------------------------------------------------------------- placement

export type PlacementField = 'region' | 'country' | 'site' | 'label';
export type PlacementOperator = 'in' | 'notin' | '=' | '!=';

export interface PlacementRequirement {
  field: PlacementField;
  /** Label key, only when field = 'label'. */
  key?: string;
  operator: PlacementOperator;
  /** Sorted, unique; one value for '=' and '!='. */
  values: string[];
}

/** Stored, parsed form; `text` is what the operator wrote (or a rendering of the site list). */
export type Placement =
  | { type: 'all'; text: string }
  | { type: 'sites'; text: string; sites: string[] }
  | { type: 'selector'; text: string; requirements: PlacementRequirement[] };

/**
 * What a writer gives: 'all' or '*' (every site), an array of site names, or a selector expression
 * such as `country in (CA, US), region != us-east`.
 */
export type PlacementInput = string | string[];

/** The site fields a placement is evaluated against (a SiteSpec fits). */
export interface PlacementTarget {
  name: string;
  region: string;
  country: string;
  labels: Readonly<Record<string, string>>;
}

// ---------------------------------------------------------------- resources

export interface ResourceOf<K extends ResourceKind> {
  kind: K;
  id: string;
  spec: SpecByKind[K];
  /** Present on placed kinds (flavor, image, quota). */
  placement?: Placement;
  /** Log index of the entry that last changed this resource. */
  revision: number;
  /** Command time (ms since epoch) of the creating and of the last changing command. */
  createdAt: number;
  updatedAt: number;
  /** The last change was a forced write: why, at which index and command time. */
  forced?: { reason: string; index: number; time: number };
  /** Protection groups only, once one has been through a DR operation (dr-types.ts). */
  dr?: DrState;
}

export type Resource = { [K in ResourceKind]: ResourceOf<K> }[ResourceKind];

// ---------------------------------------------------------------- commands

/**
 * put: create or replace the whole spec. Without `placement`, an existing resource keeps its
 * placement and a new one is placed on all sites.
 * patch: JSON merge patch (RFC 7386) into the current spec: nested maps such as labels or
 * extraSpecs merge key by key; a key given as null is removed, so it takes its default again or
 * fails validation if required; arrays replace. `placement`, if given, replaces it.
 * delete: remove.
 * expectedRevision: compare-and-set on the current revision; 0 = must not exist.
 */
export interface PutOp {
  op: 'put';
  kind: ResourceKind;
  id: string;
  spec: object;
  placement?: PlacementInput;
  expectedRevision?: number;
}

export interface PatchOp {
  op: 'patch';
  kind: ResourceKind;
  id: string;
  spec?: object;
  placement?: PlacementInput;
  expectedRevision?: number;
}

export interface DeleteOp {
  op: 'delete';
  kind: ResourceKind;
  id: string;
  expectedRevision?: number;
}

export type WriteOp = PutOp | PatchOp | DeleteOp | DrOp;

export interface CommandEnvelope {
  v: typeof CATALOG_COMMAND_VERSION;
  /** Stable per writer (e.g. `cli/<uuid>`, `reconciler/<site>`); 1..128 characters. */
  clientId: string;
  /** Positive integer, increasing per client. */
  seq: number;
  /** Milliseconds since the epoch, stamped by the proposer; apply uses it as is. */
  time: number;
  /**
   * Set when the operator forced the write past a liveness requirement (e.g. an unplanned failover
   * while a protection group's site is down): the reason, recorded on every resource it changes.
   */
  forced?: string;
  /** Who asked and why (agent/catalog/audit.ts); kept in the audit ring. Absent: recorded without a name. */
  audit?: AuditStamp;
}

/** An atomic batch: all ops apply or none. */
export interface WriteCommand extends CommandEnvelope {
  type?: 'write';
  ops: WriteOp[];
}

/** `fetching`: an image's bits are on their way to the site over the peer network (the message says how far). */
export type SyncState = 'in-sync' | 'pending' | 'fetching' | 'error' | 'unreachable';
export const SYNC_STATES: readonly SyncState[] = ['in-sync', 'pending', 'fetching', 'error', 'unreachable'];

/** One site's convergence state for one resource, as its reconciler sees it. */
export interface SyncReport {
  site: string;
  kind: ResourceKind;
  id: string;
  state: SyncState;
  message?: string;
  /** Catalog revision of the resource the report is about (0 when unknown). */
  revision?: number;
}

export interface SyncStatusCommand extends CommandEnvelope {
  type: 'syncStatus';
  /** Per-resource reports: what is not plainly in sync (and what became so again). May be empty with a digest. */
  reports: SyncReport[];
  /** The site's claim that it converged every resource placed on it up to a revision (sync-status.ts). */
  digest?: SyncDigestReport;
}

/**
 * "Every flavor, image and quota placed on `site` whose revision, and the site record's, is at most
 * `through` is in sync here, except where a report (an exception) says otherwise."
 */
export interface SyncDigestReport {
  site: string;
  through: number;
}

/** What the catalog keeps per site (record `d/<site>`; the exceptions are `y/` entries of their own). */
export interface SiteSyncDigest {
  site: string;
  through: number;
  /** Command time of the report that last moved `through`. */
  throughAt: number;
}

export type CatalogCommand = WriteCommand | SyncStatusCommand;

// ---------------------------------------------------------------- results

export interface OkResult {
  ok: true;
  /** One per op: the log index the op was applied at (its new revision; for delete, the deleting index).
   *  An op that changed nothing (same spec and placement) reports the unchanged revision. */
  revisions: number[];
  /** Set on a leader's empty entry or a non-Normal entry. */
  noop?: true;
}

export interface ValidationFailure {
  ok: false;
  code: 'VALIDATION';
  /** Path of the offending field: 'spec.vcpus', 'placement', 'id', 'kind', 'v', 'command', ... */
  field: string;
  message: string;
  /** Index of the offending op; absent for command-level problems. */
  opIndex?: number;
}

export interface ConflictFailure {
  ok: false;
  code: 'CONFLICT';
  kind: ResourceKind;
  id: string;
  expected: number;
  /** Current revision, 0 if absent. */
  current: number;
  message: string;
  opIndex: number;
}

export interface NotFoundFailure {
  ok: false;
  code: 'NOT_FOUND';
  kind: ResourceKind;
  id: string;
  message: string;
  opIndex: number;
}

export interface StaleSequenceFailure {
  ok: false;
  code: 'STALE_SEQUENCE';
  clientId: string;
  seq: number;
  lastSeq: number;
  message: string;
}

export type CommandFailure = ValidationFailure | ConflictFailure | NotFoundFailure | StaleSequenceFailure;
export type CommandResult = OkResult | CommandFailure;

// ---------------------------------------------------------------- bookkeeping state

export interface Session {
  clientId: string;
  lastSeq: number;
  /** Log index of the entry that last advanced this session (the LRU order). */
  lastIndex: number;
  lastResult: CommandResult;
  /**
   * The client's last SESSION_RECENT_SEQS applied sequences, oldest first, the last one included:
   * `[seq, index]` when it succeeded, `[seq, index, code]` when the catalog rejected it. Absent in
   * sessions recorded before it existed (then only `lastSeq` is known).
   */
  recent?: AppliedSeq[];
}

export type AppliedSeq = [seq: number, index: number] | [seq: number, index: number, rejected: CommandFailure['code']];

export interface SyncStatusEntry {
  site: string;
  kind: ResourceKind;
  id: string;
  state: SyncState;
  message: string;
  revision: number;
  /** Command time when `state` last changed. */
  since: number;
  /** Command time of the last report that changed anything. */
  updatedAt: number;
}

export interface SyncMatrixRow {
  kind: ResourceKind;
  id: string;
  /** site name -> entry; a site with no entry has not reported. */
  cells: Record<string, SyncStatusEntry>;
}

export interface SyncMatrix {
  /** Every site in the catalog plus any site that reported, sorted. */
  sites: string[];
  /** Sorted by kind then id. */
  rows: SyncMatrixRow[];
}
