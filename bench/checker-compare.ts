// `npm run bench:checker -- [--seeds 1-20] [--sites 20] [--rate 20/s] [--clients 32] [--duration 60s] [--reps 10] [--porcupine DIR]`
//
// Runs the simulator (all faults, clouds off) for each seed, takes the register history its
// linearizability checker judges — once with unknown outcomes resolved from the logs (what the
// simulator checks) and once with them left unknown (what a checker faces without the logs, as in
// test:partitions and test:powerloss) — and:
//  1. checks every history with sim/checkers/linearizability.ts at its default settings (the wall
//     clock budget of `stackraft sim`), counting verdicts: an 'inconclusive' is a finding;
//  2. times it (median of --reps checks per history, after untimed warm-up rounds over all of them);
//  3. with --porcupine DIR (a checkout of github.com/anishathalye/porcupine; Go needed), exports the
//     same histories, builds bench/porcupine/main.go against that checkout and times Porcupine on
//     them (same register model, partitioned by key), and prints the ratio of the summed medians.
// Only operations that constrain the register are exported (refused and failed writes and
// unanswered reads are left out for both checkers).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkLinearizability, type HistoryOp, type KeyVerdict, type RegisterValue } from '../sim/checkers/linearizability.js';
import { FAULT_KINDS } from '../sim/faults.js';
import { DEFAULT_SIM_OPTIONS, parseDuration, parseRate } from '../sim/harness/options.js';
import { runSimulation } from '../sim/harness/simulation.js';
import { WALL_CLOCK } from '../sim/main.js';

interface BenchArgs {
  seeds: number[];
  sites: number;
  ratePerSec: number;
  clients: number;
  durationMs: number;
  reps: number;
  porcupineDir: string | null;
}

interface CheckedHistory {
  name: string;
  variant: 'resolved' | 'unresolved';
  ops: HistoryOp[];
  verdict: KeyVerdict;
  steps: number;
  medianMs: number;
}

function parseArgs(argv: readonly string[]): BenchArgs {
  const args: BenchArgs = {
    seeds: range('1-20'),
    sites: 20,
    ratePerSec: DEFAULT_SIM_OPTIONS.ratePerSec,
    clients: DEFAULT_SIM_OPTIONS.clients,
    durationMs: 60_000,
    reps: 10,
    porcupineDir: null,
  };
  for (let i = 0; i < argv.length; i += 2) {
    const value = argv[i + 1];
    if (value === undefined) throw new Error(`${argv[i]} needs a value`);
    switch (argv[i]) {
      case '--seeds':
        args.seeds = range(value);
        break;
      case '--sites':
        args.sites = Number(value);
        break;
      case '--rate':
        args.ratePerSec = parseRate(value);
        break;
      case '--clients':
        args.clients = Number(value);
        break;
      case '--duration':
        args.durationMs = parseDuration(value);
        break;
      case '--reps':
        args.reps = Number(value);
        break;
      case '--porcupine':
        args.porcupineDir = value;
        break;
      default:
        throw new Error(`unknown flag ${argv[i]}`);
    }
  }
  return args;
}

