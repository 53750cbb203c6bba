// Who leads, and how long the cluster goes without a usable leader. A leader is "lost" when it
// crashes, steps down, or is cut off from a majority of voters by a partition; the election time
// is from that moment to the next leader of a higher term. A cut that heals before anyone else
// takes over gives the leader back: no election happened, none is counted.
// A leader that hands over to the voter it transferred to (a planned move to a better-placed voter)
// was not lost: the time to the target's leadership is kept apart (transfersMs), unless someone else
// ends up leading, which makes it an election like any other.
export type LossReason = 'crash' | 'step-down' | 'cut-off' | 'transfer';

/** Leader changes and losses remembered for the run's report; past this the oldest are dropped. */
export const MAX_LEADER_HISTORY = 10_000;

export interface LeaderEvent {
  atMs: number;
  site: string;
  /** The new leader's term; null for a loss. */
  term: number | null;
  /** Set for a loss. */
  reason?: LossReason;
}

export class LeaderTracker {
  /** The leader with the highest term seen, while it is believed to lead. */
  private current: { site: string; term: number } | null = null;
  private lostAtMs: number | null = null;
  private lostReason: LossReason | null = null;
  private lastLeaderSite: string | null = null;
  private readonly leaderOfTerm = new Map<number, string>();
  /** Elections counted; their times are kept for the first MAX_LEADER_HISTORY only. */
  elections = 0;
  readonly electionsMs: number[] = [];
  /** The same elections as intervals: from losing the leader to the next one. */
  readonly electionSpans: Array<{ fromMs: number; toMs: number }> = [];
  /** Planned hand-overs that reached their target: from the old leader stepping down to the target leading. */
  readonly transfersMs: number[] = [];
  /** Every hand-over that reached its target, including those whose step-down was seen only after (not timed). */
  handOvers = 0;
  private transferTarget: string | null = null;
  /** New leaders and lost leaders in time order (bounded by MAX_LEADER_HISTORY), for the HTML report. */
  readonly history: LeaderEvent[] = [];
  changes = 0;

  private remember(event: LeaderEvent): void {
    if (this.history.length >= MAX_LEADER_HISTORY) this.history.shift();
    this.history.push(event);
  }

  onElected(site: string, term: number, atMs: number): void {
    if (!this.leaderOfTerm.has(term)) this.leaderOfTerm.set(term, site);
    if (this.current !== null && term <= this.current.term) return;
    if (this.lostAtMs !== null && this.lostReason === 'transfer' && site === this.transferTarget) {
      this.handOvers++;
      if (this.transfersMs.length < MAX_LEADER_HISTORY) this.transfersMs.push(atMs - this.lostAtMs);
    } else if (this.lostAtMs !== null) {
      this.elections++;
      if (this.electionsMs.length < MAX_LEADER_HISTORY) {
        this.electionsMs.push(atMs - this.lostAtMs);
        this.electionSpans.push({ fromMs: this.lostAtMs, toMs: atMs });
      }
    }
    this.transferTarget = null;
    if (this.lastLeaderSite !== null && this.lastLeaderSite !== site) this.changes++;
    this.current = { site, term };
    this.remember({ atMs, site, term });
    this.lastLeaderSite = site;
    this.lostAtMs = null;
    this.lostReason = null;
  }

  /** The site stopped leading (or is unreachable); counts only if it is the current leader. */
  onLost(site: string, term: number | null, atMs: number, reason: LossReason): void {
    const c = this.current;
    if (c === null || c.site !== site || (term !== null && term !== c.term) || this.lostAtMs !== null) return;
    this.lostAtMs = atMs;
    this.lostReason = reason;
    this.remember({ atMs, site, term: null, reason });
  }

  /** The leader stepped down because `target`, which it transferred its leadership to, campaigned. */
  onHandedOver(site: string, term: number, target: string, atMs: number): void {
    const before = this.lostAtMs;
    this.onLost(site, term, atMs, 'transfer');
    if (before === null && this.lostAtMs !== null) this.transferTarget = target;
  }

  /**
   * `site` leads and the leader before it, not yet seen to step down, says it handed over to `site`:
   * a hand-over whose step-down the harness learns only now (counted, not timed).
   */
  onHandedOverUnseen(site: string): void {
    if (this.current !== null && this.current.site !== site && this.lostAtMs === null) this.handOvers++;
  }

  /** A partition healed and the leader it had cut off still leads its term: nothing was lost. */
  onReconnected(site: string): void {
    if (this.lostReason === 'cut-off' && this.current?.site === site) {
      this.lostAtMs = null;
      this.lostReason = null;
    }
  }

  get leader(): { site: string; term: number } | null {
    return this.current;
  }

  /** The site that led `term`, if any did. */
  leaderOf(term: number): string | undefined {
    return this.leaderOfTerm.get(term);
  }
}
