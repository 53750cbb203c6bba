// The reconciler of one site: makes its cloud hold what the catalog places on the site, through
// the CloudDriver, and reports per-resource sync status into the log.
//
// Passes run one at a time. A catalog change (debounced) runs a "change" pass: only resources whose
// revision moved, that failed earlier and are due for a retry, or that must go. A periodic "audit"
// lists the cloud and repairs drift made out of band: a managed resource changed, deleted, or
// present without being wanted. Within a pass, creates and updates come before deletes (a
// replacement exists before what it replaces goes), with a bounded number of operations at once.
// Only resources carrying stackraft's marker are ever changed or deleted (the drivers enforce it).
//
// Failures back off per resource (exponential, with jitter, capped). A failure that may clear by
// itself is reported only once it persists; one that will not is reported at once, and left for
// the next audit. When the cloud API cannot be reached, every resource reports "unreachable" with
// one message, once, however many retries follow.
import type { Clock, Logger, TimerHandle } from '../../consensus/ports.js';
import { silentLogger } from '../../consensus/ports.js';
import type { SyncStatusEntry } from '../catalog/index.js';
import { SourceNotReadyError, type CloudDriver } from '../../drivers/index.js';
import { convergeResource, removeResource, type ActionResult, type Observed } from './actions.js';
import { runBounded } from './bounded.js';
import type { ReconcilerCatalog } from './catalog-view.js';
import { desiredCloudState, desiredFingerprint, resourceKey, type ManagedKind } from './desired.js';
import { describeFailure } from './failures.js';
import { listInventory, listingOf, type Inventory } from './inventory.js';
import { resolveReconcilerOptions, type ReconcilerOptions } from './options.js';
import { Outcomes } from './outcomes.js';
import { SyncReportQueue, type ReportQueueStats, type ReportSink } from './report-queue.js';
import { QUOTA_INTENT_MESSAGE, TrackTable, entryCoversQuota, needsWork, type Track } from './tracks.js';

/** Shortest retry timer (see scheduleRetry). */
const MIN_RETRY_TIMER_MS = 1;
/** Ids named in the one log line per audit about resources left alone for their old marker. */
const LEGACY_IDS_LOGGED = 20;

export interface ReconcilerDeps {
  /** This site's name, as in the catalog. */
  site: string;
  driver: CloudDriver;
  catalog: ReconcilerCatalog;
  /** Delivers sync reports into the log (see replica-sink.ts). */
  report: ReportSink;
  /** Real timers in the daemon, virtual time in the simulator and tests. */
  clock: Clock;
  logger?: Logger;
  /** Jitter of the retry delays; default Math.random (the simulator passes its seeded PRNG). */
  random?: () => number;
  /**
   * Whether the local catalog is current enough to act on: a replica that has not yet caught up
   * would see resources as deleted that are not (and Glance never reuses a deleted image id).
   */
  catalogReady?: () => boolean;
}

export type PassMode = 'change' | 'audit';

export interface PassSummary {
  mode: PassMode;
  /** Why nothing was done, if so. */
  skipped?: 'site-not-in-catalog' | 'catalog-not-current' | 'cloud-unreachable';
  startedAt: number;
  durationMs: number;
  created: number;
  updated: number;
  replaced: number;
  removed: number;
  inSync: number;
  failed: number;
}

export interface ResourceStatus {
  kind: ManagedKind;
  id: string;
  /** Undefined: to be removed from this site. */
  desiredRevision?: number;
  convergedRevision: number;
  state: Track['state'];
  message: string;
  failures: number;
}

export interface ReconcilerStatus {
  site: string;
  driver: string;
  running: boolean;
  cloudReachable: boolean;
  unreachableMessage?: string;
  passes: number;
  lastPass?: PassSummary;
  lastAudit?: PassSummary;
  resources: ResourceStatus[];
  reports: ReportQueueStats;
}

class StoppedError extends Error {}

export class Reconciler {
  private readonly site: string;
  private readonly driver: CloudDriver;
  private readonly catalog: ReconcilerCatalog;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly random: () => number;
  private readonly catalogReady: () => boolean;
  private readonly options: ReconcilerOptions;
  private readonly tracks = new TrackTable();
  private readonly reports: SyncReportQueue;
  private readonly outcomes: Outcomes;

