// Real libp2p transports on loopback: delivery, binary integrity, membership and the gater.
import '../../agent/runtime/promise-shim.js';
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { generateKeyPair } from '@libp2p/crypto/keys';
import type { Libp2p } from '@libp2p/interface';
import { multiaddr } from '@multiformats/multiaddr';
import type { WireMessage } from '../../consensus/ports.js';
import type { Entry, Message } from '../../consensus/types.js';
import { MemberGater, createSiteHost } from '../../agent/transport/host.js';
import { peerIdFromKey } from '../../agent/transport/identity.js';
import { Libp2pTransport, RAFT_PROTOCOL, TransportConfigError } from '../../agent/transport/libp2p-transport.js';
import { connectAll, heartbeat, memberOf, sleep, startSite, startSites, stopSites, waitFor, type Site } from './helpers.js';

function entries(count: number, firstIndex: number, bytesEach: number): Entry[] {
  return Array.from({ length: count }, (_, i) => {
    const data = new Uint8Array(bytesEach);
    for (let b = 0; b < bytesEach; b++) data[b] = (b * 31 + i * 7) & 0xff;
    return { index: firstIndex + i, term: 2, type: i % 2 === 0 ? 0 : 1, data } as Entry;
  });
}

function append(from: string, to: string, list: Entry[]): WireMessage {
  const msg: Message = { type: 'append', from, to, term: 2, index: list[0].index - 1, logTerm: 1, commit: 3, entries: list };
  return { kind: 'raft', msg };
}

