// The fetcher's chunk order: each site starts at its own place in the chunk list (so partial
// holders hold different chunks), every missing chunk exactly once, in order without a key.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spreadOrder } from '../../agent/blobs/fetcher.js';

test('spreadOrder starts where the key says, wraps round, and keeps every missing chunk once', () => {
  const missing = [0, 1, 2, 4, 5, 7, 8, 9];
  assert.deepEqual(spreadOrder(missing, 10, undefined), missing);
  const starts = new Set<number>();
  for (const site of ['site-1', 'site-2', 'site-3', 'london', 'tokyo', 'sao-paulo']) {
    const order = spreadOrder(missing, 10, site);
    assert.deepEqual([...order].sort((a, b) => a - b), missing);
    const wrap = order.findIndex((c, i) => i > 0 && c < order[i - 1]!);
    assert.ok(wrap === -1 || order.slice(wrap).every((c, i, rest) => i === 0 || c > rest[i - 1]!), `one wrap only: ${order.join(',')}`);
    starts.add(order[0]!);
    assert.deepEqual(spreadOrder(missing, 10, site), order, 'the same key, the same order');
  }
  assert.ok(starts.size >= 3, `six sites start at only ${starts.size} places`);
  assert.deepEqual(spreadOrder([], 0, 'x'), []);
});
