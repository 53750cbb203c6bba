// agent/ops/memory.ts: a forced GC runs only when node exposes gc, at most once per
// MIN_FORCED_GC_INTERVAL_MS, and reports memory before and after it.
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { MIN_FORCED_GC_INTERVAL_MS, forceGc, memoryNow } from '../../agent/ops/memory.js';

const global = globalThis as { gc?: () => void };

describe('forced GC', () => {
  afterEach(() => {
    delete global.gc;
  });

  it('is unavailable without --expose-gc', () => {
    assert.equal(global.gc, undefined);
    const outcome = forceGc(1_000_000);
    assert.equal(outcome.ok, false);
    assert.equal(!outcome.ok && outcome.reason, 'unavailable');
  });

  it('runs gc once, then refuses until the interval has passed', () => {
    let calls = 0;
    global.gc = () => void calls++;
    const start = 2_000_000;
    const first = forceGc(start);
    assert.equal(first.ok, true);
    assert.equal(calls, 1);
    if (first.ok) {
      assert.ok(first.before.heapUsedBytes > 0 && first.after.rssBytes > 0);
      assert.ok(first.gcMs >= 0);
    }
    const tooSoon = forceGc(start + MIN_FORCED_GC_INTERVAL_MS - 1);
    assert.equal(!tooSoon.ok && tooSoon.reason, 'too_soon');
    assert.equal(calls, 1);
    assert.equal(forceGc(start + MIN_FORCED_GC_INTERVAL_MS).ok, true);
    assert.equal(calls, 2);
  });

  it('memoryNow reads process.memoryUsage', () => {
    const m = memoryNow();
    assert.ok(m.rssBytes >= m.heapTotalBytes && m.heapTotalBytes >= m.heapUsedBytes && m.externalBytes >= m.arrayBuffersBytes);
  });
});
