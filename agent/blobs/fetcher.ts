// Swarm fetch: a site gets a blob's chunks in parallel from every member that holds them (the
// catalog says who), nearest by measured RTT first, and stores each one only after it hashes to its
// digest; what it has stored it serves to others at once (server.ts). A peer that serves bytes that
// do not verify is counted, logged and not asked again for this blob; the chunk is asked of
// another. Bounded: maxFetches requests at once in the whole site, maxFetchesPerPeer to one
// member, chunkTimeoutMs for one request, a download rate cap when configured.
import type { Clock, Logger } from '../../consensus/ports.js';
import type { MemberId } from '../../consensus/types.js';
import { BlobFormatError, checkManifest, chunkLength, type BlobManifest } from './format.js';
import type { BlobStorage, BlobStreams, ByteStream, TransferActivity } from './ports.js';
import type { ByteRateLimit } from './rate.js';
import { BlobStoreFullError, BlobVerifyError } from './store.js';
import { decodeResponseHeader, encodeRequest, hasChunkBit, haveBitmapBytes, MAX_MANIFEST_BODY_BYTES, MAX_PICK_CHOICES, StreamReader, type BlobRefusalCode, type BlobRequest } from './wire.js';

export interface BlobFetchLimits {
  maxFetches: number;
  maxFetchesPerPeer: number;
  chunkTimeoutMs: number;
  /** Rounds over the holders for one chunk before the fetch fails (a partial holder may get it meanwhile). */
  maxRoundsPerChunk: number;
  /** Pause between two rounds over the holders. */
  roundPauseMs: number;
}

export const DEFAULT_BLOB_FETCH_LIMITS: BlobFetchLimits = { maxFetches: 16, maxFetchesPerPeer: 4, chunkTimeoutMs: 30_000, maxRoundsPerChunk: 5, roundPauseMs: 500 };
/** A partial holder's have bitmap is asked again when older than this (at most one have per holder per fetch per interval). */
export const HAVE_REFRESH_MS = 2_000;
/** Fetches remembered for progress (the oldest finished one is forgotten first). */
export const MAX_FETCHES_REMEMBERED = 256;

/**
 * How long a member that answered BUSY is asked only when no other holder can serve the chunk, and
 * not for chunks nobody else has (this fetcher's view, across its fetches).
 */
export const BUSY_BACKOFF_MS = 250;

export class BlobFetchError extends Error {
  override readonly name = 'BlobFetchError';
  /** The member's refusal code, when it refused. */
  constructor(message: string, readonly refusal?: BlobRefusalCode) {
    super(message);
  }
}

export interface BlobFetchProgress {
  root: string;
  state: 'fetching' | 'done' | 'failed';
  bytesDone: number;
  bytesTotal: number;
  /** Bytes per second over the fetch so far (over the whole fetch once done). */
  rateBytesPerSecond: number;
  /** Milliseconds since the fetch began (its whole duration once it ended). */
  elapsedMs: number;
  /** Members chunks are being fetched from right now. */
  peers: MemberId[];
  /** Members that served a chunk that failed verification. */
  avoided: MemberId[];
  lastError?: string;
}

export interface BlobFetcherCounters {
  bytesFetched: number;
  chunksFetched: number;
  /** Chunks a peer served that did not hash to their digest. */
  badChunks: number;
  /** Requests that failed other than by a bad chunk (timeout, refusal, stream cut). */
  failedRequests: number;
}

export interface BlobFetcherDeps {
  clusterId: string;
  store: BlobStorage;
  streams: BlobStreams;
  /** Measured round trip to a member, when known. */
  rttMs(member: MemberId): number | undefined;
  limits?: Partial<BlobFetchLimits>;
  downloadLimit?: ByteRateLimit;
  now(): number;
  sleep(ms: number): Promise<void>;
  /** Timers for request timeouts (the site's clock: virtual in the simulator); real timers when absent. */
  clock?: Clock;
  /**
   * Where this site starts in a blob's chunk list (the site's name): sites that all began at chunk 0
   * would hold the same chunks, so a partial holder would have nothing the others lack.
   */
  orderKey?: string;
  /** Told while a fetch runs. */
  transfers?: TransferActivity;
  logger: Logger;
}

