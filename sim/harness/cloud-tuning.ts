// How the simulated clouds and their reconcilers are tuned. The reconciler runs with the daemon's
// logic but shorter waits than its defaults, so that runs of minutes see several audits and a
// cloud that comes back is retried within seconds (the quiet period after the heal is 5–60 s).
import { DEFAULT_REPORT_QUEUE_OPTIONS, type ReconcilerOptions } from '../../agent/reconciler/index.js';

/** Every cloud API call takes this long (uniform), before any fault: a cloud next to its agent. */
export const CLOUD_CALL_LATENCY_MS = { min: 5, max: 40 } as const;
/**
 * How long a call that gets no answer hangs before it fails. The daemon's HTTP timeout is 30 s;
 * a shorter one here keeps a hung call from outlasting a short quiet period.
 */
export const CLOUD_CALL_TIMEOUT_MS = 2_000;

export const SIM_RECONCILER_OPTIONS: Partial<ReconcilerOptions> = {
  /** The daemon audits every 60 s; 30 s gives a few audits per simulated run. */
  auditIntervalMs: 30_000,
  changeDebounceMs: 200,
  maxConcurrentOperations: 4,
  /** Retries of a failed resource (and of an audit that found the cloud unreachable): 250 ms doubling to 2 s. */
  retry: { baseDelayMs: 250, maxDelayMs: 2_000 },
  reportAfterFailures: 3,
  notReadyRetryMs: 500,
  /**
   * Reports retry within a second while the log refuses them (the daemon waits up to 30 s): a site
   * that was cut off reports soon after the heal, so the log goes quiet within the quiet period.
   */
  reports: { ...DEFAULT_REPORT_QUEUE_OPTIONS, maxRetryDelayMs: 1_000 },
};

/**
 * A sync-report proposal not seen committed within this long counts as failed and is retried (the
 * daemon waits for the replica's proposal timeout, 5 s). Shorter, for the same reason as above.
 */
export const SIM_REPORT_TIMEOUT_MS = 2_000;

/** The clouds are compared with their desired state this often during the quiet period. */
export const CLOUD_PROBE_EVERY_MS = 250;
