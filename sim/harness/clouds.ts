// Every simulated site's cloud. The cloud is not the agent: its in-memory model (Nova, Glance,
// Cinder, Neutron) survives the site's crashes, restarts and rebuilds. Each incarnation of a site
// gets a fresh MemoryCloud driver over that model, and the site composition (agent/site/compose.ts)
// gives it the daemon's reconciler wiring; a crash stops both. Cloud calls take virtual time, drawn
// from a forked PRNG, and a call in flight when the site dies never continues: its waits are timers
// of the dead incarnation's clock, so a four-call flavor create can stop between any two calls.
import type { Reconciler } from '../../agent/reconciler/index.js';
import { CloudModel, MemoryCloud, type CloudDriver, type FaultConfig } from '../../drivers/index.js';
import type { CloudApiFault } from '../faults.js';
import type { Prng } from '../prng.js';
import type { Scheduler, SiteClock } from '../scheduler.js';
import { CLOUD_CALL_LATENCY_MS, CLOUD_CALL_TIMEOUT_MS } from './cloud-tuning.js';
import { SIM_CLUSTER_ID, SIM_EPOCH_MS, type SimSite } from './site.js';

/** Test-only injection point: a planted bug in what a site's reconciler sees of its cloud. */
export interface CloudHooks {
  wrapCloudDriver?(site: string, driver: CloudDriver): CloudDriver;
}

/** One site's cloud: the model for good, the driver and reconciler of the running incarnation. */
export interface SiteCloud {
  readonly site: string;
  readonly model: CloudModel;
  /** The cloud API fault in force (lasts across the agent's crashes). */
  fault: CloudApiFault | null;
  driver: MemoryCloud | null;
  reconciler: Reconciler | null;
  incarnations: number;
}

export interface CloudStats {
  reconcilersStarted: number;
  /** Reconciler passes of incarnations that have ended, plus the running ones. */
  passes: number;
  /** Cloud API faults injected (503s, timeouts), all sites. */
  faultsInjected: number;
}

export class SimClouds {
  private readonly clouds = new Map<string, SiteCloud>();
  private readonly ended = { passes: 0, faults: 0 };
  private started = 0;
  /** Set by an image placement (sim/blobs/run.ts): a blob-sourced image reaches Glance only through the site's blob store. */
  wrapDriver: ((site: string, driver: CloudDriver) => CloudDriver) | null = null;

  constructor(
    private readonly scheduler: Scheduler,
    private readonly prng: Prng,
    siteNames: readonly string[],
    private readonly hooks: CloudHooks = {},
  ) {
    for (const site of siteNames) {
      const model = new CloudModel({ now: () => SIM_EPOCH_MS + scheduler.now() });
      this.clouds.set(site, { site, model, fault: null, driver: null, reconciler: null, incarnations: 0 });
    }
  }

  cloudOf(site: string): SiteCloud {
    const c = this.clouds.get(site);
    if (c === undefined) throw new Error(`no cloud for site ${site}`);
    return c;
  }

  all(): SiteCloud[] {
    return [...this.clouds.values()];
  }

  // ------------------------------------------------------------ site lifecycle (World observer)

  /** A new incarnation boots: a fresh driver over the same cloud, on the incarnation's clock. */
  driverFor(site: string, clock: SiteClock): CloudDriver {
    const c = this.cloudOf(site);
    this.retire(c);
    const inc = ++c.incarnations;
    const scheduler = this.scheduler;
    // Virtual time (the cloud's, not the drifting site clock's), silenced with the incarnation's
    // clock: a dead agent's call in flight never resumes.
    const sleep = (ms: number): Promise<void> => new Promise<void>((resolve) => void scheduler.timerAt(scheduler.now() + Math.max(0, ms), resolve, clock as SiteClock));
    const driver = new MemoryCloud({ model: c.model, sleep, random: this.prng.fork(`cloud/${site}/${inc}`).asRandom(), faults: faultConfig(c.fault), clusterId: SIM_CLUSTER_ID });
    c.driver = driver;
    const gated = this.wrapDriver?.(site, driver) ?? driver;
    return this.hooks.wrapCloudDriver?.(site, gated) ?? gated;
  }

  /** The incarnation runs: its reconciler (built by the site composition) is the one to count. */
  siteStarted(site: SimSite): void {
    const c = this.cloudOf(site.name);
    c.reconciler = site.running?.reconciler?.reconciler ?? null;
    if (c.reconciler !== null) this.started++;
  }

  /** The incarnation died (the site halted its reconciler); the cloud stays. */
  siteDown(site: SimSite): void {
    this.retire(this.cloudOf(site.name));
  }

  // ------------------------------------------------------------ faults

  /** The fault target's setCloudFaults: in force for the running driver and every later one. */
  setApiFault(site: string, fault: CloudApiFault | null): void {
    const c = this.cloudOf(site);
    c.fault = fault;
    c.driver?.faults.set(faultConfig(fault));
  }

  stats(): CloudStats {
    let passes = this.ended.passes;
    let faults = this.ended.faults;
    for (const c of this.clouds.values()) {
      if (c.reconciler) passes += c.reconciler.status().passes;
      if (c.driver) faults += injected(c.driver);
    }
    return { reconcilersStarted: this.started, passes, faultsInjected: faults };
  }

  private retire(c: SiteCloud): void {
    if (c.reconciler) this.ended.passes += c.reconciler.status().passes;
    if (c.driver) this.ended.faults += injected(c.driver);
    c.reconciler = null;
    c.driver = null;
  }
}

function injected(driver: MemoryCloud): number {
  const counts = driver.faults.counts;
  return counts.error + counts.timeoutBeforeApply + counts.timeoutAfterApply + counts.conflict;
}

/** The cloud's normal latency and timeout, plus an episode's faults. */
function faultConfig(fault: CloudApiFault | null): Partial<FaultConfig> {
  const { min, max } = CLOUD_CALL_LATENCY_MS;
  const extra = fault?.extraLatencyMs ?? 0;
  return {
    latencyMs: { min: min + extra, max: max + extra },
    timeoutMs: CLOUD_CALL_TIMEOUT_MS,
    errorRate: fault?.errorRate ?? 0,
    timeoutRate: fault?.timeoutRate ?? 0,
    conflictRate: 0,
  };
}
