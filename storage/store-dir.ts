// Deciding, before LevelDB touches anything, whether a data directory is ours. LevelDB rewrites
// files on open (LOG, MANIFEST, the write-ahead log), so a directory that is not a stackraft store,
// or one from a newer format, must be refused by looking only: the marker file is that look.
import { constants as fsConstants } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { StorageFormatError } from './errors.js';
import { STORE_FORMAT_NAME, STORE_FORMAT_VERSION } from './codec.js';

/** Written (fsynced) into an empty directory before LevelDB creates anything there. */
export const STORE_MARKER_FILE = 'STACKRAFT-STORE';
const MARKER_TEMP_FILE = `${STORE_MARKER_FILE}.tmp`;
const MARKER_MAX_BYTES = 4096;
/** Files LevelDB may leave behind when creation was interrupted before CURRENT existed. */
const LEVELDB_PARTIAL_FILE = /^(LOCK|LOG|LOG\.old|MANIFEST-\d+|\d+\.(log|ldb|sst|dbtmp))$/;
const LISTED_NAMES_IN_ERROR = 5;

export type StoreDirState =
  /** Nothing there (or an empty directory): create a new store. */
  | 'new'
  /** Our marker is there but LevelDB was never fully created: finish creating it. */
  | 'creating'
  /** A stackraft store of a format this build reads. */
  | 'store';

export async function inspectStoreDir(dir: string): Promise<StoreDirState> {
  let names: string[];
  try {
    const info = await stat(dir);
    if (!info.isDirectory()) {
      throw new StorageFormatError(dir, `${dir} exists and is not a directory`, STORE_FORMAT_VERSION);
    }
    names = await readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 'new';
    throw err;
  }
  // An empty directory, or one where writing the marker was interrupted before its rename.
  if (names.every((n) => n === MARKER_TEMP_FILE)) return 'new';
  if (!names.includes(STORE_MARKER_FILE)) throw notAStore(dir, names);
  await checkMarker(dir);
  if (names.includes('CURRENT')) return 'store';
  const strangers = names.filter((n) => n !== STORE_MARKER_FILE && !LEVELDB_PARTIAL_FILE.test(n));
  if (strangers.length > 0) throw notAStore(dir, strangers);
  return 'creating';
}

function notAStore(dir: string, names: string[]): StorageFormatError {
  const listed = names.slice(0, LISTED_NAMES_IN_ERROR).join(', ') + (names.length > LISTED_NAMES_IN_ERROR ? ', …' : '');
  const what = names.includes('CURRENT')
    ? `holds a LevelDB database that stackraft did not create (no ${STORE_MARKER_FILE} file)`
    : `is not empty and is not a stackraft store (found: ${listed})`;
  return new StorageFormatError(
    dir,
    `Data directory ${dir} ${what}. Nothing was changed; point the agent at an empty or stackraft directory.`,
    STORE_FORMAT_VERSION,
  );
}

async function checkMarker(dir: string): Promise<void> {
  const path = join(dir, STORE_MARKER_FILE);
  let marker: { format?: unknown; version?: unknown };
  try {
    const text = await readFile(path, 'utf8');
    if (text.length > MARKER_MAX_BYTES) throw new Error('too large');
    marker = JSON.parse(text) as typeof marker;
  } catch (err) {
    throw new StorageFormatError(
      dir,
      `${path} is unreadable (${(err as Error).message}); this is not a usable stackraft store. Nothing was changed.`,
      STORE_FORMAT_VERSION,
    );
  }
  checkFormatVersion(dir, marker?.format, marker?.version);
}

/** Refuses a format name or version this build does not read (used for the marker and the in-store record). */
export function checkFormatVersion(dir: string, format: unknown, version: unknown): void {
  if (format !== STORE_FORMAT_NAME) {
    throw new StorageFormatError(
      dir,
      `${dir} holds format "${String(format)}", not "${STORE_FORMAT_NAME}". Nothing was changed.`,
      STORE_FORMAT_VERSION,
    );
  }
  if (!Number.isSafeInteger(version) || (version as number) < 1) {
    throw new StorageFormatError(dir, `${dir} names an invalid format version ${String(version)}`, STORE_FORMAT_VERSION);
  }
  const found = version as number;
  if (found > STORE_FORMAT_VERSION) {
    throw new StorageFormatError(
      dir,
      `${dir} was written by store format version ${found}; this build reads versions 1 to ${STORE_FORMAT_VERSION}. ` +
        'Run a stackraft release that supports it. Nothing was changed.',
      STORE_FORMAT_VERSION,
      found,
    );
  }
}

/** Creates the directory (mode 0700) and durably writes the marker: temp file, fsync, rename, fsync dir. */
export async function writeStoreMarker(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const path = join(dir, STORE_MARKER_FILE);
  const temp = join(dir, MARKER_TEMP_FILE);
  const body = JSON.stringify({ format: STORE_FORMAT_NAME, version: STORE_FORMAT_VERSION }) + '\n';
  const file = await open(temp, 'w', 0o600);
  try {
    await file.writeFile(body);
    await file.sync();
  } finally {
    await file.close();
  }
  await rename(temp, path);
  const dirHandle = await open(dir, fsConstants.O_RDONLY);
  try {
    await dirHandle.sync();
  } finally {
    await dirHandle.close();
  }
}
