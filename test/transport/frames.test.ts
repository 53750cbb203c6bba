import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Packr } from 'msgpackr';
import type { WireMessage } from '../../consensus/ports.js';
import {
  FRAME_FORMAT_VERSION,
  FRAME_HEADER_BYTES,
  FrameDecoder,
  FrameEncoder,
  FrameError,
  FrameReader,
} from '../../agent/transport/frames.js';
import { FrameQueue } from '../../agent/transport/send-queue.js';

const sample: WireMessage = {
  kind: 'raft',
  msg: {
    type: 'append',
    from: 'paris',
    to: 'tokyo',
    term: 2,
    index: 0,
    logTerm: 0,
    commit: 0,
    entries: [{ index: 1, term: 2, type: 0, data: new Uint8Array([0, 255, 7]) }],
  },
};

function rawFrame(body: Uint8Array): Uint8Array {
  const frame = new Uint8Array(FRAME_HEADER_BYTES + body.length);
  new DataView(frame.buffer).setUint32(0, body.length, false);
  frame.set(body, FRAME_HEADER_BYTES);
  return frame;
}

const plainPackr = new Packr({ useRecords: false });

function expectFault(fn: () => unknown, fault: string): void {
  assert.throws(fn, (err: unknown) => err instanceof FrameError && err.fault === fault);
}

describe('frames', () => {
  it('round-trips a message through encoder, reader and decoder', () => {
    const frame = new FrameEncoder('c1', 'paris').encode(sample);
    const reader = new FrameReader();
    reader.push(frame);
    const body = reader.next();
    assert.ok(body);
    assert.equal(reader.next(), null);
    const envelope = new FrameDecoder('c1').decode(body);
    assert.equal(envelope.v, FRAME_FORMAT_VERSION);
    assert.equal(envelope.from, 'paris');
    assert.deepEqual(envelope.msg, sample);
  });

  it('reassembles frames split at every byte and several frames per chunk', () => {
    const encoder = new FrameEncoder('c1', 'paris');
    const frames = [encoder.encode(sample), encoder.encode({ kind: 'readIndex', id: 'r' }), encoder.encode(sample)];
    const all = Buffer.concat(frames);
    for (const step of [1, 3, 7, all.length]) {
      const reader = new FrameReader();
      const bodies: Uint8Array[] = [];
      for (let i = 0; i < all.length; i += step) {
        reader.push(all.subarray(i, i + step));
        for (let body = reader.next(); body !== null; body = reader.next()) bodies.push(body);
      }
      assert.equal(bodies.length, 3, `step ${step}`);
      assert.equal(reader.bufferedBytes, 0);
      assert.deepEqual(new FrameDecoder('c1').decode(bodies[1]).msg, { kind: 'readIndex', id: 'r' });
    }
  });

  it('gives the decoder its own copy of each body', () => {
    const frame = new FrameEncoder('c1', 'paris').encode(sample);
    const reader = new FrameReader();
    reader.push(frame);
    const body = reader.next() as Uint8Array;
    frame.fill(0);
    const msg = new FrameDecoder('c1').decode(body).msg as Extract<WireMessage, { kind: 'raft' }>;
    assert.deepEqual(msg.msg.entries?.[0].data, new Uint8Array([0, 255, 7]));
  });

  it('refuses an oversize header before the body arrives, and an empty frame', () => {
    const reader = new FrameReader(1024);
    reader.push(new Uint8Array([0, 0, 4, 1]));
    expectFault(() => reader.next(), 'oversize');
    const empty = new FrameReader(1024);
    empty.push(new Uint8Array([0, 0, 0, 0]));
    expectFault(() => empty.next(), 'malformed');
  });

  it('refuses to encode a frame over maxFrameBytes', () => {
    const big: WireMessage = { kind: 'propose', id: 'x', data: new Uint8Array(2048), requireLive: [] };
    expectFault(() => new FrameEncoder('c1', 'paris', 1024).encode(big), 'oversize');
  });

  it('classifies bad bodies', () => {
    const decoder = new FrameDecoder('c1');
    const ok = { v: FRAME_FORMAT_VERSION, cluster: 'c1', from: 'paris', msg: { kind: 'readIndex', id: 'r' } };
    expectFault(() => decoder.decode(new Uint8Array([0xc1])), 'malformed'); // reserved byte
    expectFault(() => decoder.decode(new Uint8Array([0x92, 0x01])), 'malformed'); // truncated
    expectFault(() => decoder.decode(Buffer.concat([plainPackr.pack(ok), Buffer.from([1])])), 'malformed'); // trailing
    expectFault(() => decoder.decode(plainPackr.pack([1, 2])), 'malformed');
    expectFault(() => decoder.decode(plainPackr.pack({ ...ok, v: 2 })), 'version');
    expectFault(() => decoder.decode(plainPackr.pack({ ...ok, v: undefined })), 'version');
    expectFault(() => decoder.decode(plainPackr.pack({ ...ok, cluster: 'c2' })), 'wrongCluster');
    expectFault(() => decoder.decode(plainPackr.pack({ ...ok, cluster: 7 })), 'malformed');
    expectFault(() => decoder.decode(plainPackr.pack({ ...ok, from: '' })), 'malformed');
    expectFault(() => decoder.decode(plainPackr.pack({ ...ok, extra: 1 })), 'malformed');
    expectFault(() => decoder.decode(plainPackr.pack({ ...ok, msg: { kind: 'readIndex' } })), 'malformed');
    assert.equal(decoder.decode(plainPackr.pack(ok)).from, 'paris');
    // A frame claiming an unknown version is refused even when the rest is gibberish to us.
    expectFault(() => decoder.decode(plainPackr.pack({ v: 99, anything: [1, 2, 3] })), 'version');
  });

  it('decodes msgpackr records into plain objects held to the same checks', () => {
    const recordPackr = new Packr({ useRecords: true });
    const ok = { v: FRAME_FORMAT_VERSION, cluster: 'c1', from: 'paris', msg: { kind: 'readIndex', id: 'r' } };
    assert.equal(new FrameDecoder('c1').decode(recordPackr.pack(ok)).from, 'paris');
    expectFault(() => new FrameDecoder('c1').decode(recordPackr.pack({ ...ok, msg: { kind: 'readIndex', id: 9 } })), 'malformed');
  });

  it('accepts a frame built by hand with the documented layout', () => {
    const body = plainPackr.pack({ v: FRAME_FORMAT_VERSION, cluster: 'c1', from: 'lima', msg: { kind: 'readIndex', id: 'q' } });
    const reader = new FrameReader();
    reader.push(rawFrame(body));
    assert.equal(new FrameDecoder('c1').decode(reader.next() as Uint8Array).from, 'lima');
  });
});

