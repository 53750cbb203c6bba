// What a sequence of WAL records means: the log state (hard state, snapshot base, first and last
// index) and where each entry lives. The same function rebuilds the state at open and follows
// every live write, and the store checks after each write that it reaches the state planWrite
// planned: one meaning for the records, checked on every batch.
import type { HardState } from '../../consensus/types.js';
import { EMPTY_HARD_STATE } from '../log-state.js';
import { EntryIndex, type EntrySpot } from './entry-index.js';

export interface WalLogState {
  hardState: HardState;
  /** Index and term the log starts after (the latest snapshot's), null before any snapshot. */
  snapshot: { index: number; term: number } | null;
  /** The log is [firstIndex, lastIndex]; firstIndex = lastIndex + 1 when empty. */
  firstIndex: number;
  lastIndex: number;
}

/** A record as replay sees it: its fields, and each entry's index, term and place. */
export interface ReplayRecord {
  head?: { lastIndex: number };
  hardState?: HardState;
  snapshot?: { index: number; term: number; reset: boolean };
  firstIndex?: number;
  entries: Array<{ index: number; term: number; spot: EntrySpot }>;
}

/** The records do not describe a log: damage, or segments missing. `index` names where, when known. */
export class WalReplayError extends Error {
  constructor(
    message: string,
    readonly index?: number,
  ) {
    super(message);
  }
}

export function emptyWalLogState(): WalLogState {
  return { hardState: { ...EMPTY_HARD_STATE }, snapshot: null, firstIndex: 1, lastIndex: 0 };
}

/** The state a segment head records, for a segment started now. */
export function headOf(state: WalLogState): ReplayRecord {
  return {
    head: { lastIndex: state.lastIndex },
    hardState: { ...state.hardState },
    snapshot: state.snapshot ? { ...state.snapshot, reset: false } : undefined,
    firstIndex: state.firstIndex,
    entries: [],
  };
}

/**
 * Applies one record to `state` and `index`. The first record replayed must be a head (it sets the
 * whole state; the entries it covers live in earlier segments, which may have been removed); a head
 * met later must agree with the state replayed so far.
 */
export function applyRecord(state: WalLogState, index: EntryIndex, rec: ReplayRecord, first: boolean): void {
  if (rec.head) {
    const head = rec.head;
    if (first) {
      state.hardState = { ...rec.hardState! };
      state.snapshot = rec.snapshot ? { index: rec.snapshot.index, term: rec.snapshot.term } : null;
      state.firstIndex = rec.firstIndex!;
      state.lastIndex = head.lastIndex;
      index.clear(head.lastIndex + 1);
      return;
    }
    const hs = rec.hardState;
    if (
      head.lastIndex !== state.lastIndex ||
      rec.firstIndex !== state.firstIndex ||
      hs?.term !== state.hardState.term ||
      hs.vote !== state.hardState.vote ||
      hs.commit !== state.hardState.commit ||
      (rec.snapshot?.index ?? -1) !== (state.snapshot?.index ?? -1)
    ) {
      throw new WalReplayError(
        `a segment head says log [${rec.firstIndex}, ${head.lastIndex}] term ${hs?.term}, ` +
          `the records before it [${state.firstIndex}, ${state.lastIndex}] term ${state.hardState.term}`,
      );
    }
    return;
  }
  if (first) throw new WalReplayError('the first record of the log is not a segment head');
  if (rec.snapshot) {
    state.snapshot = { index: rec.snapshot.index, term: rec.snapshot.term };
    if (rec.snapshot.reset) {
      state.firstIndex = rec.snapshot.index + 1;
      state.lastIndex = rec.snapshot.index;
      index.clear(rec.snapshot.index + 1);
    }
  }
  if (rec.entries.length > 0) {
    const from = rec.entries[0].index;
    if (from > state.lastIndex + 1) {
      throw new WalReplayError(`entries resume at ${from} after the log ended at ${state.lastIndex}`, state.lastIndex + 1);
    }
    for (const e of rec.entries) index.put(e.index, e.term, e.spot);
    state.lastIndex = rec.entries[rec.entries.length - 1].index;
  }
  if (rec.firstIndex !== undefined) {
    state.firstIndex = rec.firstIndex;
    index.dropBefore(rec.firstIndex);
  }
  if (rec.hardState) state.hardState = { ...rec.hardState };
}

/** After the last record: every entry of [firstIndex, lastIndex] must have been seen. */
export function checkReplayedLog(state: WalLogState, index: EntryIndex): void {
  if (state.lastIndex < state.firstIndex) {
    index.clear(state.lastIndex + 1);
    return;
  }
  if (index.base > state.firstIndex || index.end !== state.lastIndex + 1) {
    const missing = index.base > state.firstIndex ? state.firstIndex : index.end;
    throw new WalReplayError(
      `entries [${state.firstIndex}, ${state.lastIndex}] are not all in the log's segments (entry ${missing} is missing)`,
      missing,
    );
  }
}
