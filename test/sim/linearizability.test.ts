import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkLinearizability, type HistoryOp, type RegisterValue } from '../../sim/checkers/linearizability.js';
import { Prng } from '../../sim/prng.js';

let nextId = 0;
function w(key: string, value: RegisterValue, invokeMs: number, completeMs?: number, outcome: HistoryOp['outcome'] = 'ok'): HistoryOp {
  return { id: `w${nextId++}`, key, kind: 'write', value, invokeMs, completeMs, outcome, site: 'site-w' };
}
function r(key: string, observed: RegisterValue, invokeMs: number, completeMs: number, outcome: HistoryOp['outcome'] = 'ok'): HistoryOp {
  return { id: `r${nextId++}`, key, kind: 'read', observed, invokeMs, completeMs, outcome, site: 'site-r' };
}
function cas(key: string, expected: RegisterValue, value: RegisterValue, invokeMs: number, completeMs: number | undefined, outcome: HistoryOp['outcome']): HistoryOp {
  return { id: `c${nextId++}`, key, kind: 'cas', expected, value, invokeMs, completeMs, outcome, site: 'site-c' };
}
const unknown = (key: string, value: RegisterValue, invokeMs: number): HistoryOp => w(key, value, invokeMs, undefined, 'unknown');

const LINEARIZABLE: Record<string, HistoryOp[]> = {
  'sequential write then read': [w('x', 1, 0, 1), r('x', 1, 2, 3)],
  'read concurrent with a write sees the new value': [w('x', 1, 0, 10), r('x', 1, 2, 3)],
  'read concurrent with a write sees the old value': [w('x', 1, 0, 10), r('x', null, 2, 3)],
  'two concurrent writes, later reads agree on the last': [w('x', 1, 0, 10), w('x', 2, 0, 10), r('x', 2, 11, 12), r('x', 2, 13, 14)],
  'unknown write that never took effect': [unknown('x', 1, 0), r('x', null, 5, 6), r('x', null, 100, 101)],
  'unknown write that took effect long after it was sent': [unknown('x', 1, 0), r('x', null, 5, 6), r('x', 1, 100, 101)],
  'failed write is not applied': [w('x', 1, 0, 1, 'fail'), r('x', null, 2, 3)],
  'cas chain with a failed compare': [w('x', 1, 0, 1), cas('x', 1, 2, 2, 3, 'ok'), r('x', 2, 4, 5), cas('x', 1, 3, 6, 7, 'fail'), r('x', 2, 8, 9)],
  'independent keys interleaved': [w('a', 1, 0, 10), w('b', 1, 0, 10), r('a', 1, 11, 12), r('b', 1, 11, 12), r('a', 1, 1, 2)],
  'unknown cas that applied': [w('x', 1, 0, 1), cas('x', 1, 2, 2, undefined, 'unknown'), r('x', 2, 10, 11), r('x', 2, 12, 13)],
  'events at the same instant are concurrent': [w('x', 1, 0, 5), r('x', null, 5, 6)],
  'refused operations and unanswered reads constrain nothing': [
    cas('x', 7, 8, 0, 1, 'refused'),
    r('x', 99, 0, 1, 'fail'),
    r('x', 42, 2, 3, 'unknown' as const),
    w('x', 3, 0, 1, 'refused'),
    r('x', null, 5, 6),
  ],
  'delete by writing absent': [w('x', 'a', 0, 1), w('x', null, 2, 3), r('x', null, 4, 5)],
  'overlapping writers and readers with a valid order': [
    w('x', 'a', 0, 4),
    w('x', 'b', 1, 6),
    r('x', 'a', 2, 3),
    r('x', 'b', 5, 7),
    w('x', 'c', 6.5, 9),
    r('x', 'b', 6.6, 8),
    r('x', 'c', 10, 11),
  ],
};

