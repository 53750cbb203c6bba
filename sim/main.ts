// `stackraft sim`: runs one simulation and prints its report. The only part of a run that reads
// the wall clock (with the sweep), to say how fast virtual time went and to bound the
// linearizability search by time; the run itself never sees it.
import { writeFileSync } from 'node:fs';
import { formatFailure } from './checkers/failure.js';
import type { ElapsedClock } from './checkers/linearizability.js';
import { SIM_USAGE, SimArgsError, noFaultsNotice, parseSimArgs, type CliArgs } from './harness/options.js';
import { TimelineRecorder } from './harness/timeline.js';
import { runSimulation, type Progress, type RunControls } from './harness/simulation.js';
import { formatReport, reportToJson, type SimReport } from './report.js';
import type { BlobRolloutReport } from './blobs/run.js';

/** Exit codes: 0 every checker passed (or was inconclusive), 1 a checker failed, 2 bad arguments. */
export const EXIT_FAILED = 1;
export const EXIT_USAGE = 2;
/** Minimum wall time between two progress lines on a terminal. */
const PROGRESS_EVERY_WALL_MS = 500;

/** The wall clock, for the checkers' time budgets only (never the run's time). */
export const WALL_CLOCK: ElapsedClock = { nowMs: () => performance.now() };

/** Where the command writes (the process by default; tests capture it). */
export interface SimIo {
  out(text: string): void;
  err(text: string): void;
  /** A terminal on stderr: show a progress line. */
  isTTY: boolean;
}

const processIo: SimIo = {
  out: (text) => void process.stdout.write(text),
  err: (text) => void process.stderr.write(text),
  isTTY: process.stderr.isTTY === true,
};

/** `controls.hooks` exists for tests that plant a bug; the command line never sets it. */
export async function run(argv: string[], io: SimIo = processIo, controls: Pick<RunControls, 'hooks'> = {}): Promise<number> {
  let args: CliArgs;
  try {
    args = parseSimArgs(argv);
  } catch (err) {
    if (err instanceof SimArgsError) {
      io.err(`stackraft sim: ${err.message}\n${SIM_USAGE}\n`);
      return EXIT_USAGE;
    }
    throw err;
  }
  if (args.help) {
    io.out(`${SIM_USAGE}\n`);
    return 0;
  }
  if (!args.faultsGiven) io.err(`stackraft sim: ${noFaultsNotice()}\n`);
  const started = performance.now();
  const log = args.verbose ? (atMs: number, line: string) => io.err(`${(atMs / 1000).toFixed(3).padStart(10)} s  ${line}\n`) : undefined;
  const progress = io.isTTY && !args.verbose ? progressLine(io, started) : undefined;
  const timeline = args.htmlPath ? new TimelineRecorder() : undefined;
  const result = await runSimulation(args.options, { ...controls, onProgress: progress, log, checkerClock: WALL_CLOCK, timeline });
  if (progress) io.err('\r\x1b[K');
  let referenceFailed = false;
  if (args.compareOriginOnly === true && result.report.blobs !== undefined) {
    // Clouds off too: without sync reports the daemon's plan names the origin as the only holder,
    // so the fetchers do not spend round trips on partial holders they cannot reach.
    const reference = await runSimulation({ ...args.options, swarm: false, clouds: false }, { ...controls, checkerClock: WALL_CLOCK });
    result.report.blobs.originOnly = originOnlyFigures(reference.report, reference.verdict);
    if (reference.verdict === 'fail') {
      referenceFailed = true;
      io.err(`\nstackraft sim: the origin-only run failed a check; replay with: ${reference.report.run.replayCommand}\n`);
    }
  }
  result.report.run.wallMs = Math.round(performance.now() - started);
  if (args.outPath) writeFileSync(args.outPath, `${reportToJson(result.report)}\n`);
  if (args.htmlPath && result.timeline) {
    // Loaded only here: the charting library is large and only --html needs it.
    const { renderHtmlReport } = await import('./html-report.js');
    writeFileSync(args.htmlPath, await renderHtmlReport(result.report, result.timeline));
    io.err(`stackraft sim: wrote the HTML report to ${args.htmlPath}\n`);
  }
  io.out(`${args.json ? reportToJson(result.report) : formatReport(result.report)}\n`);
  if (result.verdict === 'fail') {
    const first = result.failures[0];
    io.err(`\nstackraft sim: ${result.failures.length} check failure(s)${first ? `, first: ${formatFailure(first)}` : ''}\n`);
    io.err(`replay with: ${result.report.run.replayCommand}\n`);
    return EXIT_FAILED;
  }
  return referenceFailed ? EXIT_FAILED : 0;
}

/** The origin-only run's figures, set beside the swarm's. */
function originOnlyFigures(report: SimReport, verdict: string): NonNullable<BlobRolloutReport['originOnly']> {
  const b = report.blobs!;
  return { allHeldAfterMs: b.allHeldAfterMs, holding: b.holding, bytesSentByOrigin: b.bytesSentByOrigin, verdict, traceHash: report.traceHash, replayCommand: report.run.replayCommand };
}

function progressLine(io: SimIo, started: number): (p: Progress) => void {
  let last = 0;
  return (p) => {
    const now = performance.now();
    if (now - last < PROGRESS_EVERY_WALL_MS && p.virtualMs < p.durationMs) return;
    last = now;
    const wallS = (now - started) / 1000;
    const speed = p.virtualMs / 1000 / Math.max(wallS, 0.001);
    const etaS = (p.durationMs - p.virtualMs) / 1000 / Math.max(speed, 0.001);
    const pct = ((100 * p.virtualMs) / p.durationMs).toFixed(0);
    io.err(
      `\r\x1b[Ksim ${pct}%  ${(p.virtualMs / 1000).toFixed(0)}/${(p.durationMs / 1000).toFixed(0)} s virtual  ` +
        `${speed.toFixed(1)}× real time  ${p.events.toLocaleString('en-US')} events  ETA ${etaS.toFixed(0)} s`,
    );
  };
}
