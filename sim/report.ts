// The run summary: a plain object the harness fills, printed as text for people or as JSON for
// scripts (sweeps, CI). Formatting only: nothing here measures or decides.
import { formatFailure, type CheckFailure, type Verdict } from './checkers/failure.js';
import type { BlobRolloutReport } from './blobs/run.js';
import { formatBlobRollout } from './blobs/report.js';

export interface SimReport {
  run: {
    seed: string;
    sites: number;
    voters: number;
    learners: number;
    virtualDurationMs: number;
    /** Enabled fault kinds. */
    faults: string[];
    faultEpisodes: number;
    /** Scheduler events run. */
    events: number;
    /** Wall-clock duration: filled only by the CLI wrapper (never read inside a run). */
    wallMs?: number;
    /** The command that replays this run. */
    replayCommand: string;
  };
  consensus: {
    /** Terms that had a leader, and the highest of them. */
    leaderTerms: number;
    highestTerm: number;
    leaderChanges: number;
    finalLeader?: string;
    commitIndex: number;
    messages: number;
    bytes: number;
    messagesByType?: Record<string, number>;
    dropped?: Record<string, number>;
    /** Bytes the leaders sent while leading (every leadership of the run), and per committed entry / client write. */
    leaderEgressBytes?: number;
    leaderEgressPerEntry?: number;
    leaderEgressPerWrite?: number;
  };
  writes: {
    attempted: number;
    committed: number;
    refused: number;
    unknown: number;
    refusedByCode?: Record<string, number>;
    /** Applied and refused by the catalog (a failed compare-and-set, a patch of an absent resource). */
    rejected?: number;
  };
  /** Client reads, when the run had a workload. */
  reads?: {
    linearizable: number;
    local: number;
    /** Linearizable reads that got no answer (no leader, no quorum, site down). */
    failed: number;
  };
  commitLatency: {
    samples: number;
    p50Ms: number;
    p99Ms: number;
    /** The physical floor: fibre RTT from the leader to its nearest majority of voters. */
    physicalFloorMs: number;
    /** The same floor over the modelled links (route factor, access latency): what the protocol itself adds shows against it. */
    modelFloorMs?: number;
    /** Median over the writes of each write's latency divided by its own floor (fibre, modelled). */
    perWriteRatioP50?: number;
    perWriteModelRatioP50?: number;
  };
  elections: {
    count: number;
    /** From losing a leader (or the start) to the next leader. */
    p50Ms: number;
    p99Ms: number;
    /**
     * The same times split: the part a majority of voters could talk to each other (what the
     * protocol controls) and the part no quorum was possible (what the faults imposed).
     */
    quorumConnected?: { p50Ms: number; p99Ms: number; maxMs: number };
    noQuorum?: { p50Ms: number; p99Ms: number; maxMs: number };
    /** Every election's split, in order (at most MAX_LEADER_HISTORY): what sweeps pool across seeds. */
    splits?: Array<{ quorumMs: number; noQuorumMs: number; fromMs: number; toMs: number }>;
    /**
     * Planned hand-overs to a better-placed voter that reached it (not elections: no leader was
     * lost); p50/max over those whose step-down the harness saw before the new leader (`timed`).
     */
    transfers?: { count: number; timed: number; p50Ms: number; maxMs: number };
  };
  convergence: {
    healedAtMs: number | null;
    leaderAfterMs: number | null;
    convergedAfterMs: number | null;
    /** From the heal until every running site's cloud equals its desired state (absent without clouds). */
    cloudsConvergedAfterMs?: number | null;
  };
  checkers: Array<{ name: string; verdict: Verdict; detail?: string; failures?: CheckFailure[] }>;
  /** The image placed over the peer network (`--image-size`). */
  blobs?: BlobRolloutReport;
  traceHash: string;
}

/** 'fail' if any checker failed, else 'inconclusive' if any was, else 'pass'. */
export function overallVerdict(report: SimReport): 'pass' | 'fail' | 'inconclusive' {
  if (report.checkers.some((c) => c.verdict === 'fail')) return 'fail';
  if (report.checkers.some((c) => c.verdict === 'inconclusive')) return 'inconclusive';
  return 'pass';
}

