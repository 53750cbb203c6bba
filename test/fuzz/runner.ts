// Runs one target for a number of inputs: generation, mutation, outcome-guided pool (an input that
// makes the code answer in a way not seen before joins the pool and is mutated further), counts by
// rejection kind, timing, and findings. A finding is an input the code under test threw on
// (anything but its own answer), or one that took longer than the per-input bound.
import { createHash } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { Prng } from '../../sim/prng.js';
import { Mutator } from './mutate.js';
import { signatureOf, type FuzzTarget, type Outcome } from './target.js';

/** An input slower than this is a finding: a decoder must answer in bounded time. */
export const PER_INPUT_LIMIT_MS = 2_000;
/** Inputs mutated further; the oldest-first replacement keeps it fresh. */
const MAX_POOL = 2_000;
/** Distinct outcome signatures remembered (each with its smallest input, if small). */
const MAX_SIGNATURES = 5_000;
const MAX_REMEMBERED_INPUT_BYTES = 4096;
/** Findings kept with their input; later ones are only counted. */
const MAX_FINDINGS = 10;

export type FindingKind = 'crash' | 'hang' | 'allocation';

export interface Finding {
  kind: FindingKind;
  message: string;
  inputHex: string;
  inputIndex: number;
}

export interface TargetReport {
  target: string;
  covers: string;
  inputs: number;
  accepted: number;
  rejected: number;
  rejectionsByKind: Record<string, number>;
  signatures: number;
  findings: Finding[];
  findingCount: number;
  slowestMs: number;
  /** Inputs over the per-input limit once that were fast when run again (machine stalls). */
  slowOnce: number;
  elapsedMs: number;
  /** Smallest input per outcome signature (for the corpus), with its signature. */
  interesting: Array<{ signature: string; inputHex: string }>;
}

export interface RunOptions {
  inputs: number;
  seed: string;
  /** Called before each input runs (the worker copies it where the watchdog can read it). */
  onInput?: (index: number, input: Uint8Array) => void;
  /** Extra starting inputs (the saved corpus). */
  corpus?: Uint8Array[];
  /** Called every `progressEvery` inputs with the figures so far (a long run cut short still has them). */
  onProgress?: (report: TargetReport) => void;
  progressEvery?: number;
}

export async function runTarget(target: FuzzTarget, options: RunOptions): Promise<TargetReport> {
  const rng = new Prng(`${options.seed}/${target.name}`);
  const mutator = new Mutator(rng.fork('mutate'), target.dictionary, target.maxNesting);
  const pool: Uint8Array[] = [...target.seeds(), ...(options.corpus ?? [])];
  if (pool.length === 0) throw new Error(`fuzz target ${target.name} has no seeds`);
  let poolNext = 0;
  const report: TargetReport = {
    target: target.name,
    covers: target.covers,
    inputs: 0,
    accepted: 0,
    rejected: 0,
    rejectionsByKind: {},
    signatures: 0,
    findings: [],
    findingCount: 0,
    slowestMs: 0,
    slowOnce: 0,
    elapsedMs: 0,
    interesting: [],
  };
  const smallest = new Map<string, Uint8Array | null>();
  const findingKeys = new Set<string>();
  const started = performance.now();

  const addFinding = (kind: FindingKind, message: string, input: Uint8Array, index: number) => {
    report.findingCount++;
    const key = `${kind}|${message.replace(/\d+/g, '#').slice(0, 200)}`;
    if (findingKeys.has(key) || report.findings.length >= MAX_FINDINGS) return;
    findingKeys.add(key);
    report.findings.push({ kind, message, inputHex: Buffer.from(input).toString('hex'), inputIndex: index });
  };

  for (let i = 0; i < options.inputs; i++) {
    if (options.onProgress && options.progressEvery && i > 0 && i % options.progressEvery === 0) {
      options.onProgress({ ...report, rejectionsByKind: { ...report.rejectionsByKind }, findings: [...report.findings], signatures: smallest.size, elapsedMs: performance.now() - started, interesting: [] });
    }
    const input = nextInput(target, rng, mutator, pool);
    options.onInput?.(i, input);
    const t0 = performance.now();
    let outcome: Outcome | undefined;
    try {
      const result = target.run(input);
      outcome = result instanceof Promise ? await result : result;
    } catch (error) {
      addFinding('crash', describeError(error), input, i);
    }
    const ms = performance.now() - t0;
    if (ms > report.slowestMs) report.slowestMs = ms;
    if (ms > PER_INPUT_LIMIT_MS) {
      // A GC pause or a busy neighbour can stall one input: it is a finding only if it is slow again.
      const again = await timeRun(target, input);
      if (again > PER_INPUT_LIMIT_MS) addFinding('hang', `input took ${ms.toFixed(0)} ms, then ${again.toFixed(0)} ms (limit ${PER_INPUT_LIMIT_MS} ms)`, input, i);
      else report.slowOnce++;
    }
    report.inputs++;
    if (outcome === undefined) continue;
    if (outcome.status === 'accepted') report.accepted++;
    else {
      report.rejected++;
      report.rejectionsByKind[outcome.kind] = (report.rejectionsByKind[outcome.kind] ?? 0) + 1;
    }
    const signature = signatureOf(outcome);
    const known = smallest.get(signature);
    if (known === undefined) {
      if (smallest.size < MAX_SIGNATURES) smallest.set(signature, input.length <= MAX_REMEMBERED_INPUT_BYTES ? input : null);
      if (pool.length < MAX_POOL) pool.push(input);
      else pool[(poolNext++ % (MAX_POOL - 1)) + 1] = input;
    } else if (known !== null && input.length < known.length) {
      smallest.set(signature, input);
    }
  }
  report.elapsedMs = performance.now() - started;
  report.signatures = smallest.size;
  for (const [signature, input] of smallest) {
    if (input !== null) report.interesting.push({ signature, inputHex: Buffer.from(input).toString('hex') });
  }
  return report;
}

/** Four in ten inputs come from the grammar, the rest are byte mutations of pool inputs (some of fresh grammar output). */
function nextInput(target: FuzzTarget, rng: Prng, mutator: Mutator, pool: Uint8Array[]): Uint8Array {
  const choice = rng.int(10);
  if (choice < 4) return generated(target, rng, mutator, pool);
  const base = choice === 9 ? generated(target, rng, mutator, pool) : rng.pick(pool);
  return mutator.bytes(base, rng.pick(pool), target.maxInputBytes);
}

/** The grammar's output, capped; a generator that trips on its own mutated tree falls back to a pool input. */
function generated(target: FuzzTarget, rng: Prng, mutator: Mutator, pool: Uint8Array[]): Uint8Array {
  let input: Uint8Array;
  try {
    input = target.generate(rng, mutator);
  } catch {
    input = rng.pick(pool);
  }
  return input.length > target.maxInputBytes ? input.subarray(0, target.maxInputBytes) : input;
}

async function timeRun(target: FuzzTarget, input: Uint8Array): Promise<number> {
  const t0 = performance.now();
  try {
    await target.run(input);
  } catch {
    // already reported
  }
  return performance.now() - t0;
}

function describeError(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}\n${(error.stack ?? '').split('\n').slice(1, 8).join('\n')}`;
  return `non-Error thrown: ${String(error)}`;
}

export function corpusFileName(input: Uint8Array): string {
  return `${createHash('sha256').update(input).digest('hex').slice(0, 16)}.bin`;
}
