// Serves this site's blobs to members: a manifest it holds, or a chunk it holds, hashed again as it
// is read (store.readChunk), so a site never serves bytes it has not verified. Bounded: at most
// maxServes chunk requests at once in total and maxServesPerPeer per member, and as many manifest and
// have requests (past either the answer is BUSY and the fetcher asks elsewhere); the site's upload rate is capped when configured; a
// request must arrive within requestTimeoutMs. A malformed request is counted and closes the stream.
// A pick (the fetcher names some chunks, the server chooses) gets the named chunk this server has
// sent least often by pick: a site that holds a blob nobody else has yet (the origin, early in a
// rollout) sends every chunk once before it sends any twice, so its uplink feeds the swarm chunks
// it lacks rather than copies the fetchers could get from each other.
import type { Clock, Logger } from '../../consensus/ports.js';
import type { MemberId } from '../../consensus/types.js';
import type { BlobStorage, ByteStream, TransferActivity } from './ports.js';
import type { ByteRateLimit } from './rate.js';
import { FrameError } from '../net/framing.js';
import { decodeRequest, encodeHaveBitmap, encodeResponseHeader, StreamReader, type BlobRefusalCode, type BlobRequest } from './wire.js';

export interface BlobServerLimits {
  maxServes: number;
  maxServesPerPeer: number;
  /**
   * Chunk bodies on their way at once; the other accepted chunk requests wait their turn in order.
   * Fewer at once finish each sooner over a shared uplink (32 fair shares of it finish all 32 chunks
   * at the end, 8 at a time finish 8 in a quarter of that), and a chunk a site has received is one
   * it can serve to others.
   */
  maxSending: number;
  requestTimeoutMs: number;
}

export const DEFAULT_BLOB_SERVER_LIMITS: BlobServerLimits = { maxServes: 32, maxServesPerPeer: 8, maxSending: 8, requestTimeoutMs: 10_000 };
/** Bytes handed to the stream at once: the rate cap and backpressure act at this grain. */
const SEND_PIECE_BYTES = 256 * 1024;
/** Blobs whose per-chunk pick counts are kept (the least recently picked from is forgotten first). */
export const MAX_PICK_COUNTED_BLOBS = 16;

export interface BlobServerCounters {
  bytesServed: number;
  chunksServed: number;
  manifestsServed: number;
  refused: Record<BlobRefusalCode, number>;
  badRequests: number;
  /** Have requests answered (which chunks of a blob this site holds). */
  havesServed: number;
  /** Chunks sent in answer to a pick (also counted in chunksServed). */
  picksServed: number;
}

export interface BlobServerDeps {
  clusterId: string;
  store: BlobStorage;
  limits?: Partial<BlobServerLimits>;
  uploadLimit?: ByteRateLimit;
  /** Timers for the request timeout (the site's clock: virtual in the simulator); real timers when absent. */
  clock?: Clock;
  /** Told while a chunk is being sent. */
  transfers?: TransferActivity;
  logger: Logger;
}

export class BlobServer {
  readonly counters: BlobServerCounters = { bytesServed: 0, chunksServed: 0, manifestsServed: 0, refused: { NOT_HELD: 0, BUSY: 0, BAD_REQUEST: 0, WRONG_CLUSTER: 0 }, badRequests: 0, havesServed: 0, picksServed: 0 };
  private readonly limits: BlobServerLimits;
  private readonly chunkSlots = { active: 0, perPeer: new Map<MemberId, number>() };
  private readonly smallSlots = { active: 0, perPeer: new Map<MemberId, number>() };
  private sending = 0;
  /** Chunk requests waiting for a sending turn, oldest first (each holds a serve slot: at most maxServes). */
  private readonly sendQueue: Array<() => void> = [];
  /** Per blob root, how often each chunk was sent by pick. */
  private readonly pickCounts = new Map<string, Uint32Array>();

  constructor(private readonly deps: BlobServerDeps) {
    this.limits = { ...DEFAULT_BLOB_SERVER_LIMITS, ...deps.limits };
  }

