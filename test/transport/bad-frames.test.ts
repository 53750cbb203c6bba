// A member's key speaking over a raw libp2p stream on the Raft protocol: every kind of bad frame
// is counted, closes the stream, never reaches the handler, and leaves the transport working.
import '../../agent/runtime/promise-shim.js';
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { generateKeyPair } from '@libp2p/crypto/keys';
import type { Libp2p, Stream } from '@libp2p/interface';
import { multiaddr } from '@multiformats/multiaddr';
import { Packr } from 'msgpackr';
import type { WireMessage } from '../../consensus/ports.js';
import type { FrameFault } from '../../agent/transport/frames.js';
import { FRAME_FORMAT_VERSION, FrameEncoder } from '../../agent/transport/frames.js';
import { MemberGater, createSiteHost } from '../../agent/transport/host.js';
import { peerIdFromKey } from '../../agent/transport/identity.js';
import { RAFT_PROTOCOL } from '../../agent/transport/libp2p-transport.js';
import { CLUSTER, heartbeat, memberOf, startSite, waitFor, type Site } from './helpers.js';

const MAX_FRAME = 64 * 1024;
const packr = new Packr({ useRecords: false });

function frameOf(body: Uint8Array): Uint8Array {
  const frame = new Uint8Array(4 + body.length);
  new DataView(frame.buffer).setUint32(0, body.length, false);
  frame.set(body, 4);
  return frame;
}

function envelope(overrides: Record<string, unknown>): Uint8Array {
  return frameOf(packr.pack({ v: FRAME_FORMAT_VERSION, cluster: CLUSTER, from: 'tokyo', msg: heartbeat('tokyo', 'paris', 1), ...overrides }));
}