/** The state of one fetch in progress. */
interface Fetch {
  progress: BlobFetchProgress;
  startedAt: number;
  bytesAtStart: number;
  inflight: Map<MemberId, number>;
  avoided: Set<MemberId>;
  /** Sites still fetching this blob themselves: asked only for the chunks their have bitmap lists. */
  partial: () => MemberId[];
  /** What each partial holder said it holds, and when (null: it could not say). */
  haves: Map<MemberId, { bits: Uint8Array | null; at: number }>;
  haveAsks: Map<MemberId, Promise<void>>;
  /** Per chunk, how many partial holders' last have bitmaps list it (empty until the manifest is known). */
  partialCopies: Uint16Array;
  /** Members whose answer to a pick was not a protocol answer (older agents): asked by chunk only. */
  noPick: Set<MemberId>;
  /** Why the fetch was stopped (cancel()), or null while it may go on. */
  cancelled: string | null;
  /** Streams of its requests on their way (at most maxFetches), dropped when it is stopped. */
  streams: Set<ByteStream>;
}

export class BlobFetcher {
  readonly counters: BlobFetcherCounters = { bytesFetched: 0, chunksFetched: 0, badChunks: 0, failedRequests: 0 };
  private readonly limits: BlobFetchLimits;
  private readonly fetches = new Map<string, Fetch>();
  private readonly running = new Map<string, Promise<void>>();
  private active = 0;
  /** Requests in flight to each member, over every fetch (bounded by the member count). */
  private readonly peerInflight = new Map<MemberId, number>();
  private readonly slotWaiters: Array<() => void> = [];
  /** Members that answered BUSY, until when they are asked only as a last resort (bounded by the member count). */
  private readonly busyUntil = new Map<MemberId, number>();

  constructor(private readonly deps: BlobFetcherDeps) {
    this.limits = { ...DEFAULT_BLOB_FETCH_LIMITS, ...deps.limits };
  }

  progress(root: string): BlobFetchProgress | undefined {
    const fetch = this.fetches.get(root);
    if (fetch === undefined) return undefined;
    const p = fetch.progress;
    if (p.state === 'fetching') {
      this.measure(fetch);
      p.peers = [...fetch.inflight.keys()];
    }
    return { ...p, peers: [...p.peers], avoided: [...fetch.avoided] };
  }

  /**
   * Gets the whole blob into the store from `holders()` (asked again at every round, so sites that
   * got it meanwhile are used too), and from `partialHolders()` (sites still fetching it) for the
   * chunks a have request says they hold. One fetch per root at a time: a second call joins the first.
   */
  fetch(root: string, holders: () => MemberId[], partialHolders: () => MemberId[] = () => []): Promise<void> {
    const existing = this.running.get(root);
    if (existing !== undefined) return existing;
    const ended = this.deps.transfers?.begin();
    const run = this.run(root, holders, partialHolders).finally(() => {
      ended?.();
      this.running.delete(root);
    });
    this.running.set(root, run);
    return run;
  }

  /**
   * Stops a running fetch (its image was deleted, or no longer placed here): no chunk is asked for
   * again and the requests on their way are dropped at once; the fetch fails with `reason`. What it
   * verified stays in the store until garbage collection decides.
   */
  cancel(root: string, reason: string): void {
    const fetch = this.fetches.get(root);
    if (fetch === undefined || fetch.progress.state !== 'fetching' || fetch.cancelled !== null) return;
    fetch.cancelled = reason;
    for (const stream of fetch.streams) stream.abort(new BlobFetchError(reason));
    fetch.streams.clear();
    for (const wake of this.slotWaiters.splice(0)) wake();
  }

