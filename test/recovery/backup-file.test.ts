// The backup file format: what save writes restore reads back, and every damaged, truncated,
// foreign or newer file is refused with a message that says which.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { generateKeyPair } from '@libp2p/crypto/keys';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import { Catalog } from '../../agent/catalog/index.js';
import { BACKUP_FORMAT_VERSION, BACKUP_MAGIC, BackupFileError, decodeBackup, encodeBackup, type BackupContents } from '../../agent/recovery/backup-file.js';
import { recordsForNewCluster } from '../../agent/recovery/seed-store.js';
import { decodeSnapshotImage } from '../../agent/catalog/snapshot-image.js';
import { EntryType } from '../../consensus/types.js';
import { encodeCommand, writeCommand, putOp } from '../../agent/catalog/index.js';

const PEER_IDS = await Promise.all([1, 2, 3].map(async () => peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()));

function catalogWith(flavors: number, sites: string[] = []): Catalog {
  const catalog = new Catalog();
  let index = 0;
  const apply = (ops: Parameters<typeof writeCommand>[1]): void => {
    index++;
    const data = encodeCommand(writeCommand({ clientId: 'test', seq: index, time: 1_700_000_000_000 }, ops));
    const r = catalog.apply({ index, term: 1, type: EntryType.Normal, data });
    assert.equal((r.result as { ok: boolean }).ok, true, JSON.stringify(r.result));
  };
  for (const [i, site] of sites.entries()) {
    apply([putOp('site', site, { name: site, peerId: PEER_IDS[i], addresses: ['/ip4/127.0.0.1/tcp/7420'], region: 'eu-west', country: 'IE', labels: {}, role: 'voter' })]);
  }
  for (let i = 0; i < flavors; i++) apply([putOp('flavor', `f-${i}`, { name: `f-${i}`, vcpus: 1, ram: 512, disk: 1 })]);
  return catalog;
}

function contents(catalog: Catalog, overrides: Partial<BackupContents> = {}): BackupContents {
  return {
    clusterId: 'prod',
    incarnation: '',
    index: catalog.appliedIndex,
    term: 3,
    site: 'site-1',
    takenAt: '2026-12-07T15:00:00.000Z',
    linearizable: true,
    conf: { voters: ['site-1', 'site-2', 'site-3'], learners: [] },
    image: catalog.snapshot(),
    ...overrides,
  };
}

function refusedWith(file: Uint8Array, pattern: RegExp): void {
  assert.throws(() => decodeBackup(file), (err: unknown) => err instanceof BackupFileError && pattern.test(err.message));
}

