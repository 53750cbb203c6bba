// Fills the SimReport from what a run observed. Only arithmetic and wording here.
import type { FailureLog } from '../checkers/failure.js';
import type { LinearizabilityResult } from '../checkers/linearizability.js';
import type { LivenessResult } from '../checkers/raft-safety.js';
import type { WriteStatusCheck } from '../checkers/write-status.js';
import type { SimReport } from '../report.js';
import { percentiles } from '../stats.js';
import { replayCommand, runawayEventBudget, type SimOptions } from './options.js';
import { cloudCheckerRow, type CloudOutcome } from './cloud-run.js';
import type { ConvergenceResult } from './run-checks.js';
import type { RunParts } from './simulation.js';
import { MAX_LEADER_HISTORY } from './leader-tracker.js';
import { blobCheckerRows } from '../blobs/report.js';

export interface CheckOutcomes {
  liveness: LivenessResult;
  lin: LinearizabilityResult;
  resolvedUnknown: number;
  own: FailureLog;
  localChecked: number;
  groupChecked: number;
  /** Committed forced failovers checked against the reachability of their primary. */
  forcedChecked: number;
  convergence: ConvergenceResult;
  historyOps: number;
  /** Null when the run has no clouds. */
  clouds: CloudOutcome | null;
  writeStatus: WriteStatusCheck;
}

/** The leaders' egress, per committed entry and per committed client write (absent when there were none). */
function leaderEgress(total: number, entries: number, writes: number): Pick<SimReport['consensus'], 'leaderEgressBytes' | 'leaderEgressPerEntry' | 'leaderEgressPerWrite'> {
  return {
    leaderEgressBytes: total,
    ...(entries > 0 ? { leaderEgressPerEntry: total / entries } : {}),
    ...(writes > 0 ? { leaderEgressPerWrite: total / writes } : {}),
  };
}

/** Each election's time with and without a connected quorum of voters (absent without elections). */
function electionSplit(world: RunParts['world']): Pick<SimReport['elections'], 'quorumConnected' | 'noQuorum' | 'splits'> {
  const spans = world.leaders.electionSpans;
  if (spans.length === 0) return {};
  const splits = spans.map((s) => ({ ...world.quorumTimeline.split(s.fromMs, s.toMs), fromMs: s.fromMs, toMs: s.toMs }));
  const summary = (values: number[]): { p50Ms: number; p99Ms: number; maxMs: number } => {
    const [p50Ms, p99Ms] = percentiles(values, [50, 99]);
    return { p50Ms, p99Ms, maxMs: Math.max(...values) };
  };
  return { quorumConnected: summary(splits.map((s) => s.quorumMs)), noQuorum: summary(splits.map((s) => s.noQuorumMs)), splits: splits.slice(-MAX_LEADER_HISTORY) };
}

function handOvers(count: number, transfersMs: readonly number[]): Pick<SimReport['elections'], 'transfers'> {
  if (count === 0) return {};
  const [p50Ms] = percentiles(transfersMs, [50]);
  return { transfers: { count, timed: transfersMs.length, p50Ms, maxMs: transfersMs.length > 0 ? Math.max(...transfersMs) : NaN } };
}

const OWN_CHECKS = ['local-reads', 'peer-unreachable', 'dr-fencing', 'dr-forced-failover', 'write-status', 'state-convergence', 'replica-fatal', 'runaway', 'workload'] as const;

