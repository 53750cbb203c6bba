// A site's desired cloud state: the catalog resources whose placement selects the site, turned
// into the driver's shapes. The ids are the catalog's, so every site holds the same resource under
// the same id. Sites and protection groups are not cloud resources of this reconciler.
import type { Resource, ResourceOf } from '../catalog/index.js';
import { CLOUD_RESOURCE_KINDS, type CloudFlavorSpec, type CloudImageSpec, type CloudQuotaSpec, type CloudResourceKind } from '../../drivers/index.js';

export type ManagedKind = CloudResourceKind;
export const MANAGED_KINDS: readonly ManagedKind[] = CLOUD_RESOURCE_KINDS;

/** One resource this site should hold, with the catalog revision it comes from. */
export type DesiredResource =
  | { kind: 'flavor'; id: string; revision: number; spec: CloudFlavorSpec }
  | { kind: 'image'; id: string; revision: number; spec: CloudImageSpec; adoptExisting?: true }
  | { kind: 'quota'; id: string; revision: number; spec: CloudQuotaSpec };

/** `kind/id`: the one key a resource has in every map of the reconciler. */
export function resourceKey(kind: ManagedKind, id: string): string {
  return `${kind}/${id}`;
}

export function isManagedKind(kind: string): kind is ManagedKind {
  return (MANAGED_KINDS as readonly string[]).includes(kind);
}

export function toCloudFlavorSpec(resource: ResourceOf<'flavor'>): CloudFlavorSpec {
  const s = resource.spec;
  const spec: CloudFlavorSpec = {
    id: resource.id,
    name: s.name,
    vcpus: s.vcpus,
    ram: s.ram,
    disk: s.disk,
    ephemeral: s.ephemeral,
    swap: s.swap,
    rxtxFactor: s.rxtxFactor,
    isPublic: s.isPublic,
    extraSpecs: { ...s.extraSpecs },
  };
  if (s.description !== undefined) spec.description = s.description;
  if (s.accessProjects !== undefined) spec.accessProjects = [...s.accessProjects];
  return spec;
}

export function toCloudImageSpec(resource: ResourceOf<'image'>): CloudImageSpec {
  const s = resource.spec;
  const source: CloudImageSpec['source'] = { url: s.source.url };
  if (s.source.sha256 !== undefined) source.sha256 = s.source.sha256;
  if (s.source.sha512 !== undefined) source.sha512 = s.source.sha512;
  return {
    id: resource.id,
    name: s.name,
    diskFormat: s.diskFormat,
    containerFormat: s.containerFormat,
    visibility: s.visibility,
    minDisk: s.minDisk,
    minRam: s.minRam,
    protected: s.protected,
    properties: { ...s.properties },
    tags: [...s.tags],
    source,
  };
}

export function toCloudQuotaSpec(resource: ResourceOf<'quota'>): CloudQuotaSpec {
  const s = resource.spec;
  const spec: CloudQuotaSpec = { project: s.project };
  if (s.compute !== undefined) spec.compute = { ...s.compute };
  if (s.volume !== undefined) spec.volume = { ...s.volume };
  if (s.network !== undefined) spec.network = { ...s.network };
  return spec;
}

/**
 * An image taken from this site's own Glance (`image create --from-glance`, `import --kind image`):
 * the Glance image with the catalog's id is the copy this site keeps, so its reconciler adopts it
 * (marks it, bits untouched) instead of refusing it as the operator's.
 */
function adoptedHere(resource: ResourceOf<'image'>, site: string | undefined): boolean {
  return site !== undefined && resource.spec.source.kind === 'glance' && resource.spec.source.origin === site;
}

/** The cloud resources among a site's desired catalog resources, keyed by resourceKey. */
export function desiredCloudState(resources: readonly Resource[], site?: string): Map<string, DesiredResource> {
  const out = new Map<string, DesiredResource>();
  for (const r of resources) {
    let desired: DesiredResource | undefined;
    if (r.kind === 'flavor') desired = { kind: 'flavor', id: r.id, revision: r.revision, spec: toCloudFlavorSpec(r) };
    else if (r.kind === 'image') desired = { kind: 'image', id: r.id, revision: r.revision, spec: toCloudImageSpec(r), ...(adoptedHere(r, site) ? { adoptExisting: true as const } : {}) };
    else if (r.kind === 'quota') desired = { kind: 'quota', id: r.id, revision: r.revision, spec: toCloudQuotaSpec(r) };
    if (desired !== undefined) out.set(resourceKey(desired.kind, desired.id), desired);
  }
  return out;
}

/** Changes whenever the desired set or any desired revision changes (cheap "anything to do?" test). */
export function desiredFingerprint(desired: ReadonlyMap<string, DesiredResource>): string {
  const parts: string[] = [];
  for (const [key, d] of desired) parts.push(`${key}@${d.revision}`);
  return parts.sort().join('\n');
}