  private async run(root: string, holders: () => MemberId[], partialHolders: () => MemberId[]): Promise<void> {
    const fetch = this.begin(root, partialHolders);
    try {
      const manifest = this.deps.store.manifest(root) ?? (await this.fetchManifest(fetch, root, holders));
      fetch.progress.bytesTotal = manifest.size;
      const missing = await this.deps.store.missing(root);
      fetch.progress.bytesDone = manifest.size - missing.reduce((sum, i) => sum + chunkLength(manifest, i), 0);
      fetch.bytesAtStart = fetch.progress.bytesDone;
      const queue = spreadOrder(missing, manifest.chunks.length, this.deps.orderKey);
      fetch.partialCopies = new Uint16Array(manifest.chunks.length);
      // Once a chunk fails, the workers take no more chunks, and the fetch ends only when every
      // worker has stopped: a retry must not ask again for chunks still on their way (found by the
      // simulator: each retry of a contended fetch transferred the in-flight chunks twice).
      let failure: { error: unknown } | null = null;
      const workers = Array.from({ length: Math.min(this.limits.maxFetches, queue.length) }, async () => {
        while (failure === null && fetch.cancelled === null) {
          if (queue.length === 0) return;
          void this.refreshHaves(fetch, manifest, holders);
          const index = this.nextChunk(fetch, queue, holders);
          if (index === undefined) return;
          if (index === null) {
            await this.waitForHolder();
            continue;
          }
          try {
            const stored = (fetch.partialCopies[index] === 0 && (await this.fetchPicked(fetch, manifest, index, queue, holders))) || (await this.fetchChunk(fetch, manifest, index, holders));
            if (!stored) queue.unshift(index);
          } catch (error) {
            failure ??= { error };
          }
        }
      });
      await Promise.all(workers);
      if (fetch.cancelled !== null) throw new BlobFetchError(`fetch stopped: ${fetch.cancelled}`);
      if (failure !== null) throw (failure as { error: unknown }).error;
      this.measure(fetch);
      fetch.progress.state = 'done';
    } catch (err) {
      this.measure(fetch);
      fetch.progress.state = 'failed';
      fetch.progress.lastError = (err as Error).message;
      throw err;
    } finally {
      fetch.inflight.clear();
      fetch.progress.peers = [];
    }
  }

  private begin(root: string, partial: () => MemberId[]): Fetch {
    // A retry keeps showing why the previous attempt failed until it has a reason of its own.
    const lastError = this.fetches.get(root)?.progress.lastError;
    this.fetches.delete(root);
    if (this.fetches.size >= MAX_FETCHES_REMEMBERED) {
      const oldestDone = [...this.fetches.entries()].find(([, f]) => f.progress.state !== 'fetching')?.[0];
      if (oldestDone !== undefined) this.fetches.delete(oldestDone);
    }
    const fetch: Fetch = {
      progress: { root, state: 'fetching', bytesDone: 0, bytesTotal: 0, rateBytesPerSecond: 0, elapsedMs: 0, peers: [], avoided: [], ...(lastError !== undefined ? { lastError } : {}) },
      startedAt: this.deps.now(),
      bytesAtStart: 0,
      inflight: new Map(),
      avoided: new Set(),
      partial,
      haves: new Map(),
      haveAsks: new Map(),
      partialCopies: new Uint16Array(0),
      noPick: new Set(),
      cancelled: null,
      streams: new Set(),
    };
    this.fetches.set(root, fetch);
    return fetch;
  }

  private measure(fetch: Fetch): void {
    const p = fetch.progress;
    p.elapsedMs = this.deps.now() - fetch.startedAt;
    p.rateBytesPerSecond = p.elapsedMs > 0 ? Math.round(((p.bytesDone - fetch.bytesAtStart) * 1000) / p.elapsedMs) : 0;
  }