export function buildReport(options: SimOptions, parts: RunParts, c: CheckOutcomes): SimReport {
  const { world, history, workload, executor, quietFromMs, trace, scheduler, topology } = parts;
  const net = world.network.stats();
  const writes = history.writes;
  const countStatus = (s: string): number => writes.filter((w) => w.status === s).length;
  const refusedByCode: Record<string, number> = {};
  for (const w of writes) if (w.status === 'refused') refusedByCode[w.code ?? '?'] = (refusedByCode[w.code ?? '?'] ?? 0) + 1;
  const [p50, p99] = percentiles(world.latency.samples.latencyMs, [50, 99]);
  const [fibreFloor] = percentiles(world.latency.samples.fibreFloorMs, [50]);
  const [modelFloor] = percentiles(world.latency.samples.modelFloorMs, [50]);
  const { latencyMs, fibreFloorMs, modelFloorMs } = world.latency.samples;
  const [perWriteRatio] = percentiles(latencyMs.map((l, i) => l / fibreFloorMs[i]), [50]);
  const [perWriteModelRatio] = percentiles(latencyMs.map((l, i) => l / modelFloorMs[i]), [50]);
  const [e50, e99] = percentiles(world.leaders.electionsMs, [50, 99]);
  const terms = world.checker.leaderTerms();
  const commitIndex = Math.max(0, ...world.upSites().map((s) => s.replica!.status().commit));
  const messagesByType: Record<string, number> = {};
  for (const [k, v] of Object.entries(net.byType)) messagesByType[k] = v.count;

  return {
    run: {
      seed: String(options.seed),
      sites: options.sites,
      voters: topology.voters.length,
      learners: topology.learners.length,
      virtualDurationMs: options.durationMs,
      faults: [...options.faults],
      faultEpisodes: executor.schedule.episodes.length,
      events: scheduler.eventCount,
      replayCommand: replayCommand(options),
    },
    consensus: {
      leaderTerms: terms.terms,
      highestTerm: terms.highest,
      leaderChanges: world.leaders.changes,
      finalLeader: world.leaderSite()?.name,
      commitIndex,
      messages: net.sent,
      bytes: net.bytesSent,
      messagesByType,
      dropped: { ...net.dropped },
      ...leaderEgress(world.leaderEgress.totalBytes(), commitIndex, countStatus('committed')),
    },
    writes: {
      attempted: writes.length,
      committed: countStatus('committed'),
      refused: countStatus('refused'),
      unknown: countStatus('unknown') + writes.filter((w) => w.status === undefined).length,
      refusedByCode,
      rejected: countStatus('rejected'),
    },
    reads: { linearizable: workload.stats.linearizableReads, local: workload.stats.localReads, failed: workload.stats.readsFailed },
    commitLatency: {
      samples: world.latency.samples.latencyMs.length,
      p50Ms: p50,
      p99Ms: p99,
      physicalFloorMs: fibreFloor,
      modelFloorMs: modelFloor,
      perWriteRatioP50: perWriteRatio,
      perWriteModelRatioP50: perWriteModelRatio,
    },
    elections: { count: world.leaders.elections, p50Ms: e50, p99Ms: e99, ...electionSplit(world), ...handOvers(world.leaders.handOvers, world.leaders.transfersMs) },
    convergence: {
      healedAtMs: options.faults.length > 0 ? quietFromMs : null,
      leaderAfterMs: c.liveness.leaderAfterMs,
      convergedAfterMs: c.liveness.convergedAfterMs,
      ...(c.clouds === null ? {} : { cloudsConvergedAfterMs: c.clouds.result.convergedAfterMs }),
    },
    checkers: checkerRows(parts, c),
    ...(parts.blobs === null ? {} : { blobs: parts.blobs.report }),
    traceHash: trace.hex(),
  };
}

