// Sweeps that outgrow one machine: `--shard I/N` runs the I-th of N contiguous slices of a seed range
// and writes a result file; `--merge` combines the files of all N slices into the result the whole
// range would have given on one machine. Pure: the caller reads and writes the files.
import { FAULT_KINDS } from './faults.js';
import { SimArgsError, validateSimOptions, type SimOptions } from './harness/options.js';
import type { SeedResult, SweepSummary } from './sweep.js';

export const SWEEP_RESULT_FORMAT = 'stackraft-sim-sweep';
export const SWEEP_RESULT_VERSION = 1;
/** Slices one range may be cut into (a Kubernetes Indexed Job allows up to 100,000 completions). */
export const MAX_SHARDS = 100_000;
/** Result files one merge reads (one per slice). */
export const MAX_MERGE_FILES = MAX_SHARDS;

/** The I-th (1-based) of N slices. */
export interface Shard {
  index: number;
  count: number;
}

export const WHOLE_RANGE: Readonly<Shard> = Object.freeze({ index: 1, count: 1 });

/** "3/8" -> { index: 3, count: 8 }; the index runs from 1 to the count. */
export function parseShard(text: string | undefined): Shard {
  const m = /^(\d+)\/(\d+)$/.exec(text?.trim() ?? '');
  if (!m) throw new SimArgsError(`--shard expects I/N (the I-th of N slices, 1 <= I <= N), got ${text ?? 'nothing'}`);
  const index = Number(m[1]);
  const count = Number(m[2]);
  if (count < 1 || count > MAX_SHARDS) throw new SimArgsError(`--shard: N must be from 1 to ${MAX_SHARDS}, got ${count}`);
  if (index < 1 || index > count) throw new SimArgsError(`--shard: I must be from 1 to N (${count}), got ${index}`);
  return { index, count };
}

export interface SeedRange {
  /** First seed. */
  from: number;
  /** Number of seeds. */
  seeds: number;
}

/**
 * The seeds of one slice: contiguous, sizes differing by at most one, together exactly the range.
 * A slice may be empty when there are more slices than seeds.
 */
export function shardSeeds(range: SeedRange, shard: Shard): SeedRange {
  const start = Math.floor((range.seeds * (shard.index - 1)) / shard.count);
  const end = Math.floor((range.seeds * shard.index) / shard.count);
  return { from: range.from + start, seeds: end - start };
}

/** What one sweep (a slice, the whole range, or a merge of slices) writes with `--out`. */
export interface SweepResultFile {
  format: typeof SWEEP_RESULT_FORMAT;
  version: typeof SWEEP_RESULT_VERSION;
  /** The options of every run (each seed replaces `seed`). */
  options: SimOptions;
  /** The whole range the slices cut. */
  range: SeedRange;
  /** Which slice this file holds (1/1 for an unsharded sweep and for a merge). */
  shard: Shard;
  /** The seeds this file holds results for. */
  seeds: SeedRange;
  results: SeedResult[];
  passed: number;
  failed: number;
  inconclusive: number;
  /** Wall time of each slice (one entry unless merged), for the report only. */
  wallMs: number[];
}

export function sweepResultFile(options: SimOptions, range: SeedRange, shard: Shard, summary: SweepSummary, wallMs: number): SweepResultFile {
  return {
    format: SWEEP_RESULT_FORMAT,
    version: SWEEP_RESULT_VERSION,
    options,
    range,
    shard,
    seeds: shardSeeds(range, shard),
    results: summary.results,
    passed: summary.passed,
    failed: summary.failed,
    inconclusive: summary.inconclusive,
    wallMs: [wallMs],
  };
}

export class SweepResultError extends Error {
  override name = 'SweepResultError';
}

/** Reads one result file's JSON; every defect is a SweepResultError naming the file and the field. */
export function parseSweepResult(text: string, name: string): SweepResultFile {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new SweepResultError(`${name}: not JSON (${(err as Error).message})`);
  }
  const bad = (what: string): never => {
    throw new SweepResultError(`${name}: ${what}`);
  };
  if (typeof raw !== 'object' || raw === null) return bad('not a JSON object');
  const f = raw as Partial<Record<keyof SweepResultFile, unknown>>;
  if (f.format !== SWEEP_RESULT_FORMAT) return bad(`format is ${JSON.stringify(f.format)}, expected "${SWEEP_RESULT_FORMAT}"`);
  if (f.version !== SWEEP_RESULT_VERSION) return bad(`version ${JSON.stringify(f.version)} is not ${SWEEP_RESULT_VERSION} (written by another release?)`);
  const options = f.options as SimOptions;
  try {
    if (typeof options !== 'object' || options === null || !Array.isArray(options.faults) || !options.faults.every((k) => (FAULT_KINDS as readonly string[]).includes(k))) throw new RangeError('options.faults is not a list of fault kinds');
    validateSimOptions(options);
  } catch (err) {
    return bad(`options: ${(err as Error).message}`);
  }
  const range = checkRange(f.range, 'range', bad);
  const seeds = checkRange(f.seeds, 'seeds', bad);
  const shard = f.shard as Shard;
  if (typeof shard !== 'object' || shard === null || !isCount(shard.count, 1, MAX_SHARDS) || !isCount(shard.index, 1, shard.count)) return bad('shard must be { index, count } with 1 <= index <= count');
  const expected = shardSeeds(range, shard);
  if (seeds.from !== expected.from || seeds.seeds !== expected.seeds) return bad(`seeds ${describe(seeds)} are not slice ${shard.index}/${shard.count} of ${describe(range)}`);
  if (!Array.isArray(f.results)) return bad('results is not a list');
  const results = f.results.map((r, i) => checkSeedResult(r, `results[${i}]`, bad));
  const got = results.map((r) => r.seed);
  const want = Array.from({ length: seeds.seeds }, (_, i) => seeds.from + i);
  if (got.length !== want.length || got.some((s, i) => s !== want[i])) return bad(`results do not hold exactly seeds ${describe(seeds)} in order`);
  const counts = countVerdicts(results);
  if (f.passed !== counts.passed || f.failed !== counts.failed || f.inconclusive !== counts.inconclusive) return bad('passed/failed/inconclusive do not match the results');
  if (!Array.isArray(f.wallMs) || !f.wallMs.every((w) => typeof w === 'number' && w >= 0)) return bad('wallMs is not a list of times');
  return { format: SWEEP_RESULT_FORMAT, version: SWEEP_RESULT_VERSION, options, range, shard, seeds, results, ...counts, wallMs: f.wallMs as number[] };
}

