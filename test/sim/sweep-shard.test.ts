// Sharded sweeps: slices cut a seed range exactly, the result files round-trip, and merging the
// slices of a sweep gives what one unsharded sweep of the same range gives (wall times aside).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FAULT_KINDS } from '../../sim/faults.js';
import { DEFAULT_SIM_OPTIONS, SimArgsError, type SimOptions } from '../../sim/harness/options.js';
import { sweep, parseSweepArgs } from '../../sim/sweep.js';
import {
  SweepResultError,
  WHOLE_RANGE,
  mergeSweepResults,
  parseShard,
  parseSweepResult,
  shardSeeds,
  sweepResultFile,
  type SweepResultFile,
} from '../../sim/sweep-shard.js';

const SWEEP_JS = fileURLToPath(new URL('../../sim/sweep.js', import.meta.url));
const BASE: SimOptions = { ...DEFAULT_SIM_OPTIONS, sites: 3, voters: 3, durationMs: 10_000, faults: [...FAULT_KINDS], clouds: false };

test('slices are contiguous, differ in size by at most one and together are exactly the range', () => {
  for (const [from, seeds] of [[1, 10], [7, 3], [1, 1000], [5, 0]] as const) {
    for (const count of [1, 2, 3, 4, 7, 16]) {
      let next = from;
      const sizes: number[] = [];
      for (let index = 1; index <= count; index++) {
        const s = shardSeeds({ from, seeds }, { index, count });
        assert.equal(s.from, next, `slice ${index}/${count} of ${from}+${seeds} starts where the previous ended`);
        next += s.seeds;
        sizes.push(s.seeds);
      }
      assert.equal(next, from + seeds);
      assert.ok(Math.max(...sizes) - Math.min(...sizes) <= 1, `sizes ${sizes.join(',')}`);
    }
  }
  assert.deepEqual(shardSeeds({ from: 1, seeds: 10 }, WHOLE_RANGE), { from: 1, seeds: 10 });
});

test('--shard takes I/N with 1 <= I <= N and refuses anything else', () => {
  assert.deepEqual(parseShard('3/8'), { index: 3, count: 8 });
  assert.deepEqual(parseShard('1/1'), { index: 1, count: 1 });
  for (const bad of ['0/4', '5/4', '1/0', '2', '1/2/3', '-1/4', 'a/b', '', undefined]) assert.throws(() => parseShard(bad), SimArgsError, String(bad));
  assert.deepEqual(parseSweepArgs(['--seeds', '10', '--shard', '2/5', '--out', 'x.json']).shard, { index: 2, count: 5 });
  assert.throws(() => parseSweepArgs(['--seeds', '10', '--shard', '6/5']), /I must be from 1 to N/);
  assert.throws(() => parseSweepArgs(['--seeds', '10', '--out']), /needs a file name/);
});

test('three slices merged equal one unsharded sweep of the same seeds', { timeout: 120_000 }, async () => {
  const range = { from: 3, seeds: 7 };
  const whole = await sweep({ ...range, jobs: 2, base: BASE });
  const wholeFile = sweepResultFile(BASE, range, WHOLE_RANGE, whole, 1);
  const slices: SweepResultFile[] = [];
  for (const index of [3, 1, 2]) {
    const shard = { index, count: 3 };
    const summary = await sweep({ ...range, shard, jobs: 2, base: BASE });
    const seeds = shardSeeds(range, shard);
    assert.deepEqual(summary.results.map((r) => r.seed), Array.from({ length: seeds.seeds }, (_, i) => seeds.from + i));
    // Through JSON, as the files travel between machines.
    slices.push(parseSweepResult(JSON.stringify(sweepResultFile(BASE, range, shard, summary, 10 * index)), `slice ${index}`));
  }
  const merged = mergeSweepResults(slices);
  assert.deepEqual({ ...merged, wallMs: [] }, { ...wholeFile, wallMs: [] });
  assert.deepEqual(merged.wallMs, [10, 20, 30]);
  assert.equal(merged.results.length, 7);
  assert.ok(merged.results.every((r) => /^[0-9a-f]{16}$/.test(r.traceHash)));
});

