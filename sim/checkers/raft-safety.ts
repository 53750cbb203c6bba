// Raft's safety properties, checked online from observations the harness feeds as the run goes,
// plus liveness after the faults heal. Every failure carries the seed, the virtual time and the
// sites involved. Observations must be fed in virtual-time order.
//
// Checks:
//  election-safety        at most one leader per term.
//  apply-order            each site applies indices one by one (no gap, no going back) except
//                         through a snapshot or a restart it reports.
//  state-machine-safety   every site applies the same (term, digest) at each index: the first
//                         apply of an index fixes it, every later one must match (log matching,
//                         observed where it matters: in what the state machines execute).
//  leader-completeness    a new leader of term T holds every entry known committed in a term < T
//                         (known = acknowledged to a client, or applied by any site): its last
//                         index reaches the highest one, and its term there matches.
//  no-lost-write          an acknowledged write's (index, term, digest) is what was applied there,
//                         on every site, and caught-up sites reach it by the end.
//  refused-absent         a write refused to its client is never applied anywhere (by write id).
//  final-state-agreement  sites that end at the same applied index have the same state digest.
//  liveness               after the heal: a leader within a bound, all probed sites at one applied
//                         index (reaching every acknowledged write) within a bound.
import { FailureLog, type CheckFailure, type Verdict } from './failure.js';
import { TraceHash } from '../stats.js';

export const RAFT_SAFETY_CHECKS = [
  'election-safety',
  'apply-order',
  'state-machine-safety',
  'leader-completeness',
  'no-lost-write',
  'refused-absent',
  'final-state-agreement',
  'liveness',
] as const;
export type RaftSafetyCheck = (typeof RAFT_SAFETY_CHECKS)[number];

export interface LeaderObservation {
  site: string;
  term: number;
  atMs: number;
  /** The new leader's last log index when it won. */
  lastIndex: number;
  /** Term of its entry at `index`; undefined if it does not hold it (compacted or past the end). */
  termAt?: (index: number) => number | undefined;
}

export interface AppliedEntry {
  index: number;
  term: number;
  /** A digest of the entry (type and data): equal entries, equal digests. */
  digest: string;
  /** Client write ids this entry carries (their effects or duplicates of them). */
  writeIds?: readonly string[];
}

export interface CommittedWrite {
  writeId: string;
  index: number;
  term: number;
  /** Digest of the entry, as in AppliedEntry (optional: the index and term alone are checked). */
  digest?: string;
  atMs: number;
  /** The site that acknowledged the write to its client. */
  site: string;
}

/**
 * A write refused to its client. Only report a write whose every attempt was refused: an attempt
 * with an unknown outcome may still commit.
 */
export interface RefusedWrite {
  writeId: string;
  atMs: number;
  site: string;
  code?: string;
}

export interface FinalSiteState {
  site: string;
  appliedIndex: number;
  /** Digest of the whole state machine at appliedIndex. */
  stateDigest?: string;
}

export interface LivenessBounds {
  /** When the last fault healed. */
  healedAtMs: number;
  /** A leader must exist within this long after the heal. */
  leaderWithinMs: number;
  /** All probed sites must be at one applied index within this long after the heal. */
  convergedWithinMs: number;
}

export interface LivenessResult {
  /** ms from the heal to the first probe with a leader; null if none. */
  leaderAfterMs: number | null;
  /** ms from the heal to the first converged probe; null if none. */
  convergedAfterMs: number | null;
}

export interface CheckSummary {
  check: RaftSafetyCheck;
  verdict: Verdict;
  failures: number;
}

interface IndexRecord {
  term: number;
  digest: string;
  site: string;
  atMs: number;
  writeIds?: readonly string[];
}

interface SiteProgress {
  applied: number;
}

export class RaftSafetyChecker {
  private readonly log: FailureLog;
  private readonly leaders = new Map<number, { site: string; atMs: number }>();
  private readonly entries: Array<IndexRecord | undefined> = [];
  private readonly sites = new Map<string, SiteProgress>();
  private readonly appliedWrites = new Map<string, { index: number; site: string; atMs: number }>();
  private readonly refused = new Map<string, RefusedWrite>();
  private readonly acks: CommittedWrite[] = [];
  /** Acks that arrived before any site applied their index, by index (usually none). */
  private readonly acksAhead = new Map<number, CommittedWrite[]>();
  /** Highest committed index known per term (from acks and applies): for leader completeness. */
  private readonly committedByTerm = new Map<number, number>();
  private maxAckedIndex = 0;
  private finished = false;
  private livenessChecked = false;
  private readonly leaderProbes: Transition[] = [];
  private readonly convergenceProbes: Transition[] = [];
  private unverifiedAcks = 0;
  private lastProbeApplied: Array<[string, number]> = [];
  private lastProbeMax = 0;

