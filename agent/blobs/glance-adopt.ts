// Taking the bits of an image already in this site's Glance into the blob store (`image create
// --from-glance`, `import --kind image --apply`). A download of gigabytes outlasts any admin
// request, so it runs as a job keyed by the Glance image id: the CLI starts it and asks how far it
// is until it is done or failed. The bits are hashed as they are stored and must match what Glance
// says of them (its size, its os_hash_value when the algorithm is one the manifest carries, its
// md5 checksum): a disagreement, an image that is not active, or one that changed or vanished while
// it streamed leaves nothing in the store. Bounded: MAX_RUNNING_ADOPTIONS at once, the last
// MAX_REMEMBERED_ADOPTIONS results kept for the CLI to read.
import type { Logger } from '../../consensus/ports.js';
import { ConflictError, NotFoundError, type CloudDriver, type CloudImage } from '../../drivers/index.js';
import type { IngestingBlobStorage } from './ports.js';
import { BlobStoreFullError, BlobVerifyError, type IngestExpectation } from './store.js';

export const MAX_RUNNING_ADOPTIONS = 2;
export const MAX_REMEMBERED_ADOPTIONS = 64;

export type AdoptionErrorCode = 'NOT_FOUND' | 'NOT_ACTIVE' | 'NOT_ADOPTABLE' | 'MISMATCH' | 'UNVERIFIABLE' | 'STORE_FULL' | 'CLOUD_ERROR';

/** What the catalog spec of an adopted image takes from Glance. */
export type GlanceImageFacts = Pick<CloudImage, 'name' | 'diskFormat' | 'containerFormat' | 'visibility' | 'minDisk' | 'minRam' | 'protected' | 'properties' | 'tags'>;

export interface AdoptedBlob {
  root: string;
  size: number;
  sha256: string;
  sha512: string;
  md5: string;
  chunks: number;
}

export interface AdoptionView {
  imageId: string;
  site: string;
  state: 'running' | 'done' | 'failed';
  bytesDone: number;
  bytesTotal: number | null;
  image?: GlanceImageFacts;
  blob?: AdoptedBlob;
  error?: { code: AdoptionErrorCode; message: string };
}

export class AdoptionBusyError extends Error {
  override readonly name = 'AdoptionBusyError';
}

