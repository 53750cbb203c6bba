// One site's reconciler over a MemoryCloud and a local catalog, on a manual clock. Sync reports go
// through a sink that applies them to the same catalog, as the log would, and records each command.
import { seededRandom } from '../../consensus/prng.js';
import type { Logger } from '../../consensus/ports.js';
import { DELETION_PENDING_MESSAGE, type SyncDigestReport, type SyncReport, type SyncStatusEntry, type WriteOp } from '../../agent/catalog/index.js';
import { Reconciler, type ReconcilerOptions } from '../../agent/reconciler/index.js';
import { MemoryCloud, type CloudDriver, type FaultConfig, type MemoryCloudOptions } from '../../drivers/index.js';
import { Harness, siteSpec } from '../catalog/helpers.js';
import { ManualClock } from '../replica/harness.js';

export { DELETION_PENDING_MESSAGE };

export const SITE = 'paris';
export const OTHER_SITE = 'montreal';
export const PROJECT = '0123456789abcdef0123456789abcdef';
export const IMAGE_ID = '3f2a6c1e-8d4b-4c2a-9e1f-0a1b2c3d4e5f';
export const SHA512 = 'b'.repeat(128);

/** Driver method names that change the cloud. */
const WRITE_METHODS = new Set(['createFlavor', 'updateFlavor', 'deleteFlavor', 'createImage', 'updateImage', 'deleteImage', 'createQuota', 'updateQuota', 'deleteQuota']);

/** Records every driver call by method name. */
export function countingDriver(inner: CloudDriver): { driver: CloudDriver; calls: string[]; writes: () => string[] } {
  const calls: string[] = [];
  const driver = new Proxy(inner, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target) as unknown;
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        calls.push(String(prop));
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { driver, calls, writes: () => calls.filter((c) => WRITE_METHODS.has(c)) };
}

export interface LogLine {
  level: 'debug' | 'info' | 'warn' | 'error';
  obj: object;
  msg: string;
}

export function recordingLogger(lines: LogLine[]): Logger {
  const at = (level: LogLine['level']) => (obj: object, msg = '') => void lines.push({ level, obj, msg });
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

export function flavorSpec(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { name: 'm1.small', vcpus: 1, ram: 2048, disk: 20, extraSpecs: { 'hw:cpu_policy': 'shared' }, ...extra };
}

export function imageSpec(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name: 'ubuntu-24.04',
    diskFormat: 'qcow2',
    containerFormat: 'bare',
    properties: { os_distro: 'ubuntu' },
    tags: ['lts'],
    source: { url: 'https://images.example.org/noble.qcow2', sha512: SHA512 },
    ...extra,
  };
}

export function quotaSpec(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { project: PROJECT, compute: { cores: 64, instances: 20 }, volume: { gigabytes: 500 }, ...extra };
}

export interface FixtureOptions {
  reconciler?: Partial<ReconcilerOptions>;
  faults?: Partial<FaultConfig>;
  cloud?: MemoryCloudOptions;
  /** Register the sites in the catalog first (default true). */
  registerSites?: boolean;
  catalogReady?: () => boolean;
  /** Make the sink fail while this returns true. */
  sinkDown?: () => boolean;
  /** The catalog (log) of an earlier Fixture: a second life of the same site's agent. */
  catalogHarness?: Harness;
}

export class Fixture {
  readonly clock = new ManualClock();
  /** Applies writes and reports to one catalog with consecutive indices, as one log would. */
  readonly catalogHarness: Harness;
  readonly cloud: MemoryCloud;
  readonly counted: ReturnType<typeof countingDriver>;
  readonly reconciler: Reconciler;
  /** Every command the sink delivered, with the clock time. */
  readonly commands: Array<{ at: number; reports: SyncReport[]; digest?: SyncDigestReport }> = [];
  readonly logs: LogLine[] = [];

  constructor(options: FixtureOptions = {}) {
    this.catalogHarness = options.catalogHarness ?? new Harness(undefined, 'test-writer');
    this.cloud = new MemoryCloud({ clock: this.clock, random: seededRandom(7), faults: options.faults, ...options.cloud });
    this.counted = countingDriver(this.cloud);
    if (options.registerSites ?? options.catalogHarness === undefined) this.registerSites();
    this.reconciler = new Reconciler(
      {
        site: SITE,
        driver: this.counted.driver,
        catalog: this.catalog,
        clock: this.clock,
        random: seededRandom(3),
        logger: recordingLogger(this.logs),
        ...(options.catalogReady ? { catalogReady: options.catalogReady } : {}),
        report: async (reports, digest) => {
          if (options.sinkDown?.()) throw new Error('no quorum (test)');
          this.commands.push({ at: this.clock.now(), reports, ...(digest ? { digest } : {}) });
          const applied = this.catalogHarness.reportWithDigest(digest, ...reports);
          if (!applied.result.ok) throw new Error(`report rejected: ${JSON.stringify(applied.result)}`);
        },
      },
      options.reconciler,
    );
  }

  get catalog() {
    return this.catalogHarness.catalog;
  }

  registerSites(): void {
    this.write(
      { op: 'put', kind: 'site', id: SITE, spec: siteSpec(SITE, 1, { region: 'eu-west', country: 'FR' }) },
      { op: 'put', kind: 'site', id: OTHER_SITE, spec: siteSpec(OTHER_SITE, 2, { region: 'ca-east', country: 'CA' }) },
    );
  }

  /** Applies a write to the catalog and tells the reconciler, as the daemon's onApplied hook does. */
  write(...ops: WriteOp[]): number[] {
    const { result } = this.catalogHarness.write(...ops);
    if (!result.ok) throw new Error(`catalog write refused: ${JSON.stringify(result)}`);
    this.reconciler?.notifyCatalogChanged();
    return result.revisions;
  }

  async advance(ms: number): Promise<void> {
    await this.clock.advance(ms);
  }

  /** Starts the reconciler and lets its first audit and report flush happen. */
  async start(settleMs = 2_000): Promise<void> {
    this.reconciler.start();
    await this.advance(settleMs);
  }

  entry(kind: string, id: string, site = SITE): SyncStatusEntry | undefined {
    return this.catalog.syncStatus({ site }).find((e) => e.kind === kind && e.id === id);
  }

  /** Reports about one resource across all delivered commands. */
  reportsAbout(kind: string, id: string): SyncReport[] {
    return this.commands.flatMap((c) => c.reports.filter((r) => r.kind === kind && r.id === id));
  }

  async stop(): Promise<void> {
    await this.reconciler.stop();
  }
}