/** Commit latency p50 over the physical floor (NaN when the floor is 0: a single-voter cluster). */
export function latencyRatio(report: SimReport): number {
  const { p50Ms, physicalFloorMs } = report.commitLatency;
  return physicalFloorMs > 0 ? p50Ms / physicalFloorMs : NaN;
}

/** Failures printed per checker in the text report (JSON carries all the checker kept). */
const FAILURES_SHOWN_PER_CHECKER = 5;
const LABEL_WIDTH = 22;

export function formatReport(r: SimReport): string {
  const out: string[] = [];
  const line = (label: string, value: string): void => {
    out.push(`  ${label.padEnd(LABEL_WIDTH)}${value}`);
  };
  const section = (title: string): void => {
    out.push(`== ${title}`);
  };

  section('run');
  line('seed', r.run.seed);
  line('sites', `${r.run.sites} (${r.run.voters} voters, ${r.run.learners} learners)`);
  line('virtual time', `${seconds(r.run.virtualDurationMs)}, ${count(r.run.events)} events`);
  if (r.run.wallMs !== undefined && r.run.wallMs > 0) {
    const speed = r.run.virtualDurationMs / r.run.wallMs;
    const rate = (r.run.events / r.run.wallMs) * 1000;
    line('wall time', `${seconds(r.run.wallMs)} (${speed.toFixed(1)}× real time, ${count(Math.round(rate))} events/s)`);
  }
  line('faults', `${r.run.faults.length === 0 ? 'none' : r.run.faults.join(', ')} (${r.run.faultEpisodes} episodes)`);
  line('replay', r.run.replayCommand);

  section('consensus');
  line('leaders', `${r.consensus.leaderTerms} terms with a leader, highest term ${r.consensus.highestTerm}, ${r.consensus.leaderChanges} changes`);
  line('final leader', r.consensus.finalLeader ?? '(none)');
  line('commit index', String(r.consensus.commitIndex));
  line('messages', `${count(r.consensus.messages)} (${bytes(r.consensus.bytes)})`);
  if (r.consensus.messagesByType) line('by type', pairs(r.consensus.messagesByType));
  if (r.consensus.dropped) line('dropped', pairs(r.consensus.dropped));
  if (r.consensus.leaderEgressBytes !== undefined) {
    const per = (v: number | undefined): string => (v === undefined ? '-' : bytes(Math.round(v)));
    line('leader egress', `${bytes(r.consensus.leaderEgressBytes)}: ${per(r.consensus.leaderEgressPerEntry)} per committed entry, ${per(r.consensus.leaderEgressPerWrite)} per committed client write`);
  }

  section('writes');
  line('attempted', String(r.writes.attempted));
  line('outcomes', `${r.writes.committed} committed, ${r.writes.refused} refused, ${r.writes.unknown} unknown`);
  if (r.writes.rejected !== undefined) line('rejected', `${r.writes.rejected} (applied, refused by the catalog: failed compare, absent resource)`);
  if (r.writes.refusedByCode && Object.keys(r.writes.refusedByCode).length > 0) line('refused by code', pairs(r.writes.refusedByCode));
  if (r.reads) line('reads', `${r.reads.linearizable} linearizable (${r.reads.failed} unanswered), ${r.reads.local} local`);

  section('commit latency');
  line('samples', String(r.commitLatency.samples));
  line('p50 / p99', `${ms(r.commitLatency.p50Ms)} / ${ms(r.commitLatency.p99Ms)}`);
  line('physical floor', `${ms(r.commitLatency.physicalFloorMs)} (fibre RTT to the nearest voter majority)`);
  const ratio = latencyRatio(r);
  line('p50 / floor', Number.isFinite(ratio) ? `${ratio.toFixed(2)}×` : 'n/a');
  const model = r.commitLatency.modelFloorMs;
  if (model !== undefined && model > 0) {
    line('modelled floor', `${ms(model)} (modelled links: route factor and access latency)`);
    line('p50 / modelled', `${(r.commitLatency.p50Ms / model).toFixed(2)}×`);
  }
  const { perWriteRatioP50: fibreRatio, perWriteModelRatioP50: modelRatio } = r.commitLatency;
  if (fibreRatio !== undefined && Number.isFinite(fibreRatio)) {
    const modelled = modelRatio !== undefined && Number.isFinite(modelRatio) ? `, ${modelRatio.toFixed(2)}× its modelled floor` : '';
    line('per write (p50)', `${fibreRatio.toFixed(2)}× its physical floor${modelled}`);
  }

  section('elections');
  line('count', String(r.elections.count));
  line('p50 / p99', `${ms(r.elections.p50Ms)} / ${ms(r.elections.p99Ms)}`);
  const q = r.elections.quorumConnected;
  const nq = r.elections.noQuorum;
  if (q && nq) {
    line('quorum connected', `p50 ${ms(q.p50Ms)} / p99 ${ms(q.p99Ms)} / max ${ms(q.maxMs)} (what the protocol controls)`);
    line('no quorum possible', `p50 ${ms(nq.p50Ms)} / p99 ${ms(nq.p99Ms)} / max ${ms(nq.maxMs)} (what the faults imposed)`);
  }
  const tr = r.elections.transfers;
  if (tr) {
    const timed = tr.timed > 0 ? `, ${tr.timed} timed: p50 ${ms(tr.p50Ms)} / max ${ms(tr.maxMs)}` : '';
    line('hand-overs', `${tr.count} to a better-placed voter (not counted as elections)${timed}`);
  }

  section('convergence');
  if (r.convergence.healedAtMs === null) {
    line('heal', 'n/a (no faults)');
  } else {
    line('healed at', seconds(r.convergence.healedAtMs));
    line('leader after', r.convergence.leaderAfterMs === null ? 'never' : ms(r.convergence.leaderAfterMs));
  }
  line('converged after', r.convergence.convergedAfterMs === null ? 'never' : ms(r.convergence.convergedAfterMs));
  const clouds = r.convergence.cloudsConvergedAfterMs;
  if (clouds !== undefined) line('clouds after', clouds === null ? 'never' : ms(clouds));

  if (r.blobs) {
    section('image over the peer network');
    for (const [label, value] of formatBlobRollout(r.blobs)) line(label, value);
  }

  section('checkers');
  for (const c of r.checkers) {
    const failures = c.failures ?? [];
    const verdict = c.verdict === 'fail' ? 'FAIL' : c.verdict;
    out.push(`  ${c.name.padEnd(LABEL_WIDTH)}${verdict}${c.detail ? `  ${c.detail}` : ''}`);
    for (const f of failures.slice(0, FAILURES_SHOWN_PER_CHECKER)) out.push(`      ${formatFailure(f)}`);
    if (failures.length > FAILURES_SHOWN_PER_CHECKER) out.push(`      … ${failures.length - FAILURES_SHOWN_PER_CHECKER} more (see --json)`);
  }
  line('verdict', overallVerdict(r).toUpperCase());

  section('trace');
  line('hash', r.traceHash);
  return out.join('\n');
}

