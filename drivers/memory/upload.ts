// Receiving image bits into the in-memory cloud: hashed as they stream (md5 and sha512, as Glance
// does), never kept. A stream that fails midway puts the image back to queued.
import { createHash } from 'node:crypto';
import type { CloudModel, ImageRecord } from './model.js';

export async function receiveImageData(model: CloudModel, id: string, body: AsyncIterable<Uint8Array | string>): Promise<ImageRecord> {
  model.beginUpload(id);
  const md5 = createHash('md5');
  const sha512 = createHash('sha512');
  let sizeBytes = 0;
  try {
    for await (const chunk of body) {
      const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      md5.update(bytes);
      sha512.update(bytes);
      sizeBytes += bytes.length;
    }
  } catch (err) {
    model.abortUpload(id);
    throw err;
  }
  return model.finishUpload(id, { sizeBytes, md5: md5.digest('hex'), sha512: sha512.digest('hex') });
}
