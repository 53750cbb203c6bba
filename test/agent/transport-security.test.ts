// The Raft port of a real agent process, attacked from raw libp2p nodes on loopback: a peer that
// is not a member cannot get a frame to the core; a member's key (copied while that site is
// stopped) sending malformed and oversize frames gets its streams closed, the frames counted, and
// the agent keeps working.
import '../../agent/runtime/promise-shim.js';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { generateKeyPair } from '@libp2p/crypto/keys';
import type { Libp2p, PrivateKey, Stream } from '@libp2p/interface';
import { multiaddr } from '@multiformats/multiaddr';
import { Packr } from 'msgpackr';
import { FRAME_FORMAT_VERSION, FrameEncoder } from '../../agent/transport/frames.js';
import { MemberGater, createSiteHost } from '../../agent/transport/host.js';
import { PEER_KEY_FILE, loadPeerKey } from '../../agent/transport/identity.js';
import { RAFT_PROTOCOL } from '../../agent/transport/libp2p-transport.js';
import { metricTotal, metricValue } from './admin-http.js';
import type { AgentProcess } from './agent-process.js';
import { AgentCluster, CLUSTER_ID } from './cluster.js';
import { putFlavor } from './fixtures.js';

/** The agent's frame bound (agent/transport/frames.ts DEFAULT_MAX_FRAME_BYTES is 4 MiB). */
const OVERSIZE_FRAME_BYTES = 64 * 1024 * 1024;
const STREAM_CLOSE_WAIT_MS = 5_000;
const BAD_FRAMES_METRIC = 'stackraft_transport_bad_frames_total';
const REFUSED_CONNECTIONS_METRIC = 'stackraft_transport_connections_refused_total';
/** The agent logs pino's level labels; 40 is pino's number for warn, should the format change. */
const isWarning = (level: unknown): boolean => level === 'warn' || level === 40;

function frameOf(body: Uint8Array): Uint8Array {
  const frame = new Uint8Array(4 + body.length);
  new DataView(frame.buffer).setUint32(0, body.length, false);
  frame.set(body, 4);
  return frame;
}

/** A raw libp2p node (TCP, Noise, yamux, like an agent's) with `key`, allowed to talk to `target`. */
async function rawNode(key: PrivateKey, target: AgentProcess): Promise<Libp2p> {
  const gater = new MemberGater();
  gater.setAllowedPeers([target.peerId]);
  return createSiteHost({ privateKey: key, listenAddrs: ['/ip4/127.0.0.1/tcp/0'], gater });
}

function dialRaft(node: Libp2p, target: AgentProcess): Promise<Stream> {
  return node.dialProtocol(multiaddr(target.addr), RAFT_PROTOCOL, { signal: AbortSignal.timeout(STREAM_CLOSE_WAIT_MS) });
}