  private started = false;
  private stopped = false;
  private wanted: PassMode | null = null;
  private loop: Promise<void> | null = null;
  private auditTimer: TimerHandle | null = null;
  private retryTimer: { handle: TimerHandle; at: number } | null = null;
  private debounceTimer: TimerHandle | null = null;
  private lastFingerprint: string | null = null;
  private lastPassSkipped = true;
  private waitingLogged: PassSummary['skipped'] | null = null;
  /** Audits in a row that found the cloud unreachable (the exponent of their retry delay). */
  private unreachableAudits = 0;
  private passCount = 0;
  private lastPass: PassSummary | undefined;
  private lastAudit: PassSummary | undefined;
  /** This site's sync entries as the catalog held them when the current pass began. */
  private entries = new Map<string, SyncStatusEntry>();
  /** The site record's revision the tracks' desired state was computed against (0: not yet). */
  private desiredSiteRevision = 0;

  constructor(deps: ReconcilerDeps, options: Partial<ReconcilerOptions> = {}) {
    this.site = deps.site;
    this.driver = deps.driver;
    this.catalog = deps.catalog;
    this.clock = deps.clock;
    this.logger = deps.logger ?? silentLogger;
    this.random = deps.random ?? Math.random;
    this.catalogReady = deps.catalogReady ?? (() => true);
    this.options = resolveReconcilerOptions(options);
    this.reports = new SyncReportQueue(this.site, this.catalog, deps.report, this.clock, this.logger, this.options.reports, () => this.convergedThrough());
    this.outcomes = new Outcomes(this.site, this.clock, this.logger, this.random, this.options, this.catalog, this.reports);
  }

  // ------------------------------------------------------------ lifecycle and triggers

  /** Starts with an audit, then audits periodically and follows catalog changes. */
  start(): void {
    if (this.started || this.stopped) return;
    this.started = true;
    this.logger.info({ site: this.site, driver: this.driver.driverName, auditIntervalMs: this.options.auditIntervalMs }, 'reconciler started');
    this.requestPass('audit');
  }

  /** Stops timers and waits for the pass in flight (a cloud call is not interrupted). Idempotent. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.wanted = null;
    for (const timer of [this.auditTimer, this.retryTimer?.handle, this.debounceTimer]) timer?.cancel();
    this.auditTimer = this.debounceTimer = this.retryTimer = null;
    await this.loop;
    await this.reports.stop();
  }

  /** The catalog changed (cheap to call on every applied entry: debounced, and a no-op when this site's desired state did not move). */
  notifyCatalogChanged(): void {
    if (!this.started || this.stopped || this.debounceTimer !== null) return;
    this.debounceTimer = this.clock.setTimer(this.options.changeDebounceMs, () => {
      this.debounceTimer = null;
      if (this.lastPassSkipped) return this.requestPass('audit');
      const fingerprint = desiredFingerprint(desiredCloudState(this.catalog.desiredResourcesFor(this.site)));
      if (fingerprint !== this.lastFingerprint) return this.requestPass('change');
      // The same desired state at a newer site record (its role or addresses moved): the digest may follow.
      this.desiredSiteRevision = this.catalog.get('site', this.site)?.revision ?? 0;
      this.reports.digestChanged();
    });
  }

  /**
   * The revision up to which this site can claim that everything placed on it is in sync or has
   * its exception (in the catalog or queued): the newest revision of the desired state the tracks
   * were computed from (and of the site record then), lowered below any resource that is neither
   * converged nor reported. Resources changed since have newer revisions, so the claim never covers
   * them.
   */
  private convergedThrough(): number {
    if (this.desiredSiteRevision === 0) return 0;
    const own = new Map(this.catalog.syncStatus({ site: this.site }).map((e) => [`${e.kind}/${e.id}`, e]));
    let through = this.desiredSiteRevision;
    let cap = Number.POSITIVE_INFINITY;
    for (const t of this.tracks.all()) {
      if (t.desired === undefined) continue;
      through = Math.max(through, t.desired.revision);
      if (t.state === 'in-sync' && t.convergedRevision === t.desired.revision) continue;
      const entry = own.get(`${t.kind}/${t.id}`);
      const exceptionShown = entry !== undefined && !(entry.state === 'in-sync' && entry.message === '');
      if (!exceptionShown && !this.reports.holdsException(t.kind, t.id)) cap = Math.min(cap, t.desired.revision - 1);
    }
    return Math.max(0, Math.min(through, cap));
  }

  /**
   * Whether this site's cloud holds the bits of image `id`: this reconciler brought the cloud to a
   * revision of the image in this process, the image is still placed here, and no converge since
   * has needed its bits (one that did asked the local source, which did not have them). Glance
   * cannot change an image's data and the catalog refuses a new source under the same id, so the
   * bits of any revision are the current one's. False after a restart until the first audit has
   * looked (the blob loop then fetches as before: never wrong, only wasteful).
   */
  holdsImageBits(id: string): boolean {
    const track = this.tracks.get(resourceKey('image', id));
    return track !== undefined && track.desired !== undefined && track.convergedRevision > 0 && track.awaitingBits !== true;
  }