function range(text: string): number[] {
  const m = /^(\d+)(?:-(\d+))?$/.exec(text);
  if (!m) throw new Error(`--seeds: expected N or A-B, got ${text}`);
  const lo = Number(m[1]);
  const hi = m[2] === undefined ? lo : Number(m[2]);
  return Array.from({ length: hi - lo + 1 }, (_, i) => lo + i);
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

async function historiesOf(seed: number, args: BenchArgs): Promise<{ resolved: HistoryOp[]; unresolved: HistoryOp[] }> {
  let got: { resolved: HistoryOp[]; unresolved: HistoryOp[] } | null = null;
  await runSimulation(
    { ...DEFAULT_SIM_OPTIONS, seed, sites: args.sites, durationMs: args.durationMs, ratePerSec: args.ratePerSec, clients: args.clients, faults: [...FAULT_KINDS], clouds: false },
    { onRegisterHistory: (resolved, unresolved) => (got = { resolved, unresolved }), checkerClock: WALL_CLOCK },
  );
  if (got === null) throw new Error(`seed ${seed}: the run produced no history`);
  return got;
}

/** Untimed checks of every history first, so the timed ones run optimised code (Go needs no warm-up). */
const WARMUP_ROUNDS = 3;

function timeOurs(name: string, variant: CheckedHistory['variant'], ops: HistoryOp[], reps: number): CheckedHistory {
  const first = checkLinearizability(ops, { clock: WALL_CLOCK });
  const times: number[] = [];
  for (let r = 0; r < reps; r++) {
    const started = performance.now();
    checkLinearizability(ops, { clock: WALL_CLOCK });
    times.push(performance.now() - started);
  }
  return { name, variant, ops, verdict: first.verdict, steps: first.steps, medianMs: median(times) };
}

/** Only operations that constrain a register (what the checker searches). */
function constraining(ops: readonly HistoryOp[]): HistoryOp[] {
  return ops.filter((o) => o.outcome !== 'refused' && !(o.kind === 'write' && o.outcome === 'fail') && !(o.kind === 'read' && o.outcome !== 'ok'));
}

function token(v: RegisterValue | undefined): string {
  return v === undefined ? '' : v === null ? '-' : typeof v === 'number' ? `n${v}` : `s${v}`;
}

function exportForPorcupine(h: CheckedHistory): unknown {
  return {
    name: `${h.name}/${h.variant}`,
    initial: token(null),
    ops: constraining(h.ops).map((o) => ({
      key: o.key,
      kind: o.kind,
      value: token(o.value),
      expected: token(o.expected),
      observed: token(o.observed),
      outcome: o.outcome,
      callNs: Math.round(o.invokeMs * 1e6),
      returnNs: o.outcome === 'unknown' ? -1 : Math.round(o.completeMs! * 1e6),
    })),
  };
}

function runPorcupine(dir: string, checked: CheckedHistory[], reps: number): Map<string, { verdict: string; medianMs: number }> {
  const work = mkdtempSync(join(tmpdir(), 'stackraft-porcupine-'));
  try {
    const here = dirname(fileURLToPath(import.meta.url));
    const script = join(here, '..', '..', 'bench', 'porcupine', 'build.sh');
    const binary = join(work, 'porcupine-bench');
    execFileSync('bash', [script, dir, binary], { stdio: 'inherit' });
    const file = join(work, 'histories.json');
    writeFileSync(file, JSON.stringify(checked.map(exportForPorcupine)));
    const out = execFileSync(binary, ['-reps', String(reps), file], { encoding: 'utf8', maxBuffer: 64 << 20 });
    const results = new Map<string, { verdict: string; medianMs: number }>();
    for (const line of out.trim().split('\n')) {
      const r = JSON.parse(line) as { name: string; verdict: string; medianMs: number };
      results.set(r.name, r);
    }
    return results;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const runs: Array<{ name: string; resolved: HistoryOp[]; unresolved: HistoryOp[] }> = [];
  for (const seed of args.seeds) {
    runs.push({ name: `seed${seed}`, ...(await historiesOf(seed, args)) });
    process.stderr.write(`seed ${seed}: ${runs[runs.length - 1].resolved.length} ops\n`);
  }
  for (let round = 0; round < WARMUP_ROUNDS; round++) {
    for (const r of runs) checkLinearizability(r.resolved) && checkLinearizability(r.unresolved);
  }
  const checked: CheckedHistory[] = [];
  for (const r of runs) {
    checked.push(timeOurs(r.name, 'resolved', r.resolved, args.reps), timeOurs(r.name, 'unresolved', r.unresolved, args.reps));
  }
  const porcupine = args.porcupineDir ? runPorcupine(args.porcupineDir, checked, args.reps) : null;
  console.log(`machine: ${cpus().length} cores, load average ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
  console.log(
    `${args.seeds.length} seeds (${args.seeds[0]}-${args.seeds[args.seeds.length - 1]}), ${args.sites} sites, all faults, ${args.durationMs / 1000} s, ${args.ratePerSec}/s, ${args.clients} clients; medians of ${args.reps} checks per history`,
  );
  for (const variant of ['resolved', 'unresolved'] as const) {
    const rows = checked.filter((c) => c.variant === variant);
    const verdicts = countBy(rows.map((r) => r.verdict));
    const ours = rows.reduce((s, r) => s + r.medianMs, 0);
    const ops = rows.reduce((s, r) => s + constraining(r.ops).length, 0);
    const unknown = rows.reduce((s, r) => s + r.ops.filter((o) => o.outcome === 'unknown').length, 0);
    let line = `${variant.padEnd(10)} ${rows.length} histories, ${ops} constraining ops (${unknown} unknown); stackraft: ${fmt(verdicts)}, ${ours.toFixed(1)} ms`;
    if (porcupine) {
      const theirs = rows.map((r) => porcupine.get(`${r.name}/${variant}`)!);
      const theirMs = theirs.reduce((s, r) => s + r.medianMs, 0);
      const disagree = rows.filter((r, i) => (r.verdict === 'pass') !== (theirs[i].verdict === 'Ok')).map((r) => r.name);
      line += `; porcupine: ${fmt(countBy(theirs.map((t) => t.verdict)))}, ${theirMs.toFixed(1)} ms; porcupine/stackraft ${(theirMs / ours).toFixed(2)}x`;
      line += disagree.length ? `; verdicts differ on ${disagree.join(', ')}` : '; verdicts agree';
    }
    console.log(line);
  }
  if (checked.some((c) => c.verdict === 'inconclusive')) process.exitCode = 1;
}

function countBy(values: string[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const v of values) m.set(v, (m.get(v) ?? 0) + 1);
  return m;
}

function fmt(counts: Map<string, number>): string {
  return [...counts].map(([k, n]) => `${n} ${k}`).join(', ');
}

await main();
