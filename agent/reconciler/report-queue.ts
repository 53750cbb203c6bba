// Sync reports on their way into the log, coalesced: one pending report per resource (the latest
// wins), nothing sent that the catalog already says, at most one command per interval with a
// bounded number of reports. So a site whose cloud is down reports each resource once, not on
// every retry, and 100 sites converging at once do not flood the log. A resource plainly in sync
// is not reported on its own: the site's digest (`through`, from the reconciler's `convergedThrough`)
// covers it, and is sent only when it moves, so a quiet site commits nothing.
import type { Clock, Logger, TimerHandle } from '../../consensus/ports.js';
import type { Catalog, Resource, ResourceKind, SyncDigestReport, SyncReport, SyncStatusEntry } from '../catalog/index.js';
import { MAX_SYNC_REPORTS_PER_COMMAND } from '../catalog/index.js';

/** Delivers one batch of reports (and the site's digest); resolves once they are applied, rejects when they were not. */
export type ReportSink = (reports: SyncReport[], digest?: SyncDigestReport) => Promise<void>;

/** The sink's verdict that these reports can never be applied (retrying them would loop). */
export class ReportRejectedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ReportRejectedError';
  }
}

export type ReportCatalog = Pick<Catalog, 'syncStatus' | 'get' | 'syncDigest' | 'isDesiredOnSite' | 'count'>;

/**
 * The highest revision up to which every resource placed on the site is in sync or has its
 * exception in the catalog or in the queue (see Reconciler.convergedThrough); 0 when none.
 */
export type ConvergedThrough = () => number;

export interface ReportQueueOptions {
  /** At most one command per this many milliseconds. */
  intervalMs: number;
  /** Reports per command (the catalog takes up to MAX_SYNC_REPORTS_PER_COMMAND). */
  maxReportsPerCommand: number;
  /** Longest wait between attempts while the sink keeps failing (no quorum, no leader). */
  maxRetryDelayMs: number;
  /** Wait after the first report of a quiet period, so the reports of one pass share a command. */
  gatherMs: number;
  /**
   * A digest with no report beside it waits until this long after the last digest sent: under a
   * steady stream of catalog writes a site commits one digest per this interval, not one per write
   * (the sync view shows the newest revisions as not yet reported for at most this long). The
   * default equals `intervalMs`; a large cluster under constant churn may raise it.
   */
  digestIntervalMs: number;
}

/**
 * Sync commands per second the whole cluster sends at most under constant churn (about): in a
 * cluster of more than this many sites, a site's report and digest intervals are raised to
 * sites / this seconds. Every site applies every sync command, so with a fixed interval the work
 * they make grows with the square of the sites (at 100 sites under the simulator's workload, sync
 * commands were 82 % of all entries applied); bounded, it grows with the sites only. A site that
 * has been quiet for an interval still reports at once.
 */
export const CLUSTER_SYNC_COMMANDS_PER_SECOND = 50;

export const DEFAULT_REPORT_QUEUE_OPTIONS: ReportQueueOptions = { intervalMs: 1000, maxReportsPerCommand: 250, maxRetryDelayMs: 30_000, gatherMs: 100, digestIntervalMs: 1_000 };

/**
 * Pending reports kept at most. One per resource, so the catalog's size bounds it already; this
 * guards against a bug feeding ids that are not in the catalog.
 */
export const MAX_PENDING_REPORTS = 100_000;

export interface ReportQueueStats {
  pending: number;
  commandsSent: number;
  reportsSent: number;
  sinkFailures: number;
  dropped: number;
}

function keyOf(kind: ResourceKind, id: string): string {
  return `${kind}/${id}`;
}

export class SyncReportQueue {
  private readonly pending = new Map<string, SyncReport>();
  private timer: TimerHandle | null = null;
  private inFlight: Promise<void> | null = null;
  private lastSentAt = Number.NEGATIVE_INFINITY;
  private lastDigestAt = Number.NEGATIVE_INFINITY;
  private failureStreak = 0;
  private stopped = false;
  private readonly counters = { commandsSent: 0, reportsSent: 0, sinkFailures: 0, dropped: 0 };

