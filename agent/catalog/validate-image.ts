// image: a public (or community) Glance image, imported from a URL and checked against its digest.
import {
  MAX_IMAGE_PROPERTIES,
  MAX_IMAGE_PROPERTY_VALUE_CHARS,
  MAX_IMAGE_TAGS,
  MAX_URL_CHARS,
  NOVA_MAX_INT,
} from './limits.js';
import {
  SpecError,
  checkString,
  expectObject,
  readBoolean,
  readEnum,
  readInt,
  readString,
  readStringList,
  readStringMap,
  rejectUnknownFields,
  type Fields,
} from './spec-reader.js';
import { IMAGE_DEFAULTS, IMAGE_FIELDS, IMAGE_SOURCE_FIELDS } from './spec-fields.js';
import { BLOB_SOURCE_HOST, blobSourceUrl, CONTAINER_FORMATS, DISK_FORMATS, IMAGE_SOURCE_KINDS, IMAGE_VISIBILITIES, type CatalogImageSource, type ImageSourceKind, type ImageSpec } from './types.js';

/** Glance core attributes: a custom property may not shadow them. */
const GLANCE_RESERVED_PROPERTIES = new Set([
  'checksum',
  'container_format',
  'created_at',
  'direct_url',
  'disk_format',
  'file',
  'id',
  'locations',
  'min_disk',
  'min_ram',
  'name',
  'os_hash_algo',
  'os_hash_value',
  'os_hidden',
  'owner',
  'protected',
  'schema',
  'self',
  'size',
  'status',
  'stores',
  'tags',
  'updated_at',
  'virtual_size',
  'visibility',
]);

/** The fields Glance cannot change once an image has data: a new source needs a new image id. */
export const IMMUTABLE_IMAGE_FIELDS = ['diskFormat', 'containerFormat', 'source'] as const;

export function normalizeImageSpec(input: unknown): ImageSpec {
  const spec = expectObject(input, 'spec');
  rejectUnknownFields(spec, IMAGE_FIELDS, 'spec');
  return {
    name: readString(spec, 'name', 'spec', { min: 1, max: 255 }),
    diskFormat: readEnum(spec, 'diskFormat', 'spec', DISK_FORMATS),
    containerFormat: readEnum(spec, 'containerFormat', 'spec', CONTAINER_FORMATS),
    visibility: readEnum(spec, 'visibility', 'spec', IMAGE_VISIBILITIES, IMAGE_DEFAULTS.visibility),
    minDisk: readInt(spec, 'minDisk', 'spec', { min: 0, max: NOVA_MAX_INT }, IMAGE_DEFAULTS.minDisk),
    minRam: readInt(spec, 'minRam', 'spec', { min: 0, max: NOVA_MAX_INT }, IMAGE_DEFAULTS.minRam),
    protected: readBoolean(spec, 'protected', 'spec', IMAGE_DEFAULTS.protected),
    properties: readProperties(spec),
    tags: [
      ...new Set(readStringList(spec, 'tags', 'spec', { maxItems: MAX_IMAGE_TAGS, item: { min: 1, max: 255 } })),
    ].sort(),
    source: readSource(spec),
  };
}

function readProperties(spec: Fields): Record<string, string> {
  const properties = readStringMap(spec, 'properties', 'spec', {
    maxEntries: MAX_IMAGE_PROPERTIES,
    key: { min: 1, max: 255 },
    value: { min: 0, max: MAX_IMAGE_PROPERTY_VALUE_CHARS, multiline: true },
  });
  for (const key of Object.keys(properties)) {
    if (GLANCE_RESERVED_PROPERTIES.has(key) || key.startsWith('os_glance')) {
      throw new SpecError(`spec.properties.${key}`, `spec.properties.${key} is reserved by Glance; use the spec field instead`);
    }
  }
  return properties;
}

const HTTP_URL = /^https?:\/\/[^\s/?#@]+(?::[0-9]{1,5})?(?:[/?#]\S*)?$/;

function readSource(spec: Fields): CatalogImageSource {
  if (spec.source === undefined || spec.source === null) throw new SpecError('spec.source', 'spec.source is required');
  const source = expectObject(spec.source, 'spec.source');
  rejectUnknownFields(source, IMAGE_SOURCE_FIELDS, 'spec.source');
  const url = readString(source, 'url', 'spec.source', { min: 1, max: MAX_URL_CHARS });
  const authority = /^https?:\/\/([^/?#]*)/.exec(url)?.[1] ?? '';
  if (authority.includes('@')) {
    throw new SpecError('spec.source.url', 'spec.source.url must not carry credentials (they would be replicated to every site)');
  }
  if (!HTTP_URL.test(url)) throw new SpecError('spec.source.url', `spec.source.url must be an http:// or https:// URL`);
  const result: CatalogImageSource = { url };
  const sha256 = readDigest(source, 'sha256', 64);
  const sha512 = readDigest(source, 'sha512', 128);
  if (sha256 === undefined && sha512 === undefined) {
    throw new SpecError('spec.source.sha256', 'spec.source needs a sha256 or sha512 digest to verify the download');
  }
  if (sha256 !== undefined) result.sha256 = sha256;
  if (sha512 !== undefined) result.sha512 = sha512;
  const kind = readEnum(source, 'kind', 'spec.source', IMAGE_SOURCE_KINDS, 'url');
  if (kind === 'url') {
    if (source.blob !== undefined || source.origin !== undefined) throw new SpecError('spec.source.blob', 'spec.source.blob and origin belong to kind file or glance');
    if (url.startsWith(blobSourceUrl(''))) throw new SpecError('spec.source.url', `spec.source.url: ${BLOB_SOURCE_HOST} names blob-store bits, which need kind file or glance`);
    return result;
  }
  return readBlobSource(source, result, kind);
}

/** The peer-network part of a source: both digests, the blob, its origin, and the URL that names the blob. */
function readBlobSource(source: Fields, result: CatalogImageSource, kind: ImageSourceKind): CatalogImageSource {
  if (result.sha256 === undefined || result.sha512 === undefined) throw new SpecError('spec.source.sha512', `spec.source of kind ${kind} needs both sha256 and sha512`);
  const blob = expectObject(source.blob, 'spec.source.blob');
  rejectUnknownFields(blob, ['root', 'size', 'md5'], 'spec.source.blob');
  const root = checkString(blob.root, 'spec.source.blob.root', { min: 64, max: 64, pattern: /^[0-9a-f]+$/, patternHint: '64 lower-case hexadecimal digits' });
  const size = readInt(blob, 'size', 'spec.source.blob', { min: 0, max: Number.MAX_SAFE_INTEGER });
  const md5 = checkString(blob.md5, 'spec.source.blob.md5', { min: 32, max: 32, pattern: /^[0-9a-f]+$/, patternHint: '32 lower-case hexadecimal digits' });
  const origin = readString(source, 'origin', 'spec.source', { min: 1, max: 64 });
  if (result.url !== blobSourceUrl(root)) throw new SpecError('spec.source.url', `spec.source.url of a blob must be ${blobSourceUrl(root)}`);
  return { ...result, kind, blob: { root, size, md5 }, origin };
}

function readDigest(source: Fields, key: 'sha256' | 'sha512', hexChars: number): string | undefined {
  const value = source[key];
  if (value === undefined || value === null) return undefined;
  const field = `spec.source.${key}`;
  return checkString(value, field, {
    min: hexChars,
    max: hexChars,
    pattern: /^[0-9a-fA-F]+$/,
    patternHint: `${hexChars} hexadecimal digits`,
  }).toLowerCase();
}
