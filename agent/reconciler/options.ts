// The reconciler's settings, their defaults, and the checks that refuse nonsense with a message
// naming the option.
import { DEFAULT_REPORT_QUEUE_OPTIONS, type ReportQueueOptions } from './report-queue.js';

export interface ReconcilerOptions {
  /** Full audit (list the cloud, repair drift) every this many milliseconds. */
  auditIntervalMs: number;
  /** Catalog changes arriving within this window share one pass. */
  changeDebounceMs: number;
  /** Resources worked on at once (each is a short sequence of cloud calls). */
  maxConcurrentOperations: number;
  /** Retry delays of one resource, and of the audit while the cloud is unreachable: exponential with equal jitter, capped; retries go on. */
  retry: { baseDelayMs: number; maxDelayMs: number };
  /** A failure that may clear by itself is reported once it happened this many times in a row. */
  reportAfterFailures: number;
  /** How soon to look again while the site is not in the catalog or the catalog is not current. */
  notReadyRetryMs: number;
  reports: ReportQueueOptions;
}

export const DEFAULT_RECONCILER_OPTIONS: ReconcilerOptions = {
  auditIntervalMs: 60_000,
  changeDebounceMs: 200,
  maxConcurrentOperations: 4,
  retry: { baseDelayMs: 1000, maxDelayMs: 60_000 },
  reportAfterFailures: 3,
  notReadyRetryMs: 1000,
  reports: DEFAULT_REPORT_QUEUE_OPTIONS,
};

/** Defaults filled in; throws RangeError naming the first bad option. */
export function resolveReconcilerOptions(given: Partial<ReconcilerOptions> = {}): ReconcilerOptions {
  const o: ReconcilerOptions = {
    ...DEFAULT_RECONCILER_OPTIONS,
    ...given,
    retry: { ...DEFAULT_RECONCILER_OPTIONS.retry, ...given.retry },
    reports: { ...DEFAULT_RECONCILER_OPTIONS.reports, ...given.reports },
  };
  const positive = (name: string, v: number) => {
    if (!(Number.isFinite(v) && v > 0)) throw new RangeError(`reconciler option ${name} must be a positive number (got ${v})`);
  };
  const positiveInteger = (name: string, v: number) => {
    if (!Number.isInteger(v) || v < 1) throw new RangeError(`reconciler option ${name} must be a positive integer (got ${v})`);
  };
  positive('auditIntervalMs', o.auditIntervalMs);
  positive('notReadyRetryMs', o.notReadyRetryMs);
  positive('retry.baseDelayMs', o.retry.baseDelayMs);
  positive('retry.maxDelayMs', o.retry.maxDelayMs);
  if (!(o.changeDebounceMs >= 0)) throw new RangeError(`reconciler option changeDebounceMs must be >= 0 (got ${o.changeDebounceMs})`);
  positiveInteger('maxConcurrentOperations', o.maxConcurrentOperations);
  positiveInteger('reportAfterFailures', o.reportAfterFailures);
  return o;
}
