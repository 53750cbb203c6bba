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

/** The format name a store directory's marker holds, or null when there is no readable marker. */
export async function markerFormatOf(dir: string): Promise<string | null> {
  try {
    const text = await readFile(join(dir, STORE_MARKER_FILE), 'utf8');
    const marker = JSON.parse(text) as { format?: unknown };
    return typeof marker?.format === 'string' ? marker.format : null;
  } catch {
    return null;
  }
}

export async function checkMarker(dir: string, format = STORE_FORMAT_NAME, supported = STORE_FORMAT_VERSION): Promise<void> {
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
  checkFormatVersion(dir, marker?.format, marker?.version, format, supported);
}

/** Refuses a format name or version this build does not read (used for the marker and the in-store record). */
export function checkFormatVersion(
  dir: string,
  format: unknown,
  version: unknown,
  expectedFormat = STORE_FORMAT_NAME,
  supportedVersion = STORE_FORMAT_VERSION,
): void {
  if (format !== expectedFormat) {
    throw new StorageFormatError(
      dir,
      `${dir} holds format "${String(format)}", not "${expectedFormat}". Nothing was changed.`,
      supportedVersion,
    );
  }
  if (!Number.isSafeInteger(version) || (version as number) < 1) {
    throw new StorageFormatError(dir, `${dir} names an invalid format version ${String(version)}`, supportedVersion);
  }
  const found = version as number;
  if (found > supportedVersion) {
    throw new StorageFormatError(
      dir,
      `${dir} was written by store format version ${found}; this build reads versions 1 to ${supportedVersion}. ` +
        'Run a stackraft release that supports it. Nothing was changed.',
      supportedVersion,
      found,
    );
  }
}

/** Creates the directory (mode 0700) and durably writes the marker: temp file, fsync, rename, fsync dir. */
export async function writeStoreMarker(dir: string, format = STORE_FORMAT_NAME, version = STORE_FORMAT_VERSION): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const path = join(dir, STORE_MARKER_FILE);
  const temp = join(dir, MARKER_TEMP_FILE);
  const body = JSON.stringify({ format, version }) + '\n';
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

/**
 * For a store made of a marker and named parts (the WAL store: `wal/` and `state/`): 'new' for a
 * missing or empty directory, 'store' for one whose marker names `format` at a version this build
 * reads and that holds nothing but `parts`. Anything else is refused without a change.
 */
export async function inspectPartedStoreDir(
  dir: string,
  format: string,
  supportedVersion: number,
  parts: string[],
): Promise<'new' | 'store'> {
  let names: string[];
  try {
    const info = await stat(dir);
    if (!info.isDirectory()) throw new StorageFormatError(dir, `${dir} exists and is not a directory`, supportedVersion);
    names = await readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 'new';
    throw err;
  }
  if (names.every((n) => n === MARKER_TEMP_FILE)) return 'new';
  if (!names.includes(STORE_MARKER_FILE)) throw notAStore(dir, names);
  await checkMarker(dir, format, supportedVersion);
  const strangers = names.filter((n) => n !== STORE_MARKER_FILE && n !== MARKER_TEMP_FILE && !parts.includes(n));
  if (strangers.length > 0) throw notAStore(dir, strangers);
  return 'store';
}
