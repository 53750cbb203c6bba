// The bits of a simulated image, without allocating them: every chunk's bytes are a window of one
// seeded pool of random bytes (chunk i = pool[i, i + its length)), so a 2 GiB image of 4 MiB chunks
// needs a pool of 4 MiB + 512 bytes. The windows are real bytes: the manifest's chunk digests and the
// whole image's SHA-256, SHA-512 and MD5 are computed by hashing them (once, when the image is made),
// and the manifest is the daemon's format with its real root. What travels and what a store keeps
// are views of the pool, handed on by reference.
//
// Verification stays real. isGenuine(digest, bytes) accepts a view only if it is the very window the
// digest was computed from (same memory, same offset, same length); any other bytes (a copy, a
// damaged chunk, a lying peer's answer) are hashed, so a corrupt chunk is always detected. That the
// pool itself never changed is checked at the end of a run by hashing every window again
// (recheck()).
import { createHash } from 'node:crypto';
import { BLOB_FORMAT_VERSION, chunkCount, chunkLength, DEFAULT_CHUNK_BYTES, manifestRoot, sha256Hex, type BlobManifest } from '../../agent/blobs/format.js';
import type { Prng } from '../prng.js';

/** The largest image the simulator models (a pool of chunkBytes + chunk count bytes stays small). */
export const MAX_MODELLED_IMAGE_BYTES = 2 ** 40;

export class ModelledImage {
  readonly manifest: BlobManifest;
  readonly root: string;
  private readonly pool: Uint8Array;
  /** Chunk index by digest (a manifest's digests are distinct: windows of random bytes). */
  private readonly indexOf = new Map<string, number>();

  constructor(prng: Prng, readonly size: number, readonly chunkBytes = DEFAULT_CHUNK_BYTES) {
    if (!Number.isSafeInteger(size) || size <= 0 || size > MAX_MODELLED_IMAGE_BYTES) throw new RangeError(`image size must be 1 byte to 1 TiB, got ${size}`);
    const chunks = chunkCount(size, chunkBytes);
    this.pool = randomBytesFrom(prng, Math.min(size, chunkBytes) + chunks);
    const whole = { sha256: createHash('sha256'), sha512: createHash('sha512'), md5: createHash('md5') };
    const digests: string[] = [];
    for (let i = 0; i < chunks; i++) {
      const view = this.windowOf(i, chunkLength({ size, chunkBytes }, i));
      whole.sha256.update(view);
      whole.sha512.update(view);
      whole.md5.update(view);
      const digest = sha256Hex(view);
      if (this.indexOf.has(digest)) throw new Error(`modelled image: chunks ${this.indexOf.get(digest)} and ${i} have the same digest`);
      this.indexOf.set(digest, i);
      digests.push(digest);
    }
    this.manifest = {
      v: BLOB_FORMAT_VERSION,
      size,
      chunkBytes,
      sha256: whole.sha256.digest('hex'),
      sha512: whole.sha512.digest('hex'),
      md5: whole.md5.digest('hex'),
      chunks: digests,
    };
    this.root = manifestRoot(this.manifest);
  }

  /** The bytes of chunk `index` (a view of the pool: no copy). */
  chunk(index: number): Uint8Array {
    return this.windowOf(index, chunkLength(this.manifest, index));
  }

  has(digest: string): boolean {
    return this.indexOf.has(digest);
  }

  /** True when `bytes` are exactly the bytes of the chunk `digest` names (hashed unless they are its own window). */
  isGenuine(digest: string, bytes: Uint8Array): boolean {
    const index = this.indexOf.get(digest);
    if (index !== undefined && this.isWindow(index, bytes)) return true;
    return sha256Hex(bytes) === digest;
  }

  /** Hashes every window again: the digests of chunks whose bytes changed since the image was made. */
  recheck(): string[] {
    return this.manifest.chunks.filter((digest, i) => sha256Hex(this.chunk(i)) !== digest);
  }

  private windowOf(index: number, length: number): Uint8Array {
    return this.pool.subarray(index, index + length);
  }

  private isWindow(index: number, bytes: Uint8Array): boolean {
    return bytes.buffer === this.pool.buffer && bytes.byteOffset === this.pool.byteOffset + index && bytes.length === chunkLength(this.manifest, index);
  }
}

function randomBytesFrom(prng: Prng, n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i += 4) {
    const word = prng.next() >>> 0;
    for (let b = 0; b < 4 && i + b < n; b++) out[i + b] = (word >>> (8 * b)) & 0xff;
  }
  return out;
}