/**
 * Combines the files of every slice of one sweep: same options, same range, same N, each slice
 * exactly once. The merged file is what one unsharded sweep of the range writes (but its wall times).
 */
export function mergeSweepResults(files: readonly SweepResultFile[]): SweepResultFile {
  if (files.length === 0) throw new SweepResultError('nothing to merge');
  if (files.length > MAX_MERGE_FILES) throw new SweepResultError(`at most ${MAX_MERGE_FILES} files per merge`);
  const first = files[0];
  const optionsText = JSON.stringify(first.options);
  for (const f of files) {
    if (JSON.stringify(f.options) !== optionsText) throw new SweepResultError(`slice ${f.shard.index}/${f.shard.count} ran other options than slice ${first.shard.index}/${first.shard.count}`);
    if (f.range.from !== first.range.from || f.range.seeds !== first.range.seeds) throw new SweepResultError(`slice ${f.shard.index}/${f.shard.count} cut range ${describe(f.range)}, slice ${first.shard.index}/${first.shard.count} cut ${describe(first.range)}`);
    if (f.shard.count !== first.shard.count) throw new SweepResultError(`slices of ${f.shard.count} and of ${first.shard.count} do not mix`);
  }
  const byIndex = new Map<number, SweepResultFile>();
  for (const f of files) {
    if (byIndex.has(f.shard.index)) throw new SweepResultError(`slice ${f.shard.index}/${f.shard.count} is given twice`);
    byIndex.set(f.shard.index, f);
  }
  const missing = Array.from({ length: first.shard.count }, (_, i) => i + 1).filter((i) => !byIndex.has(i));
  if (missing.length > 0) throw new SweepResultError(`slices missing: ${missing.slice(0, 20).join(', ')}${missing.length > 20 ? ', ...' : ''} of ${first.shard.count}`);
  const ordered = [...byIndex.keys()].sort((a, b) => a - b).map((i) => byIndex.get(i)!);
  const results = ordered.flatMap((f) => f.results);
  return {
    format: SWEEP_RESULT_FORMAT,
    version: SWEEP_RESULT_VERSION,
    options: first.options,
    range: first.range,
    shard: { ...WHOLE_RANGE },
    seeds: first.range,
    results,
    ...countVerdicts(results),
    wallMs: ordered.flatMap((f) => f.wallMs),
  };
}

export function countVerdicts(results: readonly SeedResult[]): Pick<SweepSummary, 'passed' | 'failed' | 'inconclusive'> {
  let passed = 0;
  let failed = 0;
  let inconclusive = 0;
  for (const r of results) {
    if (r.verdict === 'pass') passed++;
    else if (r.verdict === 'fail') failed++;
    else inconclusive++;
  }
  return { passed, failed, inconclusive };
}

function isCount(v: unknown, min: number, max: number): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= min && v <= max;
}

function checkRange(v: unknown, field: string, bad: (what: string) => never): SeedRange {
  const r = v as SeedRange;
  if (typeof r !== 'object' || r === null || !isCount(r.from, 0, Number.MAX_SAFE_INTEGER) || !isCount(r.seeds, 0, Number.MAX_SAFE_INTEGER)) return bad(`${field} must be { from, seeds } with non-negative integers`);
  return { from: r.from, seeds: r.seeds };
}

function checkSeedResult(v: unknown, field: string, bad: (what: string) => never): SeedResult {
  const r = v as SeedResult;
  const strings = (x: unknown): boolean => Array.isArray(x) && x.every((s) => typeof s === 'string');
  if (
    typeof r !== 'object' ||
    r === null ||
    !isCount(r.seed, 0, Number.MAX_SAFE_INTEGER) ||
    !['pass', 'fail', 'inconclusive'].includes(r.verdict) ||
    !strings(r.failures) ||
    !strings(r.failingChecks) ||
    typeof r.traceHash !== 'string' ||
    !isCount(r.events, 0, Number.MAX_SAFE_INTEGER) ||
    typeof r.replay !== 'string' ||
    (r.error !== undefined && typeof r.error !== 'string')
  ) {
    return bad(`${field} is not a seed result { seed, verdict, failures, failingChecks, traceHash, events, replay }`);
  }
  return r;
}

function describe(r: SeedRange): string {
  return r.seeds === 0 ? `(none from ${r.from})` : `${r.from}..${r.from + r.seeds - 1}`;
}
