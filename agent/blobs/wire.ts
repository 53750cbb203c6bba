// The blob protocol's messages. A request is one stream:
//
//   client: u32 big-endian length | msgpack { v, cluster, op: 'manifest', root }   (then ends its side)
//           u32 big-endian length | msgpack { v, cluster, op: 'chunk', digest }
//           u32 big-endian length | msgpack { v, cluster, op: 'have', root }       (which chunks it holds)
//           u32 big-endian length | msgpack { v, cluster, op: 'pick', root, chunks } (one of these, its choice)
//   server: u32 big-endian length | msgpack { v, ok: true, bytes } | raw body of `bytes` bytes
//           u32 big-endian length | msgpack { v, ok: true, bytes, chunk } | raw body   (answer to a pick)
//           u32 big-endian length | msgpack { v, ok: false, code, message }
//
// A manifest's body is its JSON (checked against the root by the fetcher), a chunk's body its
// bytes (checked against the digest), a have's body a bitmap of the manifest's chunks the server
// holds verified (bit i of byte i >> 3, lowest bit first; exactly ceil(chunks / 8) bytes). A pick
// names up to MAX_PICK_CHOICES chunk indexes of a blob; the server sends the one of them it holds
// and has sent least often (`chunk` says which; the fetcher checks it was one it named, and its
// bytes against that chunk's digest). Headers are small and strictly shaped; anything else is a
// BlobWireError and closes the stream. The framing itself (and StreamReader) is agent/net/framing.ts.
import { decodeFrameMap, encodeFrame, FrameError, MAX_FRAME_HEADER_BYTES } from '../net/framing.js';
import { isDigest, MAX_CHUNK_BYTES, MAX_MANIFEST_CHUNKS } from './format.js';

export { StreamReader } from '../net/framing.js';

export const BLOB_WIRE_VERSION = 1;
export const MAX_BLOB_HEADER_BYTES = MAX_FRAME_HEADER_BYTES;
/** A manifest of 1 TiB in 4 MiB chunks is ~17 MiB of JSON. */
export const MAX_MANIFEST_BODY_BYTES = 32 * 1024 * 1024;
export const MAX_BLOB_BODY_BYTES = Math.max(MAX_CHUNK_BYTES, MAX_MANIFEST_BODY_BYTES);

/** Chunk indexes one pick request may name. */
export const MAX_PICK_CHOICES = 16;

export type BlobRequest = { op: 'manifest'; root: string } | { op: 'chunk'; digest: string } | { op: 'have'; root: string } | { op: 'pick'; root: string; chunks: number[] };
/** NOT_HELD: ask someone else; BUSY: this server is at its limits, try later or elsewhere; BAD_REQUEST: the request was malformed. */
export type BlobRefusalCode = 'NOT_HELD' | 'BUSY' | 'BAD_REQUEST' | 'WRONG_CLUSTER';
export type BlobResponseHeader = { ok: true; bytes: number; chunk?: number } | { ok: false; code: BlobRefusalCode; message: string };

export class BlobWireError extends FrameError {
  override readonly name = 'BlobWireError';
}

export function encodeRequest(cluster: string, request: BlobRequest): Uint8Array {
  return encodeFrame({ v: BLOB_WIRE_VERSION, cluster, ...request });
}

export function encodeResponseHeader(header: BlobResponseHeader): Uint8Array {
  return encodeFrame({ v: BLOB_WIRE_VERSION, ...header });
}

function unpackObject(body: Uint8Array): Record<string, unknown> {
  return decodeFrameMap(body, BLOB_WIRE_VERSION, 'header', (message) => new BlobWireError(message));
}

function onlyKeys(o: Record<string, unknown>, keys: string[]): void {
  for (const key of Object.keys(o)) if (!keys.includes(key)) throw new BlobWireError(`unknown header field ${JSON.stringify(key).slice(0, 40)}`);
}

