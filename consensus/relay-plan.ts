// The leader's side of relayed replication (DESIGN.md, "Relays"): which live voter feeds which
// learner, when a relay is given up, and what the relays report back. The leader then sends each
// entry to its voters only (and to the few learners no relay feeds), whatever the number of learners.
//
// Rules (each is what keeps the leader's view honest, not what keeps the log safe: a relay can only
// forward committed entries, see relay-feeds.ts):
// - Only learners are relayed, only by voters the leader heard within an election timeout and that
//   are not installing a snapshot; removed members and new voters are fed by the leader itself. A
//   learner gets a relay once it answers the leader (so a new leader feeds each learner once).
// - A learner is given up by its relay (fed directly again) when the relay is no longer live, or
//   when the relay has not reported hearing from it for an election timeout; that relay is not
//   chosen for it again while another one is live.
// - The whole list of a relay's learners goes in a heartbeat when it changed, and again every
//   election timeout (a lost heartbeat cannot leave a relay with a stale list for longer).
// - A relay's report moves the learner's match forward (never past the leader's log) and counts as
//   hearing from the learner, back-dated by the relay's own "heard ticks ago".
import type { Progress } from './progress.js';
import type { Replication } from './replication.js';
import type { MemberId, RelayedProgress } from './types.js';

/** Chooses a relay for `learner` among `candidates` (never empty). Must be deterministic. */
export type PickRelay = (learner: MemberId, candidates: readonly MemberId[]) => MemberId;

/** Spreads learners over the candidates by a hash of the learner's name (stable while they stay live). */
export const spreadByName: PickRelay = (learner, candidates) => {
  let h = 2166136261;
  for (let i = 0; i < learner.length; i++) h = Math.imul(h ^ learner.charCodeAt(i), 16777619);
  return candidates[(h >>> 0) % candidates.length];
};

interface SentList {
  key: string;
  tick: number;
}

export class RelayPlan {
  /** What each relay was last told (its learner list, joined) and when: resend on change or when old. */
  private readonly sent = new Map<MemberId, SentList>();
  private lists = new Map<MemberId, MemberId[]>();

  constructor(
    private readonly electionTimeoutTicks: number,
    private readonly pick: PickRelay,
  ) {}

  reset(): void {
    this.sent.clear();
    this.lists.clear();
  }

  /**
   * Re-plans before a round of heartbeats: drops failed relays, assigns relays to learners the
   * leader feeds, and computes every relay's list. `voters` excludes the leader itself.
   */
  plan(replication: Replication, voters: readonly MemberId[], now: number): void {
    const live: MemberId[] = [];
    for (const voter of voters) {
      const pr = replication.get(voter);
      if (pr !== undefined && this.isLive(pr, now) && pr.state !== 'snapshot') live.push(voter);
    }
    const lists = new Map<MemberId, MemberId[]>();
    for (const pr of replication.all()) {
      if (!pr.isLearner || pr.removedAt !== 0) continue;
      if (pr.relay !== '' && (!live.includes(pr.relay) || (!this.isLive(pr, now) && now - pr.relayAssignedTick >= this.electionTimeoutTicks))) {
        pr.failedRelay = pr.relay;
        replication.feedDirectly(pr);
      } else if (pr.relay === '' && this.isLive(pr, now)) {
        this.assign(pr, live, now);
      }
      if (pr.relay !== '') {
        let list = lists.get(pr.relay);
        if (list === undefined) lists.set(pr.relay, (list = []));
        list.push(pr.member);
      }
    }
    this.lists = lists;
  }

  /** The list to put in `relay`'s heartbeat now, or undefined when it already has it. */
  listFor(relay: MemberId, now: number): MemberId[] | undefined {
    const list = this.lists.get(relay) ?? [];
    const key = list.join('\n');
    const last = this.sent.get(relay);
    if (last === undefined && list.length === 0) return undefined; // never relayed: nothing to clear
    if (last !== undefined && last.key === key && now - last.tick < this.electionTimeoutTicks) return undefined;
    this.sent.set(relay, { key, tick: now });
    return list;
  }

  /** A relay's report (in its heartbeat answer): counted only for learners it is assigned. */
  onReport(replication: Replication, relay: MemberId, report: readonly RelayedProgress[], lastIndex: number, now: number): Progress[] {
    const advanced: Progress[] = [];
    for (const r of report) {
      const pr = replication.get(r.member);
      if (pr === undefined || pr.relay !== relay) continue;
      const heard = now - Math.min(r.heardTicksAgo, this.electionTimeoutTicks);
      if (heard > pr.lastHeardTick) pr.lastHeardTick = heard;
      if (r.match <= lastIndex && pr.maybeUpdate(r.match)) advanced.push(pr);
    }
    return advanced;
  }

  private assign(pr: Progress, live: readonly MemberId[], now: number): void {
    if (live.length === 0) return;
    let candidates = live;
    if (pr.failedRelay !== '' && live.length > 1) candidates = live.filter((v) => v !== pr.failedRelay);
    pr.relay = this.pick(pr.member, candidates);
    // The relay needs a heartbeat to learn of it and a round trip to report: an election timeout of grace.
    pr.relayAssignedTick = now;
  }

  private isLive(pr: Progress, now: number): boolean {
    return now - pr.lastHeardTick < this.electionTimeoutTicks;
  }
}
