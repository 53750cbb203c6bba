// The layer between a simulated site's blob storage and the site: it passes every call through and
// tells the blob checkers (sim/checkers/blob-integrity.ts) what was stored and what was handed out.
// It sits outside any planted bug a test wraps around the store, so the checkers see what the site
// really does, not what its store claims.
import type { BlobManifest } from '../../agent/blobs/format.js';
import type { BlobStorage } from '../../agent/blobs/ports.js';
import type { BlobStoreCounters, BlobStoreUsage } from '../../agent/blobs/store.js';
import { readInOrder } from './modelled-store.js';

export interface StorageObserver {
  stored(digest: string, bytes: Uint8Array): void;
  served(digest: string, bytes: Uint8Array): void;
}

export class ObservedBlobStorage implements BlobStorage {
  constructor(
    readonly inner: BlobStorage,
    private readonly observer: StorageObserver,
  ) {}

  get counters(): BlobStoreCounters {
    return this.inner.counters;
  }

  usage(): BlobStoreUsage {
    return this.inner.usage();
  }

  manifest(root: string): BlobManifest | undefined {
    return this.inner.manifest(root);
  }

  roots(): string[] {
    return this.inner.roots();
  }

  putManifest(root: string, manifest: unknown): Promise<BlobManifest> {
    return this.inner.putManifest(root, manifest);
  }

  async readChunk(digest: string): Promise<Uint8Array | null> {
    const bytes = await this.inner.readChunk(digest);
    if (bytes !== null) this.observer.served(digest, bytes);
    return bytes;
  }

  /** What the store answers for a chunk, not counted as served (the end-of-run check). */
  inspectChunk(digest: string): Promise<Uint8Array | null> {
    return this.inner.readChunk(digest);
  }

  async putChunk(digest: string, bytes: Uint8Array): Promise<void> {
    await this.inner.putChunk(digest, bytes);
    this.observer.stored(digest, bytes);
  }

  missing(root: string): Promise<number[]> {
    return this.inner.missing(root);
  }

  heldBytes(root: string): number {
    return this.inner.heldBytes(root);
  }

  isComplete(root: string): Promise<boolean> {
    return this.inner.isComplete(root);
  }

  read(root: string): AsyncGenerator<Uint8Array> {
    return readInOrder(this, root);
  }

  retainOnly(keep: ReadonlySet<string>): Promise<{ blobs: number; bytes: number }> {
    return this.inner.retainOnly(keep);
  }
}
