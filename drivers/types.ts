// The one interface the reconciler sees: a cloud, as resources of three kinds (flavor, image,
// quota) addressed by the caller's own ids. The specs (CloudFlavorSpec, ...) follow the catalog's
// (agent/catalog/types.ts) field for field, plus the id, so the reconciler passes `{ id, ...spec }`
// straight through; they carry the `Cloud` prefix because they are not the catalog's types (looser
// formats, an id, complete quota sets), and a name means one thing in the project.
// drivers/ imports nothing from agent/ or sim/; what means the same on both sides (ImageSource,
// ImageVisibility) is defined here and imported by the catalog.
import type { Readable } from 'node:stream';

export const CLOUD_RESOURCE_KINDS = ['flavor', 'image', 'quota'] as const;
export type CloudResourceKind = (typeof CLOUD_RESOURCE_KINDS)[number];

/** -1 means unlimited in every OpenStack quota. */
export const UNLIMITED = -1;

// ---------------------------------------------------------------- flavors

export interface CloudFlavorSpec {
  /** Nova flavor id (string), the same on every site. */
  id: string;
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
  /** Projects given access to a private flavor (os-flavor-access); must be empty when isPublic. */
  accessProjects?: string[];
}

/** A flavor as read back from the cloud: the spec's fields plus what only the cloud knows. */
export interface CloudFlavor extends Omit<CloudFlavorSpec, 'extraSpecs' | 'description' | 'accessProjects'> {
  /** Without stackraft's own marker keys. */
  extraSpecs: Record<string, string>;
  /** Absent when Nova has none. */
  description?: string;
  /** Sorted; empty for public flavors. */
  accessProjects: string[];
  /** Carries this cluster's marker (or a marker without a cluster id): the only flavors stackraft may change or delete. */
  managed: boolean;
  /** Marked by a release that wrote no cluster id (see drivers/README.md "Two clusters, one cloud"). */
  legacyMarker?: true;
  /** Marked by another stackraft cluster, named here (then managed is false). */
  foreignCluster?: string;
}

// ---------------------------------------------------------------- images

export const IMAGE_VISIBILITIES = ['public', 'community'] as const;
export type ImageVisibility = (typeof IMAGE_VISIBILITIES)[number];

export interface ImageSource {
  /** http or https, without credentials. */
  url: string;
  /** Lower-case hex digests; at least one is present. */
  sha256?: string;
  sha512?: string;
}

export interface CloudImageSpec {
  /** Glance image id: a lower-case UUID, the same on every site. */
  id: string;
  name: string;
  diskFormat: string;
  containerFormat: string;
  visibility: ImageVisibility;
  /** GiB */
  minDisk: number;
  /** MiB */
  minRam: number;
  protected: boolean;
  /** Custom Glance properties (string values), without stackraft's own. */
  properties: Record<string, string>;
  tags: string[];
  source: ImageSource;
}

export interface CloudImage {
  id: string;
  name: string;
  diskFormat: string;
  containerFormat: string;
  /** Operator images may also be 'private' or 'shared'. */
  visibility: string;
  minDisk: number;
  minRam: number;
  protected: boolean;
  /** Custom properties, without stackraft's markers and without the attributes Glance sets itself. */
  properties: Record<string, string>;
  /** Sorted. */
  tags: string[];
  /** Where stackraft took the bits from (recorded on managed images only). */
  source?: ImageSource;
  /** Glance status: 'active' once the bits are in; 'queued' while they are not (an upload failed or is pending). */
  status: string;
  sizeBytes: number | null;
  /** Glance's own digest of the stored bits (usually sha512). */
  osHashAlgo: string | null;
  osHashValue: string | null;
  managed: boolean;
  /** Marked by a release that wrote no cluster id (see drivers/README.md "Two clusters, one cloud"). */
  legacyMarker?: true;
  /** Marked by another stackraft cluster, named here (then managed is false). */
  foreignCluster?: string;
}

/** The bits of an active image, opened for reading (CloudDriver.downloadImage). */
export interface CloudImageDownload {
  /** The image as Glance described it just before the download. */
  image: CloudImage;
  /** The bits; destroy it to stop early. */
  body: Readable;
  /** Glance's md5 of the bits (Content-MD5, its `checksum`), when it sent one. */
  md5: string | null;
  /** Content-Length, when sent. */
  sizeBytes: number | null;
}

// ---------------------------------------------------------------- quotas

export interface ComputeQuotaSet {
  cores: number;
  instances: number;
  /** MiB */
  ram: number;
  keyPairs: number;
  serverGroups: number;
}

export interface VolumeQuotaSet {
  volumes: number;
  gigabytes: number;
  snapshots: number;
  backups: number;
}

export interface NetworkQuotaSet {
  networks: number;
  subnets: number;
  ports: number;
  routers: number;
  floatingIps: number;
  securityGroups: number;
}

/** Desired limits: only the limits given are set; the others keep whatever the cloud has. */
export interface CloudQuotaSpec {
  /** Keystone project id. */
  project: string;
  compute?: Partial<ComputeQuotaSet>;
  volume?: Partial<VolumeQuotaSet>;
  network?: Partial<NetworkQuotaSet>;
}

