// Serves this site's blobs to members: a manifest it holds, or a chunk it holds, hashed again as it
// is read (store.readChunk), so a site never serves bytes it has not verified. Bounded: at most
// maxServes requests at once in total and maxServesPerPeer per member (past either the answer is
// BUSY and the fetcher asks elsewhere); the site's upload rate is capped when configured; a
// request must arrive within requestTimeoutMs. A malformed request is counted and closes the stream.
import type { Clock, Logger } from '../../consensus/ports.js';
import type { MemberId } from '../../consensus/types.js';
import type { BlobStorage, ByteStream } from './ports.js';
import type { ByteRateLimit } from './rate.js';
import { BlobWireError, decodeRequest, encodeHaveBitmap, encodeResponseHeader, StreamReader, type BlobRefusalCode, type BlobRequest } from './wire.js';

export interface BlobServerLimits {
  maxServes: number;
  maxServesPerPeer: number;
  requestTimeoutMs: number;
}

export const DEFAULT_BLOB_SERVER_LIMITS: BlobServerLimits = { maxServes: 32, maxServesPerPeer: 8, requestTimeoutMs: 10_000 };
/** Bytes handed to the stream at once: the rate cap and backpressure act at this grain. */
const SEND_PIECE_BYTES = 256 * 1024;

export interface BlobServerCounters {
  bytesServed: number;
  chunksServed: number;
  manifestsServed: number;
  refused: Record<BlobRefusalCode, number>;
  badRequests: number;
  /** Have requests answered (which chunks of a blob this site holds). */
  havesServed: number;
}

export interface BlobServerDeps {
  clusterId: string;
  store: BlobStorage;
  limits?: Partial<BlobServerLimits>;
  uploadLimit?: ByteRateLimit;
  /** Timers for the request timeout (the site's clock: virtual in the simulator); real timers when absent. */
  clock?: Clock;
  logger: Logger;
}

export class BlobServer {
  readonly counters: BlobServerCounters = { bytesServed: 0, chunksServed: 0, manifestsServed: 0, refused: { NOT_HELD: 0, BUSY: 0, BAD_REQUEST: 0, WRONG_CLUSTER: 0 }, badRequests: 0, havesServed: 0 };
  private readonly limits: BlobServerLimits;
  private active = 0;
  private readonly activePerPeer = new Map<MemberId, number>();

  constructor(private readonly deps: BlobServerDeps) {
    this.limits = { ...DEFAULT_BLOB_SERVER_LIMITS, ...deps.limits };
  }

  handle(stream: ByteStream, member: MemberId): void {
    void this.serve(stream, member).catch((err: Error) => {
      if (err instanceof BlobWireError) {
        this.counters.badRequests++;
        this.deps.logger.warn({ member, err: err.message }, 'blob request refused: malformed; stream closed');
      } else {
        this.deps.logger.debug({ member, err: err.message }, 'blob request ended early');
      }
      stream.abort(err);
    });
  }

  private async serve(stream: ByteStream, member: MemberId): Promise<void> {
    const reader = new StreamReader(stream.incoming);
    const { cluster, request } = decodeRequest(await withTimeout(reader.readFrame(), this.limits.requestTimeoutMs, 'no request', this.deps.clock));
    if (cluster !== this.deps.clusterId) return this.refuse(stream, 'WRONG_CLUSTER', `this site is in cluster ${this.deps.clusterId}`);
    const peerActive = this.activePerPeer.get(member) ?? 0;
    if (this.active >= this.limits.maxServes || peerActive >= this.limits.maxServesPerPeer) {
      return this.refuse(stream, 'BUSY', `serving ${this.active} requests (${peerActive} of yours)`);
    }
    this.active++;
    this.activePerPeer.set(member, peerActive + 1);
    try {
      await this.answer(stream, request);
    } finally {
      this.active--;
      const left = (this.activePerPeer.get(member) ?? 1) - 1;
      if (left === 0) this.activePerPeer.delete(member);
      else this.activePerPeer.set(member, left);
    }
  }

  private async answer(stream: ByteStream, request: BlobRequest): Promise<void> {
    let body: Uint8Array | null;
    if (request.op === 'manifest') {
      const manifest = this.deps.store.manifest(request.root);
      body = manifest === undefined ? null : Buffer.from(JSON.stringify(manifest));
    } else if (request.op === 'have') {
      // A site still fetching the blob serves what it has verified: this says which chunks those are.
      const manifest = this.deps.store.manifest(request.root);
      body = manifest === undefined ? null : encodeHaveBitmap(manifest.chunks.length, await this.deps.store.missing(request.root));
    } else {
      body = await this.deps.store.readChunk(request.digest);
    }
    if (body === null) return this.refuse(stream, 'NOT_HELD', `this site does not hold ${request.op} ${request.op === 'chunk' ? request.digest : request.root}`);
    await stream.write(encodeResponseHeader({ ok: true, bytes: body.length }));
    for (let offset = 0; offset < body.length; offset += SEND_PIECE_BYTES) {
      const piece = body.subarray(offset, offset + SEND_PIECE_BYTES);
      await this.deps.uploadLimit?.take(piece.length);
      await stream.write(piece);
      this.counters.bytesServed += piece.length;
    }
    if (request.op === 'manifest') this.counters.manifestsServed++;
    else if (request.op === 'have') this.counters.havesServed++;
    else this.counters.chunksServed++;
    await stream.end();
  }

  private async refuse(stream: ByteStream, code: BlobRefusalCode, message: string): Promise<void> {
    this.counters.refused[code]++;
    await stream.write(encodeResponseHeader({ ok: false, code, message }));
    await stream.end();
  }
}

export function withTimeout<T>(promise: Promise<T>, ms: number, what: string, clock?: Clock): Promise<T> {
  let cancel = (): void => undefined;
  const timeout = new Promise<never>((_, reject) => {
    const fire = () => reject(new Error(`${what} within ${ms} ms`));
    if (clock !== undefined) {
      const timer = clock.setTimer(ms, fire);
      cancel = () => timer.cancel();
    } else {
      const timer = setTimeout(fire, ms);
      cancel = () => clearTimeout(timer);
    }
  });
  return Promise.race([promise, timeout]).finally(cancel);
}
