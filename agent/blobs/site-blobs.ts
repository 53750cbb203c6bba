// A site's blob part, built by agent/site/compose.ts from the ports it is given (a blob store and
// the peer streams): the server that answers members, the fetcher, and the loop that reads the
// catalog (plan.ts), fetches what this site needs, and removes what no placed site needs any more.
// It also guards writes (a blob-sourced image is written only at its origin, once the origin holds
// the whole verified blob) and exports the blob metrics.
import type { Clock, Logger, TimerHandle } from '../../consensus/ports.js';
import type { Registry } from 'prom-client';
import { Counter, Gauge } from 'prom-client';
import type { Catalog } from '../catalog/index.js';
import { BlobFetcher, type BlobFetchLimits, type BlobFetchProgress } from './fetcher.js';
import { blobHolders, blobPartialHolders, blobPlan } from './plan.js';
import { canIngest, type BlobStorage, type BlobStreams, type TransferActivity } from './ports.js';
import { ByteRateLimit, type RateClock } from './rate.js';
import { BlobServer, type BlobServerLimits } from './server.js';

/** How often the loop re-reads the catalog when nothing wakes it. */
export const BLOB_REPLAN_MS = 2_000;
/** Blobs fetched at once (each with its own chunk parallelism inside the fetcher's site-wide bound). */
export const MAX_CONCURRENT_BLOB_FETCHES = 4;
/** An upload is kept this long for its image write to commit before garbage collection may take it. */
export const UPLOAD_GRACE_MS = 10 * 60_000;
/** Blobs read back from this site's own cloud at once (each may be gigabytes from the local Glance). */
export const MAX_CONCURRENT_RESEEDS = 1;
/** After a read-back failed, the same blob is not read back again for this long (each try may read gigabytes). */
export const READ_BACK_RETRY_MS = 30_000;
/** Failed read-backs remembered (oldest forgotten first). */
const MAX_READ_BACK_FAILURES = 64;
/** Uploads remembered for that grace (oldest forgotten first). */
const MAX_RECENT_UPLOADS = 64;

export interface SiteBlobSettings {
  /** Caps on this site's blob traffic, bytes per second each way (absent: no cap). */
  uploadBytesPerSecond?: number;
  downloadBytesPerSecond?: number;
  fetch?: Partial<BlobFetchLimits>;
  serve?: Partial<BlobServerLimits>;
  /** Default READ_BACK_RETRY_MS. */
  readBackRetryMs?: number;
}

export interface SiteBlobsDeps {
  site: string;
  clusterId: string;
  catalog: Catalog;
  store: BlobStorage;
  streams: BlobStreams;
  clock: Clock;
  rateClock: RateClock;
  rttMs(member: string): number | undefined;
  /**
   * Whether this site's cloud already holds an image's bits (its reconciler brought them there and
   * has not found them missing since): such an image needs no fetch whatever its catalog revision,
   * so a metadata patch moves no bits. Absent: never.
   */
  cloudHoldsImage?(imageId: string): boolean;
  /**
   * The bits of an image in this site's own cloud (Glance's download), for reading a blob back
   * when a placed site waits for bits no store holds any more (plan.ts). Absent: this site never
   * drops its copy as an origin, and never reads one back.
   */
  cloudImageBits?(imageId: string): Promise<AsyncIterable<Uint8Array>>;
  logger: Logger;
  settings?: SiteBlobSettings;
  /** Told when bits move through this site (served chunks, running fetches). */
  transfers?: TransferActivity;
}

export class SiteBlobs {
  readonly server: BlobServer;
  readonly fetcher: BlobFetcher;
  private readonly running = new Set<string>();
  /** Roots being read back from this site's cloud (at most MAX_CONCURRENT_RESEEDS). */
  private readonly reseeding = new Set<string>();
  /** Root -> clock time of its last failed read-back. */
  private readonly readBackFailedAt = new Map<string, number>();
  /** Root -> when it was uploaded, and the catalog's applied index then. */
  private readonly recentUploads = new Map<string, { at: number; appliedIndex: number }>();
  private timer: TimerHandle | null = null;
  private stopped = true;
  private ticking = false;

  constructor(private readonly deps: SiteBlobsDeps) {
    const s = deps.settings ?? {};
    this.server = new BlobServer({
      clusterId: deps.clusterId,
      store: deps.store,
      limits: s.serve,
      ...(s.uploadBytesPerSecond ? { uploadLimit: new ByteRateLimit(s.uploadBytesPerSecond, deps.rateClock) } : {}),
      clock: deps.clock,
      ...(deps.transfers !== undefined ? { transfers: deps.transfers } : {}),
      logger: deps.logger,
    });
    this.fetcher = new BlobFetcher({
      clusterId: deps.clusterId,
      store: deps.store,
      streams: deps.streams,
      rttMs: deps.rttMs,
      limits: s.fetch,
      ...(s.downloadBytesPerSecond ? { downloadLimit: new ByteRateLimit(s.downloadBytesPerSecond, deps.rateClock) } : {}),
      now: deps.rateClock.now,
      sleep: deps.rateClock.sleep,
      clock: deps.clock,
      orderKey: deps.site,
      ...(deps.transfers !== undefined ? { transfers: deps.transfers } : {}),
      logger: deps.logger,
    });
    deps.streams.serve((stream, member) => this.server.handle(stream, member));
  }

