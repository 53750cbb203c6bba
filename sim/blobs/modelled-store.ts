// A simulated site's blob storage (the BlobStorage port of agent/blobs/ports.ts): the chunks it
// holds are views of the run's modelled images (content.ts), kept by reference, so a 100-site run
// of a 2 GiB image holds no image bytes of its own. It keeps the daemon store's contract: a chunk
// is stored only once it is verified against its digest (ModelledImage.isGenuine: a hash unless the
// bytes are the very window the digest was made from), readChunk answers only verified chunks,
// manifests are checked against their root (checkManifest, the daemon's), and the store is bounded
// by maxBytes. Writes take no time (the model's bottleneck is the access link, sim/blobs/links.ts).
// The store lives as long as the site's disk: a crash keeps it, a rebuilt site starts empty.
import { checkManifest, chunkLength, sha256Hex, type BlobManifest } from '../../agent/blobs/format.js';
import type { BlobStorage } from '../../agent/blobs/ports.js';
import { BlobStoreFullError, BlobVerifyError, type BlobStoreCounters, type BlobStoreUsage } from '../../agent/blobs/store.js';
import type { ModelledImage } from './content.js';

export class ModelledBlobStore implements BlobStorage {
  readonly counters: BlobStoreCounters = { corruptChunksOnDisk: 0, corruptManifestsOnDisk: 0, fullRefusals: 0 };
  private readonly manifests = new Map<string, BlobManifest>();
  private readonly chunks = new Map<string, Uint8Array>();
  /** Chunks each blob still lacks, and the blobs each digest belongs to (to tell when one completes). */
  private readonly lacking = new Map<string, number>();
  private readonly blobsOf = new Map<string, string[]>();
  private bytes = 0;
  /** Verified chunks put again although this store already held them (a transfer wasted). */
  duplicatePuts = 0;

  constructor(
    /** The images of the run, by digest lookup: the only bits a simulated chunk can be. */
    private readonly images: () => readonly ModelledImage[],
    private readonly maxBytes: number,
    /** Called once each time a blob becomes complete in this store. */
    private readonly onComplete: (root: string) => void = () => undefined,
  ) {}

  usage(): BlobStoreUsage {
    return { bytes: this.bytes, maxBytes: this.maxBytes, chunks: this.chunks.size, blobs: this.manifests.size };
  }

  manifest(root: string): BlobManifest | undefined {
    return this.manifests.get(root);
  }

  roots(): string[] {
    return [...this.manifests.keys()];
  }

  async putManifest(root: string, manifest: unknown): Promise<BlobManifest> {
    const existing = this.manifests.get(root);
    if (existing !== undefined) return existing;
    const checked = checkManifest(manifest, root);
    this.manifests.set(root, checked);
    this.lacking.set(root, checked.chunks.filter((d) => !this.chunks.has(d)).length);
    for (const digest of checked.chunks) {
      const roots = this.blobsOf.get(digest) ?? [];
      if (!roots.includes(root)) this.blobsOf.set(digest, [...roots, root]);
    }
    if (this.lacking.get(root) === 0) this.onComplete(root);
    return checked;
  }

  async readChunk(digest: string): Promise<Uint8Array | null> {
    return this.chunks.get(digest) ?? null;
  }

  async putChunk(digest: string, bytes: Uint8Array): Promise<void> {
    if (!this.verify(digest, bytes)) throw new BlobVerifyError(`chunk ${digest}: the bytes do not hash to their digest`);
    this.store(digest, bytes);
  }

  async missing(root: string): Promise<number[]> {
    const manifest = this.manifests.get(root);
    if (manifest === undefined) return [];
    const out: number[] = [];
    manifest.chunks.forEach((digest, i) => {
      if (!this.chunks.has(digest)) out.push(i);
    });
    return out;
  }

  heldBytes(root: string): number {
    const manifest = this.manifests.get(root);
    if (manifest === undefined) return 0;
    return manifest.chunks.reduce((sum, digest, i) => sum + (this.chunks.has(digest) ? chunkLength(manifest, i) : 0), 0);
  }

  async isComplete(root: string): Promise<boolean> {
    return this.isCompleteNow(root);
  }

  isCompleteNow(root: string): boolean {
    return this.manifests.has(root) && this.lacking.get(root) === 0;
  }

  read(root: string): AsyncGenerator<Uint8Array> {
    return readInOrder(this, root);
  }

  async retainOnly(keep: ReadonlySet<string>): Promise<{ blobs: number; bytes: number }> {
    let blobs = 0;
    for (const root of [...this.manifests.keys()]) {
      if (keep.has(root)) continue;
      this.manifests.delete(root);
      this.lacking.delete(root);
      blobs++;
    }
    const before = this.bytes;
    const referenced = new Set([...this.manifests.values()].flatMap((m) => m.chunks));
    for (const [digest, bytes] of [...this.chunks]) {
      if (referenced.has(digest)) continue;
      this.chunks.delete(digest);
      this.blobsOf.delete(digest);
      this.bytes -= bytes.length;
    }
    return { blobs, bytes: before - this.bytes };
  }

  /** The check putChunk makes; a test's planted bug replaces it. */
  protected verify(digest: string, bytes: Uint8Array): boolean {
    const image = this.images().find((i) => i.has(digest));
    return image !== undefined ? image.isGenuine(digest, bytes) : sha256Hex(bytes) === digest;
  }

  private store(digest: string, bytes: Uint8Array): void {
    if (this.chunks.has(digest)) {
      this.duplicatePuts++;
      return;
    }
    if (this.bytes + bytes.length > this.maxBytes) {
      this.counters.fullRefusals++;
      throw new BlobStoreFullError(`blob store full: ${this.bytes} of ${this.maxBytes} bytes used, a chunk of ${bytes.length} does not fit`);
    }
    this.chunks.set(digest, bytes);
    this.bytes += bytes.length;
    for (const root of this.blobsOf.get(digest) ?? []) {
      const left = this.lacking.get(root);
      if (left === undefined) continue;
      this.lacking.set(root, left - 1);
      if (left === 1) this.onComplete(root);
    }
  }
}

/** A blob's chunks in order, each through the store's readChunk (so only verified bytes). */
export async function* readInOrder(store: Pick<BlobStorage, 'manifest' | 'readChunk'>, root: string): AsyncGenerator<Uint8Array> {
  const manifest = store.manifest(root);
  if (manifest === undefined) throw new BlobVerifyError(`blob ${root} is not in this store`);
  for (const digest of manifest.chunks) {
    const bytes = await store.readChunk(digest);
    if (bytes === null) throw new BlobVerifyError(`blob ${root}: chunk ${digest} is missing`);
    yield bytes;
  }
}
