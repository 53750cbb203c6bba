// serveInboundStream against a fake stream: the membership checks that the gater normally
// makes unreachable (a member removed while its stream is open), and chunked delivery.
import '../../agent/runtime/promise-shim.js';
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Stream } from '@libp2p/interface';
import type { WireMessage } from '../../consensus/ports.js';
import { silentLogger } from '../../consensus/ports.js';
import { createCounters } from '../../agent/transport/counters.js';
import { FrameDecoder, FrameEncoder } from '../../agent/transport/frames.js';
import { serveInboundStream } from '../../agent/transport/inbound.js';

class FakeInbound extends EventTarget {
  status = 'open';
  abortedWith: Error | null = null;
  closed = false;
  deliver(data: Uint8Array): void {
    this.dispatchEvent(Object.assign(new Event('message'), { data }));
  }
  abort(err: Error): void {
    this.status = 'aborted';
    this.abortedWith = err;
  }
  async close(): Promise<void> {
    this.closed = true;
  }
}

function setup(members: Map<string, string>) {
  const counters = createCounters();
  const delivered: Array<[string, WireMessage]> = [];
  const stream = new FakeInbound();
  serveInboundStream(stream as unknown as Stream, 'peer-tokyo', {
    localMember: 'paris',
    maxFrameBytes: 1 << 20,
    decoder: new FrameDecoder('c1'),
    memberForPeer: (peerId) => members.get(peerId),
    deliver: (from, message) => delivered.push([from, message]),
    counters,
    logger: silentLogger,
  });
  return { counters, delivered, stream };
}

const hb = (n: number): WireMessage => ({ kind: 'raft', msg: { type: 'heartbeat', from: 'tokyo', to: 'paris', term: 1, readRound: n } });

describe('serveInboundStream', () => {
  it('refuses a stream from a peer that is not a member, before reading anything', () => {
    const { counters, stream } = setup(new Map());
    assert.equal(counters.badFrames.nonMember, 1);
    assert.match(stream.abortedWith?.message ?? '', /not a member/);
  });

  it('delivers frames split across chunks, and refuses the first frame after the member is removed', () => {
    const members = new Map([['peer-tokyo', 'tokyo']]);
    const { counters, delivered, stream } = setup(members);
    const encoder = new FrameEncoder('c1', 'tokyo');
    const two = Buffer.concat([encoder.encode(hb(1)), encoder.encode(hb(2))]);
    stream.deliver(two.subarray(0, 7));
    assert.equal(delivered.length, 0);
    stream.deliver(two.subarray(7));
    assert.deepEqual(delivered, [['tokyo', hb(1)], ['tokyo', hb(2)]]);
    assert.equal(counters.framesIn, 2);
    assert.equal(counters.bytesIn, two.length);
    members.delete('peer-tokyo');
    stream.deliver(encoder.encode(hb(3)));
    assert.equal(delivered.length, 2);
    assert.equal(counters.badFrames.nonMember, 1);
    assert.match(stream.abortedWith?.message ?? '', /no longer a member/);
    // Nothing more is read from an aborted stream.
    members.set('peer-tokyo', 'tokyo');
    stream.deliver(encoder.encode(hb(4)));
    assert.equal(delivered.length, 2);
  });

  it('closes its end when the member closes its own', () => {
    const { stream } = setup(new Map([['peer-tokyo', 'tokyo']]));
    stream.dispatchEvent(new Event('remoteCloseWrite'));
    assert.equal(stream.closed, true);
  });
});