describe('bad frames from a member', { timeout: 60_000 }, () => {
  let paris: Site;
  let tokyoHost: Libp2p;
  const tokyoEncoder = new FrameEncoder(CLUSTER, 'tokyo');

  before(async () => {
    paris = await startSite('paris', { maxFrameBytes: MAX_FRAME, maxQueuedBytesPerPeer: 1 << 20 });
    const tokyoKey = await generateKeyPair('Ed25519');
    const gater = new MemberGater();
    gater.setAllowedPeers([paris.transport.peerId]);
    tokyoHost = await createSiteHost({ privateKey: tokyoKey, listenAddrs: ['/ip4/127.0.0.1/tcp/0'], gater });
    const lima = peerIdFromKey(await generateKeyPair('Ed25519')).toString();
    paris.transport.setMembers([
      memberOf(paris),
      { name: 'tokyo', peerId: peerIdFromKey(tokyoKey).toString(), addrs: tokyoHost.getMultiaddrs().map(String) },
      { name: 'lima', peerId: lima, addrs: [] },
    ]);
  });

  after(async () => {
    await paris?.transport.stop();
    await tokyoHost?.stop();
  });

  async function openRaw(): Promise<Stream> {
    return tokyoHost.dialProtocol(paris.transport.multiaddrs().map((a) => multiaddr(a)), RAFT_PROTOCOL, {
      signal: AbortSignal.timeout(5000),
    });
  }

  /** Sends bytes on a fresh stream and waits until paris closes that stream. */
  async function sendAndExpectClose(bytes: Uint8Array[], fault: FrameFault): Promise<void> {
    const before = paris.transport.counters.badFrames[fault];
    const received = paris.received.length;
    const stream = await openRaw();
    const closed = new Promise<void>((resolve) => stream.addEventListener('close', () => resolve(), { once: true }));
    for (const b of bytes) stream.send(b);
    await Promise.race([
      closed,
      new Promise((_, reject) => setTimeout(() => reject(new Error(`stream not closed after a ${fault} frame`)), 5000)),
    ]);
    assert.notEqual(stream.status, 'open');
    assert.equal(paris.transport.counters.badFrames[fault], before + 1, `${fault} counted once`);
    assert.equal(paris.received.length, received, 'handler not called');
  }

  it('delivers a good frame over a raw stream (the harness itself works)', async () => {
    const stream = await openRaw();
    stream.send(tokyoEncoder.encode(heartbeat('tokyo', 'paris', 7)));
    await waitFor('the good frame', () => paris.received.length === 1);
    assert.deepEqual(paris.received[0], { from: 'tokyo', message: heartbeat('tokyo', 'paris', 7) });
    await stream.close();
  });

  it('malformed: bytes that are not msgpack', async () => {
    await sendAndExpectClose([frameOf(new Uint8Array([0xc1, 0xc1, 0xc1]))], 'malformed');
  });

  it('malformed: an empty frame', async () => {
    await sendAndExpectClose([new Uint8Array(4)], 'malformed');
  });

  it('malformed: valid msgpack, invalid message (entry data as a string)', async () => {
    const bad = {
      kind: 'raft',
      msg: { type: 'append', from: 'tokyo', to: 'paris', term: 1, index: 0, logTerm: 0, commit: 0, entries: [{ index: 1, term: 1, type: 0, data: 'x' }] },
    };
    await sendAndExpectClose([envelope({ msg: bad })], 'malformed');
  });

  it('oversize: a header announcing more than maxFrameBytes, refused before the body', async () => {
    const header = new Uint8Array(4);
    new DataView(header.buffer).setUint32(0, MAX_FRAME + 1, false);
    await sendAndExpectClose([header], 'oversize');
  });

  it('version: an unknown format version', async () => {
    await sendAndExpectClose([envelope({ v: FRAME_FORMAT_VERSION + 1 })], 'version');
  });

  it('wrongCluster: a frame for another cluster', async () => {
    await sendAndExpectClose([new FrameEncoder('other-cluster', 'tokyo').encode(heartbeat('tokyo', 'paris', 1))], 'wrongCluster');
  });

  it('spoofed: tokyo speaking as lima in the envelope', async () => {
    await sendAndExpectClose([new FrameEncoder(CLUSTER, 'lima').encode(heartbeat('lima', 'paris', 1))], 'spoofed');
  });

  it('spoofed: a raft message from lima inside tokyo’s envelope', async () => {
    await sendAndExpectClose([tokyoEncoder.encode(heartbeat('lima', 'paris', 1))], 'spoofed');
  });

  it('misaddressed: a raft message for another site', async () => {
    await sendAndExpectClose([tokyoEncoder.encode(heartbeat('tokyo', 'berlin', 1))], 'misaddressed');
  });

  it('stops at the first bad frame of a chunk: frames after it are not delivered', async () => {
    const received = paris.received.length;
    const refusedBefore = paris.transport.counters.badFrames.wrongCluster;
    const good = (n: number): WireMessage => heartbeat('tokyo', 'paris', n);
    const stream = await openRaw();
    const closed = new Promise<void>((resolve) => stream.addEventListener('close', () => resolve(), { once: true }));
    stream.send(Buffer.concat([tokyoEncoder.encode(good(100)), envelope({ cluster: 'nope' }), tokyoEncoder.encode(good(101))]));
    await closed;
    assert.equal(paris.transport.counters.badFrames.wrongCluster, refusedBefore + 1);
    await waitFor('the first frame', () => paris.received.length === received + 1);
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.deepEqual(
      paris.received.slice(received).map((r) => r.message),
      [good(100)],
      'the frame after the bad one is dropped with the stream',
    );
  });

  it('keeps working afterwards, in both directions', async () => {
    const received = paris.received.length;
    const stream = await openRaw();
    stream.send(tokyoEncoder.encode(heartbeat('tokyo', 'paris', 200)));
    await waitFor('a good frame after the bad ones', () => paris.received.length === received + 1);
    // paris can still dial tokyo's host (which does not speak the protocol: the dial is refused
    // during protocol negotiation, counted as a failure, and paris itself carries on).
    paris.transport.send('tokyo', heartbeat('paris', 'tokyo', 1));
    await waitFor('the failed dial', () => paris.transport.counters.dialFailures === 1);
    assert.ok(paris.unreachable.includes('tokyo'));
    await stream.close();
  });
});
