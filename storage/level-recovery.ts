// What LevelLogStore.open() reads: the format record, the metadata records and the ends of the log,
// never the whole log. It checks the log tail: entries past the commit index that are torn or fail
// their checksum are cut off (they were never acknowledged to anyone as committed); damage at or
// below the commit index stops the open, because only a peer can supply those entries again.
import type { Level } from 'level';
import type { Logger } from '../consensus/ports.js';
import type { Snapshot } from '../consensus/types.js';
import {
  CorruptValue,
  KeyKind,
  decodeBytes,
  decodeEntry,
  decodeFormatRecord,
  decodeHardState,
  decodeIndex,
  decodeSnapshotMeta,
  encodeFormatRecord,
  indexOfLogKey,
  kindRange,
  logKey,
  nameOfRecordKey,
  singletonKey,
} from './codec.js';
import { StorageCorruptionError, StorageFormatError } from './errors.js';
import { checkFormatVersion } from './store-dir.js';
import { EMPTY_HARD_STATE, type LogState } from './log-state.js';

export type Db = Level<Uint8Array, Uint8Array>;

/** Entries read per iterator step while verifying. */
const VERIFY_CHUNK_ENTRIES = 256;

export interface LoadedState {
  state: LogState;
  snapshot: Snapshot | null;
}

/** Decodes a stored value, turning a decoding failure into a corruption error naming `what`. */
export function decodeOrCorrupt<T>(dir: string, what: string, decode: () => T, index?: number): T {
  try {
    return decode();
  } catch (err) {
    if (err instanceof CorruptValue) throw new StorageCorruptionError(dir, `${what}: ${err.message}`, index);
    throw err;
  }
}

/** Every applied catalog record, by name (both stores keep them in LevelDB under the same keys). */
export async function readCatalogRecords(db: Db, dir: string): Promise<Array<[string, Uint8Array]>> {
  const rows = await db.iterator(kindRange(KeyKind.Record)).all();
  return rows.map(([key, value]) => {
    const name = decodeOrCorrupt(dir, 'catalog record key', () => nameOfRecordKey(key));
    return [name, decodeOrCorrupt(dir, `catalog record ${name}`, () => decodeBytes(value))];
  });
}

/** Checks the in-store format record; writes it when creation stopped before it was written. */
export async function checkFormatRecord(db: Db, dir: string): Promise<void> {
  const value = await db.get(singletonKey(KeyKind.Format));
  if (value === undefined) {
    const anyKey = await db.keys({ limit: 1 }).all();
    if (anyKey.length > 0) {
      throw new StorageFormatError(dir, `${dir} holds data but no stackraft format record`, 1);
    }
    await db.batch([{ type: 'put', key: singletonKey(KeyKind.Format), value: encodeFormatRecord() }], { sync: true });
    return;
  }
  const record = decodeOrCorrupt(dir, 'format record', () => decodeFormatRecord(value));
  checkFormatVersion(dir, record.format, record.version);
}

export async function loadLogState(db: Db, dir: string, logger: Logger, verifyCommitted: number): Promise<LoadedState> {
  const hsValue = await db.get(singletonKey(KeyKind.HardState));
  const hardState = hsValue ? decodeOrCorrupt(dir, 'hard state', () => decodeHardState(hsValue)) : { ...EMPTY_HARD_STATE };
  const snapshot = await loadSnapshot(db, dir);
  const appliedValue = await db.get(singletonKey(KeyKind.AppliedIndex));
  const appliedIndex = appliedValue ? decodeOrCorrupt(dir, 'applied index', () => decodeIndex(appliedValue)) : 0;

  const baseIndex = snapshot?.meta.index ?? 0;
  const bounds = await logBounds(db, dir);
  let firstIndex = baseIndex + 1;
  let lastIndex = baseIndex;
  if (bounds) {
    [firstIndex, lastIndex] = bounds;
    if (firstIndex > baseIndex + 1) {
      throw new StorageCorruptionError(
        dir,
        `log starts at ${firstIndex} but the snapshot covers only up to ${baseIndex}: entries are missing`,
        baseIndex + 1,
      );
    }
  }
  if (hardState.commit > lastIndex) {
    throw new StorageCorruptionError(dir, `commit index ${hardState.commit} is past the last stored entry ${lastIndex}`);
  }
  if (bounds) {
    const verifyFrom = Math.max(firstIndex, hardState.commit - verifyCommitted + 1);
    const damagedAt = await findDamagedEntry(db, dir, verifyFrom, lastIndex, hardState.commit);
    if (damagedAt) {
      // Entries the snapshot covers are worth nothing without their successors: drop the whole log then.
      const cutFrom = damagedAt.index <= baseIndex ? firstIndex : damagedAt.index;
      await deleteLogFrom(db, cutFrom);
      logger.warn(
        { dir, from: cutFrom, to: lastIndex, commit: hardState.commit, reason: damagedAt.reason },
        'storage: cut a damaged log tail past the commit index',
      );
      lastIndex = cutFrom - 1;
      if (lastIndex < firstIndex) firstIndex = lastIndex + 1;
      if (lastIndex < baseIndex) [firstIndex, lastIndex] = [baseIndex + 1, baseIndex];
    }
  }
  return {
    state: { hardState, firstIndex, lastIndex, snapshotMeta: snapshot?.meta ?? null, appliedIndex },
    snapshot,
  };
}

