// `npm run sim:sweep -- --seeds 1000 [--from 1] [--sites 5] [--duration 60s] [--voters N|all]
// [--faults all] [--rate 20/s] [--jobs 2] [--shard I/N] [--out FILE]`: runs many seeds (or the I-th
// of N slices of them) on worker threads (both cores by default), prints one line per failing seed
// with the command that replays it, and a summary; `--merge FILE...` combines the slices' files.
// Exit status 1 if any seed failed. Reads the wall clock only to report how long the sweep took.
import { readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { formatFailure } from './checkers/failure.js';
import { FAULT_KINDS } from './faults.js';
import { SimArgsError, parseSimArgs, replayCommand, type SimOptions } from './harness/options.js';
import { runSimulation } from './harness/simulation.js';
import { WALL_CLOCK } from './main.js';
import { SweepResultError, WHOLE_RANGE, countVerdicts, mergeSweepResults, parseShard, parseSweepResult, shardSeeds, sweepResultFile, type Shard, type SweepResultFile } from './sweep-shard.js';

export interface SweepArgs {
  seeds: number;
  from: number;
  jobs: number;
  /** The options of every run; each seed replaces `seed`. */
  base: SimOptions;
  /** Run only this slice of the seeds (default: all of them). */
  shard?: Shard;
  /** `--out FILE`: also write the result as JSON (sweep-shard.ts). */
  outPath?: string;
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

export const SWEEP_USAGE = `usage: npm run sim:sweep -- --seeds N [--from S] [--jobs J] [--shard I/N] [--out FILE] [sim options: --sites --duration --voters --faults --rate --clients --clouds]
       npm run sim:sweep -- --merge FILE... [--out FILE]
Runs seeds S..S+N-1 (default from 1) with all faults unless --faults says otherwise, 60 s of virtual time
each unless --duration says otherwise, on J worker threads (default: the number of cores, at most 2).
--shard I/N runs only the I-th of N contiguous slices of those seeds (1 <= I <= N); --out writes the
result as JSON. --merge combines the result files of all N slices of one sweep (each exactly once)
into the result of the whole range, prints it as a sweep does, and exits 1 if any seed failed.`;

/** `--flag N`: an integer from 1 to `max`, else a SimArgsError naming the flag. */
export function countArg(flag: string, text: string | undefined, max: number): number {
  if (text === undefined || !/^\d+$/.test(text) || Number(text) < 1 || Number(text) > max) {
    throw new SimArgsError(`${flag} expects an integer from 1 to ${max}, got ${text ?? 'nothing'}`);
  }
  return Number(text);
}

export function parseSweepArgs(argv: readonly string[]): SweepArgs {
  let seeds: number | undefined;
  let from = 1;
  let jobs = Math.max(1, Math.min(2, availableParallelism()));
  let shard: Shard | undefined;
  let outPath: string | undefined;
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--seeds') seeds = countArg(a, argv[++i], MAX_SEEDS);
    else if (a === '--from') from = countArg(a, argv[++i], Number.MAX_SAFE_INTEGER);
    else if (a === '--jobs') jobs = countArg(a, argv[++i], 64);
    else if (a === '--shard') shard = parseShard(argv[++i]);
    else if (a === '--out') outPath = pathArg(a, argv[++i]);
    else if (a === '--seed' || a === '--json' || a === '--merge') throw new SimArgsError(`${a} is not a sweep option (use --from and --seeds)`);
    else rest.push(a);
  }
  if (seeds === undefined) throw new SimArgsError('--seeds is required');
  const withDefaults = [...(rest.includes('--faults') ? [] : ['--faults', 'all']), ...(rest.includes('--duration') ? [] : ['--duration', SWEEP_DEFAULT_DURATION]), ...rest];
  const parsed = parseSimArgs(withDefaults);
  if (parsed.help) throw new SimArgsError('help requested');
  if (parsed.htmlPath !== undefined) throw new SimArgsError('--html is not a sweep option');
  return { seeds, from, jobs, base: parsed.options, ...(shard ? { shard } : {}), ...(outPath !== undefined ? { outPath } : {}) };
}

function pathArg(flag: string, text: string | undefined): string {
  if (text === undefined || text === '' || text.startsWith('--')) throw new SimArgsError(`${flag} needs a file name`);
  return text;
}

export interface MergeArgs {
  files: string[];
  outPath?: string;
}

/** `--merge FILE... [--out FILE]`. */
export function parseMergeArgs(argv: readonly string[]): MergeArgs {
  const files: string[] = [];
  let outPath: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--merge') continue;
    if (a === '--out') outPath = pathArg(a, argv[++i]);
    else if (a.startsWith('--')) throw new SimArgsError(`${a} is not a merge option (--merge FILE... [--out FILE])`);
    else files.push(a);
  }
  if (files.length === 0) throw new SimArgsError('--merge needs the result files of the slices');
  return { files, ...(outPath !== undefined ? { outPath } : {}) };
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
  const slice = shardSeeds({ from: args.from, seeds: args.seeds }, args.shard ?? WHOLE_RANGE);
  const queue = Array.from({ length: slice.seeds }, (_, i) => slice.from + i);
  const results: SeedResult[] = [];
  const workers = Array.from({ length: Math.min(args.jobs, queue.length) }, () => runWorker(args.base, queue, (r) => {
    results.push(r);
    onResult?.(r);
  }));
  await Promise.all(workers);
  results.sort((a, b) => a.seed - b.seed);
  return { results, ...countVerdicts(results) };
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
  try {
    if (argv.includes('--merge')) return mergeMain(parseMergeArgs(argv));
    return await sweepMain(parseSweepArgs(argv));
  } catch (err) {
    if (err instanceof SimArgsError || err instanceof SweepResultError) {
      process.stderr.write(`sim:sweep: ${err.message}\n${err instanceof SimArgsError ? `${SWEEP_USAGE}\n` : ''}`);
      return 2;
    }
    throw err;
  }
}