  /** Runs an audit as soon as the pass in flight (if any) ends; resolves when no pass is left to run. */
  audit(): Promise<void> {
    this.requestPass('audit');
    return this.idle();
  }

  /** Resolves when no pass is running or wanted. */
  async idle(): Promise<void> {
    while (this.loop !== null) await this.loop;
  }

  status(): ReconcilerStatus {
    const resources: ResourceStatus[] = this.tracks
      .all()
      .map((t) => ({
        kind: t.kind,
        id: t.id,
        ...(t.desired ? { desiredRevision: t.desired.revision } : {}),
        convergedRevision: t.convergedRevision,
        state: t.state,
        message: t.message,
        failures: t.failures,
      }))
      .sort((a, b) => (a.kind + '/' + a.id < b.kind + '/' + b.id ? -1 : 1));
    return {
      site: this.site,
      driver: this.driver.driverName,
      running: this.started && !this.stopped,
      cloudReachable: this.outcomes.unreachable === null,
      ...(this.outcomes.unreachable ? { unreachableMessage: this.outcomes.unreachable.message } : {}),
      passes: this.passCount,
      ...(this.lastPass ? { lastPass: this.lastPass } : {}),
      ...(this.lastAudit ? { lastAudit: this.lastAudit } : {}),
      resources,
      reports: this.reports.stats(),
    };
  }

  private requestPass(mode: PassMode): void {
    if (this.stopped) return;
    if (this.wanted !== 'audit') this.wanted = mode;
    this.loop ??= this.runLoop().finally(() => {
      this.loop = null;
    });
  }

  private async runLoop(): Promise<void> {
    // Let the caller's turn finish first, so triggers arriving together share the pass.
    await Promise.resolve();
    while (this.wanted !== null && !this.stopped) {
      const mode = this.wanted;
      this.wanted = null;
      try {
        await this.pass(mode);
      } catch (err) {
        if (err instanceof StoppedError) return;
        this.logger.error({ site: this.site, mode, err: (err as Error).message, stack: (err as Error).stack }, 'reconciler pass failed unexpectedly');
        this.scheduleAudit(this.options.notReadyRetryMs);
      }
    }
  }

  // ------------------------------------------------------------ one pass

  private async pass(mode: PassMode): Promise<void> {
    const summary: PassSummary = { mode, startedAt: this.clock.now(), durationMs: 0, created: 0, updated: 0, replaced: 0, removed: 0, inSync: 0, failed: 0 };
    try {
      await this.runPass(mode, summary);
    } finally {
      summary.durationMs = this.clock.now() - summary.startedAt;
      this.passCount++;
      this.lastPass = summary;
      if (mode === 'audit') this.lastAudit = summary;
      this.logger.debug({ site: this.site, ...summary }, 'reconciler pass done');
    }
  }

  private async runPass(mode: PassMode, summary: PassSummary): Promise<void> {
    const waitingFor = this.notReadyReason();
    this.lastPassSkipped = waitingFor !== undefined;
    if (waitingFor !== undefined) {
      summary.skipped = waitingFor;
      if (this.waitingLogged !== waitingFor) this.logger.info({ site: this.site, waitingFor }, 'reconciler waiting before touching the cloud');
      this.waitingLogged = waitingFor;
      this.scheduleAudit(this.options.notReadyRetryMs);
      return;
    }
    this.waitingLogged = null;

    const desired = desiredCloudState(this.catalog.desiredResourcesFor(this.site), this.site);
    this.lastFingerprint = desiredFingerprint(desired);
    this.desiredSiteRevision = this.catalog.get('site', this.site)?.revision ?? 0;
    const ownEntries = this.catalog.syncStatus({ site: this.site });
    this.entries = new Map(ownEntries.map((e) => [`${e.kind}/${e.id}`, e]));
    this.tracks.applyDesired(desired);
    this.tracks.addRemovalsFromEntries(ownEntries, desired);

    let inventory: Inventory | undefined;
    if (mode === 'audit') {
      inventory = await listInventory(this.driver);
      this.checkStopped();
      if (this.noteListings(inventory)) {
        summary.skipped = 'cloud-unreachable';
        summary.failed = this.tracks.all().filter((t) => t.desired !== undefined).length;
        this.unreachableAudits++;
        this.scheduleAudit(this.outcomes.retryDelay(this.unreachableAudits));
        return;
      }
      this.unreachableAudits = 0;
    }

    const { converge, remove } = this.selectWork(mode, inventory);
    const failedHere = new Set<Track>();
    await this.runConverge(converge, inventory, summary, failedHere);
    this.checkStopped();
    await runBounded(remove, this.options.maxConcurrentOperations, (t) => this.removeOne(t, inventory, summary), (t, err) => this.unexpected(t, err));
    // A create can wait on a removal (Nova flavor names are unique): try those once more.
    this.checkStopped();
    const retryNow = converge.filter((t) => failedHere.has(t));
    if (summary.removed > 0 && retryNow.length > 0) {
      summary.failed -= retryNow.length;
      await this.runConverge(retryNow, undefined, summary, new Set());
    }

    this.tracks.dropFinishedRemovals(this.entries);
    this.reports.digestChanged();
    this.scheduleRetry();
    if (mode === 'audit') this.scheduleAudit(this.options.auditIntervalMs);
  }

