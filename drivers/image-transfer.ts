// Moves an image's bits from its source URL into a queued Glance image without holding them in
// memory: source stream -> DigestGate (hash + verify) -> Glance PUT /file. Then checks that Glance
// stored what was sent (its os_hash_value against our sha512).
import { pipeline, type Readable } from 'node:stream';
import { ChecksumMismatchError, CloudError } from './errors.js';
import { DigestGate, type ImageDigests } from './digest-gate.js';
import { describedPath } from './path-segment.js';
import { withRetry, type RetryContext } from './retry.js';
import type { GlanceImage, ImageApi } from './service-api.js';
import type { ImageSource } from './types.js';

/** Opens the bits of an image source as a stream (undici for real clouds, anything in tests). */
export type SourceFetcher = (source: ImageSource) => Promise<Readable>;

export interface TransferReport {
  digests: ImageDigests;
  warnings: string[];
}

export interface TransferDeps {
  images: ImageApi;
  fetchSource: SourceFetcher;
  retry: RetryContext;
}

const imagePath = (id: string) => describedPath('/v2/images', id);

function stateError(image: GlanceImage, why: string): CloudError {
  return new CloudError({
    code: 'CONFLICT',
    service: 'image',
    method: 'PUT',
    path: `${imagePath(image.id)}/file`,
    status: 409,
    cloudMessage: '',
    // 'saving' and 'importing' settle by themselves; other states need the operator.
    retryable: image.status === 'saving' || image.status === 'importing' || image.status === 'uploading',
    message: `image ${image.id} is '${image.status}' in Glance: ${why}`,
  });
}

/** What the last attempt sent in full (set even when Glance's answer was lost). */
interface SentRecord {
  digests?: ImageDigests;
}

async function uploadOnce(deps: TransferDeps, id: string, source: ImageSource, sent: SentRecord): Promise<ImageDigests> {
  const body = await deps.fetchSource(source);
  const gate = new DigestGate(id, source);
  // pipeline() destroys both streams if either fails; the upload sees the gate's error and aborts.
  pipeline(body, gate, () => {});
  try {
    await deps.images.uploadImageData(id, gate);
  } catch (err) {
    sent.digests = gate.mismatch === undefined ? gate.result() : undefined;
    body.destroy();
    gate.destroy();
    throw gate.mismatch ?? err;
  }
  if (gate.mismatch !== undefined) throw gate.mismatch;
  const digests = gate.result();
  if (digests === undefined) {
    throw new CloudError({
      code: 'BAD_RESPONSE',
      service: 'image',
      method: 'PUT',
      path: `${imagePath(id)}/file`,
      status: 0,
      cloudMessage: '',
      retryable: true,
      message: `image ${id}: Glance answered the upload before the source stream ended`,
    });
  }
  return digests;
}

/** Glance must hold exactly what was sent; if not, the image is deleted (its id is burned) and reported. */
async function verifyStored(deps: TransferDeps, id: string, sent: ImageDigests): Promise<string[]> {
  const stored = await deps.images.getImage(id);
  if (stored === undefined) {
    throw new CloudError({
      code: 'NOT_FOUND',
      service: 'image',
      method: 'GET',
      path: imagePath(id),
      status: 404,
      cloudMessage: '',
      retryable: false,
      message: `image ${id} disappeared from Glance right after its upload`,
    });
  }
  if (stored.status !== 'active') throw stateError(stored, 'expected active after the upload');
  const sizeWrong = stored.size !== null && stored.size !== sent.sizeBytes;
  const hashWrong = stored.osHashAlgo === 'sha512' && stored.osHashValue !== sent.sha512;
  if (sizeWrong || hashWrong) {
    if (stored.protected) await deps.images.patchImage(id, [{ op: 'replace', path: '/protected', value: false }]);
    await deps.images.deleteImage(id);
    throw new ChecksumMismatchError({
      service: 'image',
      method: 'PUT',
      path: `${imagePath(id)}/file`,
      message:
        `image ${id}: Glance stored ${stored.size} bytes with ${stored.osHashAlgo} ${stored.osHashValue}, but stackraft ` +
        `sent ${sent.sizeBytes} bytes with sha512 ${sent.sha512}. The image was deleted; Glance never reuses a deleted ` +
        `id, so purge Glance's deleted rows (glance-manage db purge) or publish the image under a new id.`,
    });
  }
  if (stored.osHashAlgo !== 'sha512') {
    return [`image ${id}: Glance hashes with ${stored.osHashAlgo ?? 'nothing'}, not sha512; only the size was cross-checked`];
  }
  return [];
}

/**
 * Uploads into image `id`, which must be queued, retrying what may clear by itself (source or
 * Glance unavailable). Before a retry it looks at the image: if a lost response hid a successful
 * upload the image is already active and is verified instead of uploaded again.
 */
export async function transferImageBits(deps: TransferDeps, id: string, source: ImageSource): Promise<TransferReport> {
  const sent: SentRecord = {};
  const digests = await withRetry(deps.retry, async (attempt) => {
    if (attempt > 1) {
      const image = await deps.images.getImage(id);
      if (image?.status === 'active' && sent.digests !== undefined) return sent.digests;
      if (image !== undefined && image.status !== 'queued') throw stateError(image, 'cannot upload into it');
    }
    sent.digests = undefined;
    return uploadOnce(deps, id, source, sent);
  });
  const warnings = await verifyStored(deps, id, digests);
  return { digests, warnings };
}
