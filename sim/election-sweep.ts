// `npm run sim:elections -- --seeds 5 [--from 1] [sim options: --sites 100 --duration 5m ...]`: runs
// seeds one after the other (one core: the figures it prints are for a loaded machine too) and pools
// every election's split across them (issue 16): the quorum-connected part (what the protocol
// controls) as p50/p90/p99/max in ms and in election timeouts, the no-quorum part (what the faults
// imposed), and per seed the verdict, commit p50 against its modelled floor and the run's speed.
// Exit status 1 if any seed failed a checker. Reads the wall clock only to report the speed.
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { SimArgsError, parseSimArgs, type SimOptions } from './harness/options.js';
import { runSimulation } from './harness/simulation.js';
import { WALL_CLOCK } from './main.js';
import type { SimReport } from './report.js';
import { summarize, type Summary } from './stats.js';
import { countArg } from './sweep.js';

export const ELECTION_SWEEP_USAGE = `usage: npm run sim:elections -- --seeds N [--from S] [--out FILE] [sim options: --sites --duration --voters --faults --rate --clouds ...]
Runs seeds S..S+N-1 one after the other (all faults and clouds off unless the options say otherwise) and
pools every election's time with a connected quorum of voters and without one.`;

const MAX_SEEDS = 10_000;

export interface SeedElections {
  seed: number;
  verdict: string;
  elections: number;
  quorumConnectedMs: number[];
  noQuorumMs: number[];
  /** Each election's span in the run's virtual time (to replay it with `sim --seed S --verbose`). */
  spansMs: Array<[number, number]>;
  commitP50Ms: number;
  modelFloorMs: number | undefined;
  leaderEgressPerWrite: number | undefined;
  virtualMs: number;
  wallMs: number;
}

export interface PooledElections {
  electionTimeoutMs: number;
  elections: number;
  quorumConnected: Summary;
  noQuorum: Summary;
  /** quorumConnected's percentiles divided by the election timeout. */
  quorumConnectedInTimeouts: { p50: number; p90: number; p99: number; max: number };
}

/** One seed's figures out of its report. */
export function seedElections(seed: number, report: SimReport, wallMs: number, verdict: string): SeedElections {
  const splits = report.elections.splits ?? [];
  return {
    seed,
    verdict,
    elections: splits.length,
    quorumConnectedMs: splits.map((s) => s.quorumMs),
    noQuorumMs: splits.map((s) => s.noQuorumMs),
    spansMs: splits.map((s) => [s.fromMs, s.toMs]),
    commitP50Ms: report.commitLatency.p50Ms,
    modelFloorMs: report.commitLatency.modelFloorMs,
    leaderEgressPerWrite: report.consensus.leaderEgressPerWrite,
    virtualMs: report.run.virtualDurationMs,
    wallMs,
  };
}

/** Every election of every seed in one distribution. */
export function poolElections(seeds: readonly SeedElections[], electionTimeoutMs: number): PooledElections {
  const quorumConnected = summarize(seeds.flatMap((s) => s.quorumConnectedMs));
  const noQuorum = summarize(seeds.flatMap((s) => s.noQuorumMs));
  const t = (v: number): number => v / electionTimeoutMs;
  return {
    electionTimeoutMs,
    elections: quorumConnected.count,
    quorumConnected,
    noQuorum,
    quorumConnectedInTimeouts: { p50: t(quorumConnected.p50), p90: t(quorumConnected.p90), p99: t(quorumConnected.p99), max: t(quorumConnected.max) },
  };
}

interface ElectionSweepArgs {
  seeds: number;
  from: number;
  base: SimOptions;
  outPath?: string;
}

