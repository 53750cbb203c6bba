// Unreachable members: reports (rate-limited), bounded memory while they are away, and
// reconnection when they come back on the same address.
import '../../agent/runtime/promise-shim.js';
import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, it } from 'node:test';
import { generateKeyPair } from '@libp2p/crypto/keys';
import { peerIdFromKey } from '../../agent/transport/identity.js';
import { heartbeat, memberOf, sleep, startSite, startSites, stopSites, waitFor, type Site } from './helpers.js';

describe('unreachable members', { timeout: 60_000 }, () => {
  let sites: Array<Site | undefined> = [];
  let servers: Server[] = [];
  let sockets: Socket[] = [];
  afterEach(async () => {
    await stopSites(sites);
    for (const socket of sockets) socket.destroy();
    await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
    sites = [];
    servers = [];
    sockets = [];
  });

  it('reports a member that is down, drops without growing, and reconnects when it returns', async () => {
    const [paris, tokyo] = (sites = await startSites(['paris', 'tokyo'], { unreachableReportIntervalMs: 300 })) as Site[];
    paris.transport.send('tokyo', heartbeat('paris', 'tokyo', 0));
    await waitFor('first delivery', () => tokyo.received.length === 1);
    const tokyoAddr = tokyo.transport.multiaddrs()[0];
    const tokyoKey = tokyo.key;
    await tokyo.transport.stop();

    const downSince = Date.now();
    let n = 1;
    let maxQueued = 0;
    while (Date.now() - downSince < 1500) {
      for (let i = 0; i < 20; i++) paris.transport.send('tokyo', heartbeat('paris', 'tokyo', n++));
      for (const status of paris.transport.peerStatus()) maxQueued = Math.max(maxQueued, status.queuedFrames);
      await sleep(25);
    }
    const elapsed = Date.now() - downSince;
    const reports = paris.unreachable.filter((m) => m === 'tokyo').length;
    assert.ok(reports >= 2, `reported while down (got ${reports})`);
    assert.ok(reports <= Math.ceil(elapsed / 300) + 1, `reports rate-limited (got ${reports} in ${elapsed} ms)`);
    assert.ok(paris.transport.counters.dropsUnreachable > 100, 'messages dropped while unreachable');
    assert.ok(maxQueued <= 1024, `queue bounded (max ${maxQueued})`);
    assert.ok(paris.transport.counters.dialFailures >= 2, 'redialed with backoff');
    assert.ok(paris.transport.counters.dials < 40, `backoff limits dials (got ${paris.transport.counters.dials})`);

    // tokyo comes back on the same address with the same key.
    const port = Number(tokyoAddr.split('/')[4]);
    const back = await startSite('tokyo', { listenAddrs: [`/ip4/127.0.0.1/tcp/${port}`] }, tokyoKey);
    sites.push(back);
    back.transport.setMembers([memberOf(paris), memberOf(back)]);
    await waitFor('delivery after tokyo returns', () => {
      paris.transport.send('tokyo', heartbeat('paris', 'tokyo', n++));
      return back.received.length > 0;
    });
    assert.deepEqual(paris.transport.peerStatus().map((s) => s.state), ['open']);
  });

  it('bounds the queue while a dial hangs, then reports and empties it when the dial times out', async () => {
    // A TCP server that accepts and never speaks: the Noise handshake hangs until the dial timeout.
    const server = createServer((socket) => sockets.push(socket));
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as { port: number }).port;
    const paris = await startSite('paris', { maxQueuedFramesPerPeer: 8, dialTimeoutMs: 800 });
    sites = [paris];
    const silentId = peerIdFromKey(await generateKeyPair('Ed25519')).toString();
    paris.transport.setMembers([memberOf(paris), { name: 'silent', peerId: silentId, addrs: [`/ip4/127.0.0.1/tcp/${port}`] }]);

    for (let i = 0; i < 100; i++) paris.transport.send('silent', heartbeat('paris', 'silent', i));
    const [status] = paris.transport.peerStatus();
    assert.equal(status.state, 'dialing');
    assert.equal(status.queuedFrames, 8);
    assert.equal(paris.transport.counters.dropsQueueFull, 92);
    assert.equal(paris.transport.counters.dials, 1);
    assert.deepEqual(paris.unreachable, []);

    await waitFor('the dial to time out', () => paris.transport.counters.dialFailures === 1, 10_000);
    assert.deepEqual(paris.unreachable, ['silent']);
    const after = paris.transport.peerStatus()[0];
    assert.equal(after.state, 'backoff');
    assert.equal(after.queuedFrames, 0);
    assert.equal(paris.transport.counters.dropsUnreachable, 8);
  });
});
