// One simulated run from a seed: build the world, boot every site, wait for their records, run the
// workload and the fault schedule on virtual time, pause the workload for the quiet period while
// everything heals, then check everything and fill the report. No wall clock here: the caller
// measures speed (see sim/main.ts).
import { checkLinearizability, type ElapsedClock, type HistoryOp } from '../checkers/linearizability.js';
import { FailureLog, type CheckFailure } from '../checkers/failure.js';
import { selectSites } from '../cities.js';
import { FAULT_PARAMETER_RANGES, FaultExecutor, generateFaultSchedule } from '../faults.js';
import { SimNetwork, type NetworkStats } from '../network.js';
import { Prng } from '../prng.js';
import { overallVerdict, type SimReport } from '../report.js';
import { Scheduler } from '../scheduler.js';
import { TraceHash } from '../stats.js';
import { WanModel, type LinkCut } from '../wan.js';
import { CloudRun } from './cloud-run.js';
import { BlobRun, type BlobRolloutReport } from '../blobs/run.js';
import type { SimTimeline, TimelineRecorder } from './timeline.js';
import { History } from './history.js';
import type { SimHooks } from './hooks.js';
import { registerKeys } from './keys.js';
import { runawayEventBudget, validateSimOptions, voterCount, type SimOptions } from './options.js';
import { buildReport } from './report-builder.js';
import { checkConvergence, checkForcedFailovers, checkLocalReads, checkPeerUnreachable, finalStates } from './run-checks.js';
import { SiteRegistrationWatch } from './registration.js';
import { checkWriteStatusAnswers } from '../checkers/write-status.js';
import { chooseTopology } from './topology.js';
import { Workload } from './workload.js';
import { World } from './world.js';

/** Registers of the workload: flavors (plain writes, CAS, batches) and protection groups. */
export const WORKLOAD_FLAVORS = 12;
export const WORKLOAD_GROUPS = 4;
/** DR operations per second with --dr-failovers on. */
export const SIM_DR_OPS_PER_SEC = 0.5;
/** Liveness probes during the quiet period. */
export const PROBE_EVERY_MS = 100;
/** A leader must exist this soon after the heal (or by the end of a shorter quiet period). */
export const LEADER_AFTER_HEAL_BOUND_MS = 10_000;
/** Virtual time run between two progress reports (and two runaway checks). */
const PROGRESS_STEP_MS = 1_000;

export interface Progress {
  virtualMs: number;
  durationMs: number;
  events: number;
}

export interface RunControls {
  hooks?: SimHooks;
  onProgress?: (p: Progress) => void;
  /** Narration of the run: faults, crashes, elections, membership steps (virtual ms, text). */
  log?: (atMs: number, line: string) => void;
  /** Sees the world once virtual time has run out, before the checks (tests and debugging). */
  inspect?: (world: World) => void;
  /**
   * Elapsed time for the linearizability search's budget (the CLI and the sweep pass the wall
   * clock). Without it the search is bounded by steps, the same on every machine.
   */
  checkerClock?: ElapsedClock;
  /** Gathers what the HTML report draws (`--html`); observes only. */
  timeline?: TimelineRecorder;
  /**
   * Sees the register history the linearizability checker judges (`resolved`) and the same history
   * with unknown outcomes left unknown (bench/checker-compare.ts exports both).
   */
  onRegisterHistory?: (resolved: HistoryOp[], unresolved: HistoryOp[]) => void;
}

export interface SimResult {
  report: SimReport;
  verdict: 'pass' | 'fail' | 'inconclusive';
  failures: CheckFailure[];
  /** Present when the run had a timeline recorder. */
  timeline?: SimTimeline;
}