describe('FrameQueue', () => {
  const frame = (n: number, size = 10) => new Uint8Array(size).fill(n);

  it('drops the oldest frames when the frame count is exceeded', () => {
    const queue = new FrameQueue(3, 1000);
    let dropped = 0;
    for (let i = 0; i < 5; i++) dropped += queue.push(frame(i));
    assert.equal(dropped, 2);
    assert.equal(queue.length, 3);
    const batch = queue.takeBatch(1000);
    assert.equal(batch?.frames, 3);
    assert.deepEqual([...(batch?.bytes ?? [])].filter((_, i) => i % 10 === 0), [2, 3, 4]);
    assert.equal(queue.bytes, 0);
  });

  it('drops the oldest frames when the byte bound is exceeded, and refuses a frame that can never fit', () => {
    const queue = new FrameQueue(100, 25);
    assert.equal(queue.push(frame(1)), 0);
    assert.equal(queue.push(frame(2)), 0);
    assert.equal(queue.push(frame(3)), 1);
    assert.equal(queue.bytes, 20);
    assert.equal(queue.push(frame(4, 26)), 3);
    assert.equal(queue.length, 0);
  });

  it('batches up to the byte bound but always takes one frame', () => {
    const queue = new FrameQueue(10, 1000);
    for (let i = 0; i < 5; i++) queue.push(frame(i));
    assert.equal(queue.takeBatch(25)?.frames, 2);
    assert.equal(queue.takeBatch(5)?.frames, 1);
    const rest = queue.takeBatch(1000);
    assert.equal(rest?.frames, 2);
    assert.equal(rest?.bytes[0], 3);
    assert.equal(queue.takeBatch(1000), null);
  });

  it('wraps around its ring in order and clears', () => {
    const queue = new FrameQueue(4, 1000);
    for (let i = 0; i < 3; i++) queue.push(frame(i));
    for (let next = 3; next < 20; next++) {
      queue.push(frame(next));
      assert.equal(queue.takeBatch(10)?.bytes[0], next - 3, 'oldest first');
    }
    assert.equal(queue.length, 3);
    assert.equal(queue.clear(), 3);
    assert.equal(queue.length, 0);
    assert.equal(queue.bytes, 0);
    assert.equal(queue.takeBatch(10), null);
  });
});