  /** Says (once per audit) which resources with a marker of an older release are left alone. */
  private noteLegacyExtras(kind: 'flavor' | 'image', unnamed: string[]): void {
    if (unnamed.length === 0) return;
    const shown = unnamed.slice(0, LEGACY_IDS_LOGGED);
    this.logger.info(
      { site: this.site, kind, count: unnamed.length, ids: shown },
      `${unnamed.length} ${kind}(s) carry the marker of an older stackraft release (no cluster id) and are not in this catalog: left alone (delete them by hand if no cluster uses them)`,
    );
  }

  private notReadyReason(): PassSummary['skipped'] {
    if (this.catalog.get('site', this.site) === undefined) return 'site-not-in-catalog';
    if (!this.catalogReady()) return 'catalog-not-current';
    return undefined;
  }

  /**
   * Takes in what the listings say. Returns true when the cloud is unreachable (nothing else to
   * do this pass). A kind whose listing failed otherwise (no such service, no permission) marks its
   * resources failed and is left out of this pass. A resource listed with this cluster's marker
   * but not desired becomes a removal. One marked before markers named a cluster may be another
   * cluster's: it is removed only when this site's own sync entries name it (tracks), never just
   * for being unnamed (drivers/README.md "Two clusters, one cloud").
   */
  private noteListings(inventory: Inventory): boolean {
    for (const kind of ['flavor', 'image'] as const) {
      const listing = inventory[kind];
      if (listing.ok) {
        const unnamedLegacy: string[] = [];
        for (const [id, item] of listing.byId) {
          if (!item.managed) continue;
          if (item.legacyMarker && this.tracks.get(resourceKey(kind, id)) === undefined) unnamedLegacy.push(id);
          else this.tracks.ensureRemoval(kind, id, true);
        }
        this.noteLegacyExtras(kind, unnamedLegacy);
        continue;
      }
      const failure = describeFailure(listing.error);
      if (failure.state === 'unreachable') {
        for (const t of this.tracks.all()) if (t.desired !== undefined) this.outcomes.failed(t, listing.error, t.desired.revision, true);
        return true;
      }
      this.logger.warn({ site: this.site, kind, err: failure.message }, 'cannot list this kind in the cloud; its resources are left alone this pass');
      for (const t of this.tracks.all()) if (t.kind === kind && t.desired !== undefined) this.outcomes.failed(t, listing.error, t.desired.revision, true);
    }
    this.outcomes.markReachable();
    return false;
  }

  private selectWork(mode: PassMode, inventory: Inventory | undefined): { converge: Track[]; remove: Track[] } {
    const now = this.clock.now();
    const converge: Track[] = [];
    const remove: Track[] = [];
    for (const t of this.tracks.all()) {
      const listing = inventory === undefined ? undefined : listingOf(inventory, t.kind);
      if (listing !== undefined && !listing.ok) continue;
      const due = mode === 'audit' || t.retryAt <= now;
      if (t.desired !== undefined) {
        if (due && (mode === 'audit' || needsWork(t))) converge.push(t);
      } else if (!t.removed && due) {
        remove.push(t);
      }
    }
    const byKey = (a: Track, b: Track) => (resourceKey(a.kind, a.id) < resourceKey(b.kind, b.id) ? -1 : 1);
    return { converge: converge.sort(byKey), remove: remove.sort(byKey) };
  }

  private observed(inventory: Inventory | undefined, kind: ManagedKind, id: string): Observed<unknown> {
    const listing = inventory === undefined ? undefined : listingOf(inventory, kind);
    if (listing === undefined || !listing.ok) return undefined;
    // The listing holds every managed flavor (image), so absent from it means not ours: the driver
    // then finds out whether someone else's is in the way.
    return { value: listing.byId.get(id) };
  }

