// Before the workload: every site's `site` record goes into the catalog (as each daemon registers
// itself), so protection groups can name any site. Written in batches through the leader, each
// batch retried with the same client id and sequence number until it commits (exactly once).
import { putOp } from '../../agent/catalog/index.js';
import type { CatalogWriteOutcome } from '../../agent/write/catalog-writer.js';
import type { Scheduler } from '../scheduler.js';
import { siteRecordSpec } from './identity.js';
import type { SimSite } from './site.js';
import type { Topology } from './world.js';

export const SETUP_CLIENT_ID = 'sim-setup';
/** Site records per write (the catalog allows 100 ops per command). */
const SITES_PER_BATCH = 50;
const SETUP_RETRY_MS = 250;
const SETUP_WRITE_TIMEOUT_MS = 3_000;

export interface SetupWorld {
  leaderSite(): SimSite | undefined;
}

export class CatalogSetup {
  private batch = 0;
  private readonly batches: Array<ReturnType<typeof putOp>[]>;
  doneAtMs: number | null = null;
  /** A batch the catalog refused (a bug in the records): setup stops. */
  error: string | null = null;
  attempts = 0;

  constructor(
    private readonly scheduler: Scheduler,
    private readonly world: SetupWorld,
    topology: Topology,
    private readonly onDone: () => void,
  ) {
    const voters = new Set(topology.voters);
    const ops = topology.locations.map((loc) => putOp('site', loc.name, siteRecordSpec(loc, voters.has(loc.name) ? 'voter' : 'learner')));
    this.batches = [];
    for (let i = 0; i < ops.length; i += SITES_PER_BATCH) this.batches.push(ops.slice(i, i + SITES_PER_BATCH));
  }

  start(): void {
    this.scheduler.after(0, () => void this.attempt());
  }

  private async attempt(): Promise<void> {
    const leader = this.world.leaderSite();
    const writer = leader?.writer;
    if (!leader || !writer) {
      this.retry();
      return;
    }
    this.attempts++;
    const pending = writer.write(this.batches[this.batch], { clientId: SETUP_CLIENT_ID, seq: this.batch + 1, timeoutMs: SETUP_WRITE_TIMEOUT_MS });
    const out: CatalogWriteOutcome | null = await Promise.race([pending, leader.whenDown().then(() => null)]);
    if (out?.status === 'rejected') {
      this.error = `site records batch ${this.batch + 1} was rejected: ${out.code} ${out.message}`;
      return;
    }
    if (out?.status !== 'committed') {
      this.retry();
      return;
    }
    this.batch++;
    if (this.batch < this.batches.length) {
      this.scheduler.after(0, () => void this.attempt());
      return;
    }
    this.doneAtMs = this.scheduler.now();
    this.onDone();
  }

  private retry(): void {
    this.scheduler.after(SETUP_RETRY_MS, () => void this.attempt());
  }
}