  /**
   * Holders not avoided: members that answered BUSY lately last; then, for a chunk, the partial
   * holders whose last have bitmap lists it before the whole holders (whose uplinks are kept for
   * the chunks only they have); within each, nearest first (unknown RTT last), then the least busy.
   * With a chunk index, a partial holder counts only when its last have bitmap lists that chunk.
   */
  private candidates(fetch: Fetch, holders: () => MemberId[], exclude: ReadonlySet<MemberId>, chunk?: number): MemberId[] {
    const now = this.deps.now();
    const rtt = (m: MemberId) => this.deps.rttMs(m) ?? Number.POSITIVE_INFINITY;
    const whole = new Set(holders());
    const partial = this.partialOnly(fetch, whole).filter((m) => chunk === undefined || this.partialHas(fetch, m, chunk));
    const rank = (m: MemberId) => (this.backingOff(m, now) ? 2 : 0) + (chunk !== undefined && whole.has(m) ? 1 : 0);
    return [...new Set([...whole, ...partial])]
      .filter((m) => !fetch.avoided.has(m) && !exclude.has(m))
      .sort((a, b) => rank(a) - rank(b) || rtt(a) - rtt(b) || (this.peerInflight.get(a) ?? 0) - (this.peerInflight.get(b) ?? 0));
  }

  private partialOnly(fetch: Fetch, whole: ReadonlySet<MemberId>): MemberId[] {
    return [...new Set(fetch.partial())].filter((m) => !whole.has(m) && !fetch.avoided.has(m));
  }

  private partialHas(fetch: Fetch, member: MemberId, chunk: number): boolean {
    const bits = fetch.haves.get(member)?.bits;
    return bits !== undefined && bits !== null && hasChunkBit(bits, chunk);
  }

  /** Asks each partial holder whose have bitmap is missing or older than HAVE_REFRESH_MS which chunks it holds (one ask at a time per holder). */
  private async refreshHaves(fetch: Fetch, manifest: BlobManifest, holders: () => MemberId[]): Promise<void> {
    const now = this.deps.now();
    const asks: Promise<void>[] = [];
    for (const member of this.partialOnly(fetch, new Set(holders()))) {
      const known = fetch.haves.get(member);
      if (known !== undefined && now - known.at < HAVE_REFRESH_MS) continue;
      let ask = fetch.haveAsks.get(member);
      if (ask === undefined) {
        ask = this.request(member, { op: 'have', root: fetch.progress.root }, haveBitmapBytes(manifest.chunks.length))
          .then(
            ({ body }) => this.setHave(fetch, member, body),
            (err: Error) => {
              this.setHave(fetch, member, null);
              this.deps.logger.debug({ member, blob: fetch.progress.root, err: err.message }, 'a partial holder could not say which chunks it holds');
            },
          )
          .finally(() => fetch.haveAsks.delete(member));
        fetch.haveAsks.set(member, ask);
      }
      asks.push(ask);
    }
    await Promise.all(asks);
  }

  /** Records a partial holder's have bitmap (null: it could not say) and keeps the per-chunk copy counts in step. */
  private setHave(fetch: Fetch, member: MemberId, bits: Uint8Array | null): void {
    const copies = fetch.partialCopies;
    const before = fetch.haves.get(member)?.bits;
    for (let i = 0; i < copies.length; i++) {
      const had = before != null && hasChunkBit(before, i);
      const has = bits !== null && hasChunkBit(bits, i);
      if (had !== has) copies[i]! += has ? 1 : -1;
    }
    fetch.haves.set(member, { bits, at: this.deps.now() });
  }

  /**
   * Takes the chunk to fetch next out of `queue` (the site's spread order); undefined when the queue
   * is empty, null when every holder of every queued chunk answered BUSY lately (wait, then ask
   * again). While a whole holder can take a request, the chunk fewest partial holders list (rarest
   * first; one no partial holder has before any other): whole holders are the only source of such
   * chunks, and early in a rollout the origin's uplink is what every site waits for, so it should
   * send chunks the others lack, not copies. Otherwise the rarest chunk that a partial holder not
   * backing off lists, so the worker asks a site that can serve it now, not one that said BUSY.
   * Ties go to the spread order, so sites choosing at once choose different chunks.
   */
  private nextChunk(fetch: Fetch, queue: number[], holders: () => MemberId[]): number | null | undefined {
    if (queue.length === 0) return undefined;
    const now = this.deps.now();
    const whole = holders().filter((m) => !fetch.avoided.has(m) && !this.backingOff(m, now));
    const wholeFree = whole.some((m) => this.isFree(m, now));
    const copies = fetch.partialCopies;
    const servable = this.servableByPartials(fetch, holders, now);
    let best = -1;
    let bestCopies = Number.POSITIVE_INFINITY;
    for (let k = 0; k < queue.length && bestCopies > 0; k++) {
      const index = queue[k]!;
      const c = copies[index] ?? 0;
      if ((wholeFree || hasChunkBit(servable, index)) && c < bestCopies) {
        best = k;
        bestCopies = c;
      }
    }
    if (best < 0 && this.worthWaiting(fetch, holders, now)) return null;
    return queue.splice(Math.max(best, 0), 1)[0];
  }

