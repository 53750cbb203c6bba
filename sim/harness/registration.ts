// Before the workload: every site registers itself in the catalog through its own housekeeping
// (agent/site/housekeeping.ts, as every daemon does), so protection groups can name any site. This
// only watches the leader's catalog until every site's record is there.
import type { Scheduler } from '../scheduler.js';
import type { SimSite } from './site.js';

/** How often the leader's catalog is checked for the sites' records. */
const REGISTRATION_POLL_MS = 250;

export interface RegistrationWorld {
  leaderSite(): SimSite | undefined;
}

export class SiteRegistrationWatch {
  doneAtMs: number | null = null;
  /** Sites whose record the leader's catalog held at the last check. */
  registered = 0;

  constructor(
    private readonly scheduler: Scheduler,
    private readonly world: RegistrationWorld,
    private readonly siteNames: readonly string[],
    private readonly onDone: () => void,
  ) {}

  start(): void {
    this.scheduler.after(REGISTRATION_POLL_MS, () => this.check());
  }

  private check(): void {
    const catalog = this.world.leaderSite()?.catalog;
    if (catalog) this.registered = this.siteNames.filter((name) => catalog.get('site', name) !== undefined).length;
    if (this.registered === this.siteNames.length) {
      this.doneAtMs = this.scheduler.now();
      this.onDone();
      return;
    }
    this.scheduler.after(REGISTRATION_POLL_MS, () => this.check());
  }
}
