// `npm run sim:sweep -- --seeds 1000 [--from 1] [--sites 5] [--duration 60s] [--voters N|all]
// [--faults all] [--rate 20/s] [--jobs 2]`: runs many seeds on worker threads (both cores by
// default), prints one line per failing seed with the command that replays it, and a summary.
// Exit status 1 if any seed failed. Reads the wall clock only to report how long the sweep took.
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { formatFailure } from './checkers/failure.js';
import { FAULT_KINDS } from './faults.js';
import { SimArgsError, parseSimArgs, replayCommand, type SimOptions } from './harness/options.js';
import { runSimulation } from './harness/simulation.js';
import { WALL_CLOCK } from './main.js';

export interface SweepArgs {
  seeds: number;
  from: number;
  jobs: number;
  /** The options of every run; each seed replaces `seed`. */
  base: SimOptions;
}

export interface SeedResult {
  seed: number;
  verdict: 'pass' | 'fail' | 'inconclusive';
  /** The first failures, formatted. */
  failures: string[];
  /** Every check that failed (sorted, unique). */
  failingChecks: string[];
  traceHash: string;
  events: number;
  replay: string;
  /** A crash of the harness itself (not a checker verdict). */
  error?: string;
}

export interface SweepSummary {
  results: SeedResult[];
  passed: number;
  failed: number;
  inconclusive: number;
}

/** Failures printed per failing seed. */
const FAILURES_PER_SEED = 3;
const MAX_SEEDS = 1_000_000;
const SWEEP_DEFAULT_DURATION = '60s';

export const SWEEP_USAGE = `usage: npm run sim:sweep -- --seeds N [--from S] [--jobs J] [sim options: --sites --duration --voters --faults --rate --clients]
Runs seeds S..S+N-1 (default from 1) with all faults unless --faults says otherwise, 60 s of virtual time
each unless --duration says otherwise, on J worker threads (default: the number of cores, at most 2).`;

export function parseSweepArgs(argv: readonly string[]): SweepArgs {
  let seeds: number | undefined;
  let from = 1;
  let jobs = Math.max(1, Math.min(2, availableParallelism()));
  const rest: string[] = [];
  const count = (flag: string, text: string | undefined, max: number): number => {
    if (text === undefined || !/^\d+$/.test(text) || Number(text) < 1 || Number(text) > max) {
      throw new SimArgsError(`${flag} expects an integer from 1 to ${max}, got ${text ?? 'nothing'}`);
    }
    return Number(text);
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--seeds') seeds = count(a, argv[++i], MAX_SEEDS);
    else if (a === '--from') from = count(a, argv[++i], Number.MAX_SAFE_INTEGER);
    else if (a === '--jobs') jobs = count(a, argv[++i], 64);
    else if (a === '--seed' || a === '--out' || a === '--json') throw new SimArgsError(`${a} is not a sweep option (use --from and --seeds)`);
    else rest.push(a);
  }
  if (seeds === undefined) throw new SimArgsError('--seeds is required');
  const withDefaults = [...(rest.includes('--faults') ? [] : ['--faults', 'all']), ...(rest.includes('--duration') ? [] : ['--duration', SWEEP_DEFAULT_DURATION]), ...rest];
  const parsed = parseSimArgs(withDefaults);
  if (parsed.help) throw new SimArgsError('help requested');
  return { seeds, from, jobs, base: parsed.options };
}

/** Runs one seed to a result (never throws: a harness crash is reported as a failing seed). */
export async function runSeed(base: SimOptions, seed: number): Promise<SeedResult> {
  const options = { ...base, seed };
  const replay = replayCommand(options);
  try {
    const r = await runSimulation(options, { checkerClock: WALL_CLOCK });
    return {
      seed,
      verdict: r.verdict,
      failures: r.failures.slice(0, FAILURES_PER_SEED).map(formatFailure),
      failingChecks: [...new Set(r.failures.map((f) => f.check))].sort(),
      traceHash: r.report.traceHash,
      events: r.report.run.events,
      replay,
    };
  } catch (err) {
    const e = err instanceof Error ? err : new Error(String(err));
    return { seed, verdict: 'fail', failures: [`the harness crashed: ${e.message}`], failingChecks: ['harness'], traceHash: '', events: 0, replay, error: e.stack ?? e.message };
  }
}

