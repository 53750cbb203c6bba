// How stackraft marks what it owns in a cloud, and the names it must keep out of catalog properties.
// Nothing without a marker is ever changed or deleted by a driver.
import type { ImageSource } from './types.js';

/** Flavor extra spec that marks a stackraft flavor. */
export const MANAGED_EXTRA_SPEC = 'stackraft:managed';
export const MANAGED_VALUE = 'true';
/** Extra spec keys under this prefix are stackraft's own and never part of a catalog spec. */
export const EXTRA_SPEC_MARKER_PREFIX = 'stackraft:';

/**
 * Nova sets a flavor and its extra specs in separate calls. The flavor is created with this
 * description so a crash between the two calls leaves a flavor stackraft still recognises (and
 * finishes), not one that looks operator-owned and blocks the id forever. The real description is
 * written last.
 */
export const FLAVOR_CREATING_DESCRIPTION = 'stackraft:creating';

/** Flavor extra spec naming the cluster that owns the flavor. */
export const CLUSTER_EXTRA_SPEC = 'stackraft:cluster';
/** Glance property naming the cluster that owns the image. */
export const CLUSTER_IMAGE_PROPERTY = 'stackraft_cluster';

/**
 * Whose a resource is, for a driver of cluster `clusterId`:
 * - `ours`: marked with this cluster's id (or, for a driver given no cluster id, marked at all);
 * - `legacy`: marked by a release that wrote no cluster id: changed and re-marked when this
 *   cluster's catalog names it, never removed just for being unnamed (drivers/README.md);
 * - `foreign`: marked by another cluster: never changed or deleted, like an operator's own;
 * - `none`: no marker: the operator's own.
 */
export type Ownership = { kind: 'ours' } | { kind: 'legacy' } | { kind: 'foreign'; cluster: string } | { kind: 'none' };

/** What a driver writes into its markers; without a cluster id it behaves as releases before cluster ids. */
export interface Marking {
  clusterId?: string;
}

function ownershipOf(marked: boolean, cluster: string | undefined, marking: Marking): Ownership {
  if (!marked) return { kind: 'none' };
  if (marking.clusterId === undefined || cluster === marking.clusterId) return { kind: 'ours' };
  return cluster === undefined || cluster === '' ? { kind: 'legacy' } : { kind: 'foreign', cluster };
}

/** The creation marker of a flavor this driver begins to create (it names the cluster when known). */
export function flavorCreatingDescription(marking: Marking): string {
  return marking.clusterId === undefined ? FLAVOR_CREATING_DESCRIPTION : `${FLAVOR_CREATING_DESCRIPTION}:${marking.clusterId}`;
}

function creatingCluster(description: string | null | undefined): string | undefined | null {
  if (description === FLAVOR_CREATING_DESCRIPTION) return undefined;
  if (typeof description === 'string' && description.startsWith(`${FLAVOR_CREATING_DESCRIPTION}:`)) return description.slice(FLAVOR_CREATING_DESCRIPTION.length + 1);
  return null;
}

export function flavorOwnership(extraSpecs: Record<string, string>, description: string | null | undefined, marking: Marking): Ownership {
  if (extraSpecs[MANAGED_EXTRA_SPEC] === MANAGED_VALUE) return ownershipOf(true, extraSpecs[CLUSTER_EXTRA_SPEC], marking);
  const creating = creatingCluster(description);
  return creating === null ? { kind: 'none' } : ownershipOf(true, creating, marking);
}

export function imageOwnership(customProperties: Record<string, string>, marking: Marking): Ownership {
  return ownershipOf(customProperties[MANAGED_IMAGE_PROPERTY] === MANAGED_VALUE, customProperties[CLUSTER_IMAGE_PROPERTY], marking);
}

/** May this driver change the resource (ours, or legacy)? */
export function isChangeable(ownership: Ownership): boolean {
  return ownership.kind === 'ours' || ownership.kind === 'legacy';
}

/** The markers a flavor of this driver carries as extra specs. */
export function flavorMarkerSpecs(marking: Marking): Record<string, string> {
  return marking.clusterId === undefined ? { [MANAGED_EXTRA_SPEC]: MANAGED_VALUE } : { [MANAGED_EXTRA_SPEC]: MANAGED_VALUE, [CLUSTER_EXTRA_SPEC]: marking.clusterId };
}

