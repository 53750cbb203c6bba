// The blob part of one run (`--image-size`): every site gets a modelled blob store (content.ts,
// modelled-store.ts) behind the checkers' observing layer, streams over the access-link model
// (links.ts, streams.ts), and the daemon's own blob parts (agent/blobs: the loop that reads the
// catalog, the swarm fetcher, the server) through the site composition's blob ports. Once the site
// records are in, one seeded site becomes the origin: it holds the image (as after an upload) and
// writes the image record through its admin service, placed on every site; from then on only the
// daemon's code moves the bits. The report gives the time until every site holds the image beside
// the swarm's lower bound (lower-bound.ts); an origin-only run (`--swarm off`: blob streams open only
// to the origin) gives the other reference.
import type { BlobPorts } from '../../agent/site/ports.js';
import { blobSourceUrl } from '../../agent/catalog/types.js';
import type { BlobStorage } from '../../agent/blobs/ports.js';
import { BlobIntegrityChecker, BLOB_BITS_CHECK, BLOB_SERVED_CHECK } from '../checkers/blob-integrity.js';
import type { FailureLog } from '../checkers/failure.js';
import type { FaultEpisode } from '../faults.js';
import type { Prng } from '../prng.js';
import type { Scheduler, SiteClock } from '../scheduler.js';
import type { TraceHash } from '../stats.js';
import type { WanModel } from '../wan.js';
import type { SimSite } from '../harness/site.js';
import type { SiteObserver, World } from '../harness/world.js';
import { ModelledImage } from './content.js';
import { AccessLinks, DEFAULT_ACCESS_LINKS } from './links.js';
import { swarmLowerBound, type SwarmLowerBound } from './lower-bound.js';
import { ModelledBlobStore } from './modelled-store.js';
import { ObservedBlobStorage } from './observed-storage.js';
import { SimBlobNet } from './streams.js';
import { gateBlobImages } from './glance-gate.js';
import { localBlobSource } from '../../agent/blobs/local-source.js';
import type { CloudDriver } from '../../drivers/index.js';

export const SIM_BLOB_IMAGE_ID = '5e1d0c2a-7b3f-4c1e-9a2d-0000000000b1';
export const SIM_BLOB_CLIENT_ID = 'sim-blobs';
const WRITE_RETRY_MS = 250;
const WRITE_TIMEOUT_MS = 3_000;

/** Test-only injection point: a planted bug in a site's blob storage. */
export interface BlobHooks {
  wrapBlobStorage?(site: string, storage: ModelledBlobStore, run: { origin: string }): BlobStorage;
}

export interface BlobRunOptions {
  imageBytes: number;
  /** false: every site fetches from the origin alone. */
  swarm: boolean;
  /** The origin places the image no sooner than this (virtual ms); at once when the site records are in by default. */
  atMs?: number;
}

export interface BlobRolloutReport {
  imageBytes: number;
  chunks: number;
  origin: string;
  swarm: boolean;
  /** Sites that must fetch the image (every site but the origin). */
  receivers: number;
  /** When the image record was first applied (virtual ms), null if it never committed. */
  committedAtMs: number | null;
  /** Sites holding the whole verified image at the end (origin excluded). */
  holding: number;
  /** From the commit until the last receiver held it; null if some never did. */
  allHeldAfterMs: number | null;
  /** Per receiver, from the commit to holding it: p50 and p90 over those that did. */
  heldAfterP50Ms: number | null;
  heldAfterP90Ms: number | null;
  lowerBound: SwarmLowerBound;
  /** Measured time over the lower bound (null when not every site held it). */
  overLowerBound: number | null;
  bytesSentByOrigin: number;
  bytesSentByOthers: number;
  badChunks: number;
  /** Chunks a site received again although it already held them verified (wasted transfers). */
  duplicateChunks: number;
  streams: { opened: number; refused: number };
  /**
   * With faults: the scheduled fault episodes active at some time from the commit until the last
   * receiver held the image (or the end of the run), and their kinds.
   */
  faultsInFlight?: { episodes: number; kinds: string[] };
  /** `--swarm compare`: the same seed with every site fetching from the origin alone. */
  originOnly?: { allHeldAfterMs: number | null; holding: number; bytesSentByOrigin: number; verdict: string; traceHash: string; replayCommand: string };
}

interface SiteBlobParts {
  modelled: ModelledBlobStore;
  observed: ObservedBlobStorage;
}

export class BlobRun implements SiteObserver {
  readonly links: AccessLinks;
  readonly net: SimBlobNet;
  readonly checker: BlobIntegrityChecker;
  readonly origin: string;
  image: ModelledImage | null = null;
  private readonly parts = new Map<string, SiteBlobParts>();
  private readonly heldAtMs = new Map<string, number>();
  /** Sites whose Glance got the image's bits (through the gate), and when. */
  private readonly fedAtMs = new Map<string, number>();
  private committedAtMs: number | null = null;
  private writeError: string | null = null;
  private readonly names: string[];