const NOT_LINEARIZABLE: Record<string, HistoryOp[]> = {
  'stale read after a completed write': [w('x', 1, 0, 1), r('x', null, 2, 3)],
  'read of a value never written': [r('x', 5, 0, 1)],
  'lost write': [w('x', 1, 0, 1), w('x', 2, 2, 3), r('x', 1, 4, 5)],
  'reads flip-flop after both writes finished': [w('x', 1, 0, 10), w('x', 2, 0, 10), r('x', 2, 11, 12), r('x', 1, 13, 14)],
  'a read sees the new value, a later read the old one': [w('x', 1, 0, 100), r('x', 1, 10, 11), r('x', null, 20, 21)],
  'a failed (not applied) write is observed': [w('x', 1, 0, 1, 'fail'), r('x', 1, 2, 3)],
  'cas succeeded although the value did not match': [w('x', 1, 0, 1), cas('x', 2, 3, 2, 3, 'ok')],
  'cas failed although the value matched': [w('x', 1, 0, 1), cas('x', 1, 3, 2, 3, 'fail')],
  'an unknown write cannot take effect before it was sent': [r('x', 1, 0, 1), unknown('x', 1, 2)],
  'two cas from the same expected value both succeed': [w('x', 0, 0, 1), cas('x', 0, 1, 2, 5, 'ok'), cas('x', 0, 2, 2, 5, 'ok')],
  'a violation on one key among good keys': [w('a', 1, 0, 1), r('a', 1, 2, 3), w('b', 1, 0, 1), r('b', null, 2, 3), w('c', 1, 0, 10), r('c', 1, 1, 2)],
};

test('hand-made linearizable histories pass', () => {
  assert.ok(Object.keys(LINEARIZABLE).length >= 8);
  for (const [name, history] of Object.entries(LINEARIZABLE)) {
    const result = checkLinearizability(history, { seed: '1' });
    assert.equal(result.verdict, 'pass', `${name}: ${JSON.stringify(result.failures)}`);
    assert.deepEqual(result.failures, []);
  }
});

test('hand-made non-linearizable histories fail with seed, time, sites and the blocking op', () => {
  assert.ok(Object.keys(NOT_LINEARIZABLE).length >= 8);
  for (const [name, history] of Object.entries(NOT_LINEARIZABLE)) {
    const result = checkLinearizability(history, { seed: '77' });
    assert.equal(result.verdict, 'fail', name);
    assert.equal(result.failures.length, 1, name);
    const f = result.failures[0];
    assert.equal(f.check, 'linearizability');
    assert.equal(f.seed, '77');
    assert.ok(f.sites.length > 0, `${name}: sites`);
    assert.ok(Number.isFinite(f.atMs), `${name}: time`);
    assert.ok(f.details?.blockingOp !== undefined, `${name}: blocking op`);
  }
  const multi = checkLinearizability(NOT_LINEARIZABLE['a violation on one key among good keys']);
  assert.deepEqual(multi.keys.map((k) => [k.key, k.verdict]), [
    ['a', 'pass'],
    ['b', 'fail'],
    ['c', 'pass'],
  ]);
  assert.match(multi.failures[0].message, /^key b: /);
  assert.match(multi.failures[0].message, /read r\d+ returning absent/);
});

test('the initial value can be given per key', () => {
  assert.equal(checkLinearizability([r('x', 'seed', 0, 1)], { initialValue: () => 'seed' }).verdict, 'pass');
  assert.equal(checkLinearizability([r('x', null, 0, 1)], { initialValue: () => 'seed' }).verdict, 'fail');
});

/** A history produced by a real (atomic) register with random overlaps: linearizable by construction. */
function generatedHistory(seed: number, opsCount: number, unknownShare: number): HistoryOp[] {
  const p = new Prng(seed);
  const keys = ['k1', 'k2', 'k3'];
  type Planned = { op: HistoryOp; pointMs: number; applies: boolean };
  const planned: Planned[] = [];
  for (let i = 0; i < opsCount; i++) {
    const invokeMs = p.uniform(0, opsCount * 2);
    const completeMs = invokeMs + p.exponential(5);
    const pointMs = p.uniform(invokeMs, completeMs);
    const key = p.pick(keys);
    const roll = p.float();
    if (roll < 0.4) planned.push({ op: { id: i, key, kind: 'read', invokeMs, completeMs, outcome: 'ok', site: `s${i % 5}` }, pointMs, applies: true });
    else if (roll < 0.75) planned.push({ op: { id: i, key, kind: 'write', value: i, invokeMs, completeMs, outcome: 'ok', site: `s${i % 5}` }, pointMs, applies: true });
    else if (roll < 0.75 + unknownShare) {
      const applies = p.chance(0.5);
      planned.push({ op: { id: i, key, kind: 'write', value: i, invokeMs, outcome: 'unknown' }, pointMs: applies ? invokeMs + p.exponential(50) : Infinity, applies });
    } else planned.push({ op: { id: i, key, kind: 'cas', expected: p.chance(0.5) ? null : p.int(i + 1), value: i, invokeMs, completeMs, outcome: 'ok' }, pointMs, applies: true });
  }
  const state = new Map<string, RegisterValue>();
  for (const pl of [...planned].sort((a, b) => a.pointMs - b.pointMs)) {
    if (!pl.applies) continue;
    const cur = state.get(pl.op.key) ?? null;
    if (pl.op.kind === 'read') pl.op.observed = cur;
    else if (pl.op.kind === 'write') state.set(pl.op.key, pl.op.value!);
    else if (cur === pl.op.expected) state.set(pl.op.key, pl.op.value!);
    else pl.op.outcome = 'fail';
  }
  return planned.map((pl) => pl.op);
}