describe('Libp2pTransport', { timeout: 60_000 }, () => {
  let sites: Array<Site | undefined> = [];
  let extraHosts: Libp2p[] = [];
  afterEach(async () => {
    await stopSites(sites);
    await Promise.all(extraHosts.map((h) => h.stop()));
    sites = [];
    extraHosts = [];
  });

  it('two sites exchange messages; entries with binary data arrive intact and in order', async () => {
    const [paris, tokyo] = (sites = await startSites(['paris', 'tokyo'])) as Site[];
    const small = append('paris', 'tokyo', entries(5, 11, 33));
    // ~1.5 MiB in one frame: crosses many yamux and noise chunks.
    const large = append('paris', 'tokyo', entries(3, 16, 512 * 1024));
    paris.transport.send('tokyo', small);
    paris.transport.send('tokyo', large);
    tokyo.transport.send('paris', heartbeat('tokyo', 'paris', 1));
    await waitFor('both messages at tokyo', () => tokyo.received.length === 2);
    await waitFor('the heartbeat at paris', () => paris.received.length === 1);
    assert.deepEqual(tokyo.received[0], { from: 'paris', message: small });
    assert.deepEqual(tokyo.received[1], { from: 'paris', message: large });
    assert.deepEqual(paris.received[0], { from: 'tokyo', message: heartbeat('tokyo', 'paris', 1) });
    const got = (tokyo.received[1].message as Extract<WireMessage, { kind: 'raft' }>).msg.entries as Entry[];
    assert.ok(got[2].data instanceof Uint8Array);
    assert.equal(tokyo.transport.counters.framesIn, 2);
    assert.equal(paris.transport.counters.framesOut, 2);
    assert.equal(paris.transport.counters.dials, 1);
    // Many messages in successive turns keep their order on the one stream.
    for (let burst = 0; burst < 4; burst++) {
      for (let i = 0; i < 100; i++) paris.transport.send('tokyo', heartbeat('paris', 'tokyo', burst * 100 + i));
      await sleep(0);
    }
    await waitFor('400 heartbeats', () => tokyo.received.length === 402);
    const rounds = tokyo.received.slice(2).map((r) => (r.message as Extract<WireMessage, { kind: 'raft' }>).msg.readRound);
    assert.deepEqual(rounds, Array.from({ length: 400 }, (_, i) => i));
    assert.equal(paris.transport.counters.dials, 1, 'one long-lived stream');
    assert.equal(tokyo.transport.counters.badFrames.malformed, 0);
  });

  it('three sites exchange every kind of wire message', async () => {
    const [a, b, c] = (sites = await startSites(['a', 'b', 'c'])) as Site[];
    const kinds = (from: string, to: string): WireMessage[] => [
      append(from, to, entries(2, 1, 100)),
      { kind: 'propose', id: `${from}:1`, data: new Uint8Array([0, 1, 254, 255]), requireLive: [to], confChange: true },
      { kind: 'proposeResult', id: `${to}:1`, outcome: { status: 'committed', index: 12, result: { created: ['img-1'] } } },
      { kind: 'proposeResult', id: `${to}:2`, outcome: { status: 'refused', code: 'NO_QUORUM', message: 'no quorum', leader: '' } },
      { kind: 'readIndex', id: `${from}:r` },
      { kind: 'readIndexResult', id: `${to}:r`, ok: true, index: 7 },
      {
        kind: 'raft',
        msg: {
          type: 'snapshot',
          from,
          to,
          term: 2,
          snapshot: {
            meta: { index: 40, term: 2, conf: { voters: ['a', 'b', 'c'], learners: [] } },
            offset: 0,
            totalBytes: 3,
            data: new Uint8Array([9, 8, 7]),
            done: true,
          },
        },
      },
    ];
    const all = [a, b, c];
    for (const from of all) for (const to of all) if (from !== to) for (const m of kinds(from.name, to.name)) from.transport.send(to.name, m);
    await waitFor('14 messages at each site', () => all.every((s) => s.received.length === 14));
    for (const to of all) {
      for (const from of all) {
        if (from === to) continue;
        const got = to.received.filter((r) => r.from === from.name).map((r) => r.message);
        assert.deepEqual(got, kinds(from.name, to.name));
      }
    }
  });

  it('drops (and counts) messages for unknown sites and messages too large to frame', async () => {
    const [paris] = (sites = await startSites(['paris', 'tokyo'], { maxFrameBytes: 64 * 1024 })) as Site[];
    paris.transport.send('nowhere', heartbeat('paris', 'nowhere', 1));
    paris.transport.send('paris', heartbeat('paris', 'paris', 1));
    assert.equal(paris.transport.counters.dropsUnknownMember, 2);
    assert.deepEqual(paris.unreachable, ['nowhere', 'paris']);
    paris.transport.send('tokyo', { kind: 'propose', id: 'p:1', data: new Uint8Array(65 * 1024), requireLive: [] });
    assert.equal(paris.transport.counters.dropsUnencodable, 1);
    assert.equal(paris.transport.counters.dials, 0);
  });

  it('a peer that is not a member cannot get a frame to the handler: the gater refuses it', async () => {
    const [paris] = (sites = await startSites(['paris', 'tokyo'])) as Site[];
    const strangerKey = await generateKeyPair('Ed25519');
    const gater = new MemberGater();
    gater.setAllowedPeers([paris.transport.peerId]);
    const stranger = await createSiteHost({ privateKey: strangerKey, listenAddrs: ['/ip4/127.0.0.1/tcp/0'], gater });
    extraHosts.push(stranger);
    const addrs = paris.transport.multiaddrs().map((a) => multiaddr(a));
    await assert.rejects(
      (async () => {
        const stream = await stranger.dialProtocol(addrs, RAFT_PROTOCOL, { signal: AbortSignal.timeout(5000) });
        stream.send(new Uint8Array([0, 0, 0, 1, 0xc0]));
        await sleep(200);
        throw new Error('the stranger got a stream');
      })(),
      (err: Error) => !/the stranger got a stream/.test(err.message),
    );
    await waitFor('the gater refusal to be counted', () => paris.transport.counters.gaterRefusals >= 1);
    assert.equal(paris.received.length, 0);
    assert.equal(paris.transport.counters.framesIn, 0);
    // Also from our side: the transport will not dial a peer that is not a member.
    assert.equal(stranger.getConnections().length, 0);
  });

  it('removing a member closes its connection and refuses its frames from then on', async () => {
    const [paris, tokyo] = (sites = await startSites(['paris', 'tokyo'])) as Site[];
    tokyo.transport.send('paris', heartbeat('tokyo', 'paris', 1));
    await waitFor('first heartbeat', () => paris.received.length === 1);
    paris.transport.setMembers([memberOf(paris)]);
    await waitFor('tokyo to notice', () => tokyo.transport.counters.streamsLost + tokyo.transport.counters.dialFailures > 0);
    const deadline = Date.now() + 1500;
    let n = 2;
    while (Date.now() < deadline) {
      tokyo.transport.send('paris', heartbeat('tokyo', 'paris', n++));
      await sleep(50);
    }
    assert.equal(paris.received.length, 1, 'nothing from a removed member');
    assert.ok(tokyo.unreachable.includes('paris'));
    assert.ok(paris.transport.counters.gaterRefusals > 0);
    // Adding it back restores delivery.
    connectAll([paris, tokyo]);
    await waitFor('delivery after re-adding', () => {
      tokyo.transport.send('paris', heartbeat('tokyo', 'paris', n++));
      return paris.received.length > 1;
    });
  });

  it('refuses bad member maps without changing the current one', async () => {
    const [paris, tokyo] = (sites = await startSites(['paris', 'tokyo'])) as Site[];
    const good = [memberOf(paris), memberOf(tokyo)];
    const cases: Array<[string, unknown[], RegExp]> = [
      ['duplicate name', [...good, { ...memberOf(tokyo), peerId: paris.transport.peerId }], /listed twice/],
      ['duplicate peer id', [memberOf(paris), { ...memberOf(tokyo), name: 'lima', peerId: paris.transport.peerId }], /same peer id/],
      ['bad peer id', [memberOf(paris), { ...memberOf(tokyo), peerId: 'not-a-peer' }], /peer id "not-a-peer" is invalid/],
      ['bad multiaddr', [memberOf(paris), { ...memberOf(tokyo), addrs: ['tcp://1.2.3.4:5'] }], /not a multiaddr/],
      ['address naming another peer', [memberOf(paris), { ...memberOf(tokyo), addrs: paris.transport.multiaddrs() }], /names peer/],
      ['empty name', [memberOf(paris), { ...memberOf(tokyo), name: '' }], /member name/],
    ];
    for (const [what, members, reason] of cases) {
      assert.throws(() => paris.transport.setMembers(members as never), (err: Error) => err instanceof TransportConfigError && reason.test(err.message), what);
    }
    paris.transport.send('tokyo', heartbeat('paris', 'tokyo', 1));
    await waitFor('delivery with the unchanged map', () => tokyo.received.length === 1);
  });

  it('accepts addresses without /p2p/ and dials them as that member only', async () => {
    const [paris, tokyo] = (sites = await startSites(['paris', 'tokyo'])) as Site[];
    const bare = tokyo.transport.multiaddrs().map((a) => a.replace(/\/p2p\/.*$/, ''));
    paris.transport.setMembers([memberOf(paris), { name: 'tokyo', peerId: tokyo.transport.peerId, addrs: bare }]);
    paris.transport.send('tokyo', heartbeat('paris', 'tokyo', 1));
    await waitFor('delivery', () => tokyo.received.length === 1);
    // The same address listed under a different peer id: Noise sees the real key and the dial fails.
    const impostorId = peerIdFromKey(await generateKeyPair('Ed25519')).toString();
    paris.transport.setMembers([memberOf(paris), { name: 'tokyo', peerId: impostorId, addrs: bare }]);
    paris.transport.send('tokyo', heartbeat('paris', 'tokyo', 2));
    await waitFor('a failed dial', () => paris.transport.counters.dialFailures === 1);
    assert.equal(tokyo.received.length, 1);
  });

  it('fails to start with a clear error when the port is taken, and refuses bad options', async () => {
    const [paris] = (sites = await startSites(['paris'])) as Site[];
    const port = paris.transport.multiaddrs()[0].split('/')[4];
    const key = await generateKeyPair('Ed25519');
    const clash = new Libp2pTransport({ clusterId: 'c', localMember: 'x', privateKey: key, listenAddrs: [`/ip4/127.0.0.1/tcp/${port}`] });
    await assert.rejects(clash.start(), new RegExp(`could not start on /ip4/127.0.0.1/tcp/${port}`));
    clash.send('paris', heartbeat('x', 'paris', 1));
    assert.equal(clash.counters.dropsNotRunning, 1);
    const base = { clusterId: 'c', localMember: 'x', privateKey: key, listenAddrs: ['/ip4/127.0.0.1/tcp/0'] };
    assert.throws(() => new Libp2pTransport({ ...base, maxFrameBytes: 1 << 20, maxQueuedBytesPerPeer: 1 << 10 }), /must hold at least one frame/);
    assert.throws(() => new Libp2pTransport({ ...base, redialBaseMs: -1 }), /redialBaseMs: must be a positive integer/);
    assert.throws(() => new Libp2pTransport({ ...base, clusterId: '' }), /clusterId/);
    assert.throws(() => new Libp2pTransport({ ...base, listenAddrs: [] }), /listenAddrs/);
  });

  it('sends nothing before start or after stop, and stop is idempotent', async () => {
    const site = await startSite('solo');
    sites = [site];
    await site.transport.stop();
    await site.transport.stop();
    site.transport.send('x', heartbeat('solo', 'x', 1));
    assert.equal(site.transport.counters.dropsNotRunning, 1);
    await assert.rejects(site.transport.start(), /cannot start/);
  });
});