  constructor(
    private readonly site: string,
    private readonly catalog: ReportCatalog,
    private readonly sink: ReportSink,
    private readonly clock: Clock,
    private readonly logger: Logger,
    private readonly options: ReportQueueOptions = DEFAULT_REPORT_QUEUE_OPTIONS,
    private readonly convergedThrough: ConvergedThrough = () => 0,
  ) {
    if (!(Number.isInteger(options.maxReportsPerCommand) && options.maxReportsPerCommand >= 1 && options.maxReportsPerCommand <= MAX_SYNC_REPORTS_PER_COMMAND)) {
      throw new RangeError(`maxReportsPerCommand must be 1..${MAX_SYNC_REPORTS_PER_COMMAND} (got ${options.maxReportsPerCommand})`);
    }
    for (const name of ['intervalMs', 'gatherMs', 'maxRetryDelayMs', 'digestIntervalMs'] as const) {
      if (!(Number.isFinite(options[name]) && options[name] >= 0)) throw new RangeError(`sync report option ${name} must be a number >= 0 (got ${options[name]})`);
    }
  }

  /** Queues this site's latest state of one resource (replacing any queued one for it). */
  set(report: Omit<SyncReport, 'site'>): void {
    if (this.stopped) return;
    const key = keyOf(report.kind, report.id);
    if (!this.pending.has(key) && this.pending.size >= MAX_PENDING_REPORTS) {
      this.counters.dropped++;
      this.logger.error({ site: this.site, kind: report.kind, id: report.id, bound: MAX_PENDING_REPORTS }, 'sync report queue full; report dropped');
      return;
    }
    const full: SyncReport = { site: this.site, ...report };
    this.pending.set(key, full);
    this.schedule(this.options.gatherMs);
  }

  /** Whether a report for the resource that is not plain in-sync is waiting to be sent. */
  holdsException(kind: ResourceKind, id: string): boolean {
    const report = this.pending.get(keyOf(kind, id));
    return report !== undefined && (report.state !== 'in-sync' || (report.message ?? '') !== '');
  }

  /** The digest may have moved (a pass ended): send it if it did. */
  digestChanged(): void {
    this.schedule(this.options.gatherMs);
  }

  stats(): ReportQueueStats {
    return { pending: this.pending.size, ...this.counters };
  }

  /** Whether nothing is queued or in flight. */
  get idle(): boolean {
    return this.pending.size === 0 && this.inFlight === null;
  }

  /** Stops sending; waits for a batch in flight. Queued reports are dropped (the next start recomputes them). */
  async stop(): Promise<void> {
    this.stopped = true;
    this.timer?.cancel();
    this.timer = null;
    await this.inFlight;
  }

  /** The least time between two commands of this site: the option, raised in a large cluster. */
  private clusterFloorMs(): number {
    return (1000 * this.catalog.count('site')) / CLUSTER_SYNC_COMMANDS_PER_SECOND;
  }

  private schedule(extraDelayMs: number): void {
    if (this.stopped || this.timer !== null || this.inFlight !== null) return;
    if (this.pending.size === 0 && this.nextDigest() === undefined) return;
    const intervalMs = Math.max(this.options.intervalMs, this.clusterFloorMs());
    let delay = Math.max(extraDelayMs, this.lastSentAt + intervalMs - this.clock.now(), 0);
    if (this.pending.size === 0) delay = Math.max(delay, this.digestDueIn());
    this.timer = this.clock.setTimer(delay, () => {
      this.timer = null;
      this.flush();
    });
  }

  /** The catalog's entries for this site, by resource. */
  private storedEntries(): Map<string, SyncStatusEntry> {
    return new Map(this.catalog.syncStatus({ site: this.site }).map((e) => [keyOf(e.kind, e.id), e]));
  }

