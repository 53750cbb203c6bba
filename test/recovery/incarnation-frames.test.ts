// The cluster incarnation on the wire: a frame of another incarnation is refused as
// 'wrongIncarnation' (both ways: an old member without one, a new one with one), and the original
// incarnation sends the frames of earlier releases (no `inc` field), so those agents still read them.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Packr } from 'msgpackr';
import type { WireMessage } from '../../consensus/ports.js';
import { FRAME_HEADER_BYTES, FrameDecoder, FrameEncoder, FrameError } from '../../agent/transport/frames.js';
import { directoryMembers } from '../../agent/daemon/site-directory.js';

const heartbeat: WireMessage = { kind: 'raft', msg: { type: 'heartbeat', from: 'paris', to: 'tokyo', term: 3, commit: 0 } } as unknown as WireMessage;

function body(frame: Uint8Array): Uint8Array {
  return frame.subarray(FRAME_HEADER_BYTES);
}

function refusedAs(fn: () => unknown, fault: string, message: RegExp): void {
  assert.throws(fn, (err: unknown) => err instanceof FrameError && err.fault === fault && message.test(err.message));
}

describe('cluster incarnation in frames', () => {
  it('frames of the same incarnation pass, the original one included', () => {
    assert.equal(new FrameDecoder('c1', 'abc').decode(body(new FrameEncoder('c1', 'paris', undefined, 'abc').encode(heartbeat))).inc, 'abc');
    assert.equal(new FrameDecoder('c1').decode(body(new FrameEncoder('c1', 'paris').encode(heartbeat))).from, 'paris');
  });

  it('an old member (original incarnation) is refused by the new cluster, and the new cluster by it', () => {
    refusedAs(() => new FrameDecoder('c1', 'new-life').decode(body(new FrameEncoder('c1', 'paris').encode(heartbeat))), 'wrongIncarnation', /different cluster incarnation: the frame is from incarnation original \(none\), this site is in new-life/);
    refusedAs(() => new FrameDecoder('c1').decode(body(new FrameEncoder('c1', 'paris', undefined, 'new-life').encode(heartbeat))), 'wrongIncarnation', /from incarnation new-life, this site is in original/);
    refusedAs(() => new FrameDecoder('c1', 'two').decode(body(new FrameEncoder('c1', 'paris', undefined, 'one').encode(heartbeat))), 'wrongIncarnation', /from incarnation one, this site is in two/);
  });

  it('the original incarnation writes no inc field (agents of earlier releases refuse unknown fields)', () => {
    const decoded = new Packr({ useRecords: false, mapsAsObjects: true }).unpack(body(new FrameEncoder('c1', 'paris').encode(heartbeat))) as Record<string, unknown>;
    assert.deepEqual(Object.keys(decoded).sort(), ['cluster', 'from', 'msg', 'v']);
  });

  it('a malformed inc is refused as malformed', () => {
    const packr = new Packr({ useRecords: false });
    refusedAs(() => new FrameDecoder('c1').decode(packr.pack({ v: 1, cluster: 'c1', inc: 7, from: 'paris', msg: heartbeat })), 'malformed', /inc: not a cluster incarnation/);
  });
});

describe('site directory and removed members', () => {
  const seeds = [
    { site: 'a', addr: '/ip4/127.0.0.1/tcp/1/p2p/12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN' },
    { site: 'b', addr: '/ip4/127.0.0.1/tcp/2/p2p/12D3KooWSoHGVN7jEMXYDuZyEHExoaHwCLvFVcD1eHdZBuyEh5Zq' },
  ];

  it('uses every seed while this site knows no membership, and only the members among them once it does', () => {
    assert.deepEqual(directoryMembers('self', [], seeds).map((m) => m.name), ['a', 'b']);
    assert.deepEqual(directoryMembers('self', [], seeds, { voters: ['self', 'a'], learners: [] }).map((m) => m.name), ['a']);
    assert.deepEqual(directoryMembers('self', [], seeds, { voters: ['self'], learners: ['b'] }).map((m) => m.name), ['b']);
    assert.deepEqual(directoryMembers('self', [], seeds, { voters: ['self'], learners: [] }).map((m) => m.name), []);
  });
});
