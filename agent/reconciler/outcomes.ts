// What the reconciler does with the outcome of working on one resource: the track's retry state,
// the site's reachability, the log line, and the sync report (through the coalescing queue).
import type { Clock, Logger } from '../../consensus/ports.js';
import { backoffDelayMs } from '../../drivers/index.js';
import type { ReconcilerCatalog } from './catalog-view.js';
import type { DesiredResource } from './desired.js';
import { describeFailure } from './failures.js';
import type { ReconcilerOptions } from './options.js';
import type { SyncReportQueue } from './report-queue.js';
import { NOT_PLACED_MESSAGE, type Track } from './tracks.js';
import type { Change } from './actions.js';

/** A fetching image's progress goes into the log at most this often per resource (not per chunk). */
export const FETCH_REPORT_INTERVAL_MS = 5_000;
/** How soon a fetching image is looked at again (cheap: the blob store answers, not the cloud). */
export const FETCH_RECHECK_MS = 2_000;

export interface Unreachable {
  since: number;
  /** What every resource reports while it lasts: the first cause, so retries repeat the same report. */
  message: string;
}

export class Outcomes {
  private down: Unreachable | null = null;

  constructor(
    private readonly site: string,
    private readonly clock: Clock,
    private readonly logger: Logger,
    private readonly random: () => number,
    private readonly options: ReconcilerOptions,
    private readonly catalog: ReconcilerCatalog,
    private readonly reports: SyncReportQueue,
  ) {}

  get unreachable(): Readonly<Unreachable> | null {
    return this.down;
  }

  /** Retry delay after `failures` failures in a row: exponential with equal jitter, capped. */
  retryDelay(failures: number): number {
    const policy = { maxAttempts: Number.POSITIVE_INFINITY, ...this.options.retry };
    return backoffDelayMs(policy, Math.max(1, failures), this.random);
  }

  /** Returns the message every resource reports while the cloud is unreachable. */
  markUnreachable(cause: string): string {
    if (this.down === null) {
      this.down = { since: this.clock.now(), message: `cloud API unreachable: ${cause}` };
      this.logger.warn({ site: this.site, err: cause }, 'cloud API unreachable');
    }
    return this.down.message;
  }

  markReachable(): void {
    if (this.down === null) return;
    this.logger.info({ site: this.site, downMs: this.clock.now() - this.down.since }, 'cloud API reachable again');
    this.down = null;
  }

  /** The resource now matches `desired`; `message` is what the operator should know about it. */
  inSync(track: Track, desired: DesiredResource, change: Change, message: string): void {
    this.logChange(track, desired, change, message);
    // The note (a replace, say) stays with its revision: a later look that changes nothing keeps it.
    const fresh = change !== 'none' || track.convergedRevision !== desired.revision;
    if (fresh || message !== '') track.inSyncMessage = message;
    track.convergedRevision = desired.revision;
    track.awaitingBits = false;
    track.failures = 0;
    track.retryAt = 0;
    this.report(track, 'in-sync', track.inSyncMessage, desired.revision);
  }

  /** The cloud is busy with the resource (Glance storing bits): look again after a backoff. */
  waiting(track: Track, desired: DesiredResource, message: string): void {
    track.failures++;
    track.retryAt = this.clock.now() + this.retryDelay(track.failures);
    this.report(track, 'pending', message, desired.revision);
  }

  /**
   * The image's bits are still on their way to this site (a blob fetch; `progress` says how far).
   * Reported as `fetching`, not as an error — or as an error when the last attempt stalled (no
   * holder answered), which the blob loop retries — at most once per FETCH_REPORT_INTERVAL_MS
   * while the state and the revision stay the same (a new revision is reported at once: other
   * sites read partial holders at the image's revision), and looked at again soon without backoff.
   */
  fetching(track: Track, desired: DesiredResource, progress: string, stalled: boolean): void {
    const now = this.clock.now();
    const state = stalled ? 'error' : 'fetching';
    track.failures = 0;
    track.awaitingBits = true;
    track.retryAt = now + FETCH_RECHECK_MS;
    const last = track.fetchReported;
    const recent = track.state === state && last !== undefined && last.revision === desired.revision && now - last.at < FETCH_REPORT_INTERVAL_MS;
    if (recent) return;
    track.fetchReported = { at: now, revision: desired.revision };
    this.report(track, state, stalled ? `image bits not here: ${progress}` : progress, desired.revision);
  }

  /**
   * A failure. One that may clear by itself is retried with backoff and reported only once it
   * persists; one that will not is reported at once and retried at the next audit.
   * `reportable`: false for a removal the catalog has no entry for (nobody is waiting to hear).
   */
  failed(track: Track, err: unknown, revision: number, reportable: boolean): void {
    const failure = describeFailure(err);
    track.failures++;
    let message = failure.message;
    if (failure.state === 'unreachable') message = this.markUnreachable(failure.message);
    else if (track.desired === undefined) message = `removal from this site failed: ${message}`;
    track.retryAt = this.clock.now() + (failure.retryable ? this.retryDelay(track.failures) : this.options.auditIntervalMs);
    if (track.failures === 1) {
      this.logger.warn({ site: this.site, kind: track.kind, id: track.id, state: failure.state, err: failure.message }, `${track.kind} ${track.id}: ${failure.state}`);
    }
    if (failure.retryable && track.failures < this.options.reportAfterFailures) {
      track.state = 'pending';
      track.message = `retrying: ${message}`;
      return;
    }
    if (reportable) this.report(track, failure.state, message, revision);
    else {
      track.state = failure.state;
      track.message = message;
    }
  }

  /**
   * The resource is gone from this site's cloud (or was never there). If the catalog holds an entry
   * of this site for it, an in-sync report clears the entry of a deleted resource, or records that
   * this site is done with one that is still placed elsewhere.
   */
  removed(track: Track, entryRevision: number | undefined): void {
    track.removed = true;
    track.failures = 0;
    track.retryAt = 0;
    track.state = 'in-sync';
    track.message = '';
    if (entryRevision === undefined) return;
    const resource = this.catalog.get(track.kind, track.id);
    if (resource === undefined) this.reports.set({ kind: track.kind, id: track.id, state: 'in-sync', revision: entryRevision });
    else this.reports.set({ kind: track.kind, id: track.id, state: 'in-sync', message: NOT_PLACED_MESSAGE, revision: resource.revision });
  }

  private report(track: Track, state: Track['state'], message: string, revision: number): void {
    track.state = state;
    track.message = message;
    this.reports.set({ kind: track.kind, id: track.id, state, ...(message === '' ? {} : { message }), revision });
  }

  private logChange(track: Track, desired: DesiredResource, change: Change, message: string): void {
    if (change === 'none') return;
    const fields = { site: this.site, kind: track.kind, id: track.id, revision: desired.revision };
    if (change === 'replaced') this.logger.warn({ ...fields, warning: message }, `${track.kind} ${track.id} replaced (deleted and created again with the same id)`);
    else this.logger.info(fields, `${track.kind} ${track.id} ${change}`);
  }
}
