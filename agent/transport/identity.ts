// The site's libp2p identity: one Ed25519 key kept in the data directory. The key is the site's
// credential on the network (its peer id is what every gater admits), so the file must be
// readable by the agent alone; a key readable by others is refused rather than silently used.
import { randomBytes } from 'node:crypto';
import { constants as fsConstants } from 'node:fs';
import { link, mkdir, open, rename, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys';
import type { PeerId, PrivateKey } from '@libp2p/interface';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';

export const PEER_KEY_FILE = 'peer-key';
const PEER_KEY_MODE = 0o600;
/** A protobuf-marshalled Ed25519 key is ~68 bytes; anything far larger is not a key file. */
const MAX_PEER_KEY_FILE_BYTES = 4096;

export class IdentityError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'IdentityError';
  }
}

export interface SiteIdentity {
  privateKey: PrivateKey;
  peerId: PeerId;
  /** Path of the key file that holds privateKey. */
  keyFile: string;
  /** True when this call generated the key (first start of the site). */
  created: boolean;
}

export function peerIdFromKey(privateKey: PrivateKey): PeerId {
  return peerIdFromPrivateKey(privateKey);
}

/** Loads `<dataDir>/peer-key`, or creates it (mode 0600) when absent. */
export async function loadOrCreateIdentity(dataDir: string): Promise<SiteIdentity> {
  const keyFile = join(dataDir, PEER_KEY_FILE);
  const existing = await loadPeerKey(keyFile);
  if (existing !== null) return { privateKey: existing, peerId: peerIdFromKey(existing), keyFile, created: false };
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const privateKey = await generateKeyPair('Ed25519');
  await writeKeyFileAtomically(keyFile, privateKeyToProtobuf(privateKey));
  // Another process may have won a creation race: whatever is on disk now is the identity.
  const stored = await loadPeerKey(keyFile);
  if (stored === null) throw new IdentityError(`peer key file ${keyFile} vanished right after it was written`);
  return { privateKey: stored, peerId: peerIdFromKey(stored), keyFile, created: stored.equals(privateKey) };
}

/** Reads and checks a key file; null when it does not exist. */
export async function loadPeerKey(keyFile: string): Promise<PrivateKey | null> {
  let handle;
  try {
    handle = await open(keyFile, fsConstants.O_RDONLY | fsConstants.O_NOFOLLOW);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    if ((err as NodeJS.ErrnoException).code === 'ELOOP') {
      throw new IdentityError(`peer key file ${keyFile} is a symbolic link; refusing to use it`);
    }
    throw new IdentityError(`cannot open peer key file ${keyFile}: ${(err as Error).message}`);
  }
  try {
    const info = await handle.stat();
    checkKeyFileMetadata(keyFile, info.isFile(), info.mode, info.size);
    const bytes = await handle.readFile();
    return decodePeerKey(keyFile, bytes);
  } finally {
    await handle.close();
  }
}

function checkKeyFileMetadata(keyFile: string, isFile: boolean, mode: number, size: number): void {
  if (!isFile) throw new IdentityError(`peer key file ${keyFile} is not a regular file`);
  if ((mode & 0o077) !== 0) {
    const shown = (mode & 0o777).toString(8).padStart(3, '0');
    throw new IdentityError(
      `peer key file ${keyFile} has permissions ${shown}, readable by others; run \`chmod 600 ${keyFile}\``,
    );
  }
  if (size === 0 || size > MAX_PEER_KEY_FILE_BYTES) {
    throw new IdentityError(`peer key file ${keyFile} has ${size} bytes, which is not a marshalled key`);
  }
}

function decodePeerKey(keyFile: string, bytes: Uint8Array): PrivateKey {
  let key: PrivateKey;
  try {
    key = privateKeyFromProtobuf(bytes);
  } catch (err) {
    throw new IdentityError(`peer key file ${keyFile} is not a valid libp2p private key: ${(err as Error).message}`);
  }
  if (key.type !== 'Ed25519') {
    throw new IdentityError(`peer key file ${keyFile} holds a ${key.type} key; stackraft sites use Ed25519`);
  }
  return key;
}

/** Writes a private temp file, fsyncs it, then links it into place. */
async function writeKeyFileAtomically(keyFile: string, bytes: Uint8Array): Promise<void> {
  const tmp = `${keyFile}.${randomBytes(6).toString('hex')}.tmp`;
  const handle = await open(tmp, fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_EXCL, PEER_KEY_MODE);
  try {
    await handle.writeFile(bytes);
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    // link() refuses to replace an existing file, so a concurrent creator's key is never overwritten.
    await link(tmp, keyFile).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'EEXIST') throw err;
    });
    await syncDirectory(dirname(keyFile));
  } finally {
    await unlink(tmp).catch(() => undefined);
  }
}

async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, fsConstants.O_RDONLY);
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Installs a key minted elsewhere (a join token's) as `<dataDir>/peer-key`. An existing key file is
 * kept when it holds the same key and refused when it holds another: a site's identity is never
 * replaced behind its back.
 */
export async function installPeerKey(dataDir: string, bytes: Uint8Array): Promise<SiteIdentity> {
  const keyFile = join(dataDir, PEER_KEY_FILE);
  const wanted = decodePeerKey('(join token)', bytes);
  const existing = await loadPeerKey(keyFile);
  if (existing !== null) {
    if (!existing.equals(wanted)) throw new IdentityError(`${keyFile} already holds another site's key (peer id ${peerIdFromKey(existing).toString()}); a join token sets up a new site in an empty data directory`);
    return { privateKey: existing, peerId: peerIdFromKey(existing), keyFile, created: false };
  }
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  await writeKeyFileAtomically(keyFile, privateKeyToProtobuf(wanted));
  return { privateKey: wanted, peerId: peerIdFromKey(wanted), keyFile, created: true };
}

/** A key rotation's next key (agent/recovery/key-rotation.ts), kept beside the key until the switch. */
export const NEXT_PEER_KEY_FILE = 'peer-key.next';

/** Loads `<dataDir>/peer-key.next`, or creates it (mode 0600, never replacing one) when `create`. */
export async function loadNextPeerKey(dataDir: string, create: boolean): Promise<PrivateKey | null> {
  const keyFile = join(dataDir, NEXT_PEER_KEY_FILE);
  const existing = await loadPeerKey(keyFile);
  if (existing !== null || !create) return existing;
  await writeKeyFileAtomically(keyFile, privateKeyToProtobuf(await generateKeyPair('Ed25519')));
  return loadPeerKey(keyFile);
}

/** Makes the next key the site's key: one rename over `peer-key`, then the directory is synced. */
export async function promoteNextPeerKey(dataDir: string): Promise<void> {
  await rename(join(dataDir, NEXT_PEER_KEY_FILE), join(dataDir, PEER_KEY_FILE));
  await syncDirectory(dataDir);
}