  private digestDueIn(): number {
    return Math.max(0, this.lastDigestAt + Math.max(this.options.digestIntervalMs, this.clusterFloorMs()) - this.clock.now());
  }

  /** The digest to send: the converged revision, when it is past the catalog's. */
  private nextDigest(): SyncDigestReport | undefined {
    const through = this.convergedThrough();
    return through > (this.catalog.syncDigest(this.site)?.through ?? 0) ? { site: this.site, through } : undefined;
  }

  /**
   * Whether a report would change nothing the catalog shows. A plain in-sync report with no
   * exception to clear says nothing the digest does not (or will not, once it moves).
   */
  private isRedundant(report: SyncReport, stored: SyncStatusEntry | undefined): boolean {
    if (report.state === 'in-sync' && (report.message ?? '') === '' && (stored === undefined || (stored.state === 'in-sync' && stored.message === '' && stored.revision === (report.revision ?? 0)))) {
      return true;
    }
    if (report.state === 'in-sync' && !this.desiredHere(report)) return stored === undefined;
    return stored !== undefined && stored.state === report.state && stored.message === (report.message ?? '') && stored.revision === (report.revision ?? 0);
  }

  private desiredHere(report: SyncReport): boolean {
    const resource = this.catalog.get(report.kind, report.id);
    return resource !== undefined && this.catalog.isDesiredOnSite(resource as Resource, this.site);
  }

  /** Drops what the catalog already says; returns the next batch (in key order, so replays are stable). */
  private nextBatch(): SyncReport[] {
    const stored = this.storedEntries();
    const batch: SyncReport[] = [];
    for (const key of [...this.pending.keys()].sort()) {
      const report = this.pending.get(key)!;
      if (this.isRedundant(report, stored.get(key))) {
        this.pending.delete(key);
        continue;
      }
      if (batch.length < this.options.maxReportsPerCommand) batch.push(report);
    }
    return batch;
  }

  private flush(): void {
    if (this.stopped) return;
    const batch = this.nextBatch();
    const digest = this.nextDigest();
    if (batch.length === 0 && digest === undefined) return;
    if (batch.length === 0 && this.digestDueIn() > 0) return this.schedule(0);
    this.lastSentAt = this.clock.now();
    if (digest !== undefined) this.lastDigestAt = this.lastSentAt;
    this.inFlight = this.send(batch, digest).finally(() => {
      this.inFlight = null;
      const backoff = this.failureStreak === 0 ? 0 : Math.min(this.options.maxRetryDelayMs, this.options.intervalMs * 2 ** (this.failureStreak - 1));
      this.schedule(backoff);
    });
  }

  private async send(batch: SyncReport[], digest: SyncDigestReport | undefined): Promise<void> {
    try {
      await this.sink(batch, digest);
      this.counters.commandsSent++;
      this.counters.reportsSent += batch.length;
      if (this.failureStreak > 0) this.logger.info({ site: this.site, failedAttempts: this.failureStreak }, 'sync reports are reaching the log again');
      this.failureStreak = 0;
      this.forget(batch);
    } catch (err) {
      this.counters.sinkFailures++;
      if (err instanceof ReportRejectedError) {
        // A bug, not a passing condition: sending the same reports again would fail the same way.
        this.logger.error({ site: this.site, reports: batch.length, err: err.message }, 'sync reports rejected by the catalog; dropped');
        this.forget(batch);
        return;
      }
      this.failureStreak++;
      if (this.failureStreak === 1) {
        this.logger.warn({ site: this.site, reports: batch.length, err: (err as Error).message }, 'sync reports not delivered; will retry with backoff');
      }
    }
  }

  /** Removes delivered reports unless a newer one replaced them meanwhile. */
  private forget(batch: SyncReport[]): void {
    for (const report of batch) {
      const key = keyOf(report.kind, report.id);
      if (this.pending.get(key) === report) this.pending.delete(key);
    }
  }
}
