// Images on top of ImageApi: create with the catalog's id and metadata, stream the bits in, verify,
// then protect; metadata updates by JSON patch; delete (unprotecting first). Glance never reuses a
// deleted image id and never takes new bits for an active image: both are reported, not worked around.
import type { Readable } from 'node:stream';
import { ChecksumMismatchError, ConflictError, ImageIdRetiredError, NotFoundError, NotManagedError, NotSupportedError } from '../errors.js';
import { diffImage } from '../diff.js';
import { describedPath } from '../path-segment.js';
import type { TransferReport } from '../image-transfer.js';
import { withRetry, type RetryContext } from '../retry.js';
import {
  CLUSTER_IMAGE_PROPERTY,
  MANAGED_IMAGE_PROPERTY,
  MANAGED_VALUE,
  describeOwner,
  imageMarkerProperties,
  imageOwnership,
  isChangeable,
  ownershipFields,
  readImageMarkers,
  type Marking,
} from '../markers.js';
import type { GlanceImage, ImageApi, ImagePatchOp } from '../service-api.js';
import type { CloudImage, CloudImageDownload, CloudImageSpec, CloudWriteResult, ImageSource } from '../types.js';
import { validateImageSpec } from '../validate.js';

/** Puts the bits of `source` into queued image `id` and verifies them. */
export type BitsTransfer = (images: ImageApi, id: string, source: CloudImageSpec['source']) => Promise<TransferReport>;

export interface ImageOpsDeps {
  images: ImageApi;
  transfer: BitsTransfer;
  /** How long to wait for an image in a passing state (see settledImage). */
  settle: RetryContext;
  /** The cluster id this driver marks its images with. */
  marking: Marking;
}

/** Glance states that end by themselves (an upload or import in progress, or failing). */
const TRANSITIONAL_STATES: ReadonlySet<string> = new Set(['saving', 'importing', 'uploading']);

class StillTransitional extends Error {
  constructor(readonly image: CloudImage) {
    super(`image ${image.id} is ${image.status}`);
  }
}

/**
 * The image once it has left a passing state, or as it is when the wait runs out. An upload that
 * stackraft aborted keeps the image 'saving' until Glance notices the broken connection (a busy
 * single-process Glance may even start on it after the client gave up).
 */
async function settledImage(deps: ImageOpsDeps, id: string): Promise<CloudImage | undefined> {
  try {
    return await withRetry({ ...deps.settle, shouldRetry: (err) => err instanceof StillTransitional }, async () => {
      const image = await getImage(deps.images, id, deps.marking);
      if (image !== undefined && TRANSITIONAL_STATES.has(image.status)) throw new StillTransitional(image);
      return image;
    });
  } catch (err) {
    if (err instanceof StillTransitional) return err.image;
    throw err;
  }
}

export function toCloudImage(g: GlanceImage, marking: Marking): CloudImage {
  const markers = readImageMarkers(g.properties);
  const image: CloudImage = {
    id: g.id,
    name: g.name ?? '',
    diskFormat: g.diskFormat ?? '',
    containerFormat: g.containerFormat ?? '',
    visibility: g.visibility,
    minDisk: g.minDisk,
    minRam: g.minRam,
    protected: g.protected,
    properties: markers.properties,
    tags: [...g.tags].sort(),
    status: g.status,
    sizeBytes: g.size,
    osHashAlgo: g.osHashAlgo,
    osHashValue: g.osHashValue,
    ...ownershipFields(imageOwnership(g.properties, marking)),
  };
  if (markers.source !== undefined) image.source = markers.source;
  return image;
}

export async function getImage(images: ImageApi, id: string, marking: Marking): Promise<CloudImage | undefined> {
  const g = await images.getImage(id);
  return g === undefined ? undefined : toCloudImage(g, marking);
}

