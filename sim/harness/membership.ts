// Membership churn while the workload runs: a site is removed from the cluster (a configuration
// change through the leader), shut down, and later rebuilt on an empty disk and added back the way
// an operator adds a site (`stackraft site add`): as a learner. Promotion to voter is not done here:
// the leader's housekeeping (agent/site/housekeeping.ts) promotes caught-up learners while there
// are fewer voters than wanted, as in the daemon. One step at a time, retried until committed.
import type { ProposalOutcome } from '../../consensus/ports.js';
import type { ConfChange } from '../../consensus/types.js';
import type { Scheduler } from '../scheduler.js';
import type { SimSite } from './site.js';

export type MembershipGoal = 'member' | 'absent';

/** How often pending membership work is retried. */
export const MEMBERSHIP_RETRY_MS = 500;
/** A membership proposal not committed within this long is tried again. */
const PROPOSAL_TIMEOUT_MS = 3_000;

export interface MembershipWorld {
  leaderSite(): SimSite | undefined;
  /** Shut a site down for good (until re-added). */
  retire(site: SimSite): void;
  /** Give a retired site an empty disk and start it (it joins without a bootstrap). */
  rebuild(site: SimSite): void;
  log(line: string): void;
}

export interface MembershipStats {
  proposed: number;
  committed: number;
  removed: number;
  rebuilt: number;
}

export class MembershipWorker {
  private readonly goals = new Map<SimSite, MembershipGoal>();
  private busy = false;
  private scheduled = false;
  readonly stats: MembershipStats = { proposed: 0, committed: 0, removed: 0, rebuilt: 0 };

  constructor(
    private readonly scheduler: Scheduler,
    private readonly world: MembershipWorld,
  ) {}

  request(site: SimSite, goal: MembershipGoal): void {
    this.world.log(`membership: ${site.name} should be ${goal}`);
    this.goals.delete(site); // the latest request goes to the back of the queue
    this.goals.set(site, goal);
    this.schedule(0);
  }

  /** Sites with membership work still to do. */
  pending(): string[] {
    return [...this.goals.keys()].map((s) => s.name);
  }

  private schedule(delayMs: number): void {
    if (this.scheduled) return;
    this.scheduled = true;
    this.scheduler.after(delayMs, () => {
      this.scheduled = false;
      void this.step();
    });
  }

  private async step(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      const first = this.goals.entries().next();
      if (first.done) return;
      const [site, goal] = first.value;
      if (await this.advance(site, goal)) {
        if (this.goals.get(site) === goal) this.goals.delete(site);
      }
    } finally {
      this.busy = false;
      if (this.goals.size > 0) this.schedule(MEMBERSHIP_RETRY_MS);
    }
  }

  /** One step toward the goal; true once it is reached. */
  private async advance(site: SimSite, goal: MembershipGoal): Promise<boolean> {
    const leader = this.world.leaderSite();
    const replica = leader?.replica;
    if (!leader || !replica) return false;
    const status = replica.status();
    const isVoter = status.conf.voters.includes(site.name);
    const isLearner = status.conf.learners.includes(site.name);
    if (goal === 'absent') {
      if (!isVoter && !isLearner) {
        // Gone from the leader's configuration; shut it down once that change is committed.
        if (status.commit < status.lastIndex) return false;
        this.retire(site);
        return true;
      }
      const out = await this.propose(leader, { type: 'remove', member: site.name });
      if (out?.status === 'committed') this.retire(site);
      if (out?.status === 'refused' && out.code === 'INVALID' && /last voter/.test(out.message)) return true; // cannot: leave it
      return out?.status === 'committed';
    }
    if (site.downReasons.has('removed')) {
      if (isVoter || isLearner) return false; // its removal must commit first
      this.stats.rebuilt++;
      this.world.rebuild(site);
      return false;
    }
    if (!isVoter && !isLearner) {
      await this.propose(leader, { type: 'addLearner', member: site.name });
      return false;
    }
    return true;
  }

  private retire(site: SimSite): void {
    if (site.downReasons.has('removed')) return;
    this.stats.removed++;
    this.world.retire(site);
  }

  /** Proposes on the leader; null if the leader died before answering. */
  private async propose(leader: SimSite, change: ConfChange): Promise<ProposalOutcome | null> {
    const replica = leader.replica!;
    this.stats.proposed++;
    this.world.log(`membership: ${change.type} ${change.member} proposed on ${leader.name}`);
    const out = await Promise.race([replica.proposeConfChange(change, { timeoutMs: PROPOSAL_TIMEOUT_MS }), leader.whenDown().then(() => null)]);
    if (out?.status === 'committed') this.stats.committed++;
    this.world.log(`membership: ${change.type} ${change.member}: ${out === null ? 'leader went down' : out.status === 'refused' ? `refused ${out.code} ${out.message}` : out.status}`);
    return out;
  }
}
