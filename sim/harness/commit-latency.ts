// Commit latency as the leader sees it: from the moment the leader's log holds a client write to the
// moment it has applied it (its own fsync in parallel with a round trip and an fsync on the nearest
// quorum). The leader's log holds the write from its first act on it: handing it to its store or
// sending it to a member, whichever comes first. Its store write alone is too late a start: while a
// slow write of its own is in flight, the leader already sends the next proposals to the members
// whose answers come back (the early appends), and its own write of them waits for the slow one; a
// sample started at that write measured less than the commit really took (session 5's "faster than
// light" commit, DESIGN.md: 2dcaa16). Each sample is paired with the physical floor for that leader
// and voter set: the fibre round trip to its nearest majority plus one median fsync, and the same
// with the modelled link latency (route factor and access included), which shows the protocol's own
// cost.
import type { ConfState, Entry } from '../../consensus/types.js';
import type { WanModel } from '../wan.js';

/** Appends remembered while waiting for their apply; past this, the oldest are forgotten. */
const MAX_PENDING_APPENDS = 100_000;
/** Leaders whose applied index is remembered (one per site that led; sites are bounded by the run). */
const MAX_LEADERS_REMEMBERED = 10_000;

export interface LatencySamples {
  latencyMs: number[];
  fibreFloorMs: number[];
  modelFloorMs: number[];
}

interface Pending {
  site: string;
  term: number;
  atMs: number;
}

export class CommitLatency {
  private readonly pending = new Map<number, Pending>();
  /** Per leader, the last index it applied in its term: entries it sends again after that start no sample. */
  private readonly appliedBy = new Map<string, { term: number; index: number }>();
  private readonly floors = new WeakMap<ConfState, Map<string, { fibre: number; model: number }>>();
  readonly samples: LatencySamples = { latencyMs: [], fibreFloorMs: [], modelFloorMs: [] };

  constructor(
    private readonly wan: WanModel,
    private readonly diskMedianMs: number,
  ) {}

  /**
   * The leader of `term` handed these entries to its store or sent them to a member: client writes
   * of its own term start a sample, unless one already started for the same leader and term (the
   * first of its acts on an entry is when its log held it) or it applied them already.
   */
  onLeaderHolds(site: string, term: number, entries: readonly Entry[], atMs: number): void {
    const applied = this.appliedBy.get(site);
    const appliedIndex = applied?.term === term ? applied.index : 0;
    for (const e of entries) {
      if (e.term !== term || e.type !== 0 || e.data.length === 0 || e.index <= appliedIndex) continue;
      const p = this.pending.get(e.index);
      if (p !== undefined && p.site === site && p.term === term) continue;
      if (this.pending.size >= MAX_PENDING_APPENDS) this.pending.clear();
      this.pending.set(e.index, { site, term, atMs });
    }
  }

  /** The same leader applied the entry: one sample. */
  onLeaderApplied(site: string, entry: Entry, conf: ConfState, atMs: number): void {
    if (this.appliedBy.size >= MAX_LEADERS_REMEMBERED && !this.appliedBy.has(site)) this.appliedBy.clear();
    this.appliedBy.set(site, { term: entry.term, index: entry.index });
    const p = this.pending.get(entry.index);
    if (p === undefined) return;
    this.pending.delete(entry.index);
    if (p.site !== site || p.term !== entry.term) return;
    const floor = this.floorFor(site, conf);
    if (floor === undefined) return;
    this.samples.latencyMs.push(atMs - p.atMs);
    this.samples.fibreFloorMs.push(floor.fibre + this.diskMedianMs);
    this.samples.modelFloorMs.push(floor.model + this.diskMedianMs);
  }

  private floorFor(site: string, conf: ConfState): { fibre: number; model: number } | undefined {
    let bySite = this.floors.get(conf);
    if (!bySite) this.floors.set(conf, (bySite = new Map()));
    let f = bySite.get(site);
    if (f === undefined) {
      try {
        f = { fibre: this.wan.quorumRttMs(site, conf.voters, 'fibre'), model: this.wan.quorumRttMs(site, conf.voters, 'model') };
      } catch {
        return undefined; // the leader is outside its own voter set (being removed): no floor applies
      }
      bySite.set(site, f);
    }
    return f;
  }
}

/**
 * The samples (their positions) that beat physics: a commit sooner than the fibre round trip to the
 * leader's nearest voter majority (the fibre floor without its fsync, which a lucky disk may beat).
 * None may exist: a leader cannot hear from a majority faster than light, so such a sample is a
 * commit counted before a quorum held the write (or a measure that starts late).
 */
export function fasterThanLight(samples: LatencySamples, diskMedianMs: number): number[] {
  const out: number[] = [];
  samples.latencyMs.forEach((ms, i) => {
    if (ms < samples.fibreFloorMs[i] - diskMedianMs) out.push(i);
  });
  return out;
}