/** The request's cluster id is returned beside it: the server refuses another cluster's. */
export function decodeRequest(body: Uint8Array): { cluster: string; request: BlobRequest } {
  const o = unpackObject(body);
  if (typeof o.cluster !== 'string') throw new BlobWireError('request has no cluster id');
  if (o.op === 'manifest') {
    onlyKeys(o, ['v', 'cluster', 'op', 'root']);
    if (!isDigest(o.root)) throw new BlobWireError('manifest request: root is not 64 hex digits');
    return { cluster: o.cluster, request: { op: 'manifest', root: o.root } };
  }
  if (o.op === 'chunk') {
    onlyKeys(o, ['v', 'cluster', 'op', 'digest']);
    if (!isDigest(o.digest)) throw new BlobWireError('chunk request: digest is not 64 hex digits');
    return { cluster: o.cluster, request: { op: 'chunk', digest: o.digest } };
  }
  if (o.op === 'have') {
    onlyKeys(o, ['v', 'cluster', 'op', 'root']);
    if (!isDigest(o.root)) throw new BlobWireError('have request: root is not 64 hex digits');
    return { cluster: o.cluster, request: { op: 'have', root: o.root } };
  }
  if (o.op === 'pick') {
    onlyKeys(o, ['v', 'cluster', 'op', 'root', 'chunks']);
    if (!isDigest(o.root)) throw new BlobWireError('pick request: root is not 64 hex digits');
    const chunks = o.chunks;
    if (!Array.isArray(chunks) || chunks.length === 0 || chunks.length > MAX_PICK_CHOICES || !chunks.every(isChunkIndex)) {
      throw new BlobWireError(`pick request: chunks must be 1 to ${MAX_PICK_CHOICES} chunk indexes`);
    }
    return { cluster: o.cluster, request: { op: 'pick', root: o.root, chunks: [...(chunks as number[])] } };
  }
  throw new BlobWireError(`unknown op ${JSON.stringify(o.op)?.slice(0, 40)}`);
}

const CODES: readonly BlobRefusalCode[] = ['NOT_HELD', 'BUSY', 'BAD_REQUEST', 'WRONG_CLUSTER'];

export function decodeResponseHeader(body: Uint8Array): BlobResponseHeader {
  const o = unpackObject(body);
  if (o.ok === true) {
    onlyKeys(o, ['v', 'ok', 'bytes', 'chunk']);
    if (!Number.isSafeInteger(o.bytes) || (o.bytes as number) < 0 || (o.bytes as number) > MAX_BLOB_BODY_BYTES) throw new BlobWireError('response: bytes out of range');
    if (o.chunk === undefined) return { ok: true, bytes: o.bytes as number };
    if (!isChunkIndex(o.chunk)) throw new BlobWireError('response: chunk is not a chunk index');
    return { ok: true, bytes: o.bytes as number, chunk: o.chunk };
  }
  if (o.ok === false) {
    onlyKeys(o, ['v', 'ok', 'code', 'message']);
    if (!CODES.includes(o.code as BlobRefusalCode)) throw new BlobWireError('response: unknown refusal code');
    if (typeof o.message !== 'string' || o.message.length > MAX_BLOB_HEADER_BYTES) throw new BlobWireError('response: bad message');
    return { ok: false, code: o.code as BlobRefusalCode, message: o.message };
  }
  throw new BlobWireError('response: ok is neither true nor false');
}

function isChunkIndex(value: unknown): value is number {
  return Number.isSafeInteger(value) && (value as number) >= 0 && (value as number) < MAX_MANIFEST_CHUNKS;
}

/** The have bitmap's length for a manifest of `chunks` chunks. */
export function haveBitmapBytes(chunks: number): number {
  return Math.ceil(chunks / 8);
}

/** Bit i set: chunk i is held (every index not in `missing`). */
export function encodeHaveBitmap(chunks: number, missing: readonly number[]): Uint8Array {
  const bits = Buffer.alloc(haveBitmapBytes(chunks), 0xff);
  if (chunks % 8 !== 0) bits[bits.length - 1] = (1 << chunks % 8) - 1;
  for (const i of missing) bits[i >> 3]! &= ~(1 << (i & 7));
  return bits;
}

export function hasChunkBit(bits: Uint8Array, index: number): boolean {
  return ((bits[index >> 3] ?? 0) & (1 << (index & 7))) !== 0;
}
