// The blob store's file port: the few operations it needs, so a test can put a full or failing
// disk underneath (and the simulator, later, a modelled one). Paths are relative to the store's
// directory and use '/'.
import { randomBytes } from 'node:crypto';
import { mkdir, open, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';

export interface BlobDisk {
  /** Writes `data` whole or not at all: a temp file under tmp/, fsynced, renamed into place, the directory fsynced. */
  writeAtomic(path: string, data: Uint8Array): Promise<void>;
  /** The file's bytes, or null when it does not exist. */
  read(path: string): Promise<Uint8Array | null>;
  /** The file's size, or null when it does not exist. */
  size(path: string): Promise<number | null>;
  /** Names in a directory ([] when it does not exist). */
  list(dir: string): Promise<string[]>;
  /** Removes a file or a directory tree; absent is fine. */
  remove(path: string): Promise<void>;
}

export const TMP_DIR = 'tmp';

/** The daemon's disk: a directory (`<dataDir>/blobs`). */
export function nodeBlobDisk(root: string): BlobDisk {
  const abs = (path: string): string => join(root, ...path.split('/'));
  return {
    async writeAtomic(path, data) {
      const tmp = abs(`${TMP_DIR}/${randomBytes(8).toString('hex')}`);
      const target = abs(path);
      await mkdir(dirname(tmp), { recursive: true });
      await mkdir(dirname(target), { recursive: true });
      try {
        const file = await open(tmp, 'w', 0o640);
        try {
          await file.writeFile(data);
          await file.datasync();
        } finally {
          await file.close();
        }
        await rename(tmp, target);
      } catch (err) {
        await rm(tmp, { force: true });
        throw err;
      }
      await syncDir(dirname(target));
    },
    async read(path) {
      try {
        return await readFile(abs(path));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
        throw err;
      }
    },
    async size(path) {
      try {
        return (await stat(abs(path))).size;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
        throw err;
      }
    },
    async list(dir) {
      try {
        return await readdir(abs(dir));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
        throw err;
      }
    },
    async remove(path) {
      await rm(abs(path), { recursive: true, force: true });
    },
  };
}

async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