  /**
   * Whether some holder not avoided is at this fetcher's limit or backing off from a BUSY: then a
   * worker waits and chooses again (a slot frees, a backoff ends, a have answer arrives) rather
   * than queueing behind it. Otherwise the chunk goes to fetchChunk, whose rounds fail the fetch
   * when no member can serve it.
   */
  private worthWaiting(fetch: Fetch, holders: () => MemberId[], now: number): boolean {
    const whole = new Set(holders());
    return [...whole, ...this.partialOnly(fetch, whole)].some((m) => !fetch.avoided.has(m) && !this.isFree(m, now));
  }

  /** The chunks some partial holder not avoided and not backing off lists in its last have bitmap. */
  private servableByPartials(fetch: Fetch, holders: () => MemberId[], now: number): Uint8Array {
    const out = new Uint8Array(haveBitmapBytes(fetch.partialCopies.length));
    for (const member of this.partialOnly(fetch, new Set(holders()))) {
      const bits = fetch.haves.get(member)?.bits;
      if (bits == null || this.backingOff(member, now)) continue;
      for (let i = 0; i < out.length; i++) out[i]! |= bits[i] ?? 0;
    }
    return out;
  }

  /** Until a request slot frees or the first BUSY backoff ends (at most BUSY_BACKOFF_MS). */
  private async waitForHolder(): Promise<void> {
    const now = this.deps.now();
    let first = now + BUSY_BACKOFF_MS;
    for (const until of this.busyUntil.values()) if (until > now) first = Math.min(first, until);
    let wake = (): void => undefined;
    const freed = new Promise<void>((resolve) => (wake = resolve));
    this.slotWaiters.push(wake);
    await Promise.race([this.deps.sleep(Math.max(1, first - now)), freed]);
    const at = this.slotWaiters.indexOf(wake);
    if (at >= 0) this.slotWaiters.splice(at, 1);
  }

  /**
   * Asks the nearest whole holder that can take a request now for one of `index` and the next
   * chunks in the queue no partial holder lists, its choice (a pick: it sends the one it has sent
   * least often). True once the chunk it sent is stored (`index` goes back to the queue if it was
   * another); false when no whole holder could take it or the pick failed, and the caller fetches
   * `index` the usual way. A member that cannot answer picks (an older agent) is not asked again.
   */
  private async fetchPicked(fetch: Fetch, manifest: BlobManifest, index: number, queue: number[], holders: () => MemberId[]): Promise<boolean> {
    const now = this.deps.now();
    const rtt = (m: MemberId) => this.deps.rttMs(m) ?? Number.POSITIVE_INFINITY;
    const member = holders()
      .filter((m) => !fetch.avoided.has(m) && !fetch.noPick.has(m) && this.isFree(m, now))
      .sort((a, b) => rtt(a) - rtt(b))[0];
    if (member === undefined || fetch.cancelled !== null) return false;
    this.bumpPeerSlot(fetch, member, 1);
    const named = [index, ...queue.filter((i) => fetch.partialCopies[i] === 0).slice(0, MAX_PICK_CHOICES - 1)];
    let answer: { body: Uint8Array; chunk?: number };
    try {
      answer = await this.inPeerSlot(fetch, member, () =>
        this.request(member, { op: 'pick', root: fetch.progress.root, chunks: named }, (chunk) => chunkLength(manifest, chunk), fetch),
      );
    } catch (err) {
      if (!(err instanceof BlobFetchError || err instanceof BlobVerifyError)) fetch.noPick.add(member);
      this.failed(fetch, member, err as Error);
      return false;
    }
    const chunk = answer.chunk!;
    try {
      await this.deps.store.putChunk(manifest.chunks[chunk]!, answer.body);
    } catch (err) {
      if (err instanceof BlobVerifyError) {
        this.lied(fetch, member, `chunk ${chunk} (${manifest.chunks[chunk]})`, err);
        return false;
      }
      throw err;
    }
    this.stored(fetch, answer.body.length);
    if (chunk !== index) {
      const at = queue.indexOf(chunk);
      if (at >= 0) queue.splice(at, 1);
      queue.unshift(index);
    }
    return true;
  }

