// The blob store of one site: chunks named by their SHA-256 under chunks/<2 hex>/<digest>, and
// manifests under manifests/<root>.json. Everything is written atomically (temp file, fsync,
// rename), so a crash leaves whole files or temp files, and open() removes the temp files. A chunk
// on disk is trusted only after it is hashed again in this life (a crash or a bad disk can leave a
// file renamed before its data reached the platter): missing() and readChunk() do that, and a bad
// one is removed, counted and fetched again. The store is bounded by maxBytes: a chunk that would
// pass it, or that the disk refuses with ENOSPC, fails with BlobStoreFullError and nothing of it
// stays.
import { createHash } from 'node:crypto';
import type { Logger } from '../../consensus/ports.js';
import { silentLogger } from '../../consensus/ports.js';
import { TMP_DIR, type BlobDisk } from './disk.js';
import {
  BLOB_FORMAT_VERSION,
  checkManifest,
  DEFAULT_CHUNK_BYTES,
  MAX_BLOB_BYTES,
  manifestRoot,
  sha256Hex,
  type BlobManifest,
} from './format.js';

export interface BlobStoreOptions {
  /** The store refuses a chunk that would take it past this many bytes of chunks. */
  maxBytes: number;
  chunkBytes?: number;
  logger?: Logger;
}

export class BlobStoreFullError extends Error {
  override readonly name = 'BlobStoreFullError';
}

/** Bytes that are not what their digest says: a lying peer, a changed source, a given digest that does not match. */
export class BlobVerifyError extends Error {
  override readonly name = 'BlobVerifyError';
}

export interface BlobStoreCounters {
  /** Chunks found on disk whose bytes no longer match their name (removed). */
  corruptChunksOnDisk: number;
  /** Manifests found on disk that did not check (removed). */
  corruptManifestsOnDisk: number;
  /** Writes refused because the store or the disk was full. */
  fullRefusals: number;
}

export interface BlobStoreUsage {
  bytes: number;
  maxBytes: number;
  chunks: number;
  blobs: number;
}

/** What a caller may assert about a blob it hands in (a digest the operator gave, the size the client announced). */
export interface IngestExpectation {
  size?: number;
  sha256?: string;
  sha512?: string;
  /** Glance's `checksum` of bits taken from it. */
  md5?: string;
}

export interface IngestResult {
  root: string;
  manifest: BlobManifest;
}

const CHUNKS_DIR = 'chunks';
const MANIFESTS_DIR = 'manifests';

function chunkPath(digest: string): string {
  return `${CHUNKS_DIR}/${digest.slice(0, 2)}/${digest}`;
}

function manifestPath(root: string): string {
  return `${MANIFESTS_DIR}/${root}.json`;
}

export class BlobStore {
  readonly counters: BlobStoreCounters = { corruptChunksOnDisk: 0, corruptManifestsOnDisk: 0, fullRefusals: 0 };
  readonly chunkBytes: number;
  private readonly maxBytes: number;
  private readonly logger: Logger;
  /** Size of every chunk file on disk (its count is bounded by maxBytes / the smallest chunk). */
  private readonly chunkSizes = new Map<string, number>();
  /** Chunks hashed and found good in this life. */
  private readonly verified = new Set<string>();
  private readonly manifests = new Map<string, BlobManifest>();
  /** Chunks written by an ingest that has not finished: garbage collection leaves them alone. */
  private readonly pinned = new Map<string, number>();
  private bytes = 0;
  /** Bytes promised to writes in progress, so concurrent writes cannot pass maxBytes together. */
  private reserved = 0;

  private constructor(
    private readonly disk: BlobDisk,
    options: BlobStoreOptions,
  ) {
    if (!Number.isSafeInteger(options.maxBytes) || options.maxBytes <= 0) throw new Error(`blob store: maxBytes must be a positive integer, got ${options.maxBytes}`);
    this.maxBytes = options.maxBytes;
    this.chunkBytes = options.chunkBytes ?? DEFAULT_CHUNK_BYTES;
    this.logger = options.logger ?? silentLogger;
  }

  /** Opens the store: removes temp files of writes a crash cut, loads and checks manifests, sizes chunks (hashing waits for use). */
  static async open(disk: BlobDisk, options: BlobStoreOptions): Promise<BlobStore> {
    const store = new BlobStore(disk, options);
    await disk.remove(TMP_DIR);
    await store.loadManifests();
    await store.sizeChunks();
    return store;
  }