  handle(stream: ByteStream, member: MemberId): void {
    void this.serve(stream, member).catch((err: Error) => {
      if (err instanceof FrameError) {
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
    // Chunk requests and the small ones (manifest, have) are counted apart: chunk requests waiting
    // for a sending turn must not make a site refuse a manifest or a have, which take no turn.
    const slots = request.op === 'chunk' || request.op === 'pick' ? this.chunkSlots : this.smallSlots;
    const peerActive = slots.perPeer.get(member) ?? 0;
    if (slots.active >= this.limits.maxServes || peerActive >= this.limits.maxServesPerPeer) {
      return this.refuse(stream, 'BUSY', `serving ${slots.active} requests (${peerActive} of yours)`);
    }
    slots.active++;
    slots.perPeer.set(member, peerActive + 1);
    try {
      await this.answer(stream, request);
    } finally {
      slots.active--;
      const left = (slots.perPeer.get(member) ?? 1) - 1;
      if (left === 0) slots.perPeer.delete(member);
      else slots.perPeer.set(member, left);
    }
  }

  private async answer(stream: ByteStream, request: BlobRequest): Promise<void> {
    const release = request.op === 'chunk' || request.op === 'pick' ? await this.sendingTurn() : () => undefined;
    const ended = request.op === 'chunk' || request.op === 'pick' ? this.deps.transfers?.begin() : undefined;
    try {
      await this.answerNow(stream, request);
    } finally {
      ended?.();
      release();
    }
  }

  /** Waits until fewer than maxSending chunk bodies are on their way; the returned function ends the turn (handing it to the oldest waiter). */
  private async sendingTurn(): Promise<() => void> {
    if (this.sending < this.limits.maxSending) this.sending++;
    else await new Promise<void>((resolve) => this.sendQueue.push(resolve));
    let done = false;
    return () => {
      if (done) return;
      done = true;
      const next = this.sendQueue.shift();
      if (next !== undefined) next();
      else this.sending--;
    };
  }

  private async answerNow(stream: ByteStream, request: BlobRequest): Promise<void> {
    let body: Uint8Array | null;
    let chunk: number | undefined;
    if (request.op === 'pick') {
      const picked = await this.pick(request.root, request.chunks);
      body = picked?.bytes ?? null;
      chunk = picked?.index;
    } else if (request.op === 'manifest') {
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
    await stream.write(encodeResponseHeader({ ok: true, bytes: body.length, ...(chunk !== undefined ? { chunk } : {}) }));
    for (let offset = 0; offset < body.length; offset += SEND_PIECE_BYTES) {
      const piece = body.subarray(offset, offset + SEND_PIECE_BYTES);
      await this.deps.uploadLimit?.take(piece.length);
      await stream.write(piece);
      this.counters.bytesServed += piece.length;
    }
    if (request.op === 'manifest') this.counters.manifestsServed++;
    else if (request.op === 'have') this.counters.havesServed++;
    else this.counters.chunksServed++;
    if (request.op === 'pick') this.counters.picksServed++;
    await stream.end();
  }

  /**
   * The named chunk this site holds that it has sent least often by pick (the first named among
   * equals), counted as sent when chosen so concurrent picks spread; null when it holds none of them.
   */
  private async pick(root: string, named: readonly number[]): Promise<{ index: number; bytes: Uint8Array } | null> {
    const manifest = this.deps.store.manifest(root);
    if (manifest === undefined) return null;
    let counts = this.pickCounts.get(root);
    if (counts === undefined) {
      counts = new Uint32Array(manifest.chunks.length);
      if (this.pickCounts.size >= MAX_PICK_COUNTED_BLOBS) this.pickCounts.delete(this.pickCounts.keys().next().value!);
    }
    this.pickCounts.delete(root);
    this.pickCounts.set(root, counts);
    const order = [...new Set(named)].filter((i) => i < manifest.chunks.length).sort((a, b) => counts[a]! - counts[b]!);
    for (const index of order) {
      counts[index]!++;
      const bytes = await this.deps.store.readChunk(manifest.chunks[index]!);
      if (bytes !== null) return { index, bytes };
      counts[index]!--;
    }
    return null;
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
