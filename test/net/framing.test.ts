// The framing the blob and join protocols share (agent/net/framing.ts): exact reads across pieces,
// a stream that ends short or a header over its bound is a FrameError, and each protocol's decoder
// still throws its own error class. A blob server counts a cut or oversized header as a bad request.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { silentLogger } from '../../consensus/ports.js';
import { decodeFrameMap, encodeFrame, FrameError, MAX_FRAME_HEADER_BYTES, StreamReader } from '../../agent/net/framing.js';
import type { BlobStorage, ByteStream } from '../../agent/blobs/ports.js';
import { BlobServer } from '../../agent/blobs/server.js';
import { BlobWireError, decodeResponseHeader } from '../../agent/blobs/wire.js';
import { decodeJoinAnswer, JoinWireError } from '../../agent/recovery/join-wire.js';

async function* pieces(...parts: Uint8Array[]): AsyncIterable<Uint8Array> {
  for (const part of parts) yield part;
}

function lengthPrefix(n: number): Uint8Array {
  const out = Buffer.alloc(4);
  out.writeUInt32BE(n, 0);
  return out;
}

describe('shared framing', () => {
  it('reads a frame split over pieces, then the bytes after it, and sees the end', async () => {
    const framed = Buffer.from(encodeFrame({ v: 1, hello: 'world' }));
    const reader = new StreamReader(pieces(framed.subarray(0, 3), framed.subarray(3, 7), Buffer.concat([framed.subarray(7), Buffer.from('tail')])));
    assert.deepEqual(decodeFrameMap(await reader.readFrame(), 1, 'test', (m) => new Error(m)), { v: 1, hello: 'world' });
    assert.equal(Buffer.from(await reader.read(4)).toString(), 'tail');
    assert.equal(await reader.endsHere(), true);
  });

  it('a stream that ends short, or a header over the bound, is a FrameError', async () => {
    await assert.rejects(new StreamReader(pieces(lengthPrefix(10), Buffer.alloc(4))).readFrame(), (err) => err instanceof FrameError && /6 bytes short/.test(err.message));
    await assert.rejects(new StreamReader(pieces(lengthPrefix(MAX_FRAME_HEADER_BYTES + 1))).readFrame(), FrameError);
    await assert.rejects(new StreamReader(pieces(lengthPrefix(100))).readFrame(50), /over 50/);
    assert.equal(await new StreamReader(pieces(Buffer.from('x'))).endsHere(), false);
  });

  it('each protocol keeps its own error class for a bad body, and the version check', () => {
    const notMsgpack = Buffer.from([0xc1]);
    assert.throws(() => decodeResponseHeader(notMsgpack), (err) => err instanceof BlobWireError && err instanceof FrameError);
    assert.throws(() => decodeJoinAnswer(notMsgpack), (err) => err instanceof JoinWireError && err instanceof FrameError);
    const wrongVersion = Buffer.from(encodeFrame({ v: 2, ok: true, index: 1 })).subarray(4);
    assert.throws(() => decodeJoinAnswer(wrongVersion), /protocol version 2 is not 1/);
    assert.throws(() => decodeResponseHeader(Buffer.from(encodeFrame([1, 2])).subarray(4)), /not a map/);
  });

  it('a blob server counts a request cut short as a bad request and aborts the stream', { timeout: 10_000 }, async () => {
    const server = new BlobServer({ clusterId: 'c1', store: {} as BlobStorage, logger: silentLogger });
    let resolveAborted: (reason: Error) => void = () => {};
    const aborted = new Promise<Error>((resolve) => (resolveAborted = resolve));
    const stream: ByteStream = {
      incoming: pieces(lengthPrefix(40), Buffer.alloc(10)),
      write: async () => {},
      end: async () => {},
      abort: (reason) => resolveAborted(reason),
    };
    server.handle(stream, 'member-1');
    const reason = await aborted;
    assert.ok(reason instanceof FrameError, String(reason));
    assert.equal(server.counters.badRequests, 1);
  });
});
