// PeerLink against a fake stream and a fake clock: queueing, batching, backoff and its reports.
import '../../agent/runtime/promise-shim.js';
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Stream } from '@libp2p/interface';
import { silentLogger } from '../../consensus/ports.js';
import { createCounters } from '../../agent/transport/counters.js';
import { PeerLink, type PeerLinkSettings } from '../../agent/transport/peer-link.js';

const settings: PeerLinkSettings = {
  maxQueuedFrames: 4,
  maxQueuedBytes: 1000,
  maxWriteBatchBytes: 100,
  redialBaseMs: 100,
  redialMaxMs: 1000,
  dialTimeoutMs: 1000,
  stableStreamMs: 5000,
};

/** Just enough of a libp2p Stream: records writes, can refuse to drain, can be closed remotely. */
class FakeStream extends EventTarget {
  status = 'open';
  writeStatus = 'writable';
  writes: Uint8Array[] = [];
  full = false;
  private drainWaiters: Array<{ resolve: () => void; reject: (e: Error) => void }> = [];

  send(data: Uint8Array): boolean {
    if (this.writeStatus !== 'writable') throw new Error('closed');
    this.writes.push(data);
    return !this.full;
  }
  onDrain(): Promise<void> {
    return new Promise((resolve, reject) => this.drainWaiters.push({ resolve, reject }));
  }
  drain(): void {
    this.full = false;
    for (const w of this.drainWaiters.splice(0)) w.resolve();
  }
  remoteClose(error?: Error): void {
    this.status = 'reset';
    this.writeStatus = 'closed';
    for (const w of this.drainWaiters.splice(0)) w.reject(new Error('closed'));
    const evt = Object.assign(new Event('close'), { error });
    this.dispatchEvent(evt);
  }
  abort(err: Error): void {
    if (this.status !== 'open') return;
    this.remoteClose(err);
  }
  async close(): Promise<void> {
    this.status = 'closed';
    this.writeStatus = 'closed';
  }
}

function harness(overrides: Partial<PeerLinkSettings> = {}) {
  let now = 1000;
  const counters = createCounters();
  const reports: number[] = [];
  const dials: Array<{ resolve: (s: Stream) => void; reject: (e: Error) => void }> = [];
  const link = new PeerLink('tokyo', {
    openStream: () => new Promise<Stream>((resolve, reject) => dials.push({ resolve, reject })),
    reportUnreachable: () => reports.push(now),
    now: () => now,
    random: () => 0.5,
    counters,
    logger: silentLogger,
    settings: { ...settings, ...overrides },
  });
  return {
    link,
    counters,
    reports,
    dials,
    advance(ms: number) {
      now += ms;
    },
  };
}