/** JSON with the derived verdict and ratio; NaN and ±Infinity become null. */
export function reportToJson(r: SimReport, indent = 2): string {
  const ratio = latencyRatio(r);
  const doc = { ...r, verdict: overallVerdict(r), commitLatency: { ...r.commitLatency, ratioP50: Number.isFinite(ratio) ? ratio : null } };
  return JSON.stringify(doc, (_key, value: unknown) => (typeof value === 'number' && !Number.isFinite(value) ? null : value), indent);
}

function ms(v: number): string {
  if (!Number.isFinite(v)) return 'n/a';
  return v >= 100 ? `${v.toFixed(0)} ms` : `${v.toFixed(1)} ms`;
}

function seconds(v: number): string {
  return `${(v / 1000).toFixed(1)} s`;
}

function count(v: number): string {
  return v.toLocaleString('en-US');
}

function bytes(v: number): string {
  if (v >= 1 << 30) return `${(v / (1 << 30)).toFixed(2)} GiB`;
  if (v >= 1 << 20) return `${(v / (1 << 20)).toFixed(1)} MiB`;
  if (v >= 1 << 10) return `${(v / (1 << 10)).toFixed(1)} KiB`;
  return `${v} B`;
}

function pairs(rec: Record<string, number>): string {
  return Object.entries(rec)
    .filter(([, v]) => v > 0)
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .map(([k, v]) => `${k} ${count(v)}`)
    .join(', ');
}
