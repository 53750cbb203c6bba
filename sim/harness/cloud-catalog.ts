// The simulator's own cloud resources, beside the workload's flavors (placed on every site): two
// images, two quota sets and a flavor, placed by region so that sites differ in what they should
// hold. They are published once the site records are in, then revised once while the faults run:
// image metadata patched, a quota's limits changed, another quota widened to every site, and the
// flavor's vcpus changed (Nova cannot: a replace) and its placement narrowed (removed from the
// sites it leaves). Each step is one write as client `sim-clouds`, retried with the same sequence
// number until it commits (exactly once).
//
// No quota placement is narrowed here. Finding C1 (a site that set a quota and crashed before its
// report committed never reset it) is fixed and tested in test/sim/run-clouds.test.ts; narrowing a
// quota in this workload would change every run's trace, and is left for a later change.
import { putOp, type WriteOp } from '../../agent/catalog/index.js';
import type { CatalogWriteOutcome } from '../../agent/write/catalog-writer.js';
import type { SiteLocation } from '../cities.js';
import type { Scheduler } from '../scheduler.js';
import type { SimSite } from './site.js';

export const CLOUD_CATALOG_CLIENT_ID = 'sim-clouds';
export const CLOUD_IMAGE_ALL = '5e1d0c2a-7b3f-4c1e-9a2d-000000000001';
export const CLOUD_IMAGE_REGIONAL = '5e1d0c2a-7b3f-4c1e-9a2d-000000000002';
export const CLOUD_QUOTA_ALL = '0a1b2c3d4e5f60718293a4b5c6d7e8f1';
export const CLOUD_QUOTA_WIDENED = '0a1b2c3d4e5f60718293a4b5c6d7e8f2';
export const CLOUD_FLAVOR = 'cf-regional';
const RETRY_MS = 250;
const WRITE_TIMEOUT_MS = 3_000;

export interface CloudCatalogWorld {
  leaderSite(): SimSite | undefined;
}

/** The two steps' ops, from the regions of the run's sites (the first two regions found). */
export function cloudCatalogSteps(locations: readonly SiteLocation[]): [WriteOp[], WriteOp[]] {
  const regions = [...new Set(locations.map((l) => l.region))];
  const r0 = regions[0];
  const r1 = regions[1] ?? r0;
  const image = (id: string, name: string, extra: Record<string, unknown> = {}) => ({
    name,
    diskFormat: 'qcow2',
    containerFormat: 'bare',
    properties: { os_distro: 'ubuntu' },
    tags: ['lts'],
    source: { url: `https://images.sim.stackraft.test/${name}.qcow2`, sha512: id.replace(/-/g, '').padEnd(128, 'c') },
    ...extra,
  });
  const flavor = (vcpus: number) => ({ name: CLOUD_FLAVOR, vcpus, ram: 8192, disk: 40, extraSpecs: { 'hw:cpu_policy': 'dedicated' } });
  const publish: WriteOp[] = [
    putOp('image', CLOUD_IMAGE_ALL, image(CLOUD_IMAGE_ALL, 'noble', { protected: true }), { placement: 'all' }),
    putOp('image', CLOUD_IMAGE_REGIONAL, image(CLOUD_IMAGE_REGIONAL, 'jammy'), { placement: `region = ${r0}` }),
    putOp('quota', CLOUD_QUOTA_ALL, { project: CLOUD_QUOTA_ALL, compute: { cores: 64, instances: 20 }, volume: { gigabytes: 500 } }, { placement: 'all' }),
    putOp('quota', CLOUD_QUOTA_WIDENED, { project: CLOUD_QUOTA_WIDENED, compute: { cores: 8 }, network: { ports: 100 } }, { placement: `region != ${r0}` }),
    putOp('flavor', CLOUD_FLAVOR, flavor(4), { placement: r0 === r1 ? `region = ${r0}` : `region in (${r0}, ${r1})` }),
  ];
  const revise: WriteOp[] = [
    putOp('image', CLOUD_IMAGE_ALL, image(CLOUD_IMAGE_ALL, 'noble', { protected: true, tags: ['lts', 'v2'], properties: { os_distro: 'ubuntu', hw_disk_bus: 'scsi' } })),
    putOp('quota', CLOUD_QUOTA_ALL, { project: CLOUD_QUOTA_ALL, compute: { cores: 96, instances: 20 }, volume: { gigabytes: 800 } }),
    putOp('quota', CLOUD_QUOTA_WIDENED, { project: CLOUD_QUOTA_WIDENED, compute: { cores: 8 }, network: { ports: 100 } }, { placement: 'all' }),
    putOp('flavor', CLOUD_FLAVOR, flavor(8), { placement: `region = ${r1}` }),
  ];
  return [publish, revise];
}

export class CloudCatalogWriter {
  private step = 0;
  private readonly steps: WriteOp[][];
  attempts = 0;
  /** Virtual times the steps committed. */
  readonly committedAtMs: number[] = [];
  /** A step the catalog rejected (a bug in these resources): writing stops. */
  error: string | null = null;

  constructor(
    private readonly scheduler: Scheduler,
    private readonly world: CloudCatalogWorld,
    locations: readonly SiteLocation[],
    /** The revision is not written before this virtual time (during the faults). */
    private readonly reviseAtMs: number,
  ) {
    this.steps = cloudCatalogSteps(locations);
  }

  /** Once the site records are in (placements select sites by their records). */
  start(): void {
    this.scheduler.after(0, () => void this.attempt());
  }

  private async attempt(): Promise<void> {
    const leader = this.world.leaderSite();
    const writer = leader?.writer;
    if (!leader || !writer) return this.retry();
    this.attempts++;
    const pending = writer.write(this.steps[this.step], { clientId: CLOUD_CATALOG_CLIENT_ID, seq: this.step + 1, timeoutMs: WRITE_TIMEOUT_MS });
    const out: CatalogWriteOutcome | null = await Promise.race([pending, leader.whenDown().then(() => null)]);
    if (out?.status === 'rejected') {
      this.error = `the simulator's cloud resources (step ${this.step + 1}) were rejected: ${out.code} ${out.message}`;
      return;
    }
    if (out?.status !== 'committed') return this.retry();
    this.committedAtMs.push(this.scheduler.now());
    this.step++;
    if (this.step < this.steps.length) this.scheduler.at(Math.max(this.scheduler.now(), this.reviseAtMs), () => void this.attempt());
  }

  private retry(): void {
    this.scheduler.after(RETRY_MS, () => void this.attempt());
  }
}