const frame = (n: number, size = 10) => new Uint8Array(size).fill(n);
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('PeerLink', () => {
  it('dials once, queues while dialing, then writes queued frames in bounded batches', async () => {
    const h = harness();
    for (let i = 0; i < 3; i++) h.link.send(frame(i, 40));
    assert.equal(h.dials.length, 1, 'one dial for many sends');
    assert.equal(h.link.status().state, 'dialing');
    const stream = new FakeStream();
    h.dials[0].resolve(stream as unknown as Stream);
    await settle();
    assert.equal(h.link.status().state, 'open');
    // 40+40 fit in a 100-byte batch, the third goes alone.
    assert.deepEqual(stream.writes.map((w) => w.length), [80, 40]);
    assert.equal(h.counters.framesOut, 3);
    assert.equal(h.counters.streamsOpened, 1);
    h.link.send(frame(9));
    h.link.send(frame(8));
    await settle();
    assert.deepEqual(stream.writes.at(-1), new Uint8Array([...frame(9), ...frame(8)]), 'same-turn sends share one write');
  });

  it('drops the oldest frames when the queue is full (memory stays bounded)', async () => {
    const h = harness();
    for (let i = 0; i < 50; i++) h.link.send(frame(i));
    assert.equal(h.link.status().queuedFrames, 4);
    assert.equal(h.counters.dropsQueueFull, 46);
    const stream = new FakeStream();
    h.dials[0].resolve(stream as unknown as Stream);
    await settle();
    assert.deepEqual(stream.writes[0].filter((_, i) => i % 10 === 0), new Uint8Array([46, 47, 48, 49]));
  });

  it('waits for drain when the stream pushes back, without losing frames', async () => {
    const h = harness({ maxWriteBatchBytes: 10 });
    const stream = new FakeStream();
    stream.full = true;
    h.link.send(frame(1));
    h.dials[0].resolve(stream as unknown as Stream);
    await settle();
    h.link.send(frame(2));
    h.link.send(frame(3));
    await settle();
    assert.equal(stream.writes.length, 1, 'holds further writes until drained');
    stream.drain();
    await settle();
    assert.deepEqual(stream.writes.map((w) => w[0]), [1, 2, 3]);
  });

  it('backs off exponentially after failed dials, drops and reports while backing off, and redials later', async () => {
    const h = harness();
    h.link.send(frame(1));
    h.dials[0].reject(new Error('connection refused'));
    await settle();
    assert.equal(h.link.status().state, 'backoff');
    assert.equal(h.counters.dialFailures, 1);
    assert.equal(h.counters.dropsUnreachable, 1, 'the queued frame is dropped');
    assert.equal(h.reports.length, 1);
    // First delay: ceiling 100 ms, equal jitter with random 0.5 -> 75 ms.
    assert.equal(h.link.status().retryInMs, 75);
    h.link.send(frame(2));
    assert.equal(h.dials.length, 1, 'no dial during backoff');
    assert.equal(h.counters.dropsUnreachable, 2);
    h.advance(75);
    h.link.send(frame(3));
    assert.equal(h.dials.length, 2, 'redials once the delay passed');
    h.dials[1].reject(new Error('still down'));
    await settle();
    assert.equal(h.link.status().retryInMs, 150, 'second delay doubles');
    for (let i = 0; i < 10; i++) {
      h.advance(h.link.status().retryInMs);
      h.link.send(frame(4));
      h.dials.at(-1)?.reject(new Error('down'));
      await settle();
    }
    assert.equal(h.link.status().retryInMs, 750, 'capped at redialMaxMs (1000) with jitter');
    const stream = new FakeStream();
    h.advance(h.link.status().retryInMs);
    h.link.send(frame(5));
    h.dials.at(-1)?.resolve(stream as unknown as Stream);
    await settle();
    assert.equal(h.link.status().state, 'open');
    assert.deepEqual(stream.writes.map((w) => w[0]), [5]);
  });

  it('treats a lost stream as a failure, and resets the backoff only after a stable stream', async () => {
    const h = harness();
    h.link.send(frame(1));
    const first = new FakeStream();
    h.dials[0].resolve(first as unknown as Stream);
    await settle();
    first.remoteClose(new Error('reset by peer'));
    assert.equal(h.counters.streamsLost, 1);
    assert.equal(h.link.status().state, 'backoff');
    assert.equal(h.link.status().failures, 1);
    h.advance(100);
    h.link.send(frame(2));
    const second = new FakeStream();
    h.dials[1].resolve(second as unknown as Stream);
    await settle();
    second.remoteClose();
    assert.equal(h.link.status().failures, 2, 'a short-lived stream keeps the backoff growing');
    h.advance(1000);
    h.link.send(frame(3));
    const third = new FakeStream();
    h.dials[2].resolve(third as unknown as Stream);
    await settle();
    h.advance(settings.stableStreamMs);
    third.remoteClose();
    assert.equal(h.link.status().failures, 1, 'a stable stream resets it');
  });

  it('hands queued frames to the stream before closing it on shutdown', async () => {
    const h = harness({ maxWriteBatchBytes: 10 });
    const stream = new FakeStream();
    stream.full = true;
    h.link.send(frame(1));
    h.dials[0].resolve(stream as unknown as Stream);
    await settle();
    h.link.send(frame(2));
    h.link.send(frame(3));
    await settle();
    assert.equal(stream.writes.length, 1, 'two frames wait for drain');
    await h.link.shutdown(100);
    assert.deepEqual(stream.writes.map((w) => [...w].filter((_, i) => i % 10 === 0)).flat(), [1, 2, 3]);
    assert.equal(stream.status, 'closed');
    assert.equal(h.counters.framesOut, 3);
    assert.equal(h.counters.dropsUnreachable, 0);
    assert.equal(h.link.status().state, 'closed');
  });

  it('abandons a stream whose dial completes after close()', async () => {
    const h = harness();
    h.link.send(frame(1));
    h.link.close();
    const late = new FakeStream();
    h.dials[0].resolve(late as unknown as Stream);
    await settle();
    assert.equal(late.status, 'reset', 'late stream aborted');
    assert.equal(h.link.status().state, 'closed');
    h.link.send(frame(2));
    assert.equal(h.dials.length, 1);
  });
});
