// The clouds' part of one run, wired to the rest in a few calls: the sites' clouds and reconcilers
// follow the world's sites, cloud API faults come through the fault target, the simulator's own
// cloud resources are written once the site records are in, the clouds are probed from the heal,
// and the cloud-convergence check closes the run.
import type { FailureLog } from '../checkers/failure.js';
import { CLOUD_CONVERGENCE_CHECK, type CloudConvergenceResult } from '../checkers/cloud-convergence.js';
import type { SiteLocation } from '../cities.js';
import type { FaultTarget } from '../faults.js';
import type { Prng } from '../prng.js';
import type { SimReport } from '../report.js';
import type { Scheduler } from '../scheduler.js';
import { CloudCatalogWriter } from './cloud-catalog.js';
import { CloudProbe } from './cloud-probe.js';
import { SimClouds, type CloudHooks } from './clouds.js';
import type { World } from './world.js';

export interface CloudOutcome {
  result: CloudConvergenceResult;
  detail: string;
}

export class CloudRun {
  readonly clouds: SimClouds;
  readonly catalog: CloudCatalogWriter;
  readonly probe: CloudProbe;

  constructor(scheduler: Scheduler, prng: Prng, world: World, locations: readonly SiteLocation[], quietFromMs: number, hooks: CloudHooks) {
    this.clouds = new SimClouds(scheduler, prng, world.siteNames(), hooks);
    world.observers.push(this.clouds);
    world.cloudProvider = (site, clock) => this.clouds.driverFor(site, clock);
    // The revision lands while the faults run (half way to the heal), or as soon as it can after.
    this.catalog = new CloudCatalogWriter(scheduler, world, locations, quietFromMs / 2);
    this.probe = new CloudProbe(scheduler, this.clouds, world.sites, quietFromMs);
  }

  /** The fault target with cloud API faults going to the sites' clouds. */
  faultTarget(target: FaultTarget): FaultTarget {
    return { ...target, setCloudFaults: (site, fault) => this.clouds.setApiFault(site, fault) };
  }

  /** The site records are in the catalog: placements can select sites. */
  onSetupDone(): void {
    this.catalog.start();
  }

  /** The faults healed: compare the clouds with their desired state until `endMs`. */
  onHeal(endMs: number): void {
    this.probe.start(endMs);
  }

  finish(log: FailureLog, endMs: number): CloudOutcome {
    const checker = this.probe.checker;
    if (this.catalog.error !== null) checker.onProblem(endMs, [], this.catalog.error);
    const result = checker.finish(log, endMs);
    const stats = this.clouds.stats();
    const written = this.catalog.committedAtMs.map((t) => `${(t / 1000).toFixed(1)} s`).join(', ') || 'never';
    const behind = result.behind.length > 0 ? `; not judged, their catalog never caught up (see state-convergence): ${result.behind.join(', ')}` : '';
    const converged =
      result.convergedAfterMs === null
        ? `${result.remaining} difference(s) left at the end${behind}`
        : `every running site's cloud equals its desired state ${result.convergedAfterMs} ms after the heal`;
    const detail =
      `${converged} (${result.probes} probes); ${stats.reconcilersStarted} reconcilers started, ${stats.passes} passes, ` +
      `${stats.faultsInjected} cloud API faults injected; cloud resources written at ${written}`;
    return { result, detail };
  }
}

/** The checker's row in the report; skipped when the run has no clouds. */
export function cloudCheckerRow(outcome: CloudOutcome | null, log: FailureLog): SimReport['checkers'][number] {
  if (outcome === null) return { name: CLOUD_CONVERGENCE_CHECK, verdict: 'skipped', detail: 'no clouds (--clouds off)' };
  const failures = log.failures().filter((f) => f.check === CLOUD_CONVERGENCE_CHECK);
  return { name: CLOUD_CONVERGENCE_CHECK, verdict: outcome.result.verdict, detail: outcome.detail, ...(failures.length > 0 ? { failures } : {}) };
}
