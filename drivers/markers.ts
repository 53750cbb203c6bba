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

export function isFlavorManaged(extraSpecs: Record<string, string>, description: string | null | undefined): boolean {
  return extraSpecs[MANAGED_EXTRA_SPEC] === MANAGED_VALUE || description === FLAVOR_CREATING_DESCRIPTION;
}

/** A flavor stackraft began to create and did not finish (see FLAVOR_CREATING_DESCRIPTION). */
export function isFlavorHalfCreated(extraSpecs: Record<string, string>, description: string | null | undefined): boolean {
  return extraSpecs[MANAGED_EXTRA_SPEC] !== MANAGED_VALUE && description === FLAVOR_CREATING_DESCRIPTION;
}

/** Extra specs without stackraft's marker keys. */
export function catalogExtraSpecs(extraSpecs: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(extraSpecs)) {
    if (!key.startsWith(EXTRA_SPEC_MARKER_PREFIX)) out[key] = value;
  }
  return out;
}

/** The marker properties a managed image carries: ownership plus where its bits came from. */
export function imageMarkerProperties(source: ImageSource): Record<string, string> {
  const out: Record<string, string> = { [MANAGED_IMAGE_PROPERTY]: MANAGED_VALUE, [SOURCE_URL_PROPERTY]: source.url };
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
