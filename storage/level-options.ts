// LevelDB's own memory, outside the V8 heap, for every LevelDB the stores open: the block cache, up
// to two write buffers (the memtable being filled and the one being flushed) and, per open table
// file, its index and filter blocks. The databases are small (a few MB with 18,000 flavors: the log
// is compacted below each snapshot, or lives in the WAL), so these bound LevelDB at about
// 8 + 2 x 4 MiB plus the open tables. Measured with bench:soak, LevelDB is not where an agent's
// memory goes (agent/ops/memory.ts says where it does).
export const LEVEL_BLOCK_CACHE_BYTES = 8 * 1024 * 1024;
export const LEVEL_WRITE_BUFFER_BYTES = 4 * 1024 * 1024;
export const LEVEL_MAX_OPEN_FILES = 256;

export const LEVEL_MEMORY_OPTIONS = {
  cacheSize: LEVEL_BLOCK_CACHE_BYTES,
  writeBufferSize: LEVEL_WRITE_BUFFER_BYTES,
  maxOpenFiles: LEVEL_MAX_OPEN_FILES,
} as const;
