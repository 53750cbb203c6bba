// The in-memory cloud: what Nova, Glance, Cinder and Neutron would hold, with their rules and error
// texts (flavor ids and names unique, flavor fields immutable, Glance never reusing a deleted image
// id, protected images undeletable, uploads only into queued images). Synchronous and without I/O;
// MemoryCloud and the mock HTTP server both sit on top of it. Every method returns copies.
import { CloudError, ConflictError, NotFoundError, type CloudService } from '../errors.js';
import type { GlanceImage, GlanceImageCreate, ImagePatchOp, NovaFlavor, NovaFlavorCreate } from '../service-api.js';
import { CINDER_QUOTA_DEFAULTS, NEUTRON_QUOTA_DEFAULTS, NOVA_QUOTA_DEFAULTS, QuotaTable } from './quota-table.js';
import { applyImagePatch } from './image-patch.js';

export interface CloudModelOptions {
  /** Milliseconds since the epoch (virtual in the simulator). */
  now?: () => number;
  /** Nova checks quota and flavor-access project ids with Keystone; off by default (any id accepted). */
  requireKnownProjects?: boolean;
  /** Keystone projects known from the start: id -> name. */
  projects?: Record<string, string>;
}

interface FlavorRecord extends NovaFlavor {
  access: Set<string>;
}

export interface ImageRecord extends GlanceImage {
  owner: string;
  checksum: string | null;
  createdAt: number;
  updatedAt: number;
}

export interface UploadedBits {
  sizeBytes: number;
  md5: string;
  /** null for a declared (bit-less) upload without a sha512 in the catalog. */
  sha512: string | null;
}

const IMAGE_ID = /^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$/;

function err(service: CloudService, method: string, path: string, status: number, message: string): CloudError {
  if (status === 404) return new NotFoundError({ service, method, path, status, cloudMessage: message });
  if (status === 409) return new ConflictError({ service, method, path, status, cloudMessage: message });
  const code = status === 403 ? 'FORBIDDEN' : 'BAD_REQUEST';
  return new CloudError({ code, service, method, path, status, cloudMessage: message, retryable: false });
}

function copyFlavor(r: FlavorRecord): NovaFlavor {
  const { access: _access, ...flavor } = r;
  return { ...flavor, extraSpecs: { ...r.extraSpecs } };
}

export function copyImage(r: ImageRecord): ImageRecord {
  return { ...r, tags: [...r.tags], properties: { ...r.properties } };
}

export class CloudModel {
  readonly now: () => number;
  readonly requireKnownProjects: boolean;
  private readonly projects = new Map<string, string>();
  private readonly flavors = new Map<string, FlavorRecord>();
  private readonly images = new Map<string, ImageRecord>();
  /** Ids of deleted images: Glance keeps their rows and refuses the ids until a db purge. */
  private readonly retiredImageIds = new Set<string>();
  readonly computeQuotas: QuotaTable;
  readonly volumeQuotas: QuotaTable;
  readonly networkQuotas: QuotaTable;

  constructor(options: CloudModelOptions = {}) {
    this.now = options.now ?? Date.now;
    this.requireKnownProjects = options.requireKnownProjects ?? false;
    for (const [id, name] of Object.entries(options.projects ?? {})) this.projects.set(id, name);
    const checkProject = this.requireKnownProjects ? (p: string) => this.projects.has(p) : undefined;
    this.computeQuotas = new QuotaTable('compute', NOVA_QUOTA_DEFAULTS, checkProject);
    this.volumeQuotas = new QuotaTable('volume', CINDER_QUOTA_DEFAULTS, undefined);
    this.networkQuotas = new QuotaTable('network', NEUTRON_QUOTA_DEFAULTS, undefined);
  }

  // ------------------------------------------------------------ projects

  addProject(id: string, name = id): void {
    this.projects.set(id, name);
  }

  projectIdByName(name: string): string | undefined {
    for (const [id, n] of this.projects) if (n === name) return id;
    return undefined;
  }

  projectName(id: string): string | undefined {
    return this.projects.get(id);
  }

  /** Every known project, for the mock's Keystone projects API. */
  listProjects(): Array<{ id: string; name: string }> {
    return [...this.projects].map(([id, name]) => ({ id, name }));
  }

  hasProject(id: string): boolean {
    return this.projects.has(id);
  }

  // ------------------------------------------------------------ flavors (Nova)

  private flavorRecord(id: string, method: string): FlavorRecord {
    const r = this.flavors.get(id);
    if (r === undefined) throw err('compute', method, `/flavors/${id}`, 404, `Flavor ${id} could not be found.`);
    return r;
  }

  listFlavors(): NovaFlavor[] {
    return [...this.flavors.values()].map(copyFlavor);
  }

  getFlavor(id: string): NovaFlavor {
    return copyFlavor(this.flavorRecord(id, 'GET'));
  }

  createFlavor(f: NovaFlavorCreate): NovaFlavor {
    if (this.flavors.has(f.id)) throw err('compute', 'POST', '/flavors', 409, `Flavor with ID ${f.id} already exists.`);
    for (const other of this.flavors.values()) {
      if (other.name === f.name) throw err('compute', 'POST', '/flavors', 409, `Flavor with name ${f.name} already exists.`);
    }
    const record: FlavorRecord = { ...f, extraSpecs: {}, access: new Set() };
    this.flavors.set(f.id, record);
    return copyFlavor(record);
  }

  setFlavorDescription(id: string, description: string | null): NovaFlavor {
    const r = this.flavorRecord(id, 'PUT');
    r.description = description;
    return copyFlavor(r);
  }