  private runConverge(tracks: Track[], inventory: Inventory | undefined, summary: PassSummary, failed: Set<Track>): Promise<void> {
    return runBounded(
      tracks,
      this.options.maxConcurrentOperations,
      async (t) => {
        if (!(await this.convergeOne(t, inventory, summary))) failed.add(t);
      },
      (t, err) => this.unexpected(t, err),
    );
  }

  // ------------------------------------------------------------ one resource

  /** Returns false when it failed. */
  private async convergeOne(track: Track, inventory: Inventory | undefined, summary: PassSummary): Promise<boolean> {
    this.checkStopped();
    const desired = track.desired!;
    if (desired.kind === 'quota' && !entryCoversQuota(this.entries.get(resourceKey(track.kind, track.id)))) {
      // Write-ahead: the log must know this site may set the quota before it does, or a crash
      // between setting and reporting would leave a set quota nobody resets (finding C1).
      this.outcomes.waiting(track, desired, QUOTA_INTENT_MESSAGE);
      return true;
    }
    let result: ActionResult;
    try {
      result = await convergeResource(this.driver, desired, this.observed(inventory, track.kind, track.id));
    } catch (err) {
      this.checkStopped();
      if (err instanceof SourceNotReadyError) {
        this.outcomes.markReachable();
        this.outcomes.fetching(track, desired, err.message, err.stalled);
        return true;
      }
      summary.failed++;
      this.outcomes.failed(track, err, desired.revision, true);
      return false;
    }
    this.checkStopped();
    this.outcomes.markReachable();
    if (result.outcome === 'waiting') {
      this.outcomes.waiting(track, desired, result.message);
      return true;
    }
    if (result.change === 'created') summary.created++;
    else if (result.change === 'updated') summary.updated++;
    else if (result.change === 'replaced') summary.replaced++;
    summary.inSync++;
    this.outcomes.inSync(track, desired, result.change, result.message);
    return true;
  }

  private async removeOne(track: Track, inventory: Inventory | undefined, summary: PassSummary): Promise<void> {
    this.checkStopped();
    const entry = this.entries.get(resourceKey(track.kind, track.id));
    const fields = { site: this.site, kind: track.kind, id: track.id };
    try {
      const outcome = await removeResource(this.driver, track.kind, track.id, this.observed(inventory, track.kind, track.id) as Observed<{ managed: boolean }>);
      this.checkStopped();
      if (outcome === 'removed') {
        summary.removed++;
        this.outcomes.markReachable();
        this.logger.info(fields, `${track.kind} ${track.id} removed (no longer in this site's desired state)`);
      } else if (outcome === 'not-managed') {
        this.logger.warn(fields, `${track.kind} ${track.id} left alone: it is not managed by stackraft`);
      }
    } catch (err) {
      this.checkStopped();
      summary.failed++;
      this.outcomes.failed(track, err, entry?.revision ?? 0, entry !== undefined);
      return;
    }
    this.outcomes.removed(track, entry?.revision);
  }

  private unexpected(track: Track, err: unknown): void {
    if (err instanceof StoppedError) return;
    this.logger.error({ site: this.site, kind: track.kind, id: track.id, err: (err as Error).message }, 'reconciler bug while handling a resource');
  }

  // ------------------------------------------------------------ timers

  private scheduleAudit(delayMs: number): void {
    if (this.stopped) return;
    this.auditTimer?.cancel();
    this.auditTimer = this.clock.setTimer(delayMs, () => {
      this.auditTimer = null;
      this.requestPass('audit');
    });
  }

  /** One timer, at the earliest retry any resource waits for. */
  private scheduleRetry(): void {
    if (this.stopped) return;
    let at = Number.POSITIVE_INFINITY;
    const now = this.clock.now();
    // A retry that came due while a pass was running is due now, not at the next audit.
    for (const t of this.tracks.all()) if (t.retryAt > 0 && needsWork(t)) at = Math.min(at, Math.max(t.retryAt, now));
    if (this.retryTimer !== null && this.retryTimer.at <= at && this.retryTimer.at > now) return;
    this.retryTimer?.handle.cancel();
    this.retryTimer = null;
    if (at === Number.POSITIVE_INFINITY) return;
    // At least a millisecond, as Node's own timers: a delay below the clock's float resolution
    // (retryAt a hair after now) would fire at the same instant, before the track is due, forever.
    const handle = this.clock.setTimer(Math.max(at - now, MIN_RETRY_TIMER_MS), () => {
      this.retryTimer = null;
      this.requestPass('change');
    });
    this.retryTimer = { handle, at };
  }

  private checkStopped(): void {
    if (this.stopped) throw new StoppedError('reconciler stopped');
  }
}