function checkerRows(parts: RunParts, c: CheckOutcomes): SimReport['checkers'] {
  const { world, history } = parts;
  const rows: SimReport['checkers'] = [];
  const raftFailures = world.checker.failures();
  for (const s of world.checker.summary()) {
    const row: SimReport['checkers'][number] = { name: s.check, verdict: s.verdict };
    const detail = raftDetail(s.check, parts, c);
    if (detail) row.detail = detail;
    const f = raftFailures.filter((x) => x.check === s.check);
    if (f.length > 0) row.failures = f;
    rows.push(row);
  }
  const lin = c.lin;
  rows.push({
    name: 'linearizability',
    verdict: lin.verdict,
    detail: `${c.historyOps} register ops on ${lin.keys.length} keys, ${c.resolvedUnknown} unknown outcomes resolved from the logs, ${lin.steps} search steps${lin.inconclusiveKeys.length > 0 ? `; search stopped (by time, steps or memory) on: ${lin.keys.filter((k) => k.verdict === 'inconclusive').map((k) => `${k.key} (${k.bound})`).join(', ')}` : ''}`,
    ...(lin.failures.length > 0 ? { failures: lin.failures } : {}),
  });
  const ownFailures = c.own.failures();
  const details: Record<(typeof OWN_CHECKS)[number], string> = {
    'local-reads': `${c.localChecked} local reads match the log prefix they were served from`,
    'peer-unreachable': `${c.groupChecked} committed protection-group writes checked; ${history.writes.filter((w) => w.code === 'PEER_UNREACHABLE').length} refused PEER_UNREACHABLE`,
    'dr-fencing': `${world.drFencing.actingStarts} times a site started acting as a group's primary, ${world.drFencing.fencings} fencings, ${world.drFencing.steps} DR steps run: one primary per epoch, only at the latest epoch applied, demote first after a fencing`,
    'dr-forced-failover': `${c.forcedChecked} committed forced failovers checked; ${history.writes.filter((w) => w.code === 'PEER_REACHABLE').length} refused PEER_REACHABLE, ${history.writes.filter((w) => w.dr !== undefined && w.status === 'committed').length} of ${history.writes.filter((w) => w.dr !== undefined).length} DR operations committed`,
    'write-status': writeStatusDetail(c.writeStatus, parts.workload.stats.statusQueriesLost),
    'state-convergence':
      c.convergence.appliedIndex === null
        ? 'sites end at different applied indexes'
        : `all ${world.upSites().length} sites at index ${c.convergence.appliedIndex}${c.convergence.lagging.length > 0 ? ` but ${c.convergence.lagging.length}, behind only by entries committed in the last ${world.electionTimeoutMs} ms` : ''}, ${c.convergence.digests} catalog digest(s)`,
    'replica-fatal': `${world.stats.diskFatal} stops on a failing disk, ${world.stats.otherFatal} on anything else`,
    runaway: parts.runaway ? `stopped at ${(parts.runaway.atMs / 1000).toFixed(1)} s` : `every virtual second under ${runawayEventBudget(parts.world.sites.length).toLocaleString('en-US')} events`,
    workload: `site records written at ${parts.setup.doneAtMs === null ? 'never' : `${(parts.setup.doneAtMs / 1000).toFixed(1)} s`}; ${parts.workload.stats.arrivals} arrivals, ${parts.workload.stats.skippedBusy} skipped (all clients busy), ${parts.workload.stats.retries} retries of unknown writes`,
  };
  for (const name of OWN_CHECKS) {
    const f = ownFailures.filter((x) => x.check === name);
    rows.push({ name, verdict: c.own.countFor(name) > 0 ? 'fail' : 'pass', detail: details[name], ...(f.length > 0 ? { failures: f } : {}) });
  }
  rows.push(cloudCheckerRow(c.clouds, c.own));
  rows.push(...blobCheckerRows(parts));
  return rows;
}

function writeStatusDetail(c: WriteStatusCheck, lost: number): string {
  const counts = Object.entries(c.byStatus).filter(([, n]) => n > 0).map(([status, n]) => `${n} ${status}`);
  return `${c.checked} write-status answers match the log (${counts.join(', ') || 'none'}); ${lost} lost with their site`;
}

function raftDetail(check: string, parts: RunParts, c: CheckOutcomes): string | undefined {
  const { world } = parts;
  switch (check) {
    case 'election-safety': {
      const t = world.checker.leaderTerms();
      return `${t.terms} terms with a leader`;
    }
    case 'apply-order':
      return `${world.stats.snapshotsInstalled} snapshot installs, ${world.stats.restarts} restarts, ${world.membership.stats.rebuilt} rebuilt sites`;
    case 'no-lost-write':
      return world.checker.unverifiedAckCount > 0 ? `${world.checker.unverifiedAckCount} acknowledged writes seen only through snapshots` : undefined;
    case 'liveness': {
      const l = c.liveness;
      return `leader ${l.leaderAfterMs === null ? 'never' : `after ${l.leaderAfterMs} ms`}, converged ${l.convergedAfterMs === null ? 'never' : `after ${l.convergedAfterMs} ms`} (from ${(parts.quietFromMs / 1000).toFixed(1)} s)`;
    }
    default:
      return undefined;
  }
}