  get store(): BlobStorage {
    return this.deps.store;
  }

  get logger(): Logger {
    return this.deps.logger;
  }

  start(): void {
    this.stopped = false;
    this.schedule(0);
  }

  stop(): void {
    this.stopped = true;
    this.timer?.cancel();
    this.timer = null;
  }

  /** The catalog changed: look again soon. */
  catalogChanged(): void {
    if (!this.stopped) this.schedule(0);
  }

  progress(root: string): BlobFetchProgress | undefined {
    return this.fetcher.progress(root);
  }

  /** A blob just uploaded here: kept while its image write is on its way. */
  uploaded(root: string): void {
    this.recentUploads.delete(root);
    this.recentUploads.set(root, { at: this.deps.clock.now(), appliedIndex: this.deps.catalog.appliedIndex });
    while (this.recentUploads.size > MAX_RECENT_UPLOADS) this.recentUploads.delete(this.recentUploads.keys().next().value!);
  }

  /**
   * Why a write may not be proposed here, or null: an image put whose source names a blob must be
   * made at the blob's origin, and the origin must hold the whole verified blob with the digests
   * and size the source states.
   */
  async refuseWrite(ops: ReadonlyArray<{ op: string; kind: string; spec?: unknown }>): Promise<string | null> {
    for (const op of ops) {
      if (op.op !== 'put' || op.kind !== 'image') continue;
      const source = (op.spec as { source?: { blob?: { root?: unknown; size?: unknown }; origin?: unknown; sha256?: unknown; sha512?: unknown } } | undefined)?.source;
      if (source?.blob === undefined) continue;
      const root = String(source.blob.root);
      if (source.origin !== this.deps.site) return `an image whose bits are blob ${root} must be written at its origin site ${String(source.origin)}, not at ${this.deps.site}`;
      const manifest = this.deps.store.manifest(root);
      if (manifest === undefined || !(await this.deps.store.isComplete(root))) return `site ${this.deps.site} does not hold blob ${root} whole; upload it first`;
      if (manifest.size !== source.blob.size || manifest.sha256 !== source.sha256 || manifest.sha512 !== source.sha512) {
        return `blob ${root} holds ${manifest.size} bytes with sha256 ${manifest.sha256}; the image source says otherwise`;
      }
    }
    return null;
  }

  private schedule(delayMs: number): void {
    this.timer?.cancel();
    this.timer = this.deps.clock.setTimer(delayMs, () => {
      this.timer = null;
      void this.tick().finally(() => {
        if (!this.stopped && this.timer === null) this.schedule(BLOB_REPLAN_MS);
      });
    });
  }

  private async tick(): Promise<void> {
    if (this.ticking) return;
    this.ticking = true;
    try {
      const { catalog, site, store } = this.deps;
      const plan = blobPlan(catalog, site, new Set(store.roots()), (id) => this.deps.cloudHoldsImage?.(id) ?? false, this.canReseed());
      for (const need of plan.needed) {
        if (this.running.has(need.root) || this.running.size >= MAX_CONCURRENT_BLOB_FETCHES) continue;
        if (await store.isComplete(need.root)) continue;
        this.running.add(need.root);
        void this.fetcher
          .fetch(need.root, () => blobHolders(catalog, need.imageId, site), () => blobPartialHolders(catalog, need.imageId, site))
          .then(
            () => this.deps.logger.info({ image: need.imageId, blob: need.root, bytes: need.size }, 'blob fetched and verified'),
            (err: Error) => this.deps.logger.warn({ image: need.imageId, blob: need.root, err: err.message }, 'blob fetch failed; retried at the next round'),
          )
          .finally(() => {
            this.running.delete(need.root);
            this.catalogChanged();
          });
      }
      for (const need of plan.reseed) {
        if (this.reseeding.has(need.root) || this.running.has(need.root) || this.reseeding.size >= MAX_CONCURRENT_RESEEDS) continue;
        const failedAt = this.readBackFailedAt.get(need.root);
        if (failedAt !== undefined && this.deps.clock.now() - failedAt < (this.deps.settings?.readBackRetryMs ?? READ_BACK_RETRY_MS)) continue;
        if (await store.isComplete(need.root)) continue;
        this.reseeding.add(need.root);
        // Done: look again at once (the copy may be served, or dropped). Failed: not before
        // readBackRetryMs, or a cloud that cannot give the bits would be asked for them again and again.
        void this.readBack(need.imageId, need.root).then((done) => {
          this.reseeding.delete(need.root);
          this.readBackFailedAt.delete(need.root);
          if (done) return this.catalogChanged();
          this.readBackFailedAt.set(need.root, this.deps.clock.now());
          while (this.readBackFailedAt.size > MAX_READ_BACK_FAILURES) this.readBackFailedAt.delete(this.readBackFailedAt.keys().next().value!);
        });
      }
      for (const root of this.reseeding) plan.keep.add(root);
      const now = this.deps.clock.now();
      // An upload's grace ends once an image naming it was written after it (its write has
      // committed): the plan decides for the blob then.
      const writtenAfter = new Map<string, number>();
      for (const image of catalog.list('image')) {
        const root = image.spec.source.blob?.root;
        if (root !== undefined) writtenAfter.set(root, Math.max(writtenAfter.get(root) ?? 0, image.revision));
      }
      for (const [root, upload] of this.recentUploads) {
        if (now - upload.at > UPLOAD_GRACE_MS || (writtenAfter.get(root) ?? 0) > upload.appliedIndex) this.recentUploads.delete(root);
        else plan.keep.add(root);
      }
      // A fetch no placed image needs here any more (deleted, or placed elsewhere) stops now rather
      // than moving the rest of the blob; what it had is kept until it has ended, then collected.
      const needed = new Set(plan.needed.map((n) => n.root));
      for (const root of this.running) {
        if (!needed.has(root)) this.fetcher.cancel(root, 'no image placed at this site needs the blob any more');
        plan.keep.add(root);
      }
      const freed = await store.retainOnly(plan.keep);
      if (freed.blobs > 0) this.deps.logger.info(freed, 'blob store: removed blobs no placed site needs');
    } catch (err) {
      this.deps.logger.error({ err: (err as Error).message }, 'blob loop failed; trying again at the next round');
    } finally {
      this.ticking = false;
    }
  }

