// The harness's own checks, run once after the simulation, next to the Raft safety checker and the
// linearizability checker:
//  local-reads        a local read returns the state of a prefix of the log: the value and revision
//                     the key had at the reading site's applied index (never a value that was not
//                     committed, never a mix of two states).
//  peer-unreachable   no protection-group write commits while a site it names was cut off from the
//                     leader (down, or every message from it to the leader blocked) for the whole
//                     window in which the leader could have accepted it.
//  state-convergence  at the end every site runs, at one applied index, with byte-identical catalogs.
//                     Reconcilers may still report during the quiet period, so a site may be behind
//                     by entries first applied less than `graceMs` before the end (a follower in
//                     touch with its leader learns a commit within a heartbeat and a one-way trip);
//                     one entry older than that missing anywhere fails.
//  replica-fatal      no replica stopped on a broken invariant (only failing disks may stop one).
//  runaway            no virtual second took more than a bound of events (a storm stops the run).
//  workload           the simulator's own writes were well-formed (no VALIDATION refusal).
import { createHash } from 'node:crypto';
import { FailureLog } from '../checkers/failure.js';
import type { ApplyLog } from './apply-log.js';
import type { History } from './history.js';
import type { LeaderTracker } from './leader-tracker.js';
import type { ReachabilityLog } from './reachability.js';
import type { SimSite } from './site.js';

/** Violations listed per check in the failure log (FailureLog keeps at most its own bound). */
export function checkLocalReads(log: FailureLog, history: History, applied: ApplyLog): number {
  let checked = 0;
  for (const r of history.localReads) {
    if (r.appliedIndex > applied.highestIndex) continue; // cannot happen: a site applied it, so it was noted
    checked++;
    const want = applied.valueAt(r.key, r.appliedIndex);
    if (want.value !== r.value || want.revision !== r.revision) {
      log.add(
        'local-reads',
        r.atMs,
        [r.site],
        `local read of ${r.key} on ${r.site} at applied index ${r.appliedIndex} returned ${show(r.value)} (revision ${r.revision}); the log says ${show(want.value)} (revision ${want.revision})`,
        { key: r.key, appliedIndex: r.appliedIndex },
      );
    }
  }
  return checked;
}

export interface PeerCheckParams {
  /** How long before a proposal the leader may have last heard a site and still call it live. */
  liveWindowMs: number;
}

export function checkPeerUnreachable(
  log: FailureLog,
  history: History,
  applied: ApplyLog,
  leaders: LeaderTracker,
  reach: ReachabilityLog,
  params: PeerCheckParams,
): number {
  let checked = 0;
  for (const w of history.writes) {
    if (w.namedSites.length === 0) continue;
    const commit = committedBy(w.writeId, applied, leaders);
    if (commit === undefined) continue;
    const { first, leader } = commit;
    checked++;
    // The leader accepted the write somewhere between its invocation and its first apply.
    const from = w.invokeMs - params.liveWindowMs;
    const until = first.atMs;
    for (const named of w.namedSites) {
      if (named === leader) continue;
      if (reach.cutOffThroughout(named, leader, from, until)) {
        log.add(
          'peer-unreachable',
          first.atMs,
          [named, leader, w.site],
          `protection-group write ${w.writeId} committed at index ${first.index} by leader ${leader}, but ${named}, which it names, could not reach the leader from ${from.toFixed(0)} to ${until.toFixed(0)} ms`,
          { writeId: w.writeId, index: first.index, term: first.term, forced: w.forced },
        );
        break;
      }
    }
  }
  return checked;
}

/**
 * A forced failover commits only while its primary is cut off from the leader (the leader decides at
 * proposal time, PEER_REACHABLE otherwise). So a committed forced failover whose primary could
 * exchange messages with the leader of its term throughout [invoke - live window, first apply] —
 * the leader must then have heard it within the election timeout when it proposed — is a violation.
 */
export function checkForcedFailovers(log: FailureLog, history: History, applied: ApplyLog, leaders: LeaderTracker, reach: ReachabilityLog, params: PeerCheckParams): number {
  let checked = 0;
  for (const w of history.writes) {
    const primary = w.dr?.forcedFrom;
    if (primary === undefined) continue;
    const commit = committedBy(w.writeId, applied, leaders);
    if (commit === undefined) continue;
    const { first, leader } = commit;
    checked++;
    const from = w.invokeMs - params.liveWindowMs;
    if (leader === primary || reach.reachableThroughout(primary, leader, from, first.atMs)) {
      log.add(
        'dr-forced-failover',
        first.atMs,
        [primary, leader, w.site],
        `forced failover ${w.writeId} away from ${primary} committed at index ${first.index} by leader ${leader}, but ${primary} could reach that leader from ${from.toFixed(0)} to ${first.atMs.toFixed(0)} ms`,
        { writeId: w.writeId, index: first.index, term: first.term },
      );
    }
  }
  return checked;
}

