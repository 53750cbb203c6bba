// The blob protocol's have request (which chunks of a blob a site holds): the bitmap's layout and
// bounds, and strict decoding of the request.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BlobWireError, decodeRequest, encodeHaveBitmap, encodeRequest, hasChunkBit, haveBitmapBytes } from '../../agent/blobs/wire.js';

function body(frame: Uint8Array): Uint8Array {
  return frame.subarray(4);
}

describe('blob protocol: have', () => {
  it('the bitmap sets exactly the held chunks, lowest bit first, and nothing past the last chunk', () => {
    const bits = encodeHaveBitmap(11, [0, 3, 9]);
    assert.equal(bits.length, haveBitmapBytes(11));
    assert.equal(bits.length, 2);
    const held = Array.from({ length: 16 }, (_, i) => hasChunkBit(bits, i));
    assert.deepEqual(held, [false, true, true, false, true, true, true, true, true, false, true, false, false, false, false, false]);
    assert.deepEqual(Array.from(encodeHaveBitmap(8, [])), [0xff]);
    assert.deepEqual(Array.from(encodeHaveBitmap(3, [0, 1, 2])), [0]);
    assert.equal(haveBitmapBytes(0), 0);
    assert.equal(hasChunkBit(new Uint8Array(0), 5), false, 'an index past the bitmap is not held');
  });

  it('decodes a have request and refuses a malformed one', () => {
    const root = 'a'.repeat(64);
    assert.deepEqual(decodeRequest(body(encodeRequest('c1', { op: 'have', root }))), { cluster: 'c1', request: { op: 'have', root } });
    assert.throws(() => decodeRequest(body(encodeRequest('c1', { op: 'have', root: 'xyz' }))), BlobWireError);
    assert.throws(() => decodeRequest(body(encodeRequest('c1', { op: 'have', root, extra: 1 } as never))), BlobWireError);
  });
});
