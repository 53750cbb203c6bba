// Raft streams return yamux receive window once half of it is used, not after every frame
// (agent/transport/window-updates.ts), and a sender pushing far more than one window still gets
// every byte through. Two real libp2p nodes (TCP, Noise, yamux) on loopback.
import '../../agent/runtime/promise-shim.js';
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { generateKeyPair } from '@libp2p/crypto/keys';
import type { Libp2p, Stream } from '@libp2p/interface';
import { MemberGater, createSiteHost } from '../../agent/transport/host.js';
import { returnWindowAtHalf } from '../../agent/transport/window-updates.js';

const PROTOCOL = '/stackraft-test/window/1.0.0';
const WAIT_MS = 10_000;
/** yamux's initial stream window (256 KiB); the sender's view of it is `sendWindowCapacity`. */
const WINDOW = 256 * 1024;

interface SenderView {
  sendWindowCapacity: number;
}

async function node(gater: MemberGater): Promise<Libp2p> {
  return createSiteHost({ privateKey: await generateKeyPair('Ed25519'), listenAddrs: ['/ip4/127.0.0.1/tcp/0'], gater });
}

async function until(what: string, condition: () => boolean): Promise<void> {
  const deadline = Date.now() + WAIT_MS;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** Runs `body` with a stream from a sender to a receiver that counts the bytes it reads. */
async function withStream(patch: boolean, body: (stream: Stream, received: () => number) => Promise<void>): Promise<void> {
  const senderGater = new MemberGater();
  const receiverGater = new MemberGater();
  const sender = await node(senderGater);
  const receiver = await node(receiverGater);
  try {
    senderGater.setAllowedPeers([receiver.peerId.toString()]);
    receiverGater.setAllowedPeers([sender.peerId.toString()]);
    let bytes = 0;
    await receiver.handle(PROTOCOL, (stream) => {
      if (patch) assert.equal(returnWindowAtHalf(stream), true, 'a yamux stream of the expected shape');
      stream.addEventListener('message', (evt) => {
        bytes += evt.data.byteLength;
      });
    });
    const stream = await sender.dialProtocol(receiver.getMultiaddrs()[0], PROTOCOL, { signal: AbortSignal.timeout(WAIT_MS) });
    await body(stream, () => bytes);
  } finally {
    await Promise.all([sender.stop(), receiver.stop()]);
  }
}

/** Sends `count` messages of `size` bytes, waiting for drain when the stream asks. */
async function sendMessages(stream: Stream, count: number, size: number): Promise<void> {
  for (let i = 0; i < count; i++) if (!stream.send(new Uint8Array(size).fill(i & 0xff))) await stream.onDrain();
}

describe('yamux window updates on Raft streams', { timeout: 60_000 }, () => {
  let unpatchedCapacity = 0;

  before(async () => {
    // The library alone: every frame received is answered with a window update, so the sender's
    // window is back to full once the receiver has read the messages.
    await withStream(false, async (stream, received) => {
      await sendMessages(stream, 100, 100);
      await until('the receiver to read 10,000 bytes', () => received() === 10_000);
      await until('window updates to reach the sender', () => (stream as unknown as SenderView).sendWindowCapacity >= WINDOW);
      unpatchedCapacity = (stream as unknown as SenderView).sendWindowCapacity;
    });
  });

  it('small frames: no window update until half the window is used', async () => {
    assert.ok(unpatchedCapacity >= WINDOW, `without the change the window comes back after small frames (${unpatchedCapacity})`);
    await withStream(true, async (stream, received) => {
      await sendMessages(stream, 100, 100);
      await until('the receiver to read 10,000 bytes', () => received() === 10_000);
      // A round trip for any update to arrive: a ping on the same connection comes back after it would.
      await new Promise((resolve) => setTimeout(resolve, 200));
      const capacity = (stream as unknown as SenderView).sendWindowCapacity;
      assert.ok(capacity < WINDOW, `the sender's window stays used (${capacity} of ${WINDOW} bytes) until half is used`);
      assert.ok(capacity >= WINDOW - 10_000 - 100 * 12, `only the data (and its frame headers) used it: ${capacity}`);
    });
  });

  it('a sender pushing many windows gets every byte through (updates once half is used)', async () => {
    await withStream(true, async (stream, received) => {
      const total = 8 * WINDOW;
      await sendMessages(stream, total / 1024, 1024);
      await until(`the receiver to read ${total} bytes`, () => received() === total);
      // Past half the window an update went back, so the window is not exhausted.
      assert.ok((stream as unknown as SenderView).sendWindowCapacity > 0);
    });
  });

  it('leaves anything that is not a yamux stream alone', () => {
    const notYamux = { send: () => true } as unknown as Stream;
    assert.equal(returnWindowAtHalf(notYamux), false);
    assert.equal('sendWindowUpdate' in notYamux, false);
  });
});