  private stored(fetch: Fetch, bytes: number): void {
    this.counters.chunksFetched++;
    this.counters.bytesFetched += bytes;
    fetch.progress.bytesDone += bytes;
  }

  /** Below this fetcher's per-member limit and not in a BUSY backoff. */
  private isFree(member: MemberId, now: number): boolean {
    return (this.peerInflight.get(member) ?? 0) < this.limits.maxFetchesPerPeer && !this.backingOff(member, now);
  }

  private backingOff(member: MemberId, now: number): boolean {
    const until = this.busyUntil.get(member);
    if (until === undefined) return false;
    if (until > now) return true;
    this.busyUntil.delete(member);
    return false;
  }

  private async fetchManifest(fetch: Fetch, root: string, holders: () => MemberId[]): Promise<BlobManifest> {
    for (let round = 0; round < this.limits.maxRoundsPerChunk; round++) {
      if (round > 0) await this.deps.sleep(this.limits.roundPauseMs);
      for (const member of this.candidates(fetch, holders, new Set())) {
        try {
          const { body } = await this.request(member, { op: 'manifest', root }, MAX_MANIFEST_BODY_BYTES);
          let manifest: BlobManifest;
          try {
            manifest = checkManifest(JSON.parse(Buffer.from(body).toString('utf8')), root);
          } catch (err) {
            this.lied(fetch, member, `manifest ${root}`, err as Error);
            continue;
          }
          return await this.deps.store.putManifest(root, manifest);
        } catch (err) {
          this.failed(fetch, member, err as Error);
        }
      }
    }
    throw new BlobFetchError(`no member could serve the manifest of blob ${root}${fetch.progress.lastError ? `: ${fetch.progress.lastError}` : ''}`);
  }

  /**
   * Fetches chunk `index` from its holders, nearest first, in rounds. False when no holder could
   * take it for now (each answered BUSY or is backing off from a BUSY): the caller queues it again
   * and asks for another chunk meanwhile, rather than waiting a round pause on it.
   */
  private async fetchChunk(fetch: Fetch, manifest: BlobManifest, index: number, holders: () => MemberId[]): Promise<boolean> {
    const digest = manifest.chunks[index]!;
    const length = chunkLength(manifest, index);
    for (let round = 0; round < this.limits.maxRoundsPerChunk; round++) {
      if (round > 0) await this.deps.sleep(this.limits.roundPauseMs);
      if (fetch.cancelled !== null) throw new BlobFetchError(`fetch stopped: ${fetch.cancelled}`);
      // The first round asks with the bitmaps at hand; a retry waits for the fresh ones.
      if (round > 0) await this.refreshHaves(fetch, manifest, holders);
      else void this.refreshHaves(fetch, manifest, holders);
      const tried = new Set<MemberId>();
      let onlyBusy = true;
      for (let member = await this.takePeerSlot(fetch, holders, tried, index); member !== null; member = await this.takePeerSlot(fetch, holders, tried, index)) {
        tried.add(member);
        let bytes: Uint8Array;
        try {
          bytes = (await this.inPeerSlot(fetch, member, () => this.request(member, { op: 'chunk', digest }, length, fetch))).body;
        } catch (err) {
          if (!(err instanceof BlobFetchError && err.refusal === 'BUSY')) onlyBusy = false;
          this.failed(fetch, member, err as Error);
          continue;
        }
        try {
          await this.deps.store.putChunk(digest, bytes);
        } catch (err) {
          if (err instanceof BlobVerifyError) {
            onlyBusy = false;
            this.lied(fetch, member, `chunk ${index} (${digest})`, err);
            continue;
          }
          throw err; // the store is full or the disk failed: no other peer helps
        }
        this.stored(fetch, bytes.length);
        return true;
      }
      if (onlyBusy && this.candidates(fetch, holders, new Set(), index).length > 0) return false;
    }
    throw new BlobFetchError(`no member could serve chunk ${index} of blob ${fetch.progress.root}${fetch.progress.lastError ? ` (last error: ${fetch.progress.lastError})` : ''}`);
  }