  constructor(
    private readonly scheduler: Scheduler,
    private readonly prng: Prng,
    private readonly world: World,
    private readonly wan: WanModel,
    private readonly options: BlobRunOptions,
    private readonly trace: TraceHash,
    private readonly hooks: BlobHooks = {},
  ) {
    this.names = world.siteNames();
    this.origin = this.names[prng.fork('blob-origin').int(this.names.length)]!;
    this.links = new AccessLinks(scheduler, this.names, prng.fork('blob-links'), DEFAULT_ACCESS_LINKS);
    this.net = new SimBlobNet(scheduler, wan, this.links, this.names, options.swarm ? {} : { onlyTo: this.origin });
    this.checker = new BlobIntegrityChecker(() => this.images());
    world.observers.push(this);
    world.blobProvider = (site, clock) => this.portsFor(site, clock);
  }

  siteStarted(): void {}

  siteDown(site: SimSite): void {
    this.net.siteDown(site.name);
  }

  /** A site's cloud driver, with blob-sourced images reaching its Glance only through its blob store. */
  gateGlance(site: string, driver: CloudDriver): CloudDriver {
    const open = localBlobSource({ store: () => this.partsOf(site).observed, progress: (root) => this.world.byName.get(site)?.running?.blobs?.progress(root) });
    return gateBlobImages(driver, {
      open,
      fed: async () => {
        if (!this.fedAtMs.has(site)) this.fedAtMs.set(site, this.scheduler.now());
        await this.checker.checkHeld(this.scheduler.now(), [this.heldBy(site, 'is giving its Glance')]);
      },
    });
  }

  /** The site records are in: the origin gets the image and writes its record (at `atMs` if later). */
  onSetupDone(): void {
    const place = (): void => {
      this.image = new ModelledImage(this.prng.fork('blob-image'), this.options.imageBytes);
      void this.placeAtOrigin().then(() => this.writeRecord());
    };
    const at = this.options.atMs ?? 0;
    if (at > this.scheduler.now()) this.scheduler.at(at, place);
    else place();
  }

  private images(): ModelledImage[] {
    return this.image === null ? [] : [this.image];
  }

  private partsOf(site: string): SiteBlobParts {
    let p = this.parts.get(site);
    if (p === undefined) {
      // Room for the image twice over: the bound is not what this run measures.
      const modelled = new ModelledBlobStore(() => this.images(), 2 * this.options.imageBytes + 64 * 1024 * 1024, (root) => this.held(site, root));
      const inner = this.hooks.wrapBlobStorage?.(site, modelled, { origin: this.origin }) ?? modelled;
      const observed = new ObservedBlobStorage(inner, {
        stored: (digest, bytes) => this.checker.onStored(site, digest, bytes),
        served: (digest, bytes) => this.checker.onServed(this.scheduler.now(), site, digest, bytes),
      });
      p = { modelled, observed };
      this.parts.set(site, p);
    }
    return p;
  }

  private portsFor(site: string, clock: SiteClock): BlobPorts {
    return {
      store: this.partsOf(site).observed,
      streams: this.net.streamsFor(site),
      rateClock: { now: () => clock.now(), sleep: (ms) => new Promise<void>((resolve) => void clock.setTimer(ms, resolve)) },
    };
  }

  private held(site: string, root: string): void {
    if (root !== this.image?.root || this.heldAtMs.has(site)) return;
    const now = this.scheduler.now();
    this.heldAtMs.set(site, now);
    this.trace.mixString(`blob-held ${site}`);
    this.trace.mixU32(Math.round(now));
  }

  /**
   * As after an upload at the origin: every chunk through the store's verifying put, and the blob
   * kept for its image write (else the origin's garbage collection takes it before the record
   * commits).
   */
  private async placeAtOrigin(): Promise<void> {
    const image = this.image!;
    const store = this.partsOf(this.origin).observed;
    await store.putManifest(image.root, image.manifest);
    for (let i = 0; i < image.manifest.chunks.length; i++) await store.putChunk(image.manifest.chunks[i]!, image.chunk(i));
    this.world.byName.get(this.origin)?.running?.blobs?.uploaded(image.root);
  }

  private async writeRecord(): Promise<void> {
    const image = this.image!;
    const site = this.world.byName.get(this.origin);
    const service = site?.running?.service;
    if (service === undefined) return this.retryWrite();
    const spec = {
      name: 'sim-blob-image',
      diskFormat: 'raw',
      containerFormat: 'bare',
      source: {
        kind: 'file',
        url: blobSourceUrl(image.root),
        sha256: image.manifest.sha256,
        sha512: image.manifest.sha512,
        blob: { root: image.root, size: image.manifest.size, md5: image.manifest.md5 },
        origin: this.origin,
      },
    };
    const out = await Promise.race([
      service.write([{ op: 'put', kind: 'image', id: SIM_BLOB_IMAGE_ID, spec, placement: 'all' }], { force: false, clientId: SIM_BLOB_CLIENT_ID, seq: 1, timeoutMs: WRITE_TIMEOUT_MS }),
      site!.whenDown().then(() => null),
    ]);
    if (out?.status === 'committed') {
      this.committedAtMs = this.world.checker.firstAppliedAtMs(out.index) ?? this.scheduler.now();
      return;
    }
    if (out?.status === 'rejected') {
      this.writeError = `the simulator's blob image was rejected: ${out.code} ${out.message}`;
      return;
    }
    this.retryWrite();
  }