/** Index of a read that could be made to return an overwritten value: w1 < w2 < read in real time. */
function staleReadCandidate(history: HistoryOp[]): { read: number; staleValue: RegisterValue } | undefined {
  const okWrites = history.filter((o) => o.kind === 'write' && o.outcome === 'ok');
  for (let i = 0; i < history.length; i++) {
    const rd = history[i];
    if (rd.kind !== 'read') continue;
    for (const w1 of okWrites) {
      if (w1.key !== rd.key) continue;
      const w2 = okWrites.find((o) => o.key === rd.key && o.invokeMs > w1.completeMs! && o.completeMs! < rd.invokeMs);
      if (w2) return { read: i, staleValue: w1.value! };
    }
  }
  return undefined;
}

test('generated concurrent histories from a real register pass', () => {
  for (const seed of [1, 2, 3, 4, 5]) {
    const history = generatedHistory(seed, 300, 0.1);
    const result = checkLinearizability(history, { seed: String(seed) });
    assert.equal(result.verdict, 'pass', `seed ${seed}: ${JSON.stringify(result.failures[0])}`);
  }
});

test('a stale or invented read planted in a generated history fails', () => {
  // Few unknown outcomes: proving a violation means exhausting the search, and every unknown
  // write multiplies it (the harness resolves unknowns from the final log for this reason).
  for (const seed of [1, 2, 3, 4, 5]) {
    const history = generatedHistory(seed, 300, 0.03);
    assert.equal(checkLinearizability(history).verdict, 'pass');
    const stale = staleReadCandidate(history);
    assert.ok(stale, `seed ${seed}: no stale-read candidate`);
    const corrupted = history.map((o, i) => (i === stale.read ? { ...o, observed: stale.staleValue } : o));
    assert.equal(checkLinearizability(corrupted).verdict, 'fail', `seed ${seed}: stale read`);
    const invented = history.map((o, i) => (i === stale.read ? { ...o, observed: 'never-written' } : o));
    assert.equal(checkLinearizability(invented).verdict, 'fail', `seed ${seed}: invented value`);
  }
});

test('unknown writes nobody observed do not blow up the search', () => {
  const history: HistoryOp[] = [w('x', 'start', 0, 1)];
  for (let i = 0; i < 40; i++) history.push(unknown('x', `lost-${i}`, 2 + i));
  history.push(r('x', 'start', 45, 46));
  history.push(w('x', 'end', 50, 51));
  history.push(r('x', 'start', 100, 101)); // stale: proving it means exhausting the search
  const result = checkLinearizability(history, { maxStepsPerKey: 10_000 });
  assert.equal(result.verdict, 'fail');
  assert.ok(result.steps < 1_000, `${result.steps} steps`);
  const observed = [...history, r('x', 'lost-3', 40, 41)]; // now one unknown write matters
  assert.equal(checkLinearizability(observed, { maxStepsPerKey: 10_000 }).verdict, 'fail');
});

test('a search over its effort bound is inconclusive, not a hang', () => {
  // 16 concurrent writes, then two reads that no order explains: disproving it means trying
  // every order of the writes (2^16 memoised states), far over the bound.
  const history: HistoryOp[] = [];
  for (let i = 0; i < 16; i++) history.push(w('x', i, 0, 100));
  history.push(r('x', 1, 150, 151));
  history.push(r('x', 0, 200, 201));
  const result = checkLinearizability(history, { maxStepsPerKey: 5_000 });
  assert.equal(result.verdict, 'inconclusive');
  assert.deepEqual(result.inconclusiveKeys, ['x']);
  assert.equal(result.keys[0].bound, 'steps');
  assert.deepEqual(result.failures, []);
  assert.ok(result.steps <= 5_001);
});

