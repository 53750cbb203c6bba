// `image create --file`: the file goes to the agent's blob store over the admin socket in parts
// (each one short request), the agent hashes while it stores, and the CLI checks the file did not
// change while it was read (size and modification time before and after). Any failure abandons the
// upload, so nothing of it stays at the agent.
import { open } from 'node:fs/promises';
import type { AdminClient } from './client.js';
import { CliError, EXIT } from './errors.js';

/** Bytes per part: a few chunks, well inside the agent's per-part bound and request timeout. */
export const UPLOAD_PART_BYTES = 16 * 1024 * 1024;

export interface UploadedBlob {
  root: string;
  size: number;
  sha256: string;
  sha512: string;
  md5: string;
}

export async function uploadFile(client: AdminClient, path: string, given: { sha256?: string; sha512?: string }, progress: (sent: number, total: number) => void = () => {}): Promise<UploadedBlob> {
  let file;
  try {
    file = await open(path, 'r');
  } catch (err) {
    throw new CliError(`--file: cannot open ${path}: ${(err as Error).message}`, EXIT.USAGE);
  }
  try {
    const before = await file.stat();
    if (!before.isFile()) throw new CliError(`--file: ${path} is not a regular file`, EXIT.USAGE);
    const { id } = await client.post<{ id: string }>('/v1/blobs/uploads', { size: before.size, ...given });
    try {
      const buffer = Buffer.allocUnsafe(Math.min(UPLOAD_PART_BYTES, Math.max(1, before.size)));
      let sent = 0;
      progress(0, before.size);
      for (let part = 0; sent < before.size; part++) {
        const { bytesRead } = await file.read(buffer, 0, buffer.length, sent);
        if (bytesRead === 0) break; // shorter than it was: the agent's size check refuses it
        await client.putBytes(`/v1/blobs/uploads/${id}/parts/${part}`, buffer.subarray(0, bytesRead));
        sent += bytesRead;
        progress(sent, before.size);
      }
      const after = await file.stat();
      if (after.size !== before.size || after.mtimeMs !== before.mtimeMs) {
        throw new CliError(`--file: ${path} changed while it was being uploaded (size ${before.size} -> ${after.size}); nothing was stored, upload it again`, EXIT.REJECTED);
      }
      return await client.post<UploadedBlob>(`/v1/blobs/uploads/${id}/finish`, {});
    } catch (err) {
      await client.deleteOther(`/v1/blobs/uploads/${id}`).catch(() => undefined);
      throw err;
    }
  } finally {
    await file.close();
  }
}