  private retryWrite(): void {
    this.scheduler.after(WRITE_RETRY_MS, () => void this.writeRecord());
  }

  /** The end of the run: the held-bits check over every site, then the report's figures. */
  async finish(log: FailureLog, atMs: number, faults?: readonly Pick<FaultEpisode, 'kind' | 'startMs' | 'endMs'>[]): Promise<BlobRolloutReport> {
    const image = this.image;
    await this.checker.checkHeld(atMs, [...this.parts.keys()].map((site) => this.heldBy(site, 'holds')), true);
    for (const site of this.names) {
      if (this.reportsInSync(site) && !this.fedAtMs.has(site)) this.checker.onUnfedInSync(atMs, site);
    }
    this.checker.report(log);
    if (this.writeError !== null) log.add('workload', atMs, [this.origin], this.writeError);
    const receivers = this.names.filter((s) => s !== this.origin);
    const after = receivers.map((s) => this.heldAtMs.get(s)).filter((t): t is number => t !== undefined).map((t) => t - (this.committedAtMs ?? 0));
    after.sort((a, b) => a - b);
    const allHeld = this.committedAtMs !== null && after.length === receivers.length;
    const lowerBound = swarmLowerBound(this.options.imageBytes, this.origin, receivers, this.links, this.wan);
    const allHeldAfterMs = allHeld ? Math.max(0, ...after) : null;
    const originIndex = this.names.indexOf(this.origin);
    const sent = this.links.stats.sentBytes;
    const fetchers = [...this.world.sites].map((s) => s.running?.blobs?.fetcher.counters.badChunks ?? 0);
    return {
      imageBytes: this.options.imageBytes,
      chunks: image?.manifest.chunks.length ?? 0,
      origin: this.origin,
      swarm: this.options.swarm,
      receivers: receivers.length,
      committedAtMs: this.committedAtMs,
      holding: after.length,
      allHeldAfterMs,
      heldAfterP50Ms: after.length > 0 ? after[Math.floor((after.length - 1) * 0.5)]! : null,
      heldAfterP90Ms: after.length > 0 ? after[Math.floor((after.length - 1) * 0.9)]! : null,
      lowerBound,
      overLowerBound: allHeldAfterMs === null ? null : allHeldAfterMs / lowerBound.totalMs,
      bytesSentByOrigin: sent[originIndex]!,
      bytesSentByOthers: sent.reduce((a, b) => a + b, 0) - sent[originIndex]!,
      badChunks: fetchers.reduce((a, b) => a + b, 0),
      duplicateChunks: [...this.parts.values()].reduce((sum, p) => sum + p.modelled.duplicatePuts, 0),
      streams: { ...this.net.counts },
      ...(faults === undefined ? {} : { faultsInFlight: this.faultsInFlight(faults, allHeldAfterMs, atMs) }),
    };
  }

  private faultsInFlight(faults: readonly Pick<FaultEpisode, 'kind' | 'startMs' | 'endMs'>[], allHeldAfterMs: number | null, endMs: number): { episodes: number; kinds: string[] } {
    if (this.committedAtMs === null) return { episodes: 0, kinds: [] };
    const from = this.committedAtMs;
    const until = allHeldAfterMs === null ? endMs : from + allHeldAfterMs;
    const active = faults.filter((f) => f.startMs < until && f.endMs > from);
    return { episodes: active.length, kinds: [...new Set(active.map((f) => f.kind))].sort() };
  }

  /** What the held-bits check reads of a site's store; `claim` says why it must hold the image. */
  private heldBy(site: string, claim: string) {
    const p = this.partsOf(site);
    return {
      site,
      claim,
      held: {
        chunk: (digest: string) => p.observed.inspectChunk(digest),
        manifestRoot: (root: string) => (p.observed.manifest(root) === undefined ? undefined : root),
        complete: (root: string) => p.observed.isComplete(root),
      },
      mustHold: claim !== 'holds',
    };
  }

  private reportsInSync(site: string): boolean {
    const catalog = this.world.byName.get(site)?.catalog;
    const record = catalog?.get('image', SIM_BLOB_IMAGE_ID);
    if (catalog == null || record === undefined) return false;
    return catalog.syncStatus({ kind: 'image', id: SIM_BLOB_IMAGE_ID }).some((e) => e.site === site && e.state === 'in-sync' && e.revision === record.revision);
  }
}

export { BLOB_BITS_CHECK, BLOB_SERVED_CHECK };