test('a merge refuses a missing, duplicated or foreign slice, and a damaged file', () => {
  const range = { from: 1, seeds: 4 };
  const slice = (index: number, count = 2, options: SimOptions = BASE): SweepResultFile => {
    const seeds = shardSeeds(range, { index, count });
    const results = Array.from({ length: seeds.seeds }, (_, i) => ({ seed: seeds.from + i, verdict: 'pass' as const, failures: [], failingChecks: [], traceHash: '0123456789abcdef', events: 10, replay: 'x' }));
    return sweepResultFile(options, range, { index, count }, { results, passed: results.length, failed: 0, inconclusive: 0 }, 1);
  };
  assert.equal(mergeSweepResults([slice(2), slice(1)]).results.length, 4);
  assert.throws(() => mergeSweepResults([slice(1)]), /slices missing: 2 of 2/);
  assert.throws(() => mergeSweepResults([slice(1), slice(1), slice(2)]), /given twice/);
  assert.throws(() => mergeSweepResults([slice(1), slice(2, 3)]), /do not mix/);
  assert.throws(() => mergeSweepResults([slice(1), slice(2, 2, { ...BASE, sites: 4, voters: 4 })]), /other options/);
  assert.throws(() => mergeSweepResults([]), /nothing to merge/);
  const text = JSON.stringify(slice(1));
  assert.equal(parseSweepResult(text, 'f').results.length, 2);
  const damaged: Array<[string, RegExp]> = [
    ['{', /f: not JSON/],
    ['[]', /format is undefined/],
    [text.replace('"version":1', '"version":2'), /version 2 is not 1/],
    [text.replace('"passed":2', '"passed":1'), /do not match the results/],
    [text.replace('"seed":2', '"seed":3'), /do not hold exactly seeds 1..2/],
    [text.replace('"verdict":"pass"', '"verdict":"maybe"'), /results\[0\] is not a seed result/],
    [text.replace('"sites":3', '"sites":0'), /options: invalid simulation options/],
    [text.replace('"index":1', '"index":3'), /shard must be/],
  ];
  for (const [bad, error] of damaged) assert.throws(() => parseSweepResult(bad, 'f'), (e: unknown) => e instanceof SweepResultError && error.test(e.message), bad.slice(0, 80));
});

test('the command line: two slices written by --shard/--out, merged by --merge', { timeout: 120_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'stackraft-sweep-'));
  try {
    const args = ['--from', '11', '--seeds', '3', '--sites', '3', '--duration', '5s', '--clouds', 'off', '--jobs', '1'];
    for (const index of [1, 2]) {
      const r = spawnSync(process.execPath, [SWEEP_JS, ...args, '--shard', `${index}/2`, '--out', join(dir, `slice-${index}.json`)], { encoding: 'utf8', timeout: 100_000 });
      assert.ok(r.status === 0 || r.status === 1, r.stderr);
      assert.match(r.stdout, new RegExp(`slice ${index}/2 of 11\\.\\.13`));
    }
    const m = spawnSync(process.execPath, [SWEEP_JS, '--merge', join(dir, 'slice-2.json'), join(dir, 'slice-1.json'), '--out', join(dir, 'merged.json')], { encoding: 'utf8', timeout: 30_000 });
    assert.ok(m.status === 0 || m.status === 1, m.stderr);
    assert.match(m.stdout, /3 seeds \(11\.\.13\), 3 sites, 5 s each, faults all: \d+ passed, \d+ failed, \d+ inconclusive; merged from 2 slice\(s\)/);
    const merged = parseSweepResult(readFileSync(join(dir, 'merged.json'), 'utf8'), 'merged.json');
    assert.deepEqual(merged.results.map((r) => r.seed), [11, 12, 13]);
    assert.equal(m.status, merged.failed > 0 ? 1 : 0);
    const missing = spawnSync(process.execPath, [SWEEP_JS, '--merge', join(dir, 'slice-1.json')], { encoding: 'utf8', timeout: 30_000 });
    assert.equal(missing.status, 2);
    assert.match(missing.stderr, /slices missing: 2 of 2/);
    writeFileSync(join(dir, 'junk.json'), 'not json');
    const junk = spawnSync(process.execPath, [SWEEP_JS, '--merge', join(dir, 'junk.json')], { encoding: 'utf8', timeout: 30_000 });
    assert.equal(junk.status, 2);
    assert.match(junk.stderr, /junk\.json: not JSON/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
