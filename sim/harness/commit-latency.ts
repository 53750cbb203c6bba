// Commit latency as the leader sees it: from the moment the leader appends a client write to its
// log to the moment it has applied it (its own fsync in parallel with a round trip and an fsync on
// the nearest quorum). Each sample is paired with the physical floor for that leader and voter
// set: the fibre round trip to its nearest majority plus one median fsync, and the same with the
// modelled link latency (route factor and access included), which shows the protocol's own cost.
import type { ConfState, Entry } from '../../consensus/types.js';
import type { WanModel } from '../wan.js';

/** Appends remembered while waiting for their apply; past this, the oldest are forgotten. */
const MAX_PENDING_APPENDS = 100_000;

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
  private readonly floors = new WeakMap<ConfState, Map<string, { fibre: number; model: number }>>();
  readonly samples: LatencySamples = { latencyMs: [], fibreFloorMs: [], modelFloorMs: [] };

  constructor(
    private readonly wan: WanModel,
    private readonly diskMedianMs: number,
  ) {}

  /** The leader of `term` wrote these entries (client writes of its own term start a sample). */
  onLeaderAppend(site: string, term: number, entries: readonly Entry[], atMs: number): void {
    for (const e of entries) {
      if (e.term !== term || e.type !== 0 || e.data.length === 0) continue;
      if (this.pending.size >= MAX_PENDING_APPENDS) this.pending.clear();
      this.pending.set(e.index, { site, term, atMs });
    }
  }

  /** The same leader applied the entry: one sample. */
  onLeaderApplied(site: string, entry: Entry, conf: ConfState, atMs: number): void {
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
