// A pass-through stream that hashes image bits on their way to Glance and holds back the last chunk
// until the digests are checked. When the bits do not match the catalog's digest, the stream fails
// before the upload is complete: Glance sees a broken upload, keeps the image 'queued' (so its id is
// not burned, as a delete would do) and stackraft reports the mismatch.
import { createHash, type Hash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { ChecksumMismatchError } from './errors.js';
import type { ImageSource } from './types.js';

export interface ImageDigests {
  sizeBytes: number;
  sha256?: string;
  /** Always computed: Glance's default os_hash_algo, checked against what Glance stored. */
  sha512: string;
}

export class DigestGate extends Transform {
  private readonly sha256: Hash | undefined;
  private readonly sha512 = createHash('sha512');
  private held: Buffer | undefined;
  private sizeBytes = 0;
  private digests: ImageDigests | undefined;
  /** Set when the bits did not match (the stream then fails with it). */
  mismatch: ChecksumMismatchError | undefined;

  constructor(
    private readonly imageId: string,
    private readonly expected: ImageSource,
  ) {
    super();
    this.sha256 = expected.sha256 === undefined ? undefined : createHash('sha256');
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.sha256?.update(chunk);
    this.sha512.update(chunk);
    this.sizeBytes += chunk.length;
    if (this.held !== undefined) this.push(this.held);
    this.held = chunk;
    callback();
  }

  override _flush(callback: TransformCallback): void {
    const digests: ImageDigests = { sizeBytes: this.sizeBytes, sha512: this.sha512.digest('hex') };
    if (this.sha256 !== undefined) digests.sha256 = this.sha256.digest('hex');
    this.digests = digests;
    const wrong = this.wrongDigest(digests);
    if (wrong !== undefined) {
      this.mismatch = new ChecksumMismatchError({
        service: 'source',
        method: 'GET',
        path: safeUrlPath(this.expected.url),
        message:
          `image ${this.imageId}: the bits from ${safeUrlPath(this.expected.url)} have ${wrong.algo} ${wrong.actual}, the catalog says ` +
          `${wrong.expected} (${digests.sizeBytes} bytes read). The upload was aborted before it completed, so the ` +
          `image stays queued in Glance; fix the catalog's digest or the source and stackraft will upload again.`,
      });
      callback(this.mismatch);
      return;
    }
    if (this.held !== undefined) this.push(this.held);
    this.held = undefined;
    callback();
  }

  /** The digests of everything that passed (after the stream ended). */
  result(): ImageDigests | undefined {
    return this.digests;
  }

  private wrongDigest(d: ImageDigests): { algo: string; actual: string; expected: string } | undefined {
    if (this.expected.sha256 !== undefined && d.sha256 !== this.expected.sha256) {
      return { algo: 'sha256', actual: d.sha256 ?? '', expected: this.expected.sha256 };
    }
    if (this.expected.sha512 !== undefined && d.sha512 !== this.expected.sha512) {
      return { algo: 'sha512', actual: d.sha512, expected: this.expected.sha512 };
    }
    return undefined;
  }
}

/** The path of a URL for error fields (never its query, which may hold a signed token). */
export function safeUrlPath(url: string): string {
  try {
    const u = new URL(url);
    return `${u.host}${u.pathname}`;
  } catch {
    return '(invalid url)';
  }
}