  private async loadManifests(): Promise<void> {
    for (const name of await this.disk.list(MANIFESTS_DIR)) {
      const root = name.endsWith('.json') ? name.slice(0, -'.json'.length) : '';
      try {
        const bytes = await this.disk.read(`${MANIFESTS_DIR}/${name}`);
        if (bytes === null) continue;
        this.manifests.set(root, checkManifest(JSON.parse(Buffer.from(bytes).toString('utf8')), root));
      } catch (err) {
        this.counters.corruptManifestsOnDisk++;
        this.logger.warn({ file: name, err: (err as Error).message }, 'blob store: removing a manifest that does not check');
        await this.disk.remove(`${MANIFESTS_DIR}/${name}`);
      }
    }
  }

  private async sizeChunks(): Promise<void> {
    for (const prefix of await this.disk.list(CHUNKS_DIR)) {
      for (const digest of await this.disk.list(`${CHUNKS_DIR}/${prefix}`)) {
        const size = await this.disk.size(`${CHUNKS_DIR}/${prefix}/${digest}`);
        if (size === null) continue;
        if (digest.slice(0, 2) !== prefix || !/^[0-9a-f]{64}$/.test(digest)) {
          await this.disk.remove(`${CHUNKS_DIR}/${prefix}/${digest}`);
          continue;
        }
        this.chunkSizes.set(digest, size);
        this.bytes += size;
      }
    }
  }

  usage(): BlobStoreUsage {
    return { bytes: this.bytes, maxBytes: this.maxBytes, chunks: this.chunkSizes.size, blobs: this.manifests.size };
  }

  manifest(root: string): BlobManifest | undefined {
    return this.manifests.get(root);
  }

  roots(): string[] {
    return [...this.manifests.keys()];
  }

  /** Stores a manifest (checked against its root) so a fetch can start; idempotent. */
  async putManifest(root: string, manifest: unknown): Promise<BlobManifest> {
    const existing = this.manifests.get(root);
    if (existing !== undefined) return existing;
    const checked = checkManifest(manifest, root);
    await this.disk.writeAtomic(manifestPath(root), Buffer.from(JSON.stringify(checked)));
    this.manifests.set(root, checked);
    return checked;
  }

  /** True when the chunk is on disk and hashes to its name (hashed once per life; a bad file is removed). */
  async hasChunk(digest: string): Promise<boolean> {
    if (this.verified.has(digest)) return true;
    if (!this.chunkSizes.has(digest)) return false;
    return (await this.readChunk(digest)) !== null;
  }

  /** The chunk's bytes, hashed now: never bytes that do not match their digest. Null when not held. */
  async readChunk(digest: string): Promise<Uint8Array | null> {
    if (!this.chunkSizes.has(digest)) return null;
    const bytes = await this.disk.read(chunkPath(digest));
    if (bytes !== null && sha256Hex(bytes) === digest) {
      this.verified.add(digest);
      return bytes;
    }
    this.counters.corruptChunksOnDisk++;
    this.logger.warn({ chunk: digest, found: bytes === null ? 'missing' : `${bytes.length} bytes that hash otherwise` }, 'blob store: a chunk on disk is damaged; removed, it will be fetched again');
    await this.dropChunk(digest);
    return null;
  }

  /** Stores a chunk after checking it hashes to `digest` (BlobVerifyError otherwise, nothing stored). */
  async putChunk(digest: string, bytes: Uint8Array): Promise<void> {
    if (sha256Hex(bytes) !== digest) throw new BlobVerifyError(`chunk ${digest}: the bytes hash to ${sha256Hex(bytes)}`);
    await this.writeVerifiedChunk(digest, bytes);
  }

