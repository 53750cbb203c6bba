// When could site A not get a single message to site B? The record of partitions (steady cuts
// only: a flapping link lets messages through half the time) and of site down-times, kept so the
// PEER_UNREACHABLE check can ask afterwards whether a named site was cut off from the leader for
// the whole window in which the leader decided to accept a write.
import type { LinkCut } from '../wan.js';

/** A crashed site's last messages are still on the wire for at most this long (the longest link plus reordering). */
export const MAX_IN_FLIGHT_MS = 2_000;

interface CutRecord {
  from: Set<string>;
  to: Set<string>;
  bothWays: boolean;
  startMs: number;
  endMs: number;
}

export type Interval = [startMs: number, endMs: number];

export class ReachabilityLog {
  private readonly cuts = new Map<number, CutRecord>();
  /** Flapping cuts: they let messages through half the time, so they count only against "reachable throughout". */
  private readonly flapping = new Map<number, CutRecord>();
  private readonly downSince = new Map<string, number>();
  private readonly downtimes = new Map<string, Interval[]>();

  cutApplied(id: number, cut: LinkCut, atMs: number): void {
    const record = { from: new Set(cut.from), to: new Set(cut.to), bothWays: cut.bothWays, startMs: atMs, endMs: Infinity };
    if (cut.flapPeriodMs !== undefined) this.flapping.set(id, record);
    else this.cuts.set(id, record);
  }

  cutHealed(id: number | undefined, atMs: number): void {
    for (const records of [this.cuts, this.flapping]) {
      for (const [cutId, rec] of records) {
        if ((id === undefined || id === cutId) && rec.endMs === Infinity) rec.endMs = atMs;
      }
    }
  }

  /**
   * True if `a` and `b` could exchange messages both ways at every moment of [startMs, endMs]: no cut
   * (steady or flapping) between them and neither down (or just restarted) at any time in it.
   */
  reachableThroughout(a: string, b: string, startMs: number, endMs: number): boolean {
    const between = (rec: CutRecord): boolean => (rec.from.has(a) && rec.to.has(b)) || (rec.from.has(b) && rec.to.has(a));
    const overlaps = (s: number, e: number): boolean => s <= endMs && e >= startMs;
    for (const records of [this.cuts, this.flapping]) {
      for (const rec of records.values()) if (between(rec) && overlaps(rec.startMs, rec.endMs)) return false;
    }
    for (const site of [a, b]) {
      for (const [since, until] of this.downtimesOf(site)) if (overlaps(since, until + MAX_IN_FLIGHT_MS)) return false;
    }
    return true;
  }

  siteDown(site: string, atMs: number): void {
    if (!this.downSince.has(site)) this.downSince.set(site, atMs);
  }

  siteUp(site: string, atMs: number): void {
    const since = this.downSince.get(site);
    if (since === undefined) return;
    this.downSince.delete(site);
    let list = this.downtimes.get(site);
    if (!list) this.downtimes.set(site, (list = []));
    list.push([since, atMs]);
  }

  /** True if no message from `from` could reach `to` at any time in [startMs, endMs]. */
  cutOffThroughout(from: string, to: string, startMs: number, endMs: number): boolean {
    const blocked: Interval[] = [];
    for (const rec of this.cuts.values()) {
      const covers = (rec.from.has(from) && rec.to.has(to)) || (rec.bothWays && rec.from.has(to) && rec.to.has(from));
      if (covers) blocked.push([rec.startMs, rec.endMs]);
    }
    for (const [since, until] of this.downtimesOf(from)) blocked.push([since + MAX_IN_FLIGHT_MS, until]);
    return covered(blocked, startMs, endMs);
  }

  private downtimesOf(site: string): Interval[] {
    const list = [...(this.downtimes.get(site) ?? [])];
    const since = this.downSince.get(site);
    if (since !== undefined) list.push([since, Infinity]);
    return list;
  }
}

/** Does the union of the intervals contain [start, end]? */
export function covered(intervals: Interval[], start: number, end: number): boolean {
  const sorted = intervals.filter(([a, b]) => b > a).sort((x, y) => x[0] - y[0]);
  let reach = start;
  for (const [a, b] of sorted) {
    if (a > reach) break;
    if (b > reach) reach = b;
    if (reach >= end) return true;
  }
  return reach >= end;
}