  /**
   * The best holder not tried for this chunk in this round, with one of its per-peer slots taken in
   * the same synchronous step that found it free, waiting while every such holder is at its
   * per-peer limit. (Taking the slot later, after an await, let workers that started or woke
   * together all see the same free slot: 16 workers sent 16 requests at once to a lone holder whose
   * limit is 4, and the server, at 8 per member, answered the rest BUSY.) inPeerSlot releases it.
   */
  private async takePeerSlot(fetch: Fetch, holders: () => MemberId[], tried: ReadonlySet<MemberId>, chunk: number): Promise<MemberId | null> {
    for (;;) {
      if (fetch.cancelled !== null) return null;
      const now = this.deps.now();
      const candidates = this.candidates(fetch, holders, tried, chunk).filter((m) => !this.backingOff(m, now));
      if (candidates.length === 0) return null;
      const free = candidates.find((m) => (this.peerInflight.get(m) ?? 0) < this.limits.maxFetchesPerPeer);
      if (free !== undefined) {
        this.bumpPeerSlot(fetch, free, 1);
        return free;
      }
      await new Promise<void>((resolve) => this.slotWaiters.push(resolve));
    }
  }

  private bumpPeerSlot(fetch: Fetch, member: MemberId, by: number): void {
    for (const map of [this.peerInflight, fetch.inflight]) {
      const n = (map.get(member) ?? 0) + by;
      if (n <= 0) map.delete(member);
      else map.set(member, n);
    }
  }

  /** Runs `body` in a site-wide slot, then gives back that slot and the per-peer slot takePeerSlot took. */
  private async inPeerSlot<T>(fetch: Fetch, member: MemberId, body: () => Promise<T>): Promise<T> {
    try {
      while (this.active >= this.limits.maxFetches) await new Promise<void>((resolve) => this.slotWaiters.push(resolve));
      this.active++;
      try {
        return await body();
      } finally {
        this.active--;
      }
    } finally {
      this.bumpPeerSlot(fetch, member, -1);
      for (const wake of this.slotWaiters.splice(0)) wake();
    }
  }