/** Runs every seed over `jobs` worker threads; `onResult` sees each result as it arrives. */
export async function sweep(args: SweepArgs, onResult?: (r: SeedResult) => void): Promise<SweepSummary> {
  const queue = Array.from({ length: args.seeds }, (_, i) => args.from + i);
  const results: SeedResult[] = [];
  const workers = Array.from({ length: Math.min(args.jobs, queue.length) }, () => runWorker(args.base, queue, (r) => {
    results.push(r);
    onResult?.(r);
  }));
  await Promise.all(workers);
  results.sort((a, b) => a.seed - b.seed);
  return {
    results,
    passed: results.filter((r) => r.verdict === 'pass').length,
    failed: results.filter((r) => r.verdict === 'fail').length,
    inconclusive: results.filter((r) => r.verdict === 'inconclusive').length,
  };
}

/** One worker thread taking seeds from the shared queue until it is empty. */
function runWorker(base: SimOptions, queue: number[], onResult: (r: SeedResult) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(fileURLToPath(import.meta.url), { workerData: { kind: 'sim-sweep-worker', base } });
    let current: number | undefined;
    const next = (): void => {
      current = queue.shift();
      if (current === undefined) void worker.terminate().then(() => resolve());
      else worker.postMessage(current);
    };
    worker.on('message', (r: SeedResult) => {
      onResult(r);
      next();
    });
    worker.on('error', (err) => {
      if (current !== undefined) onResult({ seed: current, verdict: 'fail', failures: [`worker crashed: ${err.message}`], failingChecks: ['harness'], traceHash: '', events: 0, replay: replayCommand({ ...base, seed: current }), error: err.stack });
      reject(err);
    });
    next();
  });
}

async function main(argv: string[]): Promise<number> {
  let args: SweepArgs;
  try {
    args = parseSweepArgs(argv);
  } catch (err) {
    if (err instanceof SimArgsError) {
      process.stderr.write(`sim:sweep: ${err.message}\n${SWEEP_USAGE}\n`);
      return 2;
    }
    throw err;
  }
  const started = performance.now();
  let done = 0;
  const summary = await sweep(args, (r) => {
    done++;
    if (r.verdict === 'fail') {
      process.stdout.write(`FAIL seed ${r.seed}: ${r.failures.join(' | ')}\n  replay: ${r.replay}\n`);
      if (r.error) process.stdout.write(`  ${r.error.split('\n').slice(0, 6).join('\n  ')}\n`);
    } else if (r.verdict === 'inconclusive') {
      process.stdout.write(`INCONCLUSIVE seed ${r.seed}  replay: ${r.replay}\n`);
    }
    if (process.stderr.isTTY) process.stderr.write(`\r\x1b[K${done}/${args.seeds} seeds`);
  });
  if (process.stderr.isTTY) process.stderr.write('\r\x1b[K');
  const wallS = (performance.now() - started) / 1000;
  const virtualS = (args.seeds * args.base.durationMs) / 1000;
  process.stdout.write(
    `${args.seeds} seeds (${args.from}..${args.from + args.seeds - 1}), ${args.base.sites} sites, ${args.base.durationMs / 1000} s each, faults ${args.base.faults.length === 0 ? 'none' : args.base.faults.length === FAULT_KINDS.length ? 'all' : args.base.faults.join(',')}: ` +
      `${summary.passed} passed, ${summary.failed} failed, ${summary.inconclusive} inconclusive in ${wallS.toFixed(1)} s wall on ${args.jobs} thread(s) (${(virtualS / wallS).toFixed(1)}× real time)\n`,
  );
  return summary.failed > 0 ? 1 : 0;
}

if (!isMainThread && (workerData as { kind?: string } | null)?.kind === 'sim-sweep-worker') {
  const base = (workerData as { base: SimOptions }).base;
  parentPort!.on('message', (seed: number) => {
    void runSeed(base, seed).then((r) => parentPort!.postMessage(r));
  });
} else if (isMainThread && process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  process.exitCode = await main(process.argv.slice(2));
}
