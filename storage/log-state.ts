// The metadata both stores keep in memory about their durable state, and the read-side rules on it
// (which indices a read may ask for), shared so the LevelDB store and its twin answer alike.
import type { StoreMeta } from '../consensus/ports.js';
import type { HardState, Snapshot, SnapshotMeta } from '../consensus/types.js';
import { LogRangeError } from './errors.js';

export interface LogState {
  hardState: HardState;
  /** Stored log is exactly [firstIndex, lastIndex]; firstIndex = lastIndex + 1 when empty. */
  firstIndex: number;
  lastIndex: number;
  snapshotMeta: SnapshotMeta | null;
  appliedIndex: number;
}

export const EMPTY_HARD_STATE: HardState = { term: 0, vote: '', commit: 0 };

export function emptyLogState(): LogState {
  return { hardState: { ...EMPTY_HARD_STATE }, firstIndex: 1, lastIndex: 0, snapshotMeta: null, appliedIndex: 0 };
}

/** Index and term the log starts after: the snapshot's, or (0, 0) for a log never compacted. */
export function logBase(state: LogState): { index: number; term: number } {
  return state.snapshotMeta ? { index: state.snapshotMeta.index, term: state.snapshotMeta.term } : { index: 0, term: 0 };
}

export function toStoreMeta(state: LogState, snapshot: Snapshot | null): StoreMeta {
  return {
    hardState: { ...state.hardState },
    firstIndex: state.firstIndex,
    lastIndex: state.lastIndex,
    snapshot,
    appliedIndex: state.appliedIndex,
  };
}

/** entries(lo, hi) needs firstIndex <= lo <= hi <= lastIndex + 1; anything else is refused clearly. */
export function checkReadRange(state: LogState, lo: number, hi: number): void {
  if (!Number.isSafeInteger(lo) || !Number.isSafeInteger(hi) || lo > hi) {
    throw new RangeError(`entries(${String(lo)}, ${String(hi)}): not a range of log indices`);
  }
  if (lo === hi) return;
  if (lo < state.firstIndex) throw new LogRangeError('compacted', lo, hi, state.firstIndex, state.lastIndex);
  if (hi > state.lastIndex + 1) throw new LogRangeError('unavailable', lo, hi, state.firstIndex, state.lastIndex);
}