  private async writeVerifiedChunk(digest: string, bytes: Uint8Array): Promise<void> {
    if (this.verified.has(digest)) return;
    const previous = this.chunkSizes.get(digest);
    if (previous !== undefined) await this.dropChunk(digest); // on disk but not (yet) verified: replace it
    if (this.bytes + this.reserved + bytes.length > this.maxBytes) {
      this.counters.fullRefusals++;
      throw new BlobStoreFullError(`blob store full: ${this.bytes} of ${this.maxBytes} bytes used, a chunk of ${bytes.length} does not fit`);
    }
    this.reserved += bytes.length;
    try {
      await this.disk.writeAtomic(chunkPath(digest), bytes);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOSPC') {
        this.counters.fullRefusals++;
        throw new BlobStoreFullError(`blob store: the disk is full (${(err as Error).message})`, { cause: err });
      }
      throw err;
    } finally {
      this.reserved -= bytes.length;
    }
    this.chunkSizes.set(digest, bytes.length);
    this.bytes += bytes.length;
    this.verified.add(digest);
  }

  private async dropChunk(digest: string): Promise<void> {
    const size = this.chunkSizes.get(digest);
    this.verified.delete(digest);
    if (size === undefined) return;
    this.chunkSizes.delete(digest);
    this.bytes -= size;
    await this.disk.remove(chunkPath(digest));
  }

  /** Indexes of the blob's chunks this store does not hold verified (all of them when the manifest is unknown). */
  async missing(root: string): Promise<number[]> {
    const manifest = this.manifests.get(root);
    if (manifest === undefined) return [];
    const out: number[] = [];
    for (let i = 0; i < manifest.chunks.length; i++) {
      if (!(await this.hasChunk(manifest.chunks[i]!))) out.push(i);
    }
    return out;
  }

  /** Verified chunk bytes held for a blob (for progress), without hashing anything. */
  heldBytes(root: string): number {
    const manifest = this.manifests.get(root);
    if (manifest === undefined) return 0;
    let held = 0;
    for (const digest of manifest.chunks) if (this.verified.has(digest)) held += this.chunkSizes.get(digest) ?? 0;
    return held;
  }

  async isComplete(root: string): Promise<boolean> {
    return this.manifests.has(root) && (await this.missing(root)).length === 0;
  }

  /**
   * Stores a blob from a stream: cut into chunks, each stored as it fills, the whole hashed with
   * SHA-256, SHA-512 and MD5 on the way. When the stream fails, or its size or a digest differs from
   * `expect`, the chunks this ingest added are removed and the manifest is never written: nothing of
   * it stays. Returns the manifest and its root.
   */
  async ingest(source: AsyncIterable<Uint8Array>, expect: IngestExpectation = {}): Promise<IngestResult> {
    const ingest = this.beginIngest(expect);
    try {
      for await (const piece of source) await ingest.write(piece);
    } catch (err) {
      await ingest.abort();
      throw err;
    }
    return ingest.finish();
  }

  /** An ingest fed piece by piece (an upload in several requests); see ingest(). */
  beginIngest(expect: IngestExpectation = {}): BlobIngest {
    return new BlobIngest(this, expect, {
      has: (digest) => this.hasChunk(digest),
      write: (digest, bytes) => this.writeVerifiedChunk(digest, bytes),
      drop: async (digest) => {
        if (!this.referenced(digest)) await this.dropChunk(digest);
      },
      pin: (digest) => this.pin(digest),
      unpin: (digest) => this.unpin(digest),
    });
  }

  /** The blob's bytes in order, each chunk hashed as it is read; throws BlobVerifyError when one is missing or damaged. */
  async *read(root: string): AsyncGenerator<Uint8Array> {
    const manifest = this.manifests.get(root);
    if (manifest === undefined) throw new BlobVerifyError(`blob ${root} is not in this store`);
    for (const digest of manifest.chunks) {
      const bytes = await this.readChunk(digest);
      if (bytes === null) throw new BlobVerifyError(`blob ${root}: chunk ${digest} is missing or damaged`);
      yield bytes;
    }
  }

  /**
   * Garbage collection: removes every manifest not in `keep`, then every chunk no kept manifest
   * lists and no ingest in progress holds. Returns what it freed.
   */
  async retainOnly(keep: ReadonlySet<string>): Promise<{ blobs: number; bytes: number }> {
    let blobs = 0;
    for (const root of [...this.manifests.keys()]) {
      if (keep.has(root)) continue;
      this.manifests.delete(root);
      await this.disk.remove(manifestPath(root));
      blobs++;
    }
    const before = this.bytes;
    for (const digest of [...this.chunkSizes.keys()]) {
      if (!this.pinned.has(digest) && !this.referenced(digest)) await this.dropChunk(digest);
    }
    return { blobs, bytes: before - this.bytes };
  }

  private referenced(digest: string): boolean {
    for (const manifest of this.manifests.values()) if (manifest.chunks.includes(digest)) return true;
    return false;
  }

  private pin(digest: string): void {
    this.pinned.set(digest, (this.pinned.get(digest) ?? 0) + 1);
  }

  private unpin(digest: string): void {
    const n = (this.pinned.get(digest) ?? 0) - 1;
    if (n <= 0) this.pinned.delete(digest);
    else this.pinned.set(digest, n);
  }
}

