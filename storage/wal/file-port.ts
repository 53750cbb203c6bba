// The write-ahead log's only way to the disk. Everything the log does to files goes through these
// two interfaces, so a test can put a failing or power-cutting file system underneath (one that
// keeps written-but-not-synced bytes apart and drops or tears them at a simulated power loss).
// `nodeFileSystem` is the real one: node:fs/promises, nothing more.
import { constants as fsConstants } from 'node:fs';
import { mkdir, open, readdir, rename, unlink, type FileHandle } from 'node:fs/promises';

export interface WalFile {
  /** Writes all of `data` at `position`. */
  write(data: Uint8Array, position: number): Promise<void>;
  /** Reads up to into.byteLength bytes at `position`; returns how many were read (fewer at end of file). */
  read(into: Uint8Array, position: number): Promise<number>;
  /** Flushes the file's data (fdatasync): what was written is durable when this resolves. */
  datasync(): Promise<void>;
  /** Flushes data and metadata (fsync). */
  sync(): Promise<void>;
  truncate(length: number): Promise<void>;
  size(): Promise<number>;
  close(): Promise<void>;
}

export type WalOpenMode =
  /** Create a new file, failing if it exists. */
  | 'create'
  /** Open an existing file for reading and writing. */
  | 'read-write'
  /** Open an existing file for reading only. */
  | 'read';

export interface WalFileSystem {
  open(path: string, mode: WalOpenMode): Promise<WalFile>;
  /** Names in a directory (no paths). */
  list(dir: string): Promise<string[]>;
  /** mkdir -p with mode 0700. */
  mkdir(dir: string): Promise<void>;
  /** Atomic rename within one directory; durable only after syncDir(dir). */
  rename(from: string, to: string): Promise<void>;
  remove(path: string): Promise<void>;
  /** fsync of a directory: makes creates, renames and removals in it durable. */
  syncDir(dir: string): Promise<void>;
}

class NodeWalFile implements WalFile {
  constructor(private readonly handle: FileHandle) {}

  async write(data: Uint8Array, position: number): Promise<void> {
    let done = 0;
    while (done < data.byteLength) {
      const { bytesWritten } = await this.handle.write(data, done, data.byteLength - done, position + done);
      done += bytesWritten;
    }
  }

  async read(into: Uint8Array, position: number): Promise<number> {
    let done = 0;
    while (done < into.byteLength) {
      const { bytesRead } = await this.handle.read(into, done, into.byteLength - done, position + done);
      if (bytesRead === 0) break;
      done += bytesRead;
    }
    return done;
  }

  datasync(): Promise<void> {
    return this.handle.datasync();
  }

  sync(): Promise<void> {
    return this.handle.sync();
  }

  truncate(length: number): Promise<void> {
    return this.handle.truncate(length);
  }

  async size(): Promise<number> {
    return (await this.handle.stat()).size;
  }

  close(): Promise<void> {
    return this.handle.close();
  }
}

const OPEN_FLAGS: Record<WalOpenMode, number> = {
  create: fsConstants.O_RDWR | fsConstants.O_CREAT | fsConstants.O_EXCL,
  'read-write': fsConstants.O_RDWR,
  read: fsConstants.O_RDONLY,
};

export const nodeFileSystem: WalFileSystem = {
  async open(path, mode) {
    return new NodeWalFile(await open(path, OPEN_FLAGS[mode], 0o600));
  },
  list: (dir) => readdir(dir),
  async mkdir(dir) {
    await mkdir(dir, { recursive: true, mode: 0o700 });
  },
  rename: (from, to) => rename(from, to),
  remove: (path) => unlink(path),
  async syncDir(dir) {
    const handle = await open(dir, fsConstants.O_RDONLY);
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  },
};
