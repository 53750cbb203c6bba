// One level below CloudDriver: the OpenStack service operations themselves, one call per REST
// request, in OpenStack's own terms. The OpenStack driver implements these over HTTP; MemoryCloud
// implements them over its in-memory model. The same driver logic (ops/) runs on both, so a create
// that takes four Nova calls can fail between any two of them in the simulator, as it can for real.
import type { Readable } from 'node:stream';

export interface NovaFlavor {
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
  description: string | null;
  extraSpecs: Record<string, string>;
}

export type NovaFlavorCreate = Omit<NovaFlavor, 'extraSpecs'>;

/** OpenStack quota keys and values (nova: cores, ram, key_pairs, ...; neutron: network, port, ...). */
export type QuotaValues = Record<string, number>;

export interface QuotaApi {
  get(project: string): Promise<QuotaValues>;
  /** Sets only the keys given. */
  set(project: string, values: QuotaValues): Promise<void>;
  /** Back to the cloud's defaults. */
  reset(project: string): Promise<void>;
}

export interface ComputeApi {
  /** Every flavor, public and private, with extra specs. */
  listFlavors(): Promise<NovaFlavor[]>;
  getFlavor(id: string): Promise<NovaFlavor | undefined>;
  createFlavor(flavor: NovaFlavorCreate): Promise<NovaFlavor>;
  setFlavorDescription(id: string, description: string | null): Promise<void>;
  deleteFlavor(id: string): Promise<void>;
  /** Adds or overwrites the keys given. */
  setExtraSpecs(id: string, specs: Record<string, string>): Promise<void>;
  deleteExtraSpec(id: string, key: string): Promise<void>;
  /** Private flavors only. */
  listFlavorAccess(id: string): Promise<string[]>;
  addFlavorAccess(id: string, project: string): Promise<void>;
  removeFlavorAccess(id: string, project: string): Promise<void>;
  quotas: QuotaApi;
}

export interface GlanceImage {
  id: string;
  name: string | null;
  status: string;
  visibility: string;
  protected: boolean;
  diskFormat: string | null;
  containerFormat: string | null;
  minDisk: number;
  minRam: number;
  size: number | null;
  osHashAlgo: string | null;
  osHashValue: string | null;
  tags: string[];
  /** Custom properties only (base attributes excluded). */
  properties: Record<string, string>;
}

export interface GlanceImageCreate {
  id: string;
  name: string;
  diskFormat: string;
  containerFormat: string;
  visibility: string;
  minDisk: number;
  minRam: number;
  protected: boolean;
  tags: string[];
  properties: Record<string, string>;
}

/** The bits of an active image as Glance serves them (GET /v2/images/{id}/file). */
export interface GlanceImageData {
  body: Readable;
  /** Glance's Content-MD5 header (its `checksum`), when it sent one. */
  md5: string | null;
  /** Content-Length, when it sent one. */
  sizeBytes: number | null;
}

/** Glance's JSON patch (media type application/openstack-images-v2.1-json-patch). */
export type ImagePatchOp =
  | { op: 'add' | 'replace'; path: string; value: string | number | boolean | string[] }
  | { op: 'remove'; path: string };

export interface ImageApi {
  /** Every image whose custom property `key` equals `value`, of any visibility, all pages. */
  listImagesWithProperty(key: string, value: string): Promise<GlanceImage[]>;
  getImage(id: string): Promise<GlanceImage | undefined>;
  /** Every image of any visibility, all pages (an import reads these; the reconciler never does). */
  listAllImages(): Promise<GlanceImage[]>;
  /** Opens the bits of an active image; a 204 (no data) or any error status fails. Destroy `body` to stop early. */
  downloadImageData(id: string): Promise<GlanceImageData>;
  createImage(image: GlanceImageCreate): Promise<GlanceImage>;
  patchImage(id: string, ops: ImagePatchOp[]): Promise<GlanceImage>;
  /** Streams the bits into a queued image. Destroying `body` aborts the upload (the image stays queued). */
  uploadImageData(id: string, body: Readable): Promise<void>;
  deleteImage(id: string): Promise<void>;
}

/** The services a cloud has; an absent one is skipped (CloudCapabilities). */
export interface ServiceApis {
  compute?: ComputeApi;
  image?: ImageApi;
  volumeQuotas?: QuotaApi;
  networkQuotas?: QuotaApi;
}