class AdoptionFailure extends Error {
  constructor(
    readonly code: AdoptionErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export interface GlanceAdoptionDeps {
  site: string;
  cloud: CloudDriver;
  store: IngestingBlobStorage;
  /** Told of every blob stored (the site keeps it until its image write commits). */
  onStored(root: string): void;
  logger: Logger;
}

export function factsOf(image: CloudImage): GlanceImageFacts {
  return {
    name: image.name,
    diskFormat: image.diskFormat,
    containerFormat: image.containerFormat,
    visibility: image.visibility,
    minDisk: image.minDisk,
    minRam: image.minRam,
    protected: image.protected,
    properties: { ...image.properties },
    tags: [...image.tags],
  };
}

/** Why an image cannot be adopted by this cluster, or undefined. */
export function notAdoptable(image: CloudImage): string | undefined {
  if (image.foreignCluster !== undefined) return `image ${image.id} belongs to stackraft cluster ${JSON.stringify(image.foreignCluster)}`;
  if (image.managed) return `image ${image.id} is already managed by this cluster (it is a catalog image)`;
  return undefined;
}

/** What the bits must match: Glance's size, its os_hash_value when we compute that algorithm, its md5. */
function expectationOf(image: CloudImage, md5: string | null, contentLength: number | null): IngestExpectation {
  const expect: IngestExpectation = {};
  const size = image.sizeBytes ?? contentLength;
  if (size !== null) expect.size = size;
  if (image.osHashValue !== null && image.osHashAlgo === 'sha512') expect.sha512 = image.osHashValue.toLowerCase();
  if (image.osHashValue !== null && image.osHashAlgo === 'sha256') expect.sha256 = image.osHashValue.toLowerCase();
  if (md5 !== null) expect.md5 = md5;
  return expect;
}

export class GlanceAdoptions {
  private readonly jobs = new Map<string, AdoptionView>();
  private running = 0;

  constructor(private readonly deps: GlanceAdoptionDeps) {}

  view(imageId: string): AdoptionView | undefined {
    const job = this.jobs.get(imageId);
    return job === undefined ? undefined : structuredClone(job);
  }

  /** Starts taking the image's bits, or returns the job already running (or done, while its blob is still held). */
  start(imageId: string): AdoptionView {
    const existing = this.jobs.get(imageId);
    if (existing?.state === 'running') return structuredClone(existing);
    if (existing?.state === 'done' && existing.blob !== undefined && this.deps.store.manifest(existing.blob.root) !== undefined) return structuredClone(existing);
    if (this.running >= MAX_RUNNING_ADOPTIONS) throw new AdoptionBusyError(`${MAX_RUNNING_ADOPTIONS} images are being taken from Glance already; try again when one ends`);
    const job: AdoptionView = { imageId, site: this.deps.site, state: 'running', bytesDone: 0, bytesTotal: null };
    this.jobs.delete(imageId);
    this.jobs.set(imageId, job);
    this.forgetOld();
    this.running++;
    void this.run(job).finally(() => this.running--);
    return structuredClone(job);
  }

  private forgetOld(): void {
    for (const [id, job] of this.jobs) {
      if (this.jobs.size <= MAX_REMEMBERED_ADOPTIONS) return;
      if (job.state !== 'running') this.jobs.delete(id);
    }
  }

  private async run(job: AdoptionView): Promise<void> {
    try {
      const { image, blob } = await this.take(job);
      job.image = factsOf(image);
      job.blob = blob;
      job.state = 'done';
      this.deps.logger.info({ image: job.imageId, blob: blob.root, bytes: blob.size }, 'image bits taken from Glance into the blob store');
    } catch (err) {
      const failure = err instanceof AdoptionFailure ? err : classify(err);
      job.error = { code: failure.code, message: failure.message };
      job.state = 'failed';
      this.deps.logger.warn({ image: job.imageId, code: failure.code, err: failure.message }, 'taking image bits from Glance failed; nothing was stored');
    }
  }

  private async take(job: AdoptionView): Promise<{ image: CloudImage; blob: AdoptedBlob }> {
    const { cloud, store } = this.deps;
    if (cloud.downloadImage === undefined) throw new AdoptionFailure('CLOUD_ERROR', `the ${cloud.driverName} driver cannot download image bits`);
    const download = await cloud.downloadImage(job.imageId);
    const { image, body } = download;
    const refusal = notAdoptable(image);
    const expect = expectationOf(image, download.md5, download.sizeBytes);
    if (refusal === undefined && expect.sha512 === undefined && expect.sha256 === undefined && expect.md5 === undefined) {
      body.destroy();
      throw new AdoptionFailure('UNVERIFIABLE', `image ${image.id}: Glance gives no digest of its bits (os_hash_algo ${image.osHashAlgo ?? 'none'}, no checksum) to check them against`);
    }
    if (refusal !== undefined) {
      body.destroy();
      throw new AdoptionFailure('NOT_ADOPTABLE', refusal);
    }
    job.bytesTotal = expect.size ?? null;
    job.image = factsOf(image);
    const ingest = store.beginIngest(expect);
    try {
      for await (const piece of body as AsyncIterable<Uint8Array>) {
        await ingest.write(piece);
        job.bytesDone = ingest.bytesReceived;
      }
      await this.checkUnchanged(image);
    } catch (err) {
      body.destroy();
      await ingest.abort();
      throw err;
    }
    const { root, manifest } = await ingest.finish();
    this.deps.onStored(root);
    return { image, blob: { root, size: manifest.size, sha256: manifest.sha256, sha512: manifest.sha512, md5: manifest.md5, chunks: manifest.chunks.length } };
  }

  /** Glance may have deleted or replaced the image while its bits streamed: nothing of it is kept then. */
  private async checkUnchanged(before: CloudImage): Promise<void> {
    const after = await this.deps.cloud.getImage(before.id);
    if (after === undefined) throw new AdoptionFailure('NOT_FOUND', `image ${before.id} was deleted from Glance while its bits were read`);
    if (after.status !== 'active' || after.osHashValue !== before.osHashValue || after.sizeBytes !== before.sizeBytes) {
      throw new AdoptionFailure('MISMATCH', `image ${before.id} changed in Glance while its bits were read (now '${after.status}', ${after.osHashAlgo} ${after.osHashValue})`);
    }
  }
}

function classify(err: unknown): AdoptionFailure {
  const message = (err as Error)?.message ?? String(err);
  if (err instanceof NotFoundError) return new AdoptionFailure('NOT_FOUND', message);
  if (err instanceof ConflictError) return new AdoptionFailure('NOT_ACTIVE', message);
  if (err instanceof BlobVerifyError) return new AdoptionFailure('MISMATCH', `the bits Glance served do not match what it says of them: ${message}`);
  if (err instanceof BlobStoreFullError) return new AdoptionFailure('STORE_FULL', message);
  return new AdoptionFailure('CLOUD_ERROR', message);
}
