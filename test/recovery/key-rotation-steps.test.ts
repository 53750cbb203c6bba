// The key rotation's steps, each resumed by a new agent life from what the last one left on disk and
// in the catalog (agent/recovery/key-rotation.ts): a crash after the new key is on disk but before
// the announcement commits, after it commits but before the switch, after the switch but before the
// retirement; and an agent started with a key the catalog no longer names.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { PrivateKey } from '@libp2p/interface';
import { KeyRotator, ROTATION_STEP_MS, SWITCH_GRACE_MS } from '../../agent/recovery/key-rotation.js';
import { loadNextPeerKey, loadOrCreateIdentity, NEXT_PEER_KEY_FILE, PEER_KEY_FILE, peerIdFromKey } from '../../agent/transport/identity.js';
import type { AgentService, WriteOp } from '../../agent/admin/service.js';
import type { Catalog } from '../../agent/catalog/index.js';

interface Record_ {
  peerId: string;
  nextPeerId?: string;
  addresses: string[];
}

/** The parts of one agent life: a catalog holding one site record, a service that commits patches into it, a transport. */
function life(dataDir: string, record: Record_, key: PrivateKey, options: { commit?: boolean } = {}) {
  const writes: Array<Record<string, unknown>> = [];
  const logs: string[] = [];
  const switched: string[] = [];
  const catalog = { get: (kind: string, id: string) => (kind === 'site' && id === 'site-2' ? { spec: record } : undefined) } as unknown as Catalog;
  const service = {
    write: async (ops: WriteOp[]) => {
      const patch = (ops[0] as { patch: Record<string, unknown> }).patch;
      writes.push(patch);
      if (options.commit === false) return { status: 'refused', code: 'NO_QUORUM', message: 'no quorum' };
      for (const [k, v] of Object.entries(patch)) {
        if (v === null) delete (record as unknown as Record<string, unknown>)[k];
        else (record as unknown as Record<string, unknown>)[k] = v;
      }
      return { status: 'committed', writeId: 'w', index: writes.length, revisions: [] };
    },
  } as unknown as AgentService;
  const transport = {
    peerId: peerIdFromKey(key).toString(),
    async switchKey(next: PrivateKey) {
      this.peerId = peerIdFromKey(next).toString();
      switched.push(this.peerId);
    },
  };
  const logger = Object.fromEntries(['debug', 'info', 'warn', 'error', 'fatal'].map((level) => [level, (_: unknown, msg: string) => logs.push(`${level} ${msg}`)]));
  const rotator = new KeyRotator({ dataDir, site: 'site-2', catalog, service, transport, logger: logger as never, now: () => Date.now(), fatal: (m) => logs.push(`fatal ${m}`) });
  return { rotator, writes, logs, switched, transport };
}

async function until(what: string, check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, ROTATION_STEP_MS / 5));
  }
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(() => true, () => false);
}

