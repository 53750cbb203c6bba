import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Prng, hashToWords, parseSeed } from '../../sim/prng.js';

function draws(p: Prng, n: number): number[] {
  return Array.from({ length: n }, () => p.next());
}

test('the same seed gives the same stream; different seeds differ', () => {
  assert.deepEqual(draws(new Prng(42), 50), draws(new Prng(42), 50));
  assert.deepEqual(draws(new Prng('run-a'), 20), draws(new Prng('run-a'), 20));
  assert.notDeepEqual(draws(new Prng(42), 20), draws(new Prng(43), 20));
  // A number seed and its decimal string are the same seed (the CLI prints one, parses the other).
  assert.deepEqual(draws(new Prng(7), 10), draws(new Prng('7'), 10));
  for (const v of draws(new Prng(1), 1000)) assert.ok(Number.isInteger(v) && v >= 0 && v < 2 ** 32);
});

test('fork depends on the seed and label only, not on draws made before', () => {
  const a = new Prng(42);
  const b = new Prng(42);
  draws(b, 1000); // the workload drew a lot on b before forking
  assert.deepEqual(draws(a.fork('faults'), 20), draws(b.fork('faults'), 20));
  assert.notDeepEqual(draws(a.fork('faults'), 20), draws(a.fork('workload'), 20));
  assert.notDeepEqual(draws(a.fork('x'), 20), draws(a, 20));
  assert.equal(a.fork('wan').fork('jitter').path, '42/wan/jitter');
  assert.throws(() => a.fork(''), /non-empty/);
});

test('int, intBetween, uniform, pick and shuffle stay in range and cover it', () => {
  const p = new Prng(5);
  const counts = new Array(7).fill(0);
  for (let i = 0; i < 7000; i++) counts[p.int(7)]++;
  for (const c of counts) assert.ok(c > 850 && c < 1150, `bucket count ${c} far from 1000`);
  for (let i = 0; i < 1000; i++) {
    const v = p.intBetween(-3, 3);
    assert.ok(Number.isInteger(v) && v >= -3 && v <= 3);
    const u = p.uniform(2, 5);
    assert.ok(u >= 2 && u < 5);
  }
  assert.equal(p.int(1), 0);
  const items = ['a', 'b', 'c'];
  assert.ok(items.includes(p.pick(items)));
  const shuffled = p.shuffle([1, 2, 3, 4, 5, 6, 7, 8]);
  assert.deepEqual([...shuffled].sort(), [1, 2, 3, 4, 5, 6, 7, 8]);
});

test('chance(p <= 0) and chance(p >= 1) do not consume the stream', () => {
  const a = new Prng(9);
  const b = new Prng(9);
  assert.equal(a.chance(0), false);
  assert.equal(a.chance(1), true);
  assert.equal(a.next(), b.next());
  const c = new Prng(10);
  let hits = 0;
  for (let i = 0; i < 10_000; i++) if (c.chance(0.25)) hits++;
  assert.ok(hits > 2300 && hits < 2700, `chance(0.25) hit ${hits} / 10000`);
});

test('normal, exponential and log-normal samples have the right moments', () => {
  const p = new Prng(11);
  const n = 20_000;
  let sum = 0;
  let sq = 0;
  for (let i = 0; i < n; i++) {
    const x = p.normal(10, 2);
    sum += x;
    sq += x * x;
  }
  const mean = sum / n;
  const sd = Math.sqrt(sq / n - mean * mean);
  assert.ok(Math.abs(mean - 10) < 0.1, `normal mean ${mean}`);
  assert.ok(Math.abs(sd - 2) < 0.1, `normal sd ${sd}`);
  let esum = 0;
  for (let i = 0; i < n; i++) {
    const x = p.exponential(5);
    assert.ok(x >= 0 && Number.isFinite(x));
    esum += x;
  }
  assert.ok(Math.abs(esum / n - 5) < 0.2, `exponential mean ${esum / n}`);
  const logs = Array.from({ length: n }, () => p.logNormal(3, 0.5)).sort((x, y) => x - y);
  assert.ok(logs[0] > 0);
  assert.ok(Math.abs(logs[n / 2] - 3) < 0.1, `log-normal median ${logs[n / 2]}`);
});

test('bad seeds and arguments are clear errors', () => {
  assert.throws(() => new Prng(-1), /non-negative safe integer/);
  assert.throws(() => new Prng(1.5), /non-negative safe integer/);
  assert.throws(() => new Prng(''), /non-empty/);
  assert.throws(() => new Prng(1).int(0), /int\(n\)/);
  assert.throws(() => new Prng(1).pick([]), /empty/);
  assert.throws(() => new Prng(1).intBetween(3, 2), /hi 2 < lo 3/);
  assert.equal(parseSeed(' 123 '), 123);
  assert.throws(() => parseSeed('12a'), /invalid seed "12a"/);
  assert.throws(() => parseSeed('99999999999999999999'), /larger than/);
});

test('hashToWords never yields the all-zero state and differs per label', () => {
  const seen = new Set<string>();
  for (let i = 0; i < 1000; i++) {
    const w = hashToWords(`label-${i}`);
    assert.ok(w.some((x) => x !== 0));
    seen.add(w.join(','));
  }
  assert.equal(seen.size, 1000);
});

test('asRandom returns floats in [0, 1) from the same stream', () => {
  const a = new Prng(3);
  const b = new Prng(3);
  const r = a.asRandom();
  for (let i = 0; i < 100; i++) {
    const v = r();
    assert.ok(v >= 0 && v < 1);
    assert.equal(v, b.float());
  }
});