  private canReseed(): boolean {
    return this.deps.cloudImageBits !== undefined && canIngest(this.deps.store);
  }

  /**
   * Reads an image's bits back from this site's own cloud into the store, checked against the
   * catalog's size and digests; kept only when the manifest comes out with the catalog's root (it
   * does when this store cuts chunks as the origin's did). Anything else is logged and collected.
   */
  private async readBack(imageId: string, root: string): Promise<boolean> {
    const { catalog, store, logger } = this.deps;
    const source = catalog.get('image', imageId)?.spec.source;
    if (source?.blob === undefined || !canIngest(store)) return false;
    try {
      const bits = await this.deps.cloudImageBits!(imageId);
      const ingest = store.beginIngest({ size: source.blob.size, sha256: source.sha256, sha512: source.sha512, md5: source.blob.md5 });
      try {
        for await (const piece of bits) await ingest.write(piece);
      } catch (err) {
        await ingest.abort();
        throw err;
      }
      const stored = await ingest.finish();
      if (stored.root === root) {
        logger.info({ image: imageId, blob: root, bytes: source.blob.size }, 'blob read back from this site\'s cloud for a site that waits for it');
        return true;
      }
      logger.warn({ image: imageId, blob: root, got: stored.root, chunkBytes: store.chunkBytes }, 'blob read back from this site\'s cloud has other chunks than the catalog\'s (this store cuts chunks unlike the origin\'s); not served');
    } catch (err) {
      logger.warn({ image: imageId, blob: root, err: (err as Error).message }, 'reading a blob back from this site\'s cloud failed; tried again later');
    }
    return false;
  }

  /** Blob series on the agent's registry (read when scraped). */
  registerMetrics(registry: Registry): void {
    const registers = [registry];
    const { store } = this.deps;
    new Gauge({ name: 'stackraft_blob_store_bytes', help: 'Bytes of chunks in this site’s blob store.', registers, collect() { this.set(store.usage().bytes); } });
    new Gauge({ name: 'stackraft_blob_store_max_bytes', help: 'The blob store’s configured bound.', registers, collect() { this.set(store.usage().maxBytes); } });
    new Gauge({ name: 'stackraft_blob_store_blobs', help: 'Blobs (manifests) in this site’s blob store.', registers, collect() { this.set(store.usage().blobs); } });
    const counter = (name: string, help: string, read: () => number) => {
      let exported = 0;
      new Counter({ name, help, registers, collect() { const now = read(); if (now > exported) this.inc(now - exported); exported = now; } });
    };
    counter('stackraft_blob_served_bytes_total', 'Blob bytes this site served to members.', () => this.server.counters.bytesServed);
    counter('stackraft_blob_fetched_bytes_total', 'Verified blob bytes this site fetched from members.', () => this.fetcher.counters.bytesFetched);
    counter('stackraft_blob_bad_chunks_total', 'Chunks members served that failed verification.', () => this.fetcher.counters.badChunks);
    counter('stackraft_blob_corrupt_chunks_on_disk_total', 'Chunks found damaged in this site’s blob store (removed and fetched again).', () => store.counters.corruptChunksOnDisk);
    counter('stackraft_blob_store_full_total', 'Blob writes refused because the store or its disk was full.', () => store.counters.fullRefusals);
  }
}
