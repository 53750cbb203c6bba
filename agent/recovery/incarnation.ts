// The cluster incarnation: which life of the cluster this site's disk belongs to. A cluster founded
// with `agent --bootstrap` has the original incarnation ('', no file); `stackraft recover
// --force-new-cluster` and `stackraft snapshot restore` start a new one, and a site joining with a
// token takes the one the token names. Every transport frame carries it (agent/transport/frames.ts),
// so a member that comes back with the disk of an earlier life is refused, not heard.
//
// It lives beside the store, in `<dataDir>/cluster-incarnation.json`, because it is a fact about the
// data on that disk: copying a config does not carry it, restoring an old disk brings the old one.
// Others read it with readClusterIncarnation() (e.g. to mark cloud resources with the cluster's life).
import { randomBytes } from 'node:crypto';
import { open, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';

export const INCARNATION_FILE = 'cluster-incarnation.json';
const INCARNATION_FORMAT = 'stackraft.cluster-incarnation';
const INCARNATION_VERSION = 1;
/** Incarnation ids: what newIncarnationId() makes, or what an operator passes (letters, digits, -). */
export const INCARNATION_PATTERN = /^[A-Za-z0-9-]{1,64}$/;
const MAX_FILE_BYTES = 4096;

export interface ClusterIncarnation {
  /** '' for the original incarnation (no file). */
  incarnation: string;
  /** Why this disk has it: 'restore', 'force-new-cluster', 'join'; null for the original. */
  reason: string | null;
  /** ISO 8601 time it was written; null for the original. */
  since: string | null;
}

export const ORIGINAL_INCARNATION: ClusterIncarnation = Object.freeze({ incarnation: '', reason: null, since: null });

export class IncarnationFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'IncarnationFileError';
  }
}

/** 16 random bytes as hex: two recoveries never pick the same one. */
export function newIncarnationId(): string {
  return randomBytes(16).toString('hex');
}

/** The incarnation the data directory holds; the original when there is no file. Throws IncarnationFileError on a damaged file. */
export async function readClusterIncarnation(dataDir: string): Promise<ClusterIncarnation> {
  const path = join(dataDir, INCARNATION_FILE);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return ORIGINAL_INCARNATION;
    throw err;
  }
  let body: { format?: unknown; v?: unknown; incarnation?: unknown; reason?: unknown; since?: unknown };
  try {
    if (text.length > MAX_FILE_BYTES) throw new Error('too large');
    body = JSON.parse(text) as typeof body;
  } catch {
    throw new IncarnationFileError(`${path} is not readable JSON: restore it from a backup of the data directory, or run \`stackraft recover\` again`);
  }
  if (body?.format !== INCARNATION_FORMAT) throw new IncarnationFileError(`${path} is not a stackraft cluster incarnation file`);
  if (body.v !== INCARNATION_VERSION) throw new IncarnationFileError(`${path} has format version ${String(body.v)}; this agent reads version ${INCARNATION_VERSION} (upgrade the agent)`);
  if (typeof body.incarnation !== 'string' || !INCARNATION_PATTERN.test(body.incarnation)) throw new IncarnationFileError(`${path}: incarnation is not an incarnation id`);
  return {
    incarnation: body.incarnation,
    reason: typeof body.reason === 'string' ? body.reason : null,
    since: typeof body.since === 'string' ? body.since : null,
  };
}

/** Writes the file durably (temporary file, fsync, rename, fsync of the directory). */
export async function writeClusterIncarnation(dataDir: string, incarnation: string, reason: string, now: Date = new Date(), fileName = INCARNATION_FILE): Promise<void> {
  if (!INCARNATION_PATTERN.test(incarnation)) throw new IncarnationFileError(`${JSON.stringify(incarnation)} is not an incarnation id (1-64 letters, digits or -)`);
  const text = `${JSON.stringify({ format: INCARNATION_FORMAT, v: INCARNATION_VERSION, incarnation, reason, since: now.toISOString() })}\n`;
  const path = join(dataDir, fileName);
  await writeFileDurably(path, text);
}

/** Removes the file (a site that joins the original incarnation), durably. */
export async function clearClusterIncarnation(dataDir: string): Promise<void> {
  await rm(join(dataDir, INCARNATION_FILE), { force: true });
  await syncDir(dataDir);
}

export async function writeFileDurably(path: string, text: string | Uint8Array, mode = 0o644): Promise<void> {
  const temp = `${path}.tmp`;
  const file = await open(temp, 'w', mode);
  try {
    await file.writeFile(text);
    await file.sync();
  } finally {
    await file.close();
  }
  await rename(temp, path);
  await syncDir(join(path, '..'));
}

export async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