/** The images this driver may change: its cluster's, and those marked before cluster ids (legacy). */
export async function listImages(images: ImageApi, marking: Marking): Promise<CloudImage[]> {
  const found = await images.listImagesWithProperty(MANAGED_IMAGE_PROPERTY, MANAGED_VALUE);
  return found
    .filter((g) => isChangeable(imageOwnership(g.properties, marking)))
    .map((g) => toCloudImage(g, marking))
    .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/** The patch that stamps this cluster's id on an image marked before cluster ids. */
function clusterStamp(image: CloudImage, marking: Marking): ImagePatchOp[] {
  if (!image.legacyMarker || marking.clusterId === undefined) return [];
  return [{ op: 'add', path: `/${CLUSTER_IMAGE_PROPERTY}`, value: marking.clusterId }];
}

const imagePath = (id: string) => describedPath('/v2/images', id);

async function mustGet(images: ImageApi, id: string, method: string, marking: Marking): Promise<CloudImage> {
  const image = await getImage(images, id, marking);
  if (image === undefined) {
    throw new NotFoundError({ service: 'image', method, path: imagePath(id), status: 404, cloudMessage: '', message: `image ${id} does not exist` });
  }
  return image;
}

/** Metadata patch, upload, verification and protection of a managed image that is still queued. */
async function completeQueued(deps: ImageOpsDeps, spec: CloudImageSpec, current: CloudImage): Promise<CloudWriteResult<CloudImage>> {
  const patch = [...diffImage(current, spec).patch.filter((op) => op.path !== '/protected'), ...clusterStamp(current, deps.marking)];
  if (current.protected) patch.push({ op: 'replace', path: '/protected', value: false });
  if (patch.length > 0) await deps.images.patchImage(spec.id, patch);
  const report = await deps.transfer(deps.images, spec.id, spec.source);
  if (spec.protected) await deps.images.patchImage(spec.id, [{ op: 'replace', path: '/protected', value: true }]);
  return { resource: await mustGet(deps.images, spec.id, 'GET', deps.marking), replaced: false, warnings: report.warnings };
}

async function onCreateConflict(deps: ImageOpsDeps, spec: CloudImageSpec, conflict: ConflictError): Promise<CloudWriteResult<CloudImage>> {
  const existing = await settledImage(deps, spec.id);
  if (existing === undefined) {
    throw new ImageIdRetiredError({ service: 'image', method: 'POST', path: '/v2/images', status: 409, cloudMessage: conflict.cloudMessage, imageId: spec.id });
  }
  if (!existing.managed) {
    throw new ConflictError({
      service: 'image',
      method: 'POST',
      path: '/v2/images',
      status: 409,
      cloudMessage: conflict.cloudMessage,
      message: `image id ${spec.id} is taken by an image stackraft does not manage (${describeOwner(foreignOrNone(existing), MANAGED_IMAGE_PROPERTY)}); stackraft never changes it`,
    });
  }
  if (existing.status === 'queued') {
    const result = await completeQueued(deps, spec, existing);
    result.warnings.push(`image ${spec.id}: resumed an upload that had not completed`);
    return result;
  }
  if (existing.status === 'active' && diffImage(existing, spec).inSync) {
    if (existing.legacyMarker) return updateImage(deps, spec);
    return { resource: existing, replaced: false, warnings: [] };
  }
  throw new ConflictError({
    service: 'image',
    method: 'POST',
    path: '/v2/images',
    status: 409,
    cloudMessage: conflict.cloudMessage,
    retryable: TRANSITIONAL_STATES.has(existing.status),
    message: TRANSITIONAL_STATES.has(existing.status)
      ? `image ${spec.id} is still '${existing.status}' in Glance (an earlier upload has not ended); try again shortly`
      : `image ${spec.id} already exists ('${existing.status}') with a different definition; update it instead of creating it`,
  });
}

export async function createImage(deps: ImageOpsDeps, spec: CloudImageSpec): Promise<CloudWriteResult<CloudImage>> {
  validateImageSpec(spec);
  try {
    await deps.images.createImage({
      id: spec.id,
      name: spec.name,
      diskFormat: spec.diskFormat,
      containerFormat: spec.containerFormat,
      visibility: spec.visibility,
      minDisk: spec.minDisk,
      minRam: spec.minRam,
      // Protected only once the bits are verified: a failed upload must stay deletable.
      protected: false,
      tags: [...spec.tags],
      properties: { ...spec.properties, ...imageMarkerProperties(spec.source, deps.marking) },
    });
  } catch (err) {
    if (err instanceof ConflictError && !err.retryable) return onCreateConflict(deps, spec, err);
    throw err;
  }
  const report = await deps.transfer(deps.images, spec.id, spec.source);
  if (spec.protected) await deps.images.patchImage(spec.id, [{ op: 'replace', path: '/protected', value: true }]);
  return { resource: await mustGet(deps.images, spec.id, 'GET', deps.marking), replaced: false, warnings: report.warnings };
}

function foreignOrNone(image: CloudImage): { kind: 'foreign'; cluster: string } | { kind: 'none' } {
  return image.foreignCluster !== undefined ? { kind: 'foreign', cluster: image.foreignCluster } : { kind: 'none' };
}

function notManaged(method: string, image: CloudImage): NotManagedError {
  return new NotManagedError({
    service: 'image',
    method,
    path: imagePath(image.id),
    message: `image ${image.id} is not managed by this stackraft cluster (${describeOwner(foreignOrNone(image), MANAGED_IMAGE_PROPERTY)}); stackraft never changes or deletes it`,
  });
}

export async function updateImage(deps: ImageOpsDeps, spec: CloudImageSpec): Promise<CloudWriteResult<CloudImage>> {
  validateImageSpec(spec);
  const current = await settledImage(deps, spec.id);
  if (current === undefined) {
    throw new NotFoundError({ service: 'image', method: 'update image', path: imagePath(spec.id), status: 404, cloudMessage: '', message: `image ${spec.id} does not exist` });
  }
  if (!current.managed) throw notManaged('update image', current);
  if (current.status === 'queued') return completeQueued(deps, spec, current);
  if (current.status !== 'active') {
    throw new ConflictError({
      service: 'image',
      method: 'PATCH',
      path: imagePath(spec.id),
      status: 0,
      cloudMessage: '',
      retryable: TRANSITIONAL_STATES.has(current.status),
      message: `image ${spec.id} is '${current.status}' in Glance; stackraft changes only active or queued images`,
    });
  }
  const diff = diffImage(current, spec);
  if (diff.digestsChanged) {
    throw new NotSupportedError({
      service: 'image',
      method: 'update image',
      path: imagePath(spec.id),
      cloudMessage: '',
      message:
        `image ${spec.id}: the catalog's digest changed, i.e. new bits. Glance never replaces the bits of an image and ` +
        `never reuses a deleted id, so publish the new bits as a new image id.`,
    });
  }
  if (diff.formatChanges.length > 0) {
    throw new NotSupportedError({
      service: 'image',
      method: 'update image',
      path: imagePath(spec.id),
      cloudMessage: '',
      message: `image ${spec.id}: Glance changes disk and container format only before the upload (${diff.formatChanges
        .map((c) => `${c.field} ${String(c.from)} -> ${String(c.to)}`)
        .join(', ')}); publish it as a new image id`,
    });
  }
  const patch: ImagePatchOp[] = [...diff.patch, ...clusterStamp(current, deps.marking)];
  if (patch.length === 0) return { resource: current, replaced: false, warnings: [] };
  const updated = await deps.images.patchImage(spec.id, patch);
  return { resource: toCloudImage(updated, deps.marking), replaced: false, warnings: [] };
}

export async function deleteImage(images: ImageApi, id: string, marking: Marking): Promise<void> {
  const current = await mustGet(images, id, 'delete image', marking);
  if (!current.managed) throw notManaged('delete image', current);
  // The catalog's `protected` guards against users deleting the image, not against the catalog.
  if (current.protected) await images.patchImage(id, [{ op: 'replace', path: '/protected', value: false }]);
  await images.deleteImage(id);
}

/** Every image, whoever owns it, with the ownership fields (an import reads these; the reconciler never does). */
export async function listAllImages(images: ImageApi, marking: Marking): Promise<CloudImage[]> {
  return (await images.listAllImages()).map((g) => toCloudImage(g, marking)).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/** The bits of an active image, whoever owns it, with what Glance says of them (adoption reads them into the blob store). */
export async function downloadImage(images: ImageApi, id: string, marking: Marking): Promise<CloudImageDownload> {
  const image = await mustGet(images, id, 'download image', marking);
  if (image.status !== 'active') {
    throw new ConflictError({ service: 'image', method: 'GET', path: `${imagePath(id)}/file`, status: 0, cloudMessage: '', message: `image ${id} is '${image.status}' in Glance: only an active image has bits to take` });
  }
  const data = await images.downloadImageData(id);
  return { image, body: data.body as Readable, md5: data.md5, sizeBytes: data.sizeBytes };
}

/** Whether Glance's own digest of an image's bits matches a source's: undefined when Glance hashes with an algorithm the source does not carry. */
export function glanceHashMatches(image: Pick<CloudImage, 'osHashAlgo' | 'osHashValue'>, source: Pick<ImageSource, 'sha256' | 'sha512'>): boolean | undefined {
  const expected = image.osHashAlgo === 'sha512' ? source.sha512 : image.osHashAlgo === 'sha256' ? source.sha256 : undefined;
  if (expected === undefined || image.osHashValue === null) return undefined;
  return image.osHashValue.toLowerCase() === expected;
}

/**
 * Makes an existing image this cluster's copy of `spec` without touching its bits: writes the
 * marker properties (ownership, cluster, source) and nothing else. Only an active image that is no
 * other cluster's and whose Glance digest is the spec's; the next update converges the metadata.
 * Already ours: returned as it is.
 */
export async function claimImage(images: ImageApi, spec: CloudImageSpec, marking: Marking): Promise<CloudImage> {
  validateImageSpec(spec);
  const current = await mustGet(images, spec.id, 'claim image', marking);
  if (current.managed && !current.legacyMarker) return current;
  if (current.foreignCluster !== undefined) throw notManaged('claim image', current);
  if (current.status !== 'active') {
    throw new ConflictError({ service: 'image', method: 'claim image', path: imagePath(spec.id), status: 0, cloudMessage: '', retryable: TRANSITIONAL_STATES.has(current.status), message: `image ${spec.id} is '${current.status}' in Glance: only an active image can be adopted` });
  }
  const matches = glanceHashMatches(current, spec.source);
  if (matches !== true) {
    throw new ChecksumMismatchError({
      service: 'image',
      method: 'claim image',
      path: imagePath(spec.id),
      message:
        matches === false
          ? `image ${spec.id} in Glance holds other bits (${current.osHashAlgo} ${current.osHashValue}) than the catalog's (sha512 ${spec.source.sha512 ?? 'none'}); it is not adopted`
          : `image ${spec.id}: Glance hashes its bits with ${current.osHashAlgo ?? 'nothing'}, which the catalog's digests cannot check; it is not adopted`,
    });
  }
  const markers = imageMarkerProperties(spec.source, marking);
  const patch: ImagePatchOp[] = Object.entries(markers).map(([key, value]) => ({ op: 'add', path: `/${key}`, value }));
  return toCloudImage(await images.patchImage(spec.id, patch), marking);
}