function checkExpectation(m: BlobManifest, expect: IngestExpectation): void {
  if (expect.size !== undefined && expect.size !== m.size) throw new BlobVerifyError(`the source had ${m.size} bytes, ${expect.size} were announced`);
  if (expect.sha256 !== undefined && expect.sha256.toLowerCase() !== m.sha256) throw new BlobVerifyError(`sha256 mismatch: the bytes hash to ${m.sha256}, ${expect.sha256} was given`);
  if (expect.sha512 !== undefined && expect.sha512.toLowerCase() !== m.sha512) throw new BlobVerifyError(`sha512 mismatch: the bytes hash to ${m.sha512}, ${expect.sha512} was given`);
  if (expect.md5 !== undefined && expect.md5.toLowerCase() !== m.md5) throw new BlobVerifyError(`md5 mismatch: the bytes hash to ${m.md5}, ${expect.md5} was given`);
}


/** The store's chunk operations an ingest uses (private to the store otherwise). */
interface IngestChunkOps {
  has(digest: string): Promise<boolean>;
  write(digest: string, bytes: Uint8Array): Promise<void>;
  /** Removes a chunk unless a stored manifest lists it. */
  drop(digest: string): Promise<void>;
  pin(digest: string): void;
  unpin(digest: string): void;
}

export class BlobIngest {
  private readonly whole = { sha256: createHash('sha256'), sha512: createHash('sha512'), md5: createHash('md5') };
  private readonly chunks: string[] = [];
  private readonly added: string[] = [];
  private buffer: Buffer;
  private filled = 0;
  private size = 0;
  private state: 'open' | 'finished' | 'aborted' = 'open';

  constructor(
    private readonly store: BlobStore,
    private readonly expect: IngestExpectation,
    private readonly ops: IngestChunkOps,
  ) {
    this.buffer = Buffer.allocUnsafe(store.chunkBytes);
  }

  get bytesReceived(): number {
    return this.size;
  }

  /** Takes the next bytes; a chunk is stored each time one fills. On an error the ingest is aborted. */
  async write(piece: Uint8Array): Promise<void> {
    if (this.state !== 'open') throw new Error(`ingest is ${this.state}`);
    try {
      this.size += piece.length;
      const limit = this.expect.size ?? MAX_BLOB_BYTES;
      if (this.size > limit) throw new BlobVerifyError(`the source has more than the ${limit} bytes announced`);
      let offset = 0;
      while (offset < piece.length) {
        const n = Math.min(this.buffer.length - this.filled, piece.length - offset);
        this.buffer.set(piece.subarray(offset, offset + n), this.filled);
        this.filled += n;
        offset += n;
        if (this.filled === this.buffer.length) {
          const full = this.buffer;
          this.buffer = Buffer.allocUnsafe(this.store.chunkBytes);
          this.filled = 0;
          await this.storeChunk(full);
        }
      }
    } catch (err) {
      await this.abort();
      throw err;
    }
  }

  /** The last chunk, the checks against `expect`, the manifest. Nothing stays when a check fails. */
  async finish(): Promise<IngestResult> {
    if (this.state !== 'open') throw new Error(`ingest is ${this.state}`);
    try {
      if (this.filled > 0) await this.storeChunk(this.buffer.subarray(0, this.filled));
      const manifest: BlobManifest = {
        v: BLOB_FORMAT_VERSION,
        size: this.size,
        chunkBytes: this.store.chunkBytes,
        sha256: this.whole.sha256.digest('hex'),
        sha512: this.whole.sha512.digest('hex'),
        md5: this.whole.md5.digest('hex'),
        chunks: this.chunks,
      };
      checkExpectation(manifest, this.expect);
      const root = manifestRoot(manifest);
      await this.store.putManifest(root, manifest);
      this.release('finished');
      return { root, manifest };
    } catch (err) {
      await this.abort();
      throw err;
    }
  }

  /** Removes what this ingest added (unless a stored manifest lists it). */
  async abort(): Promise<void> {
    if (this.state !== 'open') return;
    this.release('aborted');
    for (const digest of this.added) await this.ops.drop(digest);
  }

  private async storeChunk(chunk: Uint8Array): Promise<void> {
    this.whole.sha256.update(chunk);
    this.whole.sha512.update(chunk);
    this.whole.md5.update(chunk);
    const digest = sha256Hex(chunk);
    this.chunks.push(digest);
    this.ops.pin(digest);
    if (await this.ops.has(digest)) return;
    await this.ops.write(digest, chunk);
    this.added.push(digest);
  }

  private release(state: 'finished' | 'aborted'): void {
    this.state = state;
    for (const digest of this.chunks) this.ops.unpin(digest);
  }
}