export async function runSimulation(options: SimOptions, controls: RunControls = {}): Promise<SimResult> {
  validateSimOptions(options);
  const hooks = controls.hooks ?? {};
  const root = new Prng(options.seed);
  const scheduler = new Scheduler();
  const locations = selectSites(options.sites);
  const topology = chooseTopology(locations, voterCount(options), root.fork('topology'));
  const trace = new TraceHash();
  const network = new SimNetwork(scheduler, new WanModel(locations, root), { trace });
  const world = new World(scheduler, network, topology, root, options, hooks, trace);
  const schedule = generateFaultSchedule({ prng: root, durationMs: options.durationMs, sites: locations, kinds: options.faults, focusSites: topology.voters });
  const quietFromMs = schedule.quietFromMs;
  const cloudRun = options.clouds ? new CloudRun(scheduler, root.fork('clouds'), world, locations, quietFromMs, hooks) : null;
  const blobRun = options.imageBytes !== undefined ? new BlobRun(scheduler, root.fork('blobs'), world, network.wan, { imageBytes: options.imageBytes, swarm: options.swarm !== false, ...(options.imageAtMs !== undefined ? { atMs: options.imageAtMs } : {}) }, trace, hooks) : null;
  if (blobRun !== null && cloudRun !== null) cloudRun.clouds.wrapDriver = (site, driver) => blobRun.gateGlance(site, driver);
  const log = controls.log;
  if (log) world.log = (line) => log(scheduler.now(), line);
  const executor = new FaultExecutor(scheduler, schedule, cloudRun?.faultTarget(world.faultTarget()) ?? world.faultTarget(), (f) => {
    trace.mixU32(f.episodeId);
    trace.mixString(f.action);
    controls.timeline?.onFault(f);
    log?.(f.atMs, `fault #${f.episodeId} ${f.action} ${f.detail}${f.skipped ? ` (skipped: ${f.skipped})` : ''}${f.byHeal ? ' (heal)' : ''}`);
  });
  const history = new History();
  const keys = registerKeys(WORKLOAD_FLAVORS, WORKLOAD_GROUPS);
  const workload = new Workload(
    scheduler,
    root.fork('workload'),
    world,
    history,
    keys,
    { ratePerSec: options.ratePerSec, clients: options.clients, stopAtMs: quietFromMs, proposalTimeoutMs: options.proposalTimeoutMs, drOpsPerSec: options.drFailovers === true ? SIM_DR_OPS_PER_SEC : 0 },
    hooks,
    trace,
  );
  const setup = new SiteRegistrationWatch(scheduler, world, world.siteNames(), () => {
    workload.start();
    cloudRun?.onSetupDone();
    blobRun?.onSetupDone();
  });

  world.bootAll();
  executor.start();
  setup.start();
  scheduler.at(quietFromMs, () => {
    hooks.atHeal?.({ partition: (cut: LinkCut) => void network.partition(cut), siteNames: () => world.siteNames() });
    controls.timeline?.onHeal(quietFromMs);
    probe(world, scheduler, options.durationMs, controls.timeline);
    cloudRun?.onHeal(options.durationMs);
  });

  const budget = runawayEventBudget(options.sites);
  let runaway: Runaway | null = null;
  for (let t = 0; t < options.durationMs; ) {
    t = Math.min(options.durationMs, t + PROGRESS_STEP_MS);
    const before = network.stats();
    const ran = await scheduler.runUntilAsync(t, budget);
    if (ran >= budget && scheduler.now() < t) {
      runaway = describeRunaway(before, network.stats(), scheduler.now(), ran);
      log?.(scheduler.now(), `stopped: ${runaway.message}`);
      break;
    }
    controls.onProgress?.({ virtualMs: t, durationMs: options.durationMs, events: scheduler.eventCount });
  }
  controls.inspect?.(world);
  const blobLog = new FailureLog(String(options.seed));
  const blobs = blobRun === null ? null : { report: await blobRun.finish(blobLog, scheduler.now(), options.faults.length > 0 ? schedule.episodes : undefined), log: blobLog };
  const result = finish(options, controls, {
    runaway, world, history, setup, workload, executor, quietFromMs, trace, scheduler, topology, cloudRun, blobs });
  if (controls.timeline) {
    const samples = world.latency.samples;
    result.timeline = controls.timeline.finish({
      durationMs: options.durationMs,
      withFaults: options.faults.length > 0,
      leaders: world.leaders.history,
      latencyMs: samples.latencyMs,
      floorMs: samples.fibreFloorMs,
      failures: result.failures,
    });
  }
  return result;
}

/** Feeds the liveness checker the leader and every site's applied index, every PROBE_EVERY_MS. */
function probe(world: World, scheduler: Scheduler, endMs: number, timeline?: TimelineRecorder): void {
  const leader = world.leaderSite()?.name;
  const applied = new Map(world.sites.map((s) => [s.name, s.isUp ? s.replica!.appliedIndex : -1] as [string, number]));
  world.checker.onProbe(scheduler.now(), leader, applied);
  timeline?.onProbe(scheduler.now(), applied);
  if (scheduler.now() + PROBE_EVERY_MS <= endMs) scheduler.after(PROBE_EVERY_MS, () => probe(world, scheduler, endMs, timeline));
}