describe('backup file', () => {
  it('round-trips: the decoded contents are what was encoded, the image byte for byte', () => {
    const original = contents(catalogWith(5));
    const decoded = decodeBackup(encodeBackup(original));
    assert.deepEqual({ ...decoded, image: null }, { ...original, image: null });
    assert.deepEqual(Buffer.from(decoded.image), Buffer.from(original.image));
  });

  it('refuses a file truncated anywhere: inside the magic, the header, the body and the checksum', () => {
    const file = encodeBackup(contents(catalogWith(3)));
    for (const length of [0, 5, BACKUP_MAGIC.length + 3, 40, file.length - 40, file.length - 1]) {
      refusedWith(file.subarray(0, length), /truncated/);
    }
  });

  it('refuses a flipped bit in the body or in the checksum (corrupt), and bytes appended after the end', () => {
    const file = encodeBackup(contents(catalogWith(3)));
    for (const at of [30, Math.floor(file.length / 2), file.length - 1]) {
      const damaged = new Uint8Array(file);
      damaged[at] ^= 0x10;
      refusedWith(damaged, /checksum mismatch: the file is corrupt/);
    }
    refusedWith(new Uint8Array([...file, 0]), /1 bytes after the end/);
  });

  it('refuses a newer format version by its version, before looking at anything else', () => {
    const file = new Uint8Array(encodeBackup(contents(catalogWith(1))));
    new DataView(file.buffer).setUint32(BACKUP_MAGIC.length, BACKUP_FORMAT_VERSION + 1, false);
    refusedWith(file, new RegExp(`format version ${BACKUP_FORMAT_VERSION + 1}, newer than this stackraft reads \\(${BACKUP_FORMAT_VERSION}\\)`));
  });

  it('refuses a file that is not a backup, and a body length past the limit', () => {
    refusedWith(new TextEncoder().encode('{"hello":"world"} and more bytes to be long enough'), /not a stackraft backup/);
    const file = new Uint8Array(encodeBackup(contents(catalogWith(1))));
    new DataView(file.buffer).setUint32(BACKUP_MAGIC.length + 4, 0xffffffff, false);
    refusedWith(file, /above the .* limit/);
  });

  it('refuses a well-checksummed file whose image stands past its stated index, or is not a catalog image', () => {
    const catalog = catalogWith(4);
    refusedWith(encodeBackup(contents(catalog, { index: catalog.appliedIndex - 1 })), /stands at index 4, past the backup's index 3/);
    refusedWith(encodeBackup(contents(catalog, { image: new Uint8Array([1, 2, 3]) })), /catalog image inside is unreadable/);
  });
});

describe('records of a new cluster', () => {
  it('keep every resource and session, drop the other sites\' records, and stand at the new index', () => {
    const catalog = catalogWith(3, ['site-1', 'site-2', 'site-3']);
    const records = recordsForNewCluster(decodeSnapshotImage(catalog.snapshot()), 'site-2', 40);
    const restored = new Catalog();
    restored.load(records);
    assert.equal(restored.appliedIndex, 40);
    assert.deepEqual(restored.sites().map((s) => s.id), ['site-2']);
    assert.deepEqual(restored.list('flavor').map((f) => f.id), ['f-0', 'f-1', 'f-2']);
    assert.ok(restored.session('test'), 'the client session table is kept (exactly-once across the restore)');
  });
});

describe('damaged input never escapes as anything but a clear refusal', () => {
  it('20,000 mutated backup files and join tokens: each decodes or is refused with the decoder\'s own error', async () => {
    const { decodeJoinToken, encodeJoinToken, JoinTokenError } = await import('../../agent/recovery/join-token.js');
    const file = encodeBackup(contents(catalogWith(3, ['site-1'])));
    const token = encodeJoinToken({ clusterId: 'c', incarnation: '', site: 's', region: 'r', country: 'IE', labels: {}, addrs: ['/ip4/127.0.0.1/tcp/1'], members: [{ site: 'a', addr: '/ip4/127.0.0.1/tcp/2/p2p/x' }], secret: 'A'.repeat(43), expiresAt: 1 });
    let seed = 12345;
    const next = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    let refusedBackups = 0;
    for (let i = 0; i < 10_000; i++) {
      const damaged = new Uint8Array(file.subarray(0, next(4) === 0 ? next(file.length + 1) : file.length));
      for (let flips = 1 + next(4); flips > 0 && damaged.length > 0; flips--) damaged[next(damaged.length)] = next(256);
      try {
        decodeBackup(damaged);
      } catch (err) {
        assert.ok(err instanceof BackupFileError, `input ${i}: ${(err as Error).stack}`);
        refusedBackups++;
      }
    }
    assert.ok(refusedBackups > 9_000, `only ${refusedBackups} of 10,000 damaged files refused`);
    const alphabet = 'ABCDEFabcdef0123456789-_.';
    for (let i = 0; i < 10_000; i++) {
      const chars = [...token.slice(0, next(4) === 0 ? next(token.length + 1) : token.length)];
      for (let flips = 1 + next(3); flips > 0 && chars.length > 0; flips--) chars[next(chars.length)] = alphabet[next(alphabet.length)];
      try {
        decodeJoinToken(chars.join(''));
      } catch (err) {
        assert.ok(err instanceof JoinTokenError, `token input ${i}: ${(err as Error).stack}`);
      }
    }
  });
});