  /**
   * One request on its own stream; the body, which must be exactly `maxBytes` for a chunk (at most,
   * for a manifest; for a pick, exactly the length of the chunk the answer names, which must be one
   * the request named).
   */
  private async request(member: MemberId, request: BlobRequest, maxBytes: number | ((chunk: number) => number), fetch?: Fetch): Promise<{ body: Uint8Array; chunk?: number }> {
    const { signal, clear } = timeoutSignal(this.limits.chunkTimeoutMs, this.deps.clock);
    let stream: ByteStream;
    try {
      stream = await this.deps.streams.open(member, signal);
    } catch (err) {
      clear();
      throw err;
    }
    if (fetch !== undefined) {
      if (fetch.cancelled !== null) {
        clear();
        stream.abort(new BlobFetchError(fetch.cancelled));
        throw new BlobFetchError(`fetch stopped: ${fetch.cancelled}`);
      }
      fetch.streams.add(stream);
    }
    const onAbort = () => stream.abort(new Error(`no answer from ${member} within ${this.limits.chunkTimeoutMs} ms`));
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      await stream.write(encodeRequest(this.deps.clusterId, request));
      await stream.end();
      const reader = new StreamReader(stream.incoming);
      const header = decodeResponseHeader(await reader.readFrame());
      if (!header.ok) throw new BlobFetchError(`${member} refused ${request.op}: ${header.code} ${header.message}`, header.code);
      if (request.op === 'pick' && (header.chunk === undefined || !request.chunks.includes(header.chunk))) {
        throw new BlobVerifyError(`${member} answered a pick with chunk ${String(header.chunk)}, not one of those named`);
      }
      const expected = typeof maxBytes === 'number' ? maxBytes : maxBytes(header.chunk ?? -1);
      const exact = request.op !== 'manifest';
      if (exact ? header.bytes !== expected : header.bytes > expected) {
        throw new BlobVerifyError(`${member} announced ${header.bytes} bytes for ${request.op}, ${exact ? 'expected' : 'at most'} ${expected}`);
      }
      await this.deps.downloadLimit?.take(header.bytes);
      const body = await reader.read(header.bytes);
      if (!(await reader.endsHere())) {
        stream.abort(new BlobVerifyError('more bytes than announced'));
        throw new BlobVerifyError(`${member} sent more than the ${header.bytes} bytes it announced for ${request.op}`);
      }
      return { body, ...(header.chunk !== undefined ? { chunk: header.chunk } : {}) };
    } catch (err) {
      if (signal.aborted) throw new BlobFetchError(`${member}: no answer within ${this.limits.chunkTimeoutMs} ms`);
      throw err;
    } finally {
      clear();
      signal.removeEventListener('abort', onAbort);
      fetch?.streams.delete(stream);
    }
  }

  private lied(fetch: Fetch, member: MemberId, what: string, err: Error): void {
    this.counters.badChunks++;
    fetch.avoided.add(member);
    fetch.progress.lastError = `${member} served a ${what} that failed verification: ${err.message}`;
    this.deps.logger.warn({ member, blob: fetch.progress.root, what, err: err.message }, 'a peer served blob bytes that failed verification; not asking it again for this blob');
  }

  private failed(fetch: Fetch, member: MemberId, err: Error): void {
    if (err instanceof BlobVerifyError) return this.lied(fetch, member, 'response', err);
    if (err instanceof BlobStoreFullError || err instanceof BlobFormatError) throw err;
    this.counters.failedRequests++;
    if (err instanceof BlobFetchError && err.refusal === 'BUSY') this.busyUntil.set(member, this.deps.now() + BUSY_BACKOFF_MS);
    fetch.progress.lastError = err.message.startsWith(member) ? err.message : `${member}: ${err.message}`;
    this.deps.logger.debug({ member, blob: fetch.progress.root, err: err.message }, 'blob request failed; asking another holder');
  }
}

/** An AbortSignal that fires after `ms` on `clock` (real time without one); clear() cancels it. */
export function timeoutSignal(ms: number, clock?: Clock): { signal: AbortSignal; clear: () => void } {
  if (clock === undefined) return { signal: AbortSignal.timeout(ms), clear: () => undefined };
  const controller = new AbortController();
  const timer = clock.setTimer(ms, () => controller.abort(new Error(`timed out after ${ms} ms`)));
  return { signal: controller.signal, clear: () => timer.cancel() };
}

/**
 * The missing chunks in the order to fetch them: from a start that `key` picks (FNV-1a of it, modulo
 * the chunk count), wrapping round. Each site starts elsewhere, so partial holders hold different
 * chunks and can serve each other; without a key, in order.
 */
export function spreadOrder(missing: readonly number[], chunks: number, key: string | undefined): number[] {
  if (key === undefined || chunks === 0) return [...missing];
  let hash = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) hash = Math.imul(hash ^ key.charCodeAt(i), 0x01000193) >>> 0;
  const start = hash % chunks;
  return [...missing].sort((a, b) => ((a - start + chunks) % chunks) - ((b - start + chunks) % chunks));
}
