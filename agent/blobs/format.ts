// What a blob is on disk and on the wire: the image's bytes cut into fixed-size chunks, each named
// by its SHA-256, and a manifest listing the chunk digests with the whole blob's size and digests.
// The manifest's root (the SHA-256 of its canonical text) is what the catalog record carries, so
// the log stays small, a holder can prove it serves the right manifest, and every chunk is checked
// on its own as it arrives.
import { createHash } from 'node:crypto';

export const BLOB_FORMAT_VERSION = 1;
/** A few MiB: big enough that per-chunk overhead (one stream, one hash, one file) is noise, small enough to retry cheaply. */
export const DEFAULT_CHUNK_BYTES = 4 * 1024 * 1024;
export const MIN_CHUNK_BYTES = 64 * 1024;
export const MAX_CHUNK_BYTES = 16 * 1024 * 1024;
/** 1 TiB: an image larger than this is refused before a byte is stored. */
export const MAX_BLOB_BYTES = 2 ** 40;
/** A manifest lists at most this many chunks (1 TiB in 4 MiB chunks). */
export const MAX_MANIFEST_CHUNKS = MAX_BLOB_BYTES / DEFAULT_CHUNK_BYTES;

const HEX64 = /^[0-9a-f]{64}$/;
const HEX128 = /^[0-9a-f]{128}$/;

export interface BlobManifest {
  v: typeof BLOB_FORMAT_VERSION;
  /** Total bytes of the blob. */
  size: number;
  /** Bytes per chunk; the last chunk holds the rest (size - (n-1) * chunkBytes). */
  chunkBytes: number;
  /** SHA-256 of the whole blob (Glance's os_hash_value when its algorithm is sha256). */
  sha256: string;
  /** SHA-512 of the whole blob (Glance's default os_hash_value). */
  sha512: string;
  /** MD5 of the whole blob (Glance's `checksum`). */
  md5: string;
  /** SHA-256 of each chunk, in order. */
  chunks: string[];
}

export class BlobFormatError extends Error {
  override readonly name = 'BlobFormatError';
}

/** The canonical text a manifest's root is the SHA-256 of: one field a line, chunk digests last. */
export function manifestText(m: BlobManifest): string {
  return [`stackraft-blob-manifest ${m.v}`, `size ${m.size}`, `chunk ${m.chunkBytes}`, `sha256 ${m.sha256}`, `sha512 ${m.sha512}`, `md5 ${m.md5}`, ...m.chunks, ''].join('\n');
}

export function manifestRoot(m: BlobManifest): string {
  return sha256Hex(manifestText(m));
}

export function sha256Hex(data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex');
}

export function isDigest(value: unknown): value is string {
  return typeof value === 'string' && HEX64.test(value);
}

/** Bytes of chunk `index` of a blob of `size` bytes cut in `chunkBytes`. */
export function chunkLength(m: Pick<BlobManifest, 'size' | 'chunkBytes'>, index: number): number {
  return Math.min(m.chunkBytes, m.size - index * m.chunkBytes);
}

export function chunkCount(size: number, chunkBytes: number): number {
  return size === 0 ? 0 : Math.ceil(size / chunkBytes);
}

/**
 * Checks a manifest read from a disk or a peer, and that it is the one `root` names. Throws
 * BlobFormatError with what is wrong; returns the manifest with exactly the known fields.
 */
export function checkManifest(input: unknown, root: string): BlobManifest {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) throw new BlobFormatError('manifest: not an object');
  const o = input as Record<string, unknown>;
  if (o.v !== BLOB_FORMAT_VERSION) throw new BlobFormatError(`manifest: format version ${String(o.v)} is not ${BLOB_FORMAT_VERSION}`);
  const size = o.size;
  const chunkBytes = o.chunkBytes;
  if (!Number.isSafeInteger(size) || (size as number) < 0 || (size as number) > MAX_BLOB_BYTES) throw new BlobFormatError('manifest: size out of range');
  if (!Number.isSafeInteger(chunkBytes) || (chunkBytes as number) < MIN_CHUNK_BYTES || (chunkBytes as number) > MAX_CHUNK_BYTES) {
    throw new BlobFormatError('manifest: chunkBytes out of range');
  }
  if (typeof o.sha256 !== 'string' || !HEX64.test(o.sha256)) throw new BlobFormatError('manifest: sha256 is not 64 hex digits');
  if (typeof o.sha512 !== 'string' || !HEX128.test(o.sha512)) throw new BlobFormatError('manifest: sha512 is not 128 hex digits');
  if (typeof o.md5 !== 'string' || !/^[0-9a-f]{32}$/.test(o.md5)) throw new BlobFormatError('manifest: md5 is not 32 hex digits');
  if (!Array.isArray(o.chunks) || o.chunks.length !== chunkCount(size as number, chunkBytes as number)) {
    throw new BlobFormatError('manifest: the chunk list does not match size / chunkBytes');
  }
  for (const c of o.chunks) if (!isDigest(c)) throw new BlobFormatError('manifest: a chunk digest is not 64 hex digits');
  const manifest: BlobManifest = {
    v: BLOB_FORMAT_VERSION,
    size: size as number,
    chunkBytes: chunkBytes as number,
    sha256: o.sha256,
    sha512: o.sha512,
    md5: o.md5,
    chunks: [...(o.chunks as string[])],
  };
  const actual = manifestRoot(manifest);
  if (actual !== root) throw new BlobFormatError(`manifest: its root is ${actual}, not ${root}`);
  return manifest;
}
