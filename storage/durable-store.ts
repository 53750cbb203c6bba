// The store a daemon opens on its data directory: the WAL store, or the LevelDB-only store for a
// directory an earlier release created with it (its marker names that format). Both keep the same
// contract; a directory is never converted behind the operator's back.
import type { LogStore, Logger } from '../consensus/ports.js';
import { STORE_FORMAT_NAME } from './codec.js';
import { LevelLogStore } from './level-store.js';
import { markerFormatOf } from './store-dir.js';
import { WalLogStore } from './wal-store.js';
import type { WalFileSystem } from './wal/file-port.js';

/** `fs`: the write-ahead log's file port (default the real disk; the power-loss tests pass theirs). */
export async function openDurableStore(dir: string, logger: Logger, fs?: WalFileSystem): Promise<LogStore> {
  if ((await markerFormatOf(dir)) === STORE_FORMAT_NAME) {
    logger.warn({ dir }, 'storage: this data directory uses the LevelDB-only log of an earlier release; a new site gets the write-ahead log');
    return new LevelLogStore(dir, { logger });
  }
  return new WalLogStore(dir, { logger, ...(fs ? { fs } : {}) });
}