function parseArgs(argv: readonly string[]): ElectionSweepArgs {
  let seeds: number | undefined;
  let from = 1;
  let outPath: string | undefined;
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--seeds') seeds = countArg(a, argv[++i], MAX_SEEDS);
    else if (a === '--from') from = countArg(a, argv[++i], Number.MAX_SAFE_INTEGER);
    else if (a === '--out') {
      outPath = argv[++i];
      if (outPath === undefined || outPath.startsWith('--')) throw new SimArgsError('--out needs a file name');
    } else if (a === '--seed') throw new SimArgsError('--seed is not an option here (use --from and --seeds)');
    else rest.push(a);
  }
  if (seeds === undefined) throw new SimArgsError('--seeds is required');
  const defaults = [...(rest.includes('--faults') ? [] : ['--faults', 'all']), ...(rest.includes('--clouds') ? [] : ['--clouds', 'off'])];
  const parsed = parseSimArgs([...defaults, ...rest]);
  if (parsed.help || parsed.htmlPath !== undefined || parsed.outPath !== undefined) throw new SimArgsError('--help, --html and a sim --out are not options here');
  return { seeds, from, base: parsed.options, ...(outPath !== undefined ? { outPath } : {}) };
}

const fixed = (v: number, digits = 0): string => (Number.isFinite(v) ? v.toFixed(digits) : 'n/a');

async function main(argv: string[]): Promise<number> {
  let args: ElectionSweepArgs;
  try {
    args = parseArgs(argv);
  } catch (err) {
    if (!(err instanceof SimArgsError)) throw err;
    process.stderr.write(`sim:elections: ${err.message}\n${ELECTION_SWEEP_USAGE}\n`);
    return 2;
  }
  const results: SeedElections[] = [];
  for (let seed = args.from; seed < args.from + args.seeds; seed++) {
    const started = WALL_CLOCK.nowMs();
    const r = await runSimulation({ ...args.base, seed }, { checkerClock: WALL_CLOCK });
    const s = seedElections(seed, r.report, WALL_CLOCK.nowMs() - started, r.verdict);
    results.push(s);
    // Kept after every seed, so a sweep stopped early still leaves what it measured.
    if (args.outPath !== undefined) writeFileSync(args.outPath, `${JSON.stringify({ options: args.base, seeds: results }, null, 1)}\n`);
    const q = summarize(s.quorumConnectedMs);
    const floor = s.modelFloorMs === undefined ? 'n/a' : fixed(s.commitP50Ms / s.modelFloorMs, 2);
    process.stdout.write(
      `seed ${seed}: ${s.verdict}, ${s.elections} elections, quorum connected p50 ${fixed(q.p50)} / p90 ${fixed(q.p90)} / max ${fixed(q.max)} ms, ` +
        `commit p50 ${fixed(s.commitP50Ms)} ms (${floor}x modelled floor), ${fixed(s.virtualMs / s.wallMs, 1)}x real time\n`,
    );
  }
  const electionTimeoutMs = args.base.tickMs * args.base.electionTimeoutTicks;
  const pooled = poolElections(results, electionTimeoutMs);
  const q = pooled.quorumConnected;
  const nq = pooled.noQuorum;
  const inT = pooled.quorumConnectedInTimeouts;
  process.stdout.write(
    `pooled: ${pooled.elections} elections over ${results.length} seeds (election timeout ${electionTimeoutMs} ms)\n` +
      `  quorum connected  p50 ${fixed(q.p50)} / p90 ${fixed(q.p90)} / p99 ${fixed(q.p99)} / max ${fixed(q.max)} ms ` +
      `(${fixed(inT.p50, 2)} / ${fixed(inT.p90, 2)} / ${fixed(inT.p99, 2)} / ${fixed(inT.max, 2)} election timeouts)\n` +
      `  no quorum         p50 ${fixed(nq.p50)} / p90 ${fixed(nq.p90)} / p99 ${fixed(nq.p99)} / max ${fixed(nq.max)} ms\n`,
  );
  if (args.outPath !== undefined) writeFileSync(args.outPath, `${JSON.stringify({ options: args.base, seeds: results, pooled }, null, 1)}\n`);
  return results.some((s) => s.verdict === 'fail') ? 1 : 0;
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  process.exitCode = await main(process.argv.slice(2));
}
