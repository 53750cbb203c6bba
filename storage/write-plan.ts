// The meaning of one StoreBatch, shared by the LevelDB store and its in-memory twin so both follow
// the same rules: validate the batch against what is stored, then describe the resulting state.
// Pure: no I/O. A batch that would break a log invariant is refused whole (InvalidBatchError).
import type { AppliedChanges, StoreBatch } from '../consensus/ports.js';
import type { Entry, HardState, Snapshot, SnapshotMeta } from '../consensus/types.js';
import { InvalidBatchError } from './errors.js';
import type { LogState } from './log-state.js';

export interface WritePlan {
  /** The state once the batch is durable. */
  next: LogState;
  /** Log index ranges [lo, hi) to delete: the old range minus the new one. Deletes go before puts. */
  deleteRanges: Array<[number, number]>;
  /** The whole stored log is discarded (a snapshot that does not match it). */
  logReset: boolean;
  entries: Entry[];
  hardState?: HardState;
  snapshot?: Snapshot;
  applied?: AppliedChanges;
}

/**
 * @param termAtSnapshotIndex term the store holds at batch.snapshot.meta.index (undefined if none):
 *   a snapshot that disagrees with the stored log replaces the whole log.
 */
export function planWrite(cur: LogState, batch: StoreBatch, termAtSnapshotIndex: number | undefined): WritePlan {
  if (batch === null || typeof batch !== 'object') fail('batch is not an object');
  const entries = batch.entries ?? [];
  validateEntries(entries);
  let firstIndex = cur.firstIndex;
  let lastIndex = cur.lastIndex;
  let snapshotMeta = cur.snapshotMeta;
  let logReset = false;

  if (batch.snapshot) {
    const meta = checkSnapshot(batch.snapshot, cur);
    if (meta.index > cur.lastIndex || termAtSnapshotIndex !== meta.term) {
      if (cur.hardState.commit > meta.index) {
        fail(`snapshot at ${meta.index} (term ${meta.term}) disagrees with the log committed up to ${cur.hardState.commit}`);
      }
      logReset = true;
      firstIndex = meta.index + 1;
      lastIndex = meta.index;
    }
    snapshotMeta = meta;
  }
  const baseIndex = snapshotMeta?.index ?? 0;

  if (entries.length > 0) {
    const from = entries[0].index;
    if (from <= baseIndex) fail(`entries start at ${from}, at or below the snapshot index ${baseIndex}`);
    if (from > lastIndex + 1) fail(`entries start at ${from}, leaving a gap after the last index ${lastIndex}`);
    if (from <= lastIndex && from <= cur.hardState.commit) {
      fail(`entries start at ${from} and would overwrite committed entries (commit index ${cur.hardState.commit})`);
    }
    lastIndex = entries[entries.length - 1].index;
  }

  if (batch.compactTo !== undefined) {
    const compactTo = batch.compactTo;
    if (!Number.isSafeInteger(compactTo) || compactTo < 0) fail(`compactTo ${String(compactTo)} is not an index`);
    if (compactTo > baseIndex + 1) fail(`compactTo ${compactTo} is past the snapshot index ${baseIndex} + 1`);
    if (compactTo > firstIndex) firstIndex = compactTo;
  }

  const hardState = batch.hardState ? checkHardState(batch.hardState, cur.hardState, lastIndex) : undefined;
  const applied = batch.applied ? checkApplied(batch.applied, cur.appliedIndex) : undefined;
  return {
    next: {
      hardState: hardState ? { ...hardState } : cur.hardState,
      firstIndex,
      lastIndex,
      snapshotMeta,
      appliedIndex: applied ? applied.index : cur.appliedIndex,
    },
    deleteRanges: rangeDifference(cur.firstIndex, cur.lastIndex, firstIndex, lastIndex),
    logReset,
    entries,
    hardState,
    snapshot: batch.snapshot,
    applied,
  };
}

function fail(message: string): never {
  throw new InvalidBatchError(message);
}

function isIndex(n: unknown): n is number {
  return Number.isSafeInteger(n) && (n as number) >= 0;
}