  deleteFlavor(id: string): void {
    this.flavorRecord(id, 'DELETE');
    this.flavors.delete(id);
  }

  setExtraSpecs(id: string, specs: Record<string, string>): Record<string, string> {
    const r = this.flavorRecord(id, 'POST');
    Object.assign(r.extraSpecs, specs);
    return { ...specs };
  }

  deleteExtraSpec(id: string, key: string): void {
    const r = this.flavorRecord(id, 'DELETE');
    if (!Object.hasOwn(r.extraSpecs, key)) {
      throw err('compute', 'DELETE', `/flavors/${id}/os-extra_specs/${key}`, 404, `Flavor ${id} has no extra specs with key ${key}.`);
    }
    delete r.extraSpecs[key];
  }

  listFlavorAccess(id: string): string[] {
    const r = this.flavorRecord(id, 'GET');
    if (r.isPublic) throw err('compute', 'GET', `/flavors/${id}/os-flavor-access`, 404, 'Access list not available for public flavors.');
    return [...r.access].sort();
  }

  addFlavorAccess(id: string, project: string): string[] {
    const r = this.flavorRecord(id, 'POST');
    const path = `/flavors/${id}/action`;
    if (r.isPublic) throw err('compute', 'POST', path, 409, 'Can not add access to a public flavor.');
    if (this.requireKnownProjects && !this.projects.has(project)) {
      throw err('compute', 'POST', path, 400, `Project ID ${project} is not a valid project.`);
    }
    if (r.access.has(project)) {
      throw err('compute', 'POST', path, 409, `Flavor access already exists for flavor ${id} and project ${project} combination.`);
    }
    r.access.add(project);
    return [...r.access].sort();
  }

  removeFlavorAccess(id: string, project: string): string[] {
    const r = this.flavorRecord(id, 'POST');
    if (!r.access.has(project)) {
      throw err('compute', 'POST', `/flavors/${id}/action`, 404, `Flavor access not found for ${id} / ${project} combination.`);
    }
    r.access.delete(project);
    return [...r.access].sort();
  }

  // ------------------------------------------------------------ images (Glance)

  private imageRecord(id: string, method: string): ImageRecord {
    const r = this.images.get(id);
    if (r === undefined) throw err('image', method, `/v2/images/${id}`, 404, `No image found with ID ${id}`);
    return r;
  }

  /** All images, newest first (Glance's default order). */
  listImages(): ImageRecord[] {
    return [...this.images.values()]
      .sort((a, b) => b.createdAt - a.createdAt || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0))
      .map(copyImage);
  }

  getImage(id: string): ImageRecord {
    return copyImage(this.imageRecord(id, 'GET'));
  }

  createImage(c: GlanceImageCreate, owner: string): ImageRecord {
    if (!IMAGE_ID.test(c.id)) throw err('image', 'POST', '/v2/images', 400, `${c.id} is not a valid UUID`);
    if (this.images.has(c.id) || this.retiredImageIds.has(c.id)) {
      throw err('image', 'POST', '/v2/images', 409, `Image ID ${c.id} already exists!`);
    }
    const t = this.now();
    const record: ImageRecord = {
      id: c.id,
      name: c.name,
      status: 'queued',
      visibility: c.visibility,
      protected: c.protected,
      diskFormat: c.diskFormat,
      containerFormat: c.containerFormat,
      minDisk: c.minDisk,
      minRam: c.minRam,
      size: null,
      checksum: null,
      osHashAlgo: null,
      osHashValue: null,
      tags: [...new Set(c.tags)],
      properties: { ...c.properties },
      owner,
      createdAt: t,
      updatedAt: t,
    };
    this.images.set(c.id, record);
    return copyImage(record);
  }

  patchImage(id: string, ops: ImagePatchOp[]): ImageRecord {
    const r = this.imageRecord(id, 'PATCH');
    // All or nothing, as Glance applies a patch in one transaction.
    const next = copyImage(r);
    applyImagePatch(next, ops);
    next.updatedAt = this.now();
    this.images.set(id, next);
    return copyImage(next);
  }

  /** PUT /file begins: only a queued image takes bits. */
  beginUpload(id: string): void {
    const r = this.imageRecord(id, 'PUT');
    if (r.status !== 'queued') {
      throw err('image', 'PUT', `/v2/images/${id}/file`, 409, `Image status transition from ${r.status} to saving is not allowed`);
    }
    r.status = 'saving';
  }

  finishUpload(id: string, bits: UploadedBits): ImageRecord {
    const r = this.imageRecord(id, 'PUT');
    r.status = 'active';
    r.size = bits.sizeBytes;
    r.checksum = bits.md5;
    r.osHashAlgo = bits.sha512 === null ? null : 'sha512';
    r.osHashValue = bits.sha512;
    r.updatedAt = this.now();
    return copyImage(r);
  }

  /** A broken upload puts the image back to queued (Glance's own recovery). */
  abortUpload(id: string): void {
    const r = this.images.get(id);
    if (r !== undefined && r.status === 'saving') r.status = 'queued';
  }

  deleteImage(id: string): void {
    const r = this.imageRecord(id, 'DELETE');
    if (r.protected) throw err('image', 'DELETE', `/v2/images/${id}`, 403, `Image ${id} is protected and cannot be deleted.`);
    this.images.delete(id);
    this.retiredImageIds.add(id);
  }

  /** What `glance-manage db purge` does for us: deleted ids become usable again. */
  purgeDeletedImages(): number {
    const n = this.retiredImageIds.size;
    this.retiredImageIds.clear();
    return n;
  }
}
