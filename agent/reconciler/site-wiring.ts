// The reconciler inside a site (agent/site/compose.ts, in the daemon and the simulator alike): the
// site's driver, the replica-backed report sink, the site's clock, and the "is my catalog current"
// guard. The caller creates the driver first (so a bad clouds.yaml stops the agent before it joins
// anything) and starts this once the replica runs.
import type { Clock, Logger, TimerHandle } from '../../consensus/ports.js';
import type { Replica } from '../../consensus/replica.js';
import type { Catalog } from '../catalog/index.js';
import type { CloudDriver } from '../../drivers/index.js';
import type { ReconcilerOptions } from './options.js';
import { Reconciler } from './reconciler.js';
import { replicaReportSink } from './replica-sink.js';

/** How long shutdown waits for a cloud call in flight before closing the driver under it. */
export const RECONCILER_STOP_GRACE_MS = 5_000;

export interface SiteReconcilerDeps {
  site: string;
  driver: CloudDriver;
  replica: Replica;
  catalog: Catalog;
  clock: Clock;
  /** Milliseconds since the Unix epoch (virtual in the simulator) for the reports' command time. */
  epochMs: () => number;
  /** Jitter of retry delays. */
  random?: () => number;
  logger: Logger;
  options?: Partial<ReconcilerOptions>;
  /** A sync report not seen committed within this long is retried (default: the replica's proposal timeout). */
  reportTimeoutMs?: number;
}

export class SiteReconciler {
  readonly reconciler: Reconciler;

  constructor(private readonly deps: SiteReconcilerDeps) {
    const { replica } = deps;
    this.reconciler = new Reconciler(
      {
        site: deps.site,
        driver: deps.driver,
        catalog: deps.catalog,
        clock: deps.clock,
        logger: deps.logger,
        ...(deps.random ? { random: deps.random } : {}),
        // A replica that has not heard from a leader yet (just restarted) or is still applying what
        // it knows is committed would act on an old catalog: deletions there could be wrong.
        catalogReady: () => {
          const status = replica.status();
          return status.leader !== '' && replica.appliedIndex >= status.commit;
        },
        report: replicaReportSink({ site: deps.site, replica, catalog: deps.catalog, epochMs: deps.epochMs, timeoutMs: deps.reportTimeoutMs }),
      },
      deps.options,
    );
  }

  start(): void {
    this.reconciler.start();
  }

  /** See Reconciler.holdsImageBits: the blob loop fetches no bits this site's Glance already has. */
  holdsImageBits(id: string): boolean {
    return this.reconciler.holdsImageBits(id);
  }

  /** From the replica's onApplied hook: cheap, debounced inside the reconciler. */
  catalogChanged(): void {
    this.reconciler.notifyCatalogChanged();
  }

  /** Stops the reconciler (waiting a bounded time for a cloud call in flight), then closes the driver. */
  async stop(): Promise<void> {
    let timer: TimerHandle | undefined;
    const grace = new Promise<'timeout'>((resolve) => {
      timer = this.deps.clock.setTimer(RECONCILER_STOP_GRACE_MS, () => resolve('timeout'));
    });
    const outcome = await Promise.race([this.reconciler.stop().then(() => 'stopped' as const), grace]);
    timer?.cancel();
    if (outcome === 'timeout') this.deps.logger.warn({ graceMs: RECONCILER_STOP_GRACE_MS }, 'reconciler still busy with the cloud; closing the driver under it');
    await this.deps.driver.close();
  }

  /**
   * The process died: the reconciler takes no further step (a cloud call in flight never comes
   * back to it). Nothing is awaited: its pass may wait forever on a timer of a stopped clock.
   */
  halt(): void {
    void this.reconciler.stop();
  }
}
