// Reading a JSON request body with a size limit and a content-type check.
import type { IncomingMessage } from 'node:http';
import { AdminHttpError } from './http-errors.js';

/** The largest request body accepted: a batch of resources, well under one Raft append (1 MiB). */
export const MAX_ADMIN_BODY_BYTES = 512 * 1024;

function hasBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length'];
  if (length !== undefined) return Number(length) > 0;
  return req.headers['transfer-encoding'] !== undefined;
}

function isJsonContentType(header: string | undefined): boolean {
  if (!header) return false;
  const mediaType = header.split(';')[0].trim().toLowerCase();
  return mediaType === 'application/json';
}

/**
 * Reads the body as JSON. Returns undefined when there is none. Refuses a non-JSON content type
 * (415), a body over `limit` bytes (413, without reading it when Content-Length says so), invalid
 * UTF-8 or JSON (400).
 */
export async function readJsonBody(req: IncomingMessage, limit = MAX_ADMIN_BODY_BYTES): Promise<unknown> {
  if (!hasBody(req)) return undefined;
  if (!isJsonContentType(req.headers['content-type'])) {
    throw new AdminHttpError('UNSUPPORTED_MEDIA_TYPE', `expected Content-Type: application/json, got ${JSON.stringify(req.headers['content-type'] ?? '')}`, {}, 'unsupported_media_type');
  }
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > limit) throw tooLarge(limit);
  const bytes = await collect(req, limit);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new AdminHttpError('BAD_REQUEST', 'request body is not valid UTF-8', {}, 'malformed_json');
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new AdminHttpError('BAD_REQUEST', `request body is not valid JSON: ${(error as Error).message}`, {}, 'malformed_json');
  }
}

function tooLarge(limit: number): AdminHttpError {
  return new AdminHttpError('PAYLOAD_TOO_LARGE', `request body is larger than ${limit} bytes`, { limitBytes: limit }, 'body_too_large', { connection: 'close' });
}

function collect(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const cleanup = () => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('aborted', onAborted);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        cleanup();
        req.resume(); // discard the rest; the response closes the connection
        reject(tooLarge(limit));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => {
      cleanup();
      resolve(Buffer.concat(chunks));
    };
    const onError = (error: Error) => {
      cleanup();
      reject(error);
    };
    const onAborted = () => onError(new Error('client closed the connection while sending the body'));
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('aborted', onAborted);
  });
}
