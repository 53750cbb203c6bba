import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_RTT_SAMPLES, MinRttWindow, RTT_WINDOW_MS } from '../../agent/transport/min-rtt.js';

test('a busy moment does not raise the round trip: the window keeps the lowest sample', () => {
  const w = new MinRttWindow();
  assert.equal(w.value(0), undefined);
  w.observe(0, 2);
  w.observe(10_000, 350); // a ping answered by a starved process
  w.observe(20_000, 3);
  assert.equal(w.value(20_000), 2);
});

test('samples older than the window no longer count, so a route that got longer is followed', () => {
  const w = new MinRttWindow();
  w.observe(0, 5);
  w.observe(RTT_WINDOW_MS / 2, 80);
  assert.equal(w.value(RTT_WINDOW_MS / 2), 5);
  assert.equal(w.value(RTT_WINDOW_MS + 1), 80);
  assert.equal(w.value(RTT_WINDOW_MS * 2), undefined);
});

test('repeated reads of one measurement are one sample, and the samples are bounded', () => {
  const w = new MinRttWindow();
  for (let i = 0; i < MAX_RTT_SAMPLES * 3; i++) w.observe(i, 100 + i);
  w.observe(MAX_RTT_SAMPLES * 3, 100 + MAX_RTT_SAMPLES * 3 - 1); // same value again: not a new sample
  // Only the newest MAX_RTT_SAMPLES remain: the lowest left is the first of those.
  assert.equal(w.value(MAX_RTT_SAMPLES * 3), 100 + MAX_RTT_SAMPLES * 2);
});

test('a round trip that is not a duration is a bug in the caller', () => {
  const w = new MinRttWindow();
  assert.throws(() => w.observe(0, Number.NaN), /not a duration/);
  assert.throws(() => w.observe(0, -1), /not a duration/);
});