describe('key rotation steps across agent lives', () => {
  const dirs: string[] = [];
  after(async () => {
    await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
  });

  async function dataDir(): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), 'stackraft-rotation-'));
    dirs.push(dir);
    return dir;
  }

  it('a crash before the announcement commits: the next life announces the key left on disk, switches and retires', { timeout: 30_000 }, async () => {
    const dir = await dataDir();
    const old = (await loadOrCreateIdentity(dir)).privateKey;
    const record: Record_ = { peerId: peerIdFromKey(old).toString(), addresses: [`/ip4/10.0.0.2/tcp/7420/p2p/${peerIdFromKey(old).toString()}`] };
    const first = life(dir, record, old, { commit: false });
    await first.rotator.start();
    const view = await first.rotator.begin();
    const next = view.nextPeerId!;
    await until('the first life to try announcing', () => first.writes.length > 0);
    first.rotator.stop(); // the crash: nothing committed, the next key on disk
    assert.equal(record.nextPeerId, undefined);
    assert.equal(peerIdFromKey((await loadNextPeerKey(dir, false))!).toString(), next);

    const second = life(dir, record, (await loadOrCreateIdentity(dir)).privateKey);
    assert.equal(second.transport.peerId, peerIdFromKey(old).toString(), 'the next life starts under the old key, which members still admit');
    await second.rotator.start();
    await until('the rotation to finish', () => second.rotator.view().stage === 'idle' && record.peerId === next, 10_000);
    second.rotator.stop();
    assert.deepEqual(second.switched, [next]);
    assert.equal(record.nextPeerId, undefined);
    assert.deepEqual(record.addresses, ['/ip4/10.0.0.2/tcp/7420'], 'the /p2p/ of the old id is dropped from the addresses');
    assert.equal(await exists(join(dir, NEXT_PEER_KEY_FILE)), false);
    assert.equal((await loadOrCreateIdentity(dir)).peerId.toString(), next, 'peer-key holds the new key');
  });

  it('a crash after the announcement commits, before the switch: the next life switches without announcing again', { timeout: 30_000 }, async () => {
    const dir = await dataDir();
    const old = (await loadOrCreateIdentity(dir)).privateKey;
    const next = peerIdFromKey((await loadNextPeerKey(dir, true))!).toString();
    const record: Record_ = { peerId: peerIdFromKey(old).toString(), nextPeerId: next, addresses: ['/ip4/10.0.0.2/tcp/7420'] };
    const revived = life(dir, record, (await loadOrCreateIdentity(dir)).privateKey);
    await revived.rotator.start();
    assert.equal(revived.rotator.view().stage, 'switching');
    const started = Date.now();
    await until('the rotation to finish', () => record.peerId === next && record.nextPeerId === undefined);
    revived.rotator.stop();
    assert.ok(Date.now() - started >= SWITCH_GRACE_MS, 'the switch waits for the others to apply the announcement');
    assert.deepEqual(revived.writes, [{ peerId: next, nextPeerId: null, addresses: ['/ip4/10.0.0.2/tcp/7420'] }], 'only the retirement was written');
    assert.deepEqual(revived.switched, [next]);
  });

  it('a crash after the switch, before the retirement: the next life, under the new key, retires the old id', { timeout: 30_000 }, async () => {
    const dir = await dataDir();
    const old = (await loadOrCreateIdentity(dir)).privateKey;
    const fresh = await loadNextPeerKey(dir, true);
    const next = peerIdFromKey(fresh!).toString();
    const { promoteNextPeerKey } = await import('../../agent/transport/identity.js');
    await promoteNextPeerKey(dir); // the switch reached the disk; the process died before the retirement
    const record: Record_ = { peerId: peerIdFromKey(old).toString(), nextPeerId: next, addresses: ['/ip4/10.0.0.2/tcp/7420'] };
    const revived = life(dir, record, (await loadOrCreateIdentity(dir)).privateKey);
    assert.equal(revived.transport.peerId, next);
    await revived.rotator.start();
    assert.equal(revived.rotator.view().stage, 'retiring');
    await until('the retirement', () => record.peerId === next && record.nextPeerId === undefined);
    revived.rotator.stop();
    assert.deepEqual(revived.switched, [], 'no second switch');
    assert.equal((await readFile(join(dir, PEER_KEY_FILE))).length > 0, true);
  });

  it('an agent started with a key the catalog no longer names says so and writes nothing', { timeout: 30_000 }, async () => {
    const dir = await dataDir();
    const stale = (await loadOrCreateIdentity(dir)).privateKey;
    const record: Record_ = { peerId: '12D3KooWJWoaqZhDaoEFshF7Rh1bpY9ohihFhzcW6d69Lr2NASuq', addresses: ['/ip4/10.0.0.2/tcp/7420'] };
    const revived = life(dir, record, stale);
    await revived.rotator.start();
    await until('the warning', () => revived.logs.some((l) => l.startsWith('error')));
    revived.rotator.stop();
    assert.match(revived.logs.find((l) => l.startsWith('error'))!, new RegExp(`this agent's key \\(peer id ${peerIdFromKey(stale).toString()}\\) is not site site-2's: the catalog registers 12D3KooWJWoaqZhDaoEFshF7Rh1bpY9ohihFhzcW6d69Lr2NASuq`));
    assert.deepEqual(revived.writes, []);
  });
});