/** Sends `bytes` on a fresh stream and waits until the agent closes it. */
async function sendAndExpectClose(node: Libp2p, target: AgentProcess, bytes: Uint8Array, what: string): Promise<void> {
  const stream = await dialRaft(node, target);
  const closed = new Promise<void>((resolve) => stream.addEventListener('close', () => resolve(), { once: true }));
  stream.send(bytes);
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${target.name} did not close the stream after ${what}`)), STREAM_CLOSE_WAIT_MS);
  });
  try {
    await Promise.race([closed, timeout]);
  } finally {
    clearTimeout(timer);
  }
  assert.notEqual(stream.status, 'open');
}

function isAlive(pid: number | undefined): boolean {
  if (pid === undefined) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('the Raft port of a real agent against raw libp2p peers', { timeout: 120_000 }, () => {
  let cluster: AgentCluster;
  const nodes: Libp2p[] = [];

  before(async () => {
    cluster = await AgentCluster.start({ sites: 3, prefix: 'stackraft-e2et-' });
  });

  after(async () => {
    await Promise.all(nodes.map((n) => Promise.resolve(n.stop()).catch(() => undefined)));
    await cluster?.destroy();
  });

  it('a peer that is not a member cannot open a Raft stream, and the agent carries on unaffected', { timeout: 30_000 }, async () => {
    const target = cluster.site('site-1');
    const before = await cluster.admin(target.name).status();
    const stranger = await rawNode(await generateKeyPair('Ed25519'), target);
    nodes.push(stranger);
    // What it would send if it got a stream: a heartbeat in a far higher term, which would depose
    // any leader it reached.
    const frame = new FrameEncoder(CLUSTER_ID, 'site-3').encode({ kind: 'raft', msg: { type: 'heartbeat', from: 'site-3', to: 'site-1', term: before.term + 1000, commit: 0 } });
    for (let attempt = 0; attempt < 3; attempt++) {
      await assert.rejects(
        (async () => {
          const stream = await dialRaft(stranger, target);
          stream.send(frame);
          throw new Error('the stranger got a Raft stream');
        })(),
        (err: Error) => !/the stranger got a Raft stream/.test(err.message),
      );
    }
    assert.equal(stranger.getConnections().length, 0, 'no connection is left open to the stranger');
    // The operator sees it: counted in /metrics, and one warning naming the peer (its redials are quiet).
    const refused = metricValue(await cluster.admin(target.name).metrics(), REFUSED_CONNECTIONS_METRIC) ?? 0;
    assert.ok(refused >= 3, `${REFUSED_CONNECTIONS_METRIC} is ${refused}`);
    const strangerId = stranger.peerId.toString();
    const log = (await readFile(target.logPath, 'utf8')).split('\n').filter((line) => line.includes(strangerId));
    const warnings = log.map((line) => JSON.parse(line) as { level: unknown; msg: string }).filter((entry) => isWarning(entry.level));
    assert.equal(warnings.length, 1, log.join('\n'));
    assert.match(warnings[0].msg, /connection refused: peer is not a member/);
    const afterwards = await cluster.admin(target.name).status();
    assert.equal(afterwards.term, before.term, 'term unchanged');
    assert.equal(afterwards.leader, before.leader, 'leader unchanged');
    const index = await putFlavor(cluster.admin(target.name), `f-${randomUUID()}`);
    assert.ok(index > before.commitIndex);
  });

  describe('malformed and oversize frames under a member\'s key', () => {
    let impostor: Libp2p;
    const target = () => cluster.site('site-1');

    before(async () => {
      await cluster.waitForLeader();
      // site-3 is stopped; its key, copied, opens streams site-1 accepts as site-3's.
      await cluster.kill('site-3');
      const key = await loadPeerKey(join(cluster.site('site-3').dataDir, PEER_KEY_FILE));
      assert.ok(key);
      impostor = await rawNode(key, target());
      nodes.push(impostor);
    });

    after(async () => {
      await Promise.resolve(impostor?.stop()).catch(() => undefined);
      await cluster.restart('site-3');
    });

    it('the harness itself works: a well-formed frame on the stream is accepted (the stream stays open)', { timeout: 15_000 }, async () => {
      const stream = await dialRaft(impostor, target());
      // A response to nothing: the core drops it, and the transport has no reason to close the stream.
      stream.send(new FrameEncoder(CLUSTER_ID, 'site-3').encode({ kind: 'readIndexResult', id: 'r-1', ok: false, index: 0 }));
      await new Promise((resolve) => setTimeout(resolve, 300));
      assert.equal(stream.status, 'open');
      await stream.close();
    });

    it('bytes that are not msgpack: the stream is closed', { timeout: 15_000 }, async () => {
      await sendAndExpectClose(impostor, target(), frameOf(new Uint8Array([0xc1, 0xc1, 0xc1, 0xc1])), 'undecodable bytes');
    });

    it('valid msgpack that is not a message (entry data as a string): the stream is closed', { timeout: 15_000 }, async () => {
      const packr = new Packr({ useRecords: false });
      const body = packr.pack({
        v: FRAME_FORMAT_VERSION,
        cluster: CLUSTER_ID,
        from: 'site-3',
        msg: { kind: 'raft', msg: { type: 'append', from: 'site-3', to: 'site-1', term: 1, index: 0, logTerm: 0, commit: 0, entries: [{ index: 1, term: 1, type: 0, data: 'x' }] } },
      });
      await sendAndExpectClose(impostor, target(), frameOf(body), 'a malformed message');
    });

    it('a header announcing a 64 MiB frame: the stream is closed before the body is sent', { timeout: 15_000 }, async () => {
      const header = new Uint8Array(4);
      new DataView(header.buffer).setUint32(0, OVERSIZE_FRAME_BYTES, false);
      await sendAndExpectClose(impostor, target(), header, 'an oversize header');
    });

    it('a frame for another cluster: the stream is closed', { timeout: 15_000 }, async () => {
      const frame = new FrameEncoder('another-cluster', 'site-3').encode({ kind: 'raft', msg: { type: 'heartbeat', from: 'site-3', to: 'site-1', term: 1, commit: 0 } });
      await sendAndExpectClose(impostor, target(), frame, 'a wrong cluster id');
    });

    it('the agent did not crash and keeps committing writes', { timeout: 30_000 }, async () => {
      assert.ok(isAlive(target().pid), `${target().name} (pid ${target().pid}) is alive`);
      await cluster.waitForLeader({ among: ['site-1', 'site-2'] });
      await putFlavor(cluster.admin(target().name), `f-${randomUUID()}`);
    });

    it('GET /metrics counts each refused frame once, by reason', { timeout: 15_000 }, async () => {
      const text = await cluster.admin(target().name).metrics();
      const shown = text.split('\n').filter((l) => l.startsWith(BAD_FRAMES_METRIC)).join('\n');
      assert.equal(metricValue(text, BAD_FRAMES_METRIC, { reason: 'malformed' }), 2, shown);
      assert.equal(metricValue(text, BAD_FRAMES_METRIC, { reason: 'oversize' }), 1, shown);
      assert.equal(metricValue(text, BAD_FRAMES_METRIC, { reason: 'wrongCluster' }), 1, shown);
      assert.equal(metricTotal(text, BAD_FRAMES_METRIC), 4, shown);
    });
  });
});
