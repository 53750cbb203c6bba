// Reads every running site's cloud during the quiet period and compares it with the site's desired
// state, for the cloud-convergence checker. The desired state comes from the most advanced catalog
// among the running sites (the cluster's, not a lagging site's own), through the reconciler's own
// mapping (desiredCloudState); a site whose own catalog says otherwise is behind, not compared. The clouds are read through fault-free MemoryCloud drivers over
// the same models: no latency, no timer, so a probe completes within the event that starts it.
import { desiredCloudState, desiredFingerprint } from '../../agent/reconciler/index.js';
import type { Catalog } from '../../agent/catalog/index.js';
import { MemoryCloud, type CloudQuota } from '../../drivers/index.js';
import { CloudConvergenceChecker, diffSiteCloud, type CloudDifference } from '../checkers/cloud-convergence.js';
import type { Scheduler } from '../scheduler.js';
import type { SimClouds } from './clouds.js';
import { CLOUD_PROBE_EVERY_MS } from './cloud-tuning.js';
import type { SimSite } from './site.js';

/** Observers never wait and never draw a fault. */
const NEVER_SLEEPS = (): Promise<void> => Promise.reject(new Error('a cloud observer never waits'));
const NO_RANDOM = (): number => 0.5;

export class CloudProbe {
  readonly checker: CloudConvergenceChecker;
  private readonly observers = new Map<string, MemoryCloud>();
  /** A cloud nobody touched: its quota sets are the defaults. */
  private readonly pristine = new MemoryCloud({ sleep: NEVER_SLEEPS, random: NO_RANDOM });
  private running = false;

  constructor(
    private readonly scheduler: Scheduler,
    private readonly clouds: SimClouds,
    private readonly sites: readonly SimSite[],
    healedAtMs: number,
  ) {
    this.checker = new CloudConvergenceChecker(healedAtMs);
  }

  /** Probes now, every CLOUD_PROBE_EVERY_MS after, and last at `endMs`. */
  start(endMs: number): void {
    const tick = (): void => {
      void this.probe();
      const now = this.scheduler.now();
      if (now < endMs) this.scheduler.at(Math.min(endMs, now + CLOUD_PROBE_EVERY_MS), tick);
    };
    tick();
  }

  private async probe(): Promise<void> {
    if (this.running) return; // cannot happen: a probe never waits on a timer
    this.running = true;
    try {
      const atMs = this.scheduler.now();
      const up = this.sites.filter((s) => s.isUp && s.catalog !== null);
      const reference = mostAdvanced(up);
      const differences: CloudDifference[] = [];
      const behind: string[] = [];
      if (reference !== undefined) {
        const projects = reference.list('quota').map((q) => q.spec.project);
        const defaultQuotas = await this.readQuotas(this.pristine, projects);
        for (const site of up) {
          const desired = desiredCloudState(reference.desiredResourcesFor(site.name));
          if (site.catalog !== reference && desiredFingerprint(desiredCloudState(site.catalog!.desiredResourcesFor(site.name))) !== desiredFingerprint(desired)) {
            behind.push(site.name);
            continue;
          }
          const observer = this.observer(site.name);
          const [flavors, images, quotas] = [await observer.listFlavors(), await observer.listImages(), await this.readQuotas(observer, projects)];
          differences.push(...diffSiteCloud(site.name, desired, { flavors, images, quotas, defaultQuotas }));
        }
      }
      this.checker.onProbe({ atMs, sitesChecked: up.length, differences, behind });
    } catch (err) {
      this.checker.onProblem(this.scheduler.now(), [], `reading the clouds failed: ${(err as Error).message}`);
    } finally {
      this.running = false;
    }
  }

  private observer(site: string): MemoryCloud {
    let o = this.observers.get(site);
    if (o === undefined) {
      o = new MemoryCloud({ model: this.clouds.cloudOf(site).model, sleep: NEVER_SLEEPS, random: NO_RANDOM });
      this.observers.set(site, o);
    }
    return o;
  }

  private async readQuotas(cloud: MemoryCloud, projects: readonly string[]): Promise<Map<string, CloudQuota>> {
    const out = new Map<string, CloudQuota>();
    for (const q of await cloud.listQuotas(projects)) out.set(q.project, q);
    return out;
  }
}

function mostAdvanced(sites: readonly SimSite[]): Catalog | undefined {
  let best: Catalog | undefined;
  for (const s of sites) if (best === undefined || s.catalog!.appliedIndex > best.appliedIndex) best = s.catalog!;
  return best;
}