/** A write's first successful apply and the leader of its term, or undefined when it has neither. */
function committedBy(writeId: string, applied: ApplyLog, leaders: LeaderTracker) {
  const first = applied.byWriteId.get(writeId);
  if (first === undefined || !isOk(first.result)) return undefined;
  const leader = leaders.leaderOf(first.term);
  return leader === undefined ? undefined : { first, leader };
}

export interface ConvergenceResult {
  /** The index every running site reached (the highest, when the rest lag only within the grace). */
  appliedIndex: number | null;
  digests: number;
  /** Sites behind only by entries applied within the grace before the end. */
  lagging: string[];
}

export interface ConvergenceGrace {
  /** When any site first applied `index` (undefined if none did). */
  firstAppliedAtMs(index: number): number | undefined;
  graceMs: number;
}

export interface FinalState {
  site: string;
  appliedIndex: number;
  stateDigest: string;
}

/** The running sites' catalogs: applied index and a digest of the snapshot image. */
export function finalStates(sites: readonly SimSite[]): FinalState[] {
  return sites.filter((s) => s.isUp).map((s) => ({ site: s.name, appliedIndex: s.catalog!.appliedIndex, stateDigest: imageDigest(s.catalog!.snapshot()) }));
}

/**
 * 64 bits of SHA-256, computed natively: the images are hundreds of KB per site at the end of a run,
 * and the byte-wise FNV-1a in JavaScript (stats.ts) took 2.6 ms per 200 KB against 0.2 ms.
 */
function imageDigest(image: Uint8Array): string {
  return createHash('sha256').update(image).digest('hex').slice(0, 16);
}

export function checkConvergence(log: FailureLog, sites: readonly SimSite[], finals: readonly FinalState[], atMs: number, grace: ConvergenceGrace): ConvergenceResult {
  const down = sites.filter((s) => !s.isUp);
  if (down.length > 0) {
    log.add('state-convergence', atMs, down.map((s) => s.name), `${down.length} site(s) not running at the end: ${down.map((s) => `${s.name} (${[...s.downReasons].join(',') || s.state})`).join(', ')}`);
  }
  const highest = Math.max(0, ...finals.map((f) => f.appliedIndex));
  const lagging = finals.filter((f) => f.appliedIndex < highest);
  const late = lagging.filter((f) => !missesOnlyRecentEntries(f.appliedIndex, highest, atMs, grace));
  if (late.length > 0) {
    const byIndex = groupBy(finals, (f) => f.appliedIndex);
    const shown = [...byIndex].sort((a, b) => b[0] - a[0]).map(([i, names]) => `${i}: ${names.length > 4 ? `${names.slice(0, 4).join(', ')}…(${names.length})` : names.join(', ')}`);
    log.add('state-convergence', atMs, finals.map((f) => f.site), `sites end at different applied indexes (${shown.join('; ')}), behind by entries applied elsewhere more than ${grace.graceMs} ms before the end: ${late.map((f) => f.site).join(', ')}`);
  }
  const atHighest = finals.filter((f) => f.appliedIndex === highest);
  const digests = groupBy(atHighest, (f) => f.stateDigest);
  if (digests.size > 1) {
    const groups = [...digests.values()].sort((a, b) => a.length - b.length);
    log.add('state-convergence', atMs, groups[0], `catalogs differ at the same applied index: ${groups.map((g) => g.slice(0, 4).join(', ')).join(' | ')}`);
  }
  return { appliedIndex: late.length === 0 ? highest : null, digests: digests.size, lagging: lagging.map((f) => f.site) };
}

/** Were all entries above `applied` (through `highest`) first applied within the grace before `endMs`? */
function missesOnlyRecentEntries(applied: number, highest: number, endMs: number, grace: ConvergenceGrace): boolean {
  for (let i = applied + 1; i <= highest; i++) {
    const at = grace.firstAppliedAtMs(i);
    if (at === undefined || at < endMs - grace.graceMs) return false;
  }
  return true;
}

function groupBy<K>(finals: readonly FinalState[], keyOf: (f: FinalState) => K): Map<K, string[]> {
  const groups = new Map<K, string[]>();
  for (const f of finals) {
    const k = keyOf(f);
    const list = groups.get(k);
    if (list) list.push(f.site);
    else groups.set(k, [f.site]);
  }
  return groups;
}

function isOk(result: unknown): boolean {
  return typeof result === 'object' && result !== null && (result as { ok?: unknown }).ok === true;
}

function show(v: string | number | null): string {
  return v === null ? 'absent' : JSON.stringify(v);
}
