// `npm run fuzz`: every decoder that takes bytes from outside, a million inputs each by default,
// each target in a worker with a bounded heap and a hang watchdog. Prints inputs, outcomes, every
// rejection kind with its count, and the findings (with the input, hex); exits 1 on any finding.
//
//   npm run fuzz -- [--inputs N] [--seed S] [--targets frames,admin,...] [--jobs J] [--save-corpus] [--no-corpus]
//   npm run fuzz -- --replay TARGET HEX      (one input, in process, with its stack)
import { saveCorpus } from './corpus.js';
import type { TargetReport } from './runner.js';
import { fuzzInWorker } from './supervise.js';
import { FUZZ_TARGETS, targetNamed } from './targets/index.js';
import { performance } from 'node:perf_hooks';

interface Args {
  inputs: number;
  seed: string;
  targets: string[];
  jobs: number;
  saveCorpus: boolean;
  useCorpus: boolean;
  /** Print the figures so far every this many inputs (0: only at the end). */
  progressEvery: number;
}

function parseArgs(argv: string[]): Args {
  const args: Args = { inputs: 1_000_000, seed: '1', targets: FUZZ_TARGETS.map((t) => t.name), jobs: 1, saveCorpus: false, useCorpus: true, progressEvery: 100_000 };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${flag} needs a value`);
      return v;
    };
    if (flag === '--inputs') args.inputs = Number(value());
    else if (flag === '--seed') args.seed = value();
    else if (flag === '--targets') args.targets = value().split(',');
    else if (flag === '--jobs') args.jobs = Number(value());
    else if (flag === '--save-corpus') args.saveCorpus = true;
    else if (flag === '--no-corpus') args.useCorpus = false;
    else if (flag === '--progress') args.progressEvery = Number(value());
    else if (flag === '--help') {
      console.log('usage: npm run fuzz -- [--inputs N] [--seed S] [--targets a,b] [--jobs J] [--save-corpus] [--no-corpus] [--progress N (default 100000, 0 = off)]');
      console.log(`targets: ${FUZZ_TARGETS.map((t) => t.name).join(', ')}`);
      process.exit(0);
    } else throw new Error(`unknown option ${flag}`);
  }
  if (!Number.isSafeInteger(args.inputs) || args.inputs < 1) throw new Error('--inputs: a positive integer');
  if (!Number.isSafeInteger(args.jobs) || args.jobs < 1) throw new Error('--jobs: a positive integer');
  if (!Number.isSafeInteger(args.progressEvery) || args.progressEvery < 0) throw new Error('--progress: a non-negative integer');
  return args;
}

export function printReport(report: TargetReport, stage = ''): void {
  const rate = report.inputs / Math.max(report.elapsedMs / 1000, 1e-3);
  console.log(
    `${report.target.padEnd(9)}${stage ? ` (${stage})` : ''} inputs ${report.inputs}  accepted ${report.accepted}  rejected ${report.rejected}  ` +
      `distinct outcomes ${report.signatures}  findings ${report.findingCount}  slowest ${report.slowestMs.toFixed(1)} ms (${report.slowOnce} slow once, fast on rerun)  ` +
      `${(report.elapsedMs / 1000).toFixed(1)} s (${rate.toFixed(0)}/s)`,
  );
  const kinds = Object.entries(report.rejectionsByKind).sort(([, a], [, b]) => b - a);
  console.log(`          rejections by kind: ${kinds.map(([k, n]) => `${k} ${n}`).join(', ') || 'none'}`);
  for (const finding of report.findings) {
    console.log(`  FINDING ${finding.kind} at input ${finding.inputIndex}: ${finding.message}`);
    console.log(`    input (hex, ${finding.inputHex.length / 2} bytes): ${finding.inputHex.slice(0, 2000)}`);
  }
}

/** Runs one input (hex) through a target in this process, with full stacks: how a finding is investigated. */
async function replay(targetName: string, hex: string): Promise<void> {
  const target = targetNamed(targetName);
  const started = performance.now();
  try {
    const outcome = await target.run(new Uint8Array(Buffer.from(hex, 'hex')));
    console.log(`${targetName}: ${JSON.stringify(outcome)} in ${(performance.now() - started).toFixed(1)} ms`);
  } catch (error) {
    console.log(`${targetName}: THROWS after ${(performance.now() - started).toFixed(1)} ms`);
    console.log(error);
    process.exitCode = 1;
  }
}

async function main(): Promise<void> {
  const replayAt = process.argv.indexOf('--replay');
  if (replayAt >= 0) return replay(process.argv[replayAt + 1] ?? '', process.argv[replayAt + 2] ?? '');
  const args = parseArgs(process.argv.slice(2));
  console.log(`fuzzing ${args.targets.join(', ')}: ${args.inputs} inputs each, seed ${args.seed}, ${args.jobs} at a time`);
  const queue = [...args.targets];
  const reports: TargetReport[] = [];
  const started = Date.now();
  const runOne = async (): Promise<void> => {
    for (let name = queue.shift(); name !== undefined; name = queue.shift()) {
      const report = await fuzzInWorker(name, {
        inputs: args.inputs,
        seed: args.seed,
        useCorpus: args.useCorpus,
        progressEvery: args.progressEvery,
        onProgress: (partial) => printReport(partial, 'so far'),
      });
      printReport(report);
      if (args.saveCorpus) console.log(`          corpus: ${saveCorpus(report)} inputs added`);
      reports.push(report);
    }
  };
  await Promise.all(Array.from({ length: args.jobs }, runOne));
  const findings = reports.reduce((n, r) => n + r.findingCount, 0);
  const inputs = reports.reduce((n, r) => n + r.inputs, 0);
  console.log(`total: ${inputs} inputs over ${reports.length} targets in ${((Date.now() - started) / 1000).toFixed(0)} s; findings ${findings}`);
  process.exitCode = findings === 0 ? 0 : 1;
}

await main();
