// Disaster-recovery fencing, checked as it happens on every site (the DR agent's observer):
// - two-primaries: never two sites acting as primary of one group for the same epoch;
// - latest-epoch: a site acts as primary only at the highest epoch of the group it has applied
//   (checked when it starts acting and whenever it starts a step of that group);
// - demote-first: a site fenced (it stopped acting because a newer epoch named another primary) runs
//   its demote step before any other step of its own for that group, unless a later epoch makes it
//   primary again (then there is nothing to demote).
import type { DrActionRequest } from '../../agent/dr/action.js';

export interface DrFencingFailure {
  check: 'two-primaries' | 'latest-epoch' | 'demote-first';
  atMs: number;
  sites: string[];
  message: string;
}

/** Failures kept (the first ones tell the story). */
const MAX_FAILURES = 20;

export class DrFencingChecker {
  private readonly primaryOf = new Map<string, string>();
  private readonly acting = new Map<string, number>();
  /** Fenced sites that owe a demote, with the epoch that fenced them. */
  private readonly owesDemote = new Map<string, { epoch: number; incarnation: string }>();
  private readonly found: DrFencingFailure[] = [];
  private count = 0;
  actingStarts = 0;
  fencings = 0;
  steps = 0;

  /**
   * `appliedEpoch`: the group's epoch in the site's catalog at that moment; `primaryThere`: whether it
   * names the site primary; `incarnation`: tells a group deleted and created again (epochs start at 0
   * again) from the one before.
   */
  onActing(site: string, group: string, epoch: number | null, appliedEpoch: number | undefined, primaryThere: boolean, incarnation: string, atMs: number): void {
    const key = `${site}/${group}`;
    if (epoch === null) {
      this.acting.delete(key);
      // Gone from the catalog (deleted) is not a fencing: there is no group left to demote.
      if (!primaryThere && appliedEpoch !== undefined) {
        this.fencings++;
        this.owesDemote.set(key, { epoch: appliedEpoch, incarnation });
      }
      return;
    }
    this.actingStarts++;
    this.owesDemote.delete(key);
    this.acting.set(key, epoch);
    if (appliedEpoch !== epoch) this.fail('latest-epoch', atMs, [site], `${site} started acting as primary of ${group} at epoch ${epoch}, but it has applied epoch ${appliedEpoch ?? 'none'}`);
    const other = this.primaryOf.get(`${group}/${incarnation}/${epoch}`);
    if (other !== undefined && other !== site) this.fail('two-primaries', atMs, [other, site], `${other} and ${site} both acted as primary of ${group} at epoch ${epoch}`);
    this.primaryOf.set(`${group}/${incarnation}/${epoch}`, site);
  }

  /**
   * The site's process is gone (crash, removal, rebuild): nothing of it acts any more, and a new life
   * starts acting only through onActing. What it owes (a demote after a fencing) is kept: the log
   * still holds the step, and the next life must run it first.
   */
  onSiteDown(site: string): void {
    for (const key of this.acting.keys()) if (key.startsWith(`${site}/`)) this.acting.delete(key);
  }

  onStepStarted(request: DrActionRequest, appliedEpoch: number | undefined, incarnation: string, atMs: number): void {
    this.steps++;
    const key = `${request.site}/${request.group}`;
    const acting = this.acting.get(key);
    if (acting !== undefined && acting !== appliedEpoch) {
      this.fail('latest-epoch', atMs, [request.site], `${request.site} ran ${request.step} of ${request.group} while acting as primary at epoch ${acting}, having applied epoch ${appliedEpoch ?? 'none'}`);
    }
    const owed = this.owesDemote.get(key);
    if (owed === undefined) return;
    // A later epoch that makes the site primary again replaces the operation that held its demote;
    // a group deleted and created again is another group.
    const primaryAgain = request.toSite === request.site && request.epoch > owed.epoch;
    if (request.kind === 'demote' || primaryAgain || owed.incarnation !== incarnation) this.owesDemote.delete(key);
    else this.fail('demote-first', atMs, [request.site], `${request.site} was fenced from ${request.group} but ran ${request.step} (epoch ${request.epoch}) before its demote step`);
  }

  failures(): readonly DrFencingFailure[] {
    return this.found;
  }

  get failureCount(): number {
    return this.count;
  }

  private fail(check: DrFencingFailure['check'], atMs: number, sites: string[], message: string): void {
    this.count++;
    if (this.found.length < MAX_FAILURES) this.found.push({ check, atMs, sites, message });
  }
}