export async function loadSnapshot(db: Db, dir: string): Promise<Snapshot | null> {
  const metaValue = await db.get(singletonKey(KeyKind.SnapshotMeta));
  if (metaValue === undefined) return null;
  const { meta, imageBytes } = decodeOrCorrupt(dir, 'snapshot metadata', () => decodeSnapshotMeta(metaValue));
  const imageValue = await db.get(singletonKey(KeyKind.SnapshotImage));
  if (imageValue === undefined) throw new StorageCorruptionError(dir, `snapshot image at ${meta.index} is missing`);
  const data = decodeOrCorrupt(dir, `snapshot image at ${meta.index}`, () => decodeBytes(imageValue));
  if (data.byteLength !== imageBytes) {
    throw new StorageCorruptionError(dir, `snapshot image is ${data.byteLength} bytes, its metadata says ${imageBytes}`);
  }
  return { meta, data };
}

async function logBounds(db: Db, dir: string): Promise<[number, number] | null> {
  const range = kindRange(KeyKind.LogEntry);
  const [firstKey] = await db.keys({ ...range, limit: 1 }).all();
  if (firstKey === undefined) return null;
  const [lastKey] = await db.keys({ ...range, limit: 1, reverse: true }).all();
  return decodeOrCorrupt(dir, 'log key', () => [indexOfLogKey(firstKey), indexOfLogKey(lastKey)]);
}

/**
 * Reads [from, last] in order and returns the first entry that is missing, torn, fails its checksum
 * or breaks term order. Damage at or below `commit` throws instead.
 */
async function findDamagedEntry(
  db: Db,
  dir: string,
  from: number,
  last: number,
  commit: number,
): Promise<{ index: number; reason: string } | null> {
  let expected = from;
  let prevTerm = 0;
  let damage: { index: number; reason: string } | null = null;
  const iterator = db.iterator({ gte: logKey(from), lte: logKey(last) });
  try {
    while (damage === null && expected <= last) {
      const chunk = await iterator.nextv(VERIFY_CHUNK_ENTRIES);
      if (chunk.length === 0) break;
      for (const [key, value] of chunk) {
        const checked = checkEntryAt(key, value, expected, prevTerm);
        if ('reason' in checked) {
          damage = checked;
          break;
        }
        prevTerm = checked.term;
        expected++;
      }
    }
  } finally {
    await iterator.close();
  }
  if (damage === null && expected <= last) damage = { index: expected, reason: 'entry is missing' };
  if (damage && damage.index <= commit) {
    throw new StorageCorruptionError(
      dir,
      `log entry ${damage.index} is damaged (${damage.reason}); it is at or below the commit index ${commit}`,
      damage.index,
    );
  }
  return damage;
}

/** The entry's term when it is sound, else where and why it is not. */
function checkEntryAt(
  key: Uint8Array,
  value: Uint8Array,
  expected: number,
  prevTerm: number,
): { term: number } | { index: number; reason: string } {
  try {
    const index = indexOfLogKey(key);
    if (index !== expected) return { index: expected, reason: 'entry is missing' };
    const entry = decodeEntry(value, index);
    if (entry.term < prevTerm) return { index, reason: `term ${entry.term} follows term ${prevTerm}` };
    return { term: entry.term };
  } catch (err) {
    if (err instanceof CorruptValue) return { index: expected, reason: err.message };
    throw err;
  }
}

/** Deletes every log key at or after `from`, in one synced batch. */
async function deleteLogFrom(db: Db, from: number): Promise<void> {
  const keys = await db.keys({ gte: logKey(from), lt: kindRange(KeyKind.LogEntry).lt }).all();
  await db.batch(
    keys.map((key) => ({ type: 'del' as const, key })),
    { sync: true },
  );
}