  constructor(readonly seed: string) {
    this.log = new FailureLog(seed);
  }

  onLeaderElected(o: LeaderObservation): void {
    const prior = this.leaders.get(o.term);
    if (prior && prior.site !== o.site) {
      this.log.add('election-safety', o.atMs, [prior.site, o.site], `two leaders in term ${o.term}: ${prior.site} (at ${prior.atMs} ms) and ${o.site}`, { term: o.term });
    } else if (!prior) {
      this.leaders.set(o.term, { site: o.site, atMs: o.atMs });
    }
    this.checkLeaderCompleteness(o);
  }

  onWriteCommitted(w: CommittedWrite): void {
    this.acks.push(w);
    if (!this.entries[w.index]) {
      const list = this.acksAhead.get(w.index);
      if (list) list.push(w);
      else this.acksAhead.set(w.index, [w]);
    }
    if (w.index > this.maxAckedIndex) this.maxAckedIndex = w.index;
    this.noteCommitted(w.index, w.term);
    const rec = this.entries[w.index];
    if (rec) this.compareAckWithApplied(w, rec, w.atMs);
    const refusal = this.refused.get(w.writeId);
    if (refusal) {
      this.log.add('refused-absent', w.atMs, [w.site, refusal.site], `write ${w.writeId} was refused at ${refusal.atMs} ms by ${refusal.site} and acknowledged as committed at index ${w.index}`, { writeId: w.writeId });
    }
  }

  onWriteRefused(r: RefusedWrite): void {
    if (!this.refused.has(r.writeId)) this.refused.set(r.writeId, r);
    const applied = this.appliedWrites.get(r.writeId);
    if (applied) {
      this.log.add('refused-absent', r.atMs, [r.site, applied.site], `write ${r.writeId} refused by ${r.site}, but ${applied.site} applied it at index ${applied.index} (${applied.atMs} ms)`, { writeId: r.writeId, index: applied.index });
    }
  }

  onApplied(site: string, e: AppliedEntry, atMs: number): void {
    const progress = this.progressOf(site);
    if (e.index !== progress.applied + 1) {
      const what = e.index <= progress.applied ? `went back to ${e.index} after ${progress.applied}` : `skipped from ${progress.applied} to ${e.index}`;
      this.log.add('apply-order', atMs, [site], `${site} applied index ${e.index}: it ${what}`, { index: e.index, previous: progress.applied });
    }
    progress.applied = Math.max(progress.applied, e.index);
    this.noteCommitted(e.index, e.term);

    const rec = this.entries[e.index];
    if (!rec) {
      const fresh: IndexRecord = { term: e.term, digest: e.digest, site, atMs };
      if (e.writeIds && e.writeIds.length > 0) fresh.writeIds = [...e.writeIds];
      this.entries[e.index] = fresh;
      this.noteAppliedWrites(site, e, atMs);
      const ahead = this.acksAhead.get(e.index);
      if (ahead) {
        this.acksAhead.delete(e.index);
        for (const ack of ahead) this.compareAckWithApplied(ack, fresh, atMs);
      }
    } else if (rec.term !== e.term || rec.digest !== e.digest) {
      this.log.add(
        'state-machine-safety',
        atMs,
        [rec.site, site],
        `index ${e.index}: ${site} applied (term ${e.term}, ${e.digest}) but ${rec.site} applied (term ${rec.term}, ${rec.digest}) at ${rec.atMs} ms`,
        { index: e.index, first: { site: rec.site, term: rec.term, digest: rec.digest }, now: { site, term: e.term, digest: e.digest } },
      );
      this.noteAppliedWrites(site, e, atMs);
    }
  }

  /** The site's state machine jumped to a snapshot at `index` (entries up to it are not applied one by one). */
  onSnapshotInstalled(site: string, index: number, term: number, atMs: number): void {
    const progress = this.progressOf(site);
    if (index < progress.applied) {
      this.log.add('apply-order', atMs, [site], `${site} installed a snapshot at ${index}, below its applied index ${progress.applied}`, { index, previous: progress.applied });
    }
    const rec = this.entries[index];
    if (rec && rec.term !== term) {
      this.log.add('state-machine-safety', atMs, [rec.site, site], `snapshot at index ${index} on ${site} has term ${term}, but ${rec.site} applied term ${rec.term} there`, { index });
    }
    progress.applied = Math.max(progress.applied, index);
    this.noteCommitted(index, term);
  }

  /** The site restarted and resumes applying after `appliedIndex` (what its store kept). */
  onRestart(site: string, appliedIndex: number, atMs: number): void {
    const progress = this.progressOf(site);
    if (appliedIndex > progress.applied) {
      this.log.add('apply-order', atMs, [site], `${site} restarted at applied index ${appliedIndex}, past the ${progress.applied} it had applied`, { index: appliedIndex });
    }
    progress.applied = appliedIndex;
  }