export interface Runaway {
  atMs: number;
  message: string;
}

/** What flooded the run: the message types sent during the stopped second. */
function describeRunaway(before: NetworkStats, after: NetworkStats, atMs: number, events: number): Runaway {
  const grown = Object.entries(after.byType)
    .map(([type, c]) => [type, c.count - (before.byType[type]?.count ?? 0)] as [string, number])
    .filter(([, n]) => n > 0)
    .sort((a, b) => b[1] - a[1])
    .slice(0, 4)
    .map(([type, n]) => `${type} ${n}`);
  return { atMs, message: `${events} events within one virtual second (a runaway: message storm or zero-delay loop); messages sent: ${grown.join(', ') || 'none'}` };
}

export interface RunParts {
  /** The run was stopped early because it ran away. */
  runaway: Runaway | null;
  world: World;
  history: History;
  setup: SiteRegistrationWatch;
  workload: Workload;
  executor: FaultExecutor;
  quietFromMs: number;
  trace: TraceHash;
  scheduler: Scheduler;
  topology: ReturnType<typeof chooseTopology>;
  cloudRun: CloudRun | null;
  /** The image placement's figures and its checkers' failures (--image-size); null without one. */
  blobs: { report: BlobRolloutReport; log: FailureLog } | null;
}

function finish(options: SimOptions, controls: RunControls, parts: RunParts): SimResult {
  const { world, history, setup, quietFromMs, scheduler } = parts;
  const now = scheduler.now();
  const seed = String(options.seed);
  const finals = finalStates(world.sites);
  world.checker.finish(now, finals);
  const quietMs = options.durationMs - quietFromMs;
  const liveness = world.checker.checkLiveness({
    healedAtMs: quietFromMs,
    leaderWithinMs: Math.min(quietMs, LEADER_AFTER_HEAL_BOUND_MS),
    convergedWithinMs: quietMs,
  });

  const { ops, resolvedUnknown } = history.toRegisterOps(world.applyLog);
  controls.onRegisterHistory?.(ops, history.toRegisterOps(world.applyLog, false).ops);
  const lin = checkLinearizability(ops, { seed, clock: controls.checkerClock });

  const own = new FailureLog(seed);
  const localChecked = checkLocalReads(own, history, world.applyLog);
  const minClockRate = 1 - FAULT_PARAMETER_RANGES.clockDrift[1];
  const liveWindowMs = world.electionTimeoutMs / minClockRate + options.tickMs;
  const groupChecked = checkPeerUnreachable(own, history, world.applyLog, world.leaders, world.reach, { liveWindowMs });
  const convergence = checkConvergence(own, world.sites, finals, now, { firstAppliedAtMs: (i) => world.checker.firstAppliedAtMs(i), graceMs: world.electionTimeoutMs });
  for (const message of world.stats.fatalMessages) own.add('replica-fatal', now, [message.split(' ')[0]], message);
  for (const f of world.drFencing.failures()) own.add('dr-fencing', f.atMs, f.sites, `${f.check}: ${f.message}`);
  const forcedChecked = checkForcedFailovers(own, history, world.applyLog, world.leaders, world.reach, { liveWindowMs });
  const validation = history.writes.filter((w) => w.status === 'rejected' && w.code === 'VALIDATION' && w.dr === undefined);
  for (const w of validation.slice(0, 5)) own.add('workload', w.completeMs ?? now, [w.site], `write ${w.writeId} was refused as invalid: the simulator wrote a malformed command`);
  if (parts.runaway) own.add('runaway', parts.runaway.atMs, [], parts.runaway.message);
  if (setup.doneAtMs === null) own.add('workload', now, [], `the sites never all registered (${setup.registered} of ${world.sites.length} records in the leader's catalog at the last check)`);
  const writeStatus = checkWriteStatusAnswers(own, parts.workload.statusAnswers, (writeId) => world.applyLog.byWriteId.get(writeId));
  const clouds = parts.cloudRun?.finish(own, now) ?? null;

  const report = buildReport(options, parts, {
    liveness,
    lin,
    resolvedUnknown,
    own,
    localChecked,
    groupChecked,
    forcedChecked,
    convergence,
    historyOps: ops.length,
    clouds,
    writeStatus,
  });
  const failures = [...world.checker.failures(), ...lin.failures, ...own.failures(), ...(parts.blobs?.log.failures() ?? [])];
  return { report, verdict: overallVerdict(report), failures };
}