/** n concurrent writes, then two reads no order explains: every (subset, last value) to disprove. */
function hardViolation(n = 13): HistoryOp[] {
  const history: HistoryOp[] = [];
  for (let i = 0; i < n; i++) history.push(w('x', i, 0, 100));
  history.push(r('x', 1, 150, 151));
  history.push(r('x', 0, 200, 201));
  return history;
}

/** A clock that moves only when the test says so, or by a fixed amount at every read. */
class TestClock {
  reads = 0;
  constructor(private now = 0, private readonly perRead = 0) {}
  nowMs(): number {
    this.reads++;
    this.now += this.perRead;
    return this.now;
  }
}

test('with a clock the budget is time: a history past the old step budget is decided', () => {
  // Disproving the history takes more steps than the 200,000 the checker used to allow (it said
  // inconclusive); a clock that never runs out lets the search finish.
  const clock = new TestClock();
  const result = checkLinearizability(hardViolation(), { clock, maxMsPerKey: 1_000 });
  assert.equal(result.verdict, 'fail');
  assert.ok(result.steps > 200_000, `${result.steps} steps`);
  assert.ok(clock.reads > 1 && clock.reads < result.steps / 1_000, `the clock is read now and then (${clock.reads} reads)`);
});

test('with a clock, a search over its time budget stops as inconclusive, never a pass', () => {
  // Every read of the clock advances it 1 ms: a 20 ms budget ends the search after ~20 reads.
  const clock = new TestClock(0, 1);
  const result = checkLinearizability(hardViolation(), { clock, maxMsPerKey: 20 });
  assert.equal(result.verdict, 'inconclusive');
  assert.equal(result.keys[0].bound, 'time');
  assert.deepEqual(result.failures, []);
  assert.ok(clock.reads >= 20 && clock.reads <= 22, `${clock.reads} reads`);
  // The same budget decides an easy key at once, whatever the other keys cost.
  const mixed = checkLinearizability([...hardViolation(), w('y', 1, 0, 1), r('y', 1, 2, 3)], { clock: new TestClock(0, 1), maxMsPerKey: 20 });
  assert.deepEqual(mixed.keys.map((k) => [k.key, k.verdict]), [['x', 'inconclusive'], ['y', 'pass']]);
});

test('the memo of visited (linearized set, value) states is bounded', () => {
  const result = checkLinearizability(hardViolation(), { maxMemoStatesPerKey: 1_000 });
  assert.equal(result.verdict, 'inconclusive');
  assert.equal(result.keys[0].bound, 'memory');
  // Without the memo the 10 writes would be tried in all 10! (3.6 M) orders; with it, each
  // (set, value) pair is explored once.
  const full = checkLinearizability(hardViolation(10), { maxStepsPerKey: 3_000_000 });
  assert.equal(full.verdict, 'fail');
  assert.ok(full.steps < 200_000, `${full.steps} steps`);
});

test('malformed operations are clear errors', () => {
  assert.throws(() => checkLinearizability([{ id: 1, key: 'x', kind: 'write', value: 1, invokeMs: 0, outcome: 'ok' }]), /op 1 \(key x\): completeMs is required/);
  assert.throws(() => checkLinearizability([w('x', 1, 5, 4)]), /completes \(4\) before it is invoked \(5\)/);
  assert.throws(() => checkLinearizability([{ id: 2, key: 'x', kind: 'cas', value: 1, invokeMs: 0, completeMs: 1, outcome: 'ok' }]), /cas needs an expected value/);
  assert.throws(() => checkLinearizability([{ id: 3, key: 'x', kind: 'read', invokeMs: 0, completeMs: 1, outcome: 'ok' }]), /ok read needs observed/);
  assert.throws(() => checkLinearizability([{ id: 4, key: 'x', kind: 'delete' as 'write', value: 1, invokeMs: 0, completeMs: 1, outcome: 'ok' }]), /unknown kind "delete"/);
});