  /**
   * A periodic look at the cluster for liveness: the current leader (if any) and the applied
   * index of every site that should converge (live members).
   */
  onProbe(atMs: number, leader: string | undefined, appliedBySite: ReadonlyMap<string, number>): void {
    pushTransition(this.leaderProbes, atMs, leader !== undefined);
    let min = Infinity;
    let max = -Infinity;
    for (const v of appliedBySite.values()) {
      if (v < min) min = v;
      if (v > max) max = v;
    }
    const converged = appliedBySite.size > 0 && min === max && min >= this.maxAckedIndex;
    this.lastProbeApplied = [...appliedBySite];
    this.lastProbeMax = max;
    pushTransition(this.convergenceProbes, atMs, converged);
  }

  /** Liveness verdict over the probes; call once, after the run. */
  checkLiveness(bounds: LivenessBounds): LivenessResult {
    this.livenessChecked = true;
    const leaderAt = firstOkFrom(this.leaderProbes, bounds.healedAtMs);
    const convergedAt = firstOkFrom(this.convergenceProbes, bounds.healedAtMs);
    const result: LivenessResult = {
      leaderAfterMs: leaderAt === null ? null : leaderAt - bounds.healedAtMs,
      convergedAfterMs: convergedAt === null ? null : convergedAt - bounds.healedAtMs,
    };
    if (result.leaderAfterMs === null || result.leaderAfterMs > bounds.leaderWithinMs) {
      const seen = result.leaderAfterMs === null ? 'none at all' : `the first after ${result.leaderAfterMs} ms`;
      this.log.add('liveness', bounds.healedAtMs + bounds.leaderWithinMs, [], `no leader within ${bounds.leaderWithinMs} ms of the heal at ${bounds.healedAtMs} ms (${seen})`, { ...bounds });
    }
    if (result.convergedAfterMs === null || result.convergedAfterMs > bounds.convergedWithinMs) {
      const seen = result.convergedAfterMs === null ? 'never' : `only after ${result.convergedAfterMs} ms`;
      const target = Math.max(this.lastProbeMax, this.maxAckedIndex);
      const lagging = this.lastProbeApplied.filter(([, v]) => v < target).map(([site]) => site);
      this.log.add(
        'liveness',
        bounds.healedAtMs + bounds.convergedWithinMs,
        lagging,
        `sites did not converge to one applied index within ${bounds.convergedWithinMs} ms of the heal at ${bounds.healedAtMs} ms (${seen})`,
        { ...bounds, lastProbe: Object.fromEntries(this.lastProbeApplied), maxAckedIndex: this.maxAckedIndex },
      );
    }
    return result;
  }

  /** End-of-run checks over the sites' final states. */
  finish(atMs: number, finals: readonly FinalSiteState[]): void {
    this.finished = true;
    const behind = finals.filter((f) => f.appliedIndex < this.maxAckedIndex);
    const caughtUp = finals.filter((f) => f.appliedIndex >= this.maxAckedIndex);
    for (const ack of this.acks) {
      const rec = this.entries[ack.index];
      if (!rec) {
        // Every caught-up site covered the index only through snapshots: the digest cannot be seen.
        if (caughtUp.length > 0) this.unverifiedAcks++;
        continue;
      }
      if (ack.digest === undefined && rec.writeIds && !rec.writeIds.includes(ack.writeId)) {
        this.log.add('no-lost-write', atMs, [ack.site, rec.site], `write ${ack.writeId} acknowledged at index ${ack.index}, but the entry applied there does not carry it`, { writeId: ack.writeId, index: ack.index });
      }
    }
    if (caughtUp.length === 0 && this.acks.length > 0) {
      this.log.add('no-lost-write', atMs, finals.map((f) => f.site), `no site reached the highest acknowledged index ${this.maxAckedIndex}`, { maxAckedIndex: this.maxAckedIndex, behind: behind.map((b) => `${b.site}@${b.appliedIndex}`) });
    }
    const byIndex = new Map<number, FinalSiteState>();
    for (const f of finals) {
      if (f.stateDigest === undefined) continue;
      const other = byIndex.get(f.appliedIndex);
      if (!other) byIndex.set(f.appliedIndex, f);
      else if (other.stateDigest !== f.stateDigest) {
        this.log.add('final-state-agreement', atMs, [other.site, f.site], `${other.site} and ${f.site} both applied through ${f.appliedIndex} but their states differ (${other.stateDigest} vs ${f.stateDigest})`, { index: f.appliedIndex });
      }
    }
  }

  failures(): CheckFailure[] {
    return this.log.failures();
  }