/** The ownership fields of a CloudFlavor or CloudImage read back from the cloud. */
export function ownershipFields(ownership: Ownership): { managed: boolean; legacyMarker?: true; foreignCluster?: string } {
  if (ownership.kind === 'legacy') return { managed: true, legacyMarker: true };
  if (ownership.kind === 'foreign') return { managed: false, foreignCluster: ownership.cluster };
  return { managed: ownership.kind === 'ours' };
}

/** Why a driver refuses to touch a resource, for error messages. */
export function describeOwner(ownership: Ownership, marker: string): string {
  return ownership.kind === 'foreign' ? `it belongs to stackraft cluster ${JSON.stringify(ownership.cluster)}` : `no ${marker} marker`;
}

/** Glance property that marks a stackraft image (set in the same request that creates the image). */
export const MANAGED_IMAGE_PROPERTY = 'stackraft_managed';
export const IMAGE_MARKER_PREFIX = 'stackraft_';
export const SOURCE_URL_PROPERTY = 'stackraft_source_url';
export const SOURCE_SHA256_PROPERTY = 'stackraft_source_sha256';
export const SOURCE_SHA512_PROPERTY = 'stackraft_source_sha512';

/**
 * Image attributes Glance owns (base schema fields and what Glance sets itself). They are never
 * custom properties: reading skips them, and a catalog property may not use these names.
 */
export const GLANCE_BASE_ATTRIBUTES: ReadonlySet<string> = new Set([
  'id',
  'name',
  'status',
  'visibility',
  'protected',
  'os_hidden',
  'checksum',
  'os_hash_algo',
  'os_hash_value',
  'owner',
  'size',
  'virtual_size',
  'min_ram',
  'min_disk',
  'disk_format',
  'container_format',
  'created_at',
  'updated_at',
  'tags',
  'direct_url',
  'locations',
  'self',
  'file',
  'schema',
  'stores',
]);

/** Property prefixes Glance reserves for itself. */
export const GLANCE_RESERVED_PREFIXES: readonly string[] = ['os_glance'];

export function isGlanceOwnedAttribute(key: string): boolean {
  return GLANCE_BASE_ATTRIBUTES.has(key) || GLANCE_RESERVED_PREFIXES.some((prefix) => key.startsWith(prefix));
}

/** A flavor stackraft began to create and did not finish (see FLAVOR_CREATING_DESCRIPTION). */
export function isFlavorHalfCreated(extraSpecs: Record<string, string>, description: string | null | undefined): boolean {
  return extraSpecs[MANAGED_EXTRA_SPEC] !== MANAGED_VALUE && creatingCluster(description) !== null;
}

/** Extra specs without stackraft's marker keys. */
export function catalogExtraSpecs(extraSpecs: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(extraSpecs)) {
    if (!key.startsWith(EXTRA_SPEC_MARKER_PREFIX)) out[key] = value;
  }
  return out;
}

/** The marker properties a managed image carries: ownership (and cluster) plus where its bits came from. */
export function imageMarkerProperties(source: ImageSource, marking: Marking = {}): Record<string, string> {
  const out: Record<string, string> = { [MANAGED_IMAGE_PROPERTY]: MANAGED_VALUE, [SOURCE_URL_PROPERTY]: source.url };
  if (marking.clusterId !== undefined) out[CLUSTER_IMAGE_PROPERTY] = marking.clusterId;
  if (source.sha256 !== undefined) out[SOURCE_SHA256_PROPERTY] = source.sha256;
  if (source.sha512 !== undefined) out[SOURCE_SHA512_PROPERTY] = source.sha512;
  return out;
}

export interface ImageMarkers {
  managed: boolean;
  source?: ImageSource;
  /** Custom properties without stackraft's markers. */
  properties: Record<string, string>;
}

/** Splits an image's custom properties into stackraft's markers and the catalog-visible rest. */
export function readImageMarkers(customProperties: Record<string, string>): ImageMarkers {
  const properties: Record<string, string> = {};
  for (const [key, value] of Object.entries(customProperties)) {
    if (!key.startsWith(IMAGE_MARKER_PREFIX)) properties[key] = value;
  }
  const managed = customProperties[MANAGED_IMAGE_PROPERTY] === MANAGED_VALUE;
  const url = customProperties[SOURCE_URL_PROPERTY];
  if (!managed || url === undefined) return { managed, properties };
  const source: ImageSource = { url };
  const sha256 = customProperties[SOURCE_SHA256_PROPERTY];
  const sha512 = customProperties[SOURCE_SHA512_PROPERTY];
  if (sha256 !== undefined) source.sha256 = sha256;
  if (sha512 !== undefined) source.sha512 = sha512;
  return { managed, source, properties };
}