async function sweepMain(args: SweepArgs): Promise<number> {
  const slice = shardSeeds({ from: args.from, seeds: args.seeds }, args.shard ?? WHOLE_RANGE);
  const started = performance.now();
  let done = 0;
  const summary = await sweep(args, (r) => {
    done++;
    printSeed(r);
    if (process.stderr.isTTY) process.stderr.write(`\r\x1b[K${done}/${slice.seeds} seeds`);
  });
  if (process.stderr.isTTY) process.stderr.write('\r\x1b[K');
  const wallMs = performance.now() - started;
  const file = sweepResultFile(args.base, { from: args.from, seeds: args.seeds }, args.shard ?? WHOLE_RANGE, summary, wallMs);
  if (args.outPath !== undefined) writeFileSync(args.outPath, `${JSON.stringify(file)}\n`);
  process.stdout.write(`${summaryLine(file)} in ${(wallMs / 1000).toFixed(1)} s wall on ${args.jobs} thread(s) (${((slice.seeds * args.base.durationMs) / wallMs).toFixed(1)}× real time)\n`);
  return summary.failed > 0 ? 1 : 0;
}

function mergeMain(args: MergeArgs): number {
  const files: SweepResultFile[] = args.files.map((name) => {
    let text: string;
    try {
      text = readFileSync(name, 'utf8');
    } catch (err) {
      throw new SweepResultError(`${name}: ${(err as Error).message}`);
    }
    return parseSweepResult(text, name);
  });
  const merged = mergeSweepResults(files);
  for (const r of merged.results) printSeed(r);
  if (args.outPath !== undefined) writeFileSync(args.outPath, `${JSON.stringify(merged)}\n`);
  const slowest = Math.max(...merged.wallMs);
  const total = merged.wallMs.reduce((a, b) => a + b, 0);
  process.stdout.write(`${summaryLine(merged)}; merged from ${files.length} slice(s): slowest ${(slowest / 1000).toFixed(1)} s wall, ${(total / 1000).toFixed(1)} s in all\n`);
  return merged.failed > 0 ? 1 : 0;
}

function printSeed(r: SeedResult): void {
  if (r.verdict === 'fail') {
    process.stdout.write(`FAIL seed ${r.seed}: ${r.failures.join(' | ')}\n  replay: ${r.replay}\n`);
    if (r.error) process.stdout.write(`  ${r.error.split('\n').slice(0, 6).join('\n  ')}\n`);
  } else if (r.verdict === 'inconclusive') {
    process.stdout.write(`INCONCLUSIVE seed ${r.seed}  replay: ${r.replay}\n`);
  }
}

function summaryLine(f: SweepResultFile): string {
  const o = f.options;
  const faults = o.faults.length === 0 ? 'none' : o.faults.length === FAULT_KINDS.length ? 'all' : o.faults.join(',');
  const slice = f.shard.count === 1 ? '' : ` (slice ${f.shard.index}/${f.shard.count} of ${f.range.from}..${f.range.from + f.range.seeds - 1})`;
  const seeds = f.seeds.seeds === 0 ? 'no seeds' : `${f.seeds.seeds} seeds (${f.seeds.from}..${f.seeds.from + f.seeds.seeds - 1})`;
  return `${seeds}${slice}, ${o.sites} sites, ${o.durationMs / 1000} s each, faults ${faults}: ${f.passed} passed, ${f.failed} failed, ${f.inconclusive} inconclusive`;
}

if (!isMainThread && (workerData as { kind?: string } | null)?.kind === 'sim-sweep-worker') {
  const base = (workerData as { base: SimOptions }).base;
  parentPort!.on('message', (seed: number) => {
    void runSeed(base, seed).then((r) => parentPort!.postMessage(r));
  });
} else if (isMainThread && process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  process.exitCode = await main(process.argv.slice(2));
}