  /** Verdict per check: liveness is 'skipped' unless checkLiveness ran; the end checks need finish(). */
  summary(): CheckSummary[] {
    return RAFT_SAFETY_CHECKS.map((check) => {
      const failures = this.log.countFor(check);
      let verdict: Verdict = failures > 0 ? 'fail' : 'pass';
      if (failures === 0 && check === 'liveness' && !this.livenessChecked) verdict = 'skipped';
      if (failures === 0 && check === 'final-state-agreement' && !this.finished) verdict = 'skipped';
      return { check, verdict, failures };
    });
  }

  /** When a site first applied `index` one by one (undefined if every site got it in a snapshot). */
  firstAppliedAtMs(index: number): number | undefined {
    return this.entries[index]?.atMs;
  }

  /** Acknowledged writes whose entry no site applied one by one (covered by snapshots only). */
  get unverifiedAckCount(): number {
    return this.unverifiedAcks;
  }

  /** Highest term seen with a leader, and how many terms had one. */
  leaderTerms(): { terms: number; highest: number } {
    let highest = 0;
    for (const t of this.leaders.keys()) if (t > highest) highest = t;
    return { terms: this.leaders.size, highest };
  }

  private progressOf(site: string): SiteProgress {
    let p = this.sites.get(site);
    if (!p) this.sites.set(site, (p = { applied: 0 }));
    return p;
  }

  private noteCommitted(index: number, term: number): void {
    const prior = this.committedByTerm.get(term);
    if (prior === undefined || index > prior) this.committedByTerm.set(term, index);
  }

  private checkLeaderCompleteness(o: LeaderObservation): void {
    // Highest committed index from an earlier term, and that entry's term.
    let index = 0;
    let term = 0;
    for (const [t, i] of this.committedByTerm) {
      if (t < o.term && i > index) {
        index = i;
        term = t;
      }
    }
    if (index === 0) return;
    const fromEarlierTerms = this.entries[index]?.term ?? term;
    if (o.lastIndex < index) {
      this.log.add('leader-completeness', o.atMs, [o.site], `${o.site} became leader of term ${o.term} with last index ${o.lastIndex}, below committed index ${index}`, { term: o.term, lastIndex: o.lastIndex, committedIndex: index });
      return;
    }
    const held = o.termAt?.(index);
    if (held !== undefined && held !== fromEarlierTerms) {
      this.log.add('leader-completeness', o.atMs, [o.site], `${o.site} became leader of term ${o.term} holding term ${held} at committed index ${index} (committed term ${fromEarlierTerms})`, { term: o.term, index, held, committedTerm: fromEarlierTerms });
    }
  }

  private compareAckWithApplied(ack: CommittedWrite, rec: IndexRecord, atMs: number): void {
    const digestDiffers = ack.digest !== undefined && ack.digest !== rec.digest;
    if (rec.term !== ack.term || digestDiffers) {
      this.log.add(
        'no-lost-write',
        atMs,
        [ack.site, rec.site],
        `write ${ack.writeId} was acknowledged at index ${ack.index} term ${ack.term}, but ${rec.site} applied term ${rec.term} (${rec.digest}) there`,
        { writeId: ack.writeId, index: ack.index, ackTerm: ack.term, appliedTerm: rec.term, ackDigest: ack.digest, appliedDigest: rec.digest },
      );
    }
  }

  private noteAppliedWrites(site: string, e: AppliedEntry, atMs: number): void {
    if (!e.writeIds) return;
    for (const id of e.writeIds) {
      if (!this.appliedWrites.has(id)) this.appliedWrites.set(id, { index: e.index, site, atMs });
      const refusal = this.refused.get(id);
      if (refusal) {
        this.log.add('refused-absent', atMs, [site, refusal.site], `${site} applied write ${id} at index ${e.index}, but it was refused by ${refusal.site} at ${refusal.atMs} ms`, { writeId: id, index: e.index });
      }
    }
  }
}

interface Transition {
  atMs: number;
  ok: boolean;
}

/** Appends a probe only when its value changes (keeps memory flat over long runs). */
function pushTransition(list: Transition[], atMs: number, ok: boolean): void {
  const last = list[list.length - 1];
  if (last && last.ok === ok) return;
  list.push({ atMs, ok });
}

/** Time of the first probe at or after `fromMs` that is ok, counting the state in force at fromMs. */
function firstOkFrom(transitions: readonly Transition[], fromMs: number): number | null {
  let i = 0;
  let inForce: Transition | undefined;
  for (; i < transitions.length && transitions[i].atMs <= fromMs; i++) inForce = transitions[i];
  if (inForce?.ok) return fromMs;
  for (; i < transitions.length; i++) if (transitions[i].ok) return transitions[i].atMs;
  return null;
}

/** A digest of an entry's type and data for AppliedEntry.digest (64-bit FNV-1a, hex). */
export function entryDigest(entry: { type: number; data: Uint8Array }): string {
  const h = new TraceHash();
  h.mixU32(entry.type);
  h.mixBytes(entry.data);
  return h.hex();
}
