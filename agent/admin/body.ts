// Reading a JSON request body with a size limit and a content-type check.
import type { IncomingMessage } from 'node:http';
import { MAX_VALUE_DEPTH } from '../catalog/limits.js';
import { AdminHttpError } from './http-errors.js';

/** The largest request body accepted: a batch of resources, well under one Raft append (1 MiB). */
export const MAX_ADMIN_BODY_BYTES = 512 * 1024;
/**
 * Deepest nesting of objects and arrays in a request body, checked before JSON.parse. A PUT body's
 * spec sits two levels higher than in the command it becomes ({ ops: [{ spec }] }), so every body
 * accepted here fits the catalog's MAX_VALUE_DEPTH.
 */
export const MAX_ADMIN_BODY_DEPTH = MAX_VALUE_DEPTH - 2;

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
  if (nestsDeeperThan(text, MAX_ADMIN_BODY_DEPTH)) {
    throw new AdminHttpError('BAD_REQUEST', `request body nests objects or arrays more than ${MAX_ADMIN_BODY_DEPTH} levels deep`, { limitDepth: MAX_ADMIN_BODY_DEPTH }, 'too_deeply_nested');
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new AdminHttpError('BAD_REQUEST', `request body is not valid JSON: ${(error as Error).message}`, {}, 'malformed_json');
  }
}

/** One pass over JSON text (valid or not) counting open brackets outside strings; stops at the limit. */
export function nestsDeeperThan(text: string, limit: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) {
      inString = true;
    } else if (c === 0x7b || c === 0x5b) {
      if (++depth > limit) return true;
    } else if (c === 0x7d || c === 0x5d) {
      depth--;
    }
  }
  return false;
}

/** The client hung up before its body was complete: nobody is left to answer, and it is not the agent's fault. */
export class ClientGoneError extends Error {
  constructor() {
    super('client closed the connection while sending the body');
    this.name = 'ClientGoneError';
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
      req.off('aborted', onGone);
      req.off('close', onClose);
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
    const onGone = () => {
      cleanup();
      reject(new ClientGoneError());
    };
    // A hang-up mid-body surfaces as 'aborted', as an ECONNRESET 'error', or as 'close' before 'end'.
    const onError = (error: NodeJS.ErrnoException) => {
      if (req.destroyed || error.code === 'ECONNRESET') return onGone();
      cleanup();
      reject(error);
    };
    const onClose = () => {
      if (!req.complete) onGone();
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('aborted', onGone);
    req.on('close', onClose);
  });
}