function validateEntries(entries: Entry[]): void {
  if (!Array.isArray(entries)) fail('entries is not an array');
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i];
    if (e === null || typeof e !== 'object') fail(`entries[${i}] is not an entry`);
    if (!isIndex(e.index) || e.index < 1) fail(`entries[${i}].index ${String(e.index)} is not a log index`);
    if (!isIndex(e.term) || e.term < 1) fail(`entries[${i}].term ${String(e.term)} is not a term`);
    if (e.type !== 0 && e.type !== 1) fail(`entries[${i}].type ${String(e.type)} is unknown`);
    if (!(e.data instanceof Uint8Array)) fail(`entries[${i}].data is not a Uint8Array`);
    if (i > 0) {
      const prev = entries[i - 1];
      if (e.index !== prev.index + 1) fail(`entries are not contiguous: ${prev.index} then ${e.index}`);
      if (e.term < prev.term) fail(`entry terms go down: ${prev.term} at ${prev.index}, ${e.term} at ${e.index}`);
    }
  }
}

function checkSnapshot(snapshot: Snapshot, cur: LogState): SnapshotMeta {
  const meta = snapshot?.meta;
  if (!meta || !isIndex(meta.index) || !isIndex(meta.term)) fail('snapshot meta has no valid index and term');
  if (!(snapshot.data instanceof Uint8Array)) fail('snapshot data is not a Uint8Array');
  const names = (v: unknown): boolean => Array.isArray(v) && v.every((x) => typeof x === 'string');
  if (!meta.conf || !names(meta.conf.voters) || !names(meta.conf.learners)) fail('snapshot conf is not voters/learners');
  const storedIndex = cur.snapshotMeta?.index ?? 0;
  if (meta.index < storedIndex) fail(`snapshot index ${meta.index} is older than the stored snapshot ${storedIndex}`);
  return meta;
}

function checkHardState(hs: HardState, cur: HardState, lastIndex: number): HardState {
  if (!hs || !isIndex(hs.term) || typeof hs.vote !== 'string' || !isIndex(hs.commit)) {
    fail('hard state must be { term, vote: string, commit }');
  }
  if (hs.term < cur.term) fail(`term would go down from ${cur.term} to ${hs.term}`);
  if (hs.term === cur.term && cur.vote !== '' && hs.vote !== cur.vote) {
    fail(`vote in term ${hs.term} would change from ${cur.vote} to ${hs.vote || 'nobody'}`);
  }
  if (hs.commit < cur.commit) fail(`commit index would go back from ${cur.commit} to ${hs.commit}`);
  if (hs.commit > lastIndex) fail(`commit index ${hs.commit} is past the last stored index ${lastIndex}`);
  return hs;
}

function checkApplied(applied: AppliedChanges, curIndex: number): AppliedChanges {
  if (!applied || !isIndex(applied.index)) fail('applied.index is not an index');
  if (applied.index < curIndex) fail(`applied index would go back from ${curIndex} to ${applied.index}`);
  if (!Array.isArray(applied.ops)) fail('applied.ops is not an array');
  applied.ops.forEach((op, i) => {
    if (!op || typeof op.key !== 'string' || op.key.length === 0) fail(`applied.ops[${i}] has no key`);
    if (op.type === 'put') {
      // A value held as an accessor is encoded when read (the catalog's records): a store checks it where it reads it.
      const own = Object.getOwnPropertyDescriptor(op, 'value');
      const valueOk = own === undefined || own.get !== undefined ? 'value' in op : own.value instanceof Uint8Array;
      if (!valueOk) fail(`applied.ops[${i}] (${op.key}) value is not a Uint8Array`);
    } else if (op.type !== 'del') {
      fail(`applied.ops[${i}] type ${String((op as { type: unknown }).type)} is unknown`);
    }
  });
  return applied;
}

/** [oldFirst, oldLast] minus [newFirst, newLast], as half-open ranges. */
function rangeDifference(oldFirst: number, oldLast: number, newFirst: number, newLast: number): Array<[number, number]> {
  if (oldLast < oldFirst) return [];
  if (newLast < newFirst || newLast < oldFirst || newFirst > oldLast) return [[oldFirst, oldLast + 1]];
  const ranges: Array<[number, number]> = [];
  if (oldFirst < newFirst) ranges.push([oldFirst, newFirst]);
  if (newLast < oldLast) ranges.push([newLast + 1, oldLast + 1]);
  return ranges;
}

/** The index whose stored term planWrite needs (the batch's snapshot index), if the batch names one. */
export function snapshotIndexOf(batch: StoreBatch): number | undefined {
  const index = batch?.snapshot?.meta?.index;
  return Number.isSafeInteger(index) ? index : undefined;
}
