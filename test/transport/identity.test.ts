import '../../agent/runtime/promise-shim.js';
import assert from 'node:assert/strict';
import { chmod, mkdtemp, readdir, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { IdentityError, PEER_KEY_FILE, loadOrCreateIdentity, loadPeerKey } from '../../agent/transport/identity.js';

describe('site identity', () => {
  let root: string;
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'stackraft-identity-'));
  });
  after(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('creates an Ed25519 key file with mode 0600 and reloads the same peer id', async () => {
    const dir = join(root, 'site-a');
    const first = await loadOrCreateIdentity(dir);
    assert.equal(first.created, true);
    assert.equal(first.keyFile, join(dir, PEER_KEY_FILE));
    assert.equal(first.privateKey.type, 'Ed25519');
    assert.equal((await stat(first.keyFile)).mode & 0o777, 0o600);
    assert.deepEqual(await readdir(dir), [PEER_KEY_FILE], 'no temp file left behind');
    const second = await loadOrCreateIdentity(dir);
    assert.equal(second.created, false);
    assert.equal(second.peerId.toString(), first.peerId.toString());
    assert.ok(second.privateKey.equals(first.privateKey));
  });

  it('gives different sites different peer ids', async () => {
    const a = await loadOrCreateIdentity(join(root, 'x'));
    const b = await loadOrCreateIdentity(join(root, 'y'));
    assert.notEqual(a.peerId.toString(), b.peerId.toString());
  });

  it('keeps one key when two starts race', async () => {
    const dir = join(root, 'race');
    const [a, b] = await Promise.all([loadOrCreateIdentity(dir), loadOrCreateIdentity(dir)]);
    assert.equal(a.peerId.toString(), b.peerId.toString());
    assert.equal([a.created, b.created].filter(Boolean).length, 1);
  });

  for (const mode of [0o640, 0o604, 0o644, 0o660]) {
    it(`refuses a key file with mode ${mode.toString(8)} and says how to fix it`, async () => {
      const dir = join(root, `wide-${mode.toString(8)}`);
      const { keyFile } = await loadOrCreateIdentity(dir);
      await chmod(keyFile, mode);
      await assert.rejects(loadOrCreateIdentity(dir), (err: unknown) => {
        assert.ok(err instanceof IdentityError);
        assert.ok(err.message.includes(keyFile), err.message);
        assert.ok(err.message.includes(`chmod 600 ${keyFile}`), err.message);
        return true;
      });
    });
  }

  it('accepts a stricter mode (0400)', async () => {
    const dir = join(root, 'readonly');
    const { keyFile, peerId } = await loadOrCreateIdentity(dir);
    await chmod(keyFile, 0o400);
    assert.equal((await loadOrCreateIdentity(dir)).peerId.toString(), peerId.toString());
  });

  it('refuses a corrupt key file, an empty one, and a symlink', async () => {
    const dir = join(root, 'corrupt');
    const { keyFile } = await loadOrCreateIdentity(dir);
    await writeFile(keyFile, Buffer.from('not a key at all'), { mode: 0o600 });
    await assert.rejects(loadPeerKey(keyFile), /not a valid libp2p private key/);
    await writeFile(keyFile, Buffer.alloc(0));
    await assert.rejects(loadPeerKey(keyFile), /0 bytes/);
    const link = join(dir, 'link');
    await symlink(keyFile, link);
    await assert.rejects(loadPeerKey(link), /symbolic link/);
  });

  it('returns null for a missing key file', async () => {
    assert.equal(await loadPeerKey(join(root, 'nope', PEER_KEY_FILE)), null);
  });
});
