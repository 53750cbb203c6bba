// The store the crash test's child writes to and its parent checks: the WAL store with small
// segments (a rotation every few dozen batches, so kills cut rotations and segment removals too),
// or the LevelDB store.
import type { LogStore } from '../../consensus/ports.js';
import { LevelLogStore, WalLogStore } from '../../storage/index.js';

export const CRASH_SEGMENT_BYTES = 16 * 1024;
export type CrashStoreKind = 'wal' | 'level';

export function crashStore(dir: string, kind: string): LogStore & { meta(): { lastIndex: number } } {
  return kind === 'level' ? new LevelLogStore(dir) : new WalLogStore(dir, { segmentBytes: CRASH_SEGMENT_BYTES });
}
