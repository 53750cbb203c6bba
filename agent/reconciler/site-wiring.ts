// The reconciler inside the daemon: the site's driver, the replica-backed report sink, real timers,
// and the "is my catalog current" guard. site-agent.ts creates the driver first (so a bad
// clouds.yaml stops the agent before it joins anything) and starts this once the replica runs.
import type { Clock, Logger } from '../../consensus/ports.js';
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
  logger: Logger;
  options?: Partial<ReconcilerOptions>;
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
        // A replica that has not heard from a leader yet (just restarted) or is still applying what
        // it knows is committed would act on an old catalog: deletions there could be wrong.
        catalogReady: () => {
          const status = replica.status();
          return status.leader !== '' && replica.appliedIndex >= status.commit;
        },
        report: replicaReportSink({ site: deps.site, replica, catalog: deps.catalog, epochMs: () => Date.now() }),
      },
      deps.options,
    );
  }

  start(): void {
    this.reconciler.start();
  }

  /** From the replica's onApplied hook: cheap, debounced inside the reconciler. */
  catalogChanged(): void {
    this.reconciler.notifyCatalogChanged();
  }

  /** Stops the reconciler (waiting a bounded time for a cloud call in flight), then closes the driver. */
  async stop(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const grace = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), RECONCILER_STOP_GRACE_MS);
    });
    const outcome = await Promise.race([this.reconciler.stop().then(() => 'stopped' as const), grace]);
    clearTimeout(timer);
    if (outcome === 'timeout') this.deps.logger.warn({ graceMs: RECONCILER_STOP_GRACE_MS }, 'reconciler still busy with the cloud; closing the driver under it');
    await this.deps.driver.close();
  }
}
