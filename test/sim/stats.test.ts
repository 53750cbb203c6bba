import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Histogram, TraceHash, fnv1a64Hex, percentile, percentiles, summarize } from '../../sim/stats.js';
import { Prng } from '../../sim/prng.js';

test('nearest-rank percentiles', () => {
  const values = [5, 1, 4, 2, 3, 10, 9, 8, 7, 6];
  assert.equal(percentile(values, 50), 5);
  assert.equal(percentile(values, 90), 9);
  assert.equal(percentile(values, 99), 10);
  assert.equal(percentile(values, 0), 1);
  assert.equal(percentile(values, 100), 10);
  assert.deepEqual(percentiles([3], [50, 99]), [3, 3]);
  assert.ok(Number.isNaN(percentile([], 50)));
  assert.throws(() => percentile(values, 101), /\[0, 100\]/);
  assert.deepEqual(values, [5, 1, 4, 2, 3, 10, 9, 8, 7, 6], 'input is not reordered');
});

test('summarize', () => {
  const s = summarize([2, 4, 6, 8]);
  assert.equal(s.count, 4);
  assert.equal(s.min, 2);
  assert.equal(s.max, 8);
  assert.equal(s.mean, 5);
  assert.equal(s.p50, 4);
  assert.equal(summarize([]).count, 0);
});

test('histogram percentiles are within its bucket precision of the exact ones', () => {
  const p = new Prng(1);
  const h = new Histogram();
  const values: number[] = [];
  for (let i = 0; i < 20_000; i++) {
    const v = p.logNormal(40, 0.8);
    values.push(v);
    h.record(v);
  }
  for (const q of [50, 90, 99]) {
    const exact = percentile(values, q);
    const approx = h.percentile(q);
    assert.ok(approx >= exact * 0.99 && approx <= exact * 1.05, `p${q}: histogram ${approx} vs exact ${exact}`);
  }
  assert.equal(h.count, 20_000);
  assert.ok(h.max >= h.percentile(99));
  const text = h.render(20);
  assert.match(text, /#/);
  assert.ok(text.split('\n').length >= 3);
  h.record(0);
  assert.equal(h.min, 0);
  assert.throws(() => h.record(-1), />= 0/);
  assert.throws(() => h.record(NaN), /finite/);
  assert.equal(new Histogram().render(), '(no values)');
});

test('byte-wise FNV-1a 64 matches the reference vectors', () => {
  assert.equal(fnv1a64Hex(''), 'cbf29ce484222325');
  assert.equal(fnv1a64Hex('a'), 'af63dc4c8601ec8c');
  assert.equal(fnv1a64Hex('foobar'), '85944171f73967e8');
});

test('trace hash: same events same hash; order, value and type all matter', () => {
  const run = (events: Array<[number, number, string]>): string => {
    const h = new TraceHash();
    for (const [t, site, kind] of events) {
      h.mixNumber(t);
      h.mixU32(site);
      h.mixString(kind);
    }
    return h.hex();
  };
  const base: Array<[number, number, string]> = [
    [0.5, 1, 'append'],
    [1.25, 2, 'vote'],
    [3, 0, 'heartbeat'],
  ];
  assert.equal(run(base), run(base.map((e) => [...e] as [number, number, string])));
  assert.match(run(base), /^[0-9a-f]{16}$/);
  assert.notEqual(run(base), run([base[1], base[0], base[2]]));
  assert.notEqual(run(base), run([[0.5000001, 1, 'append'], base[1], base[2]]));
  assert.notEqual(run(base), run([base[0], base[1], [3, 0, 'heartbeatResp']]));
  const h = new TraceHash();
  h.mixU32(1);
  h.mixNumber(2);
  assert.equal(h.count, 2);
});