/** A project's quota set as the cloud has it: one part per service the cloud has. */
export interface CloudQuota {
  project: string;
  compute?: ComputeQuotaSet;
  volume?: VolumeQuotaSet;
  network?: NetworkQuotaSet;
}

export type QuotaPart = 'compute' | 'volume' | 'network';

// ---------------------------------------------------------------- the driver

/** Which services this cloud has (a service absent from the Keystone catalog is simply skipped). */
export interface CloudCapabilities {
  hasCompute: boolean;
  hasImage: boolean;
  hasVolume: boolean;
  hasNetwork: boolean;
}

export interface CloudWriteResult<T> {
  /** The resource as the cloud has it after the write. */
  resource: T;
  /** The resource was deleted and created again with the same id (Nova flavors are immutable). */
  replaced: boolean;
  /** Things the operator should know (a replace, a skipped quota part, an adopted half-created resource). */
  warnings: string[];
}

export interface UpdateOptions {
  /**
   * Whether a change Nova cannot make in place (vcpus, ram, disk, ...) may be done as delete +
   * create with the same id. Default true; false makes such an update fail with NotSupportedError.
   */
  allowReplace?: boolean;
}

/**
 * The contract every cloud implements (MemoryCloud, OpenStackDriver). Errors are CloudError
 * subclasses (errors.ts). Rules shared by all kinds:
 * - `list` returns only resources stackraft manages; `get` returns any resource with the id
 *   (with `managed` telling whose it is), or undefined.
 * - `create` of an id that exists: returns the existing resource when it is managed and already
 *   equal to the spec (a retried create is harmless), resumes a managed image whose upload never
 *   finished, and otherwise fails with ConflictError.
 * - `update` and `delete` of a missing id: NotFoundError; of an unmanaged one: NotManagedError.
 * - Quotas: a project's quota set is managed when the catalog names the project, so `listQuotas`
 *   takes the project ids; `deleteQuota` resets the project to the cloud's defaults.
 */
export interface CloudDriver {
  /** 'memory' or 'openstack' (for logs). */
  readonly driverName: string;
  capabilities(): Promise<CloudCapabilities>;

  listFlavors(): Promise<CloudFlavor[]>;
  getFlavor(id: string): Promise<CloudFlavor | undefined>;
  createFlavor(spec: CloudFlavorSpec): Promise<CloudWriteResult<CloudFlavor>>;
  updateFlavor(spec: CloudFlavorSpec, options?: UpdateOptions): Promise<CloudWriteResult<CloudFlavor>>;
  deleteFlavor(id: string): Promise<void>;
  /** Optional (import): every flavor, whoever owns it, with the ownership fields. */
  listAllFlavors?(): Promise<CloudFlavor[]>;
  /** Optional (import --apply): writes this cluster's marker on an existing flavor, nothing else. */
  claimFlavor?(id: string): Promise<CloudFlavor>;

  listImages(): Promise<CloudImage[]>;
  getImage(id: string): Promise<CloudImage | undefined>;
  createImage(spec: CloudImageSpec): Promise<CloudWriteResult<CloudImage>>;
  updateImage(spec: CloudImageSpec): Promise<CloudWriteResult<CloudImage>>;
  deleteImage(id: string): Promise<void>;
  /** Optional (import --kind image): every image, whoever owns it, with the ownership fields. */
  listAllImages?(): Promise<CloudImage[]>;
  /** Optional (image create --from-glance): opens the bits of an active image, whoever owns it. */
  downloadImage?(id: string): Promise<CloudImageDownload>;
  /**
   * Optional (adoption at the origin): marks an existing active image whose Glance digest is the
   * spec's as this cluster's, bits untouched (drivers/ops/images.ts claimImage).
   */
  claimImage?(spec: CloudImageSpec): Promise<CloudImage>;

  listQuotas(projects: readonly string[]): Promise<CloudQuota[]>;
  getQuota(project: string): Promise<CloudQuota>;
  createQuota(spec: CloudQuotaSpec): Promise<CloudWriteResult<CloudQuota>>;
  updateQuota(spec: CloudQuotaSpec): Promise<CloudWriteResult<CloudQuota>>;
  deleteQuota(project: string): Promise<CloudWriteResult<CloudQuota>>;

  /** Releases connections; the driver is unusable afterwards. */
  close(): Promise<void>;
}

// ---------------------------------------------------------------- injected environment

/** Same shape as consensus/ports Logger (and pino), restated so drivers/ stays a leaf. */
export interface DriverLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export const silentDriverLogger: DriverLogger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
};

/** Same shape as consensus/ports Clock: real timers in the daemon, virtual time in the simulator. */
export interface DriverClock {
  now(): number;
  setTimer(delayMs: number, callback: () => void): { cancel(): void };
}

export type Sleep = (ms: number) => Promise<void>;

export function sleepOn(clock: DriverClock): Sleep {
  return (ms) => new Promise<void>((resolve) => void clock.setTimer(ms, resolve));
}

export const realSleep: Sleep = (ms) => new Promise<void>((resolve) => setTimeout(resolve, ms));
