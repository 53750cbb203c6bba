// The storage layer: the durable LevelDB LogStore and its in-memory twin (DESIGN.md, storage/).
export { LevelLogStore, DEFAULT_VERIFY_COMMITTED_ENTRIES, MAX_QUEUED_WRITES } from './level-store.js';
export type { LevelLogStoreOptions } from './level-store.js';
export { WalLogStore, WAL_STORE_FORMAT_NAME, WAL_STORE_FORMAT_VERSION, MAX_QUEUED_WAL_WRITES } from './wal-store.js';
export type { WalLogStoreOptions } from './wal-store.js';
export { nodeFileSystem } from './wal/file-port.js';
export type { WalFile, WalFileSystem, WalOpenMode } from './wal/file-port.js';
export { MemoryLogStore, MAX_INFLIGHT_WRITES } from './memory-store.js';
export type { MemoryLogStoreOptions } from './memory-store.js';
export { MemoryDisk } from './memory-disk.js';
export { STORE_FORMAT_NAME, STORE_FORMAT_VERSION } from './codec.js';
export { STORE_MARKER_FILE } from './store-dir.js';
export {
  InvalidBatchError,
  LogRangeError,
  REJOIN_ADVICE,
  StorageCorruptionError,
  StorageError,
  StorageFormatError,
  StoreStateError,
  StoreWriteError,
} from './errors.js';
export type { StorageErrorCode } from './errors.js';
export { openDurableStore } from './durable-store.js';
