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
// BlobWireError and closes the stream.
import { Packr } from 'msgpackr';
import { isDigest, MAX_CHUNK_BYTES, MAX_MANIFEST_CHUNKS } from './format.js';

export const BLOB_WIRE_VERSION = 1;
export const MAX_BLOB_HEADER_BYTES = 4096;
/** A manifest of 1 TiB in 4 MiB chunks is ~17 MiB of JSON. */
export const MAX_MANIFEST_BODY_BYTES = 32 * 1024 * 1024;
export const MAX_BLOB_BODY_BYTES = Math.max(MAX_CHUNK_BYTES, MAX_MANIFEST_BODY_BYTES);

/** Chunk indexes one pick request may name. */
export const MAX_PICK_CHOICES = 16;

export type BlobRequest = { op: 'manifest'; root: string } | { op: 'chunk'; digest: string } | { op: 'have'; root: string } | { op: 'pick'; root: string; chunks: number[] };
/** NOT_HELD: ask someone else; BUSY: this server is at its limits, try later or elsewhere; BAD_REQUEST: the request was malformed. */
export type BlobRefusalCode = 'NOT_HELD' | 'BUSY' | 'BAD_REQUEST' | 'WRONG_CLUSTER';
export type BlobResponseHeader = { ok: true; bytes: number; chunk?: number } | { ok: false; code: BlobRefusalCode; message: string };

export class BlobWireError extends Error {
  override readonly name = 'BlobWireError';
}

const packr = new Packr({ useRecords: false, mapsAsObjects: true, moreTypes: false, bundleStrings: false });

function frame(body: object): Uint8Array {
  const packed = packr.pack(body);
  const out = Buffer.allocUnsafe(4 + packed.length);
  out.writeUInt32BE(packed.length, 0);
  out.set(packed, 4);
  return out;
}

export function encodeRequest(cluster: string, request: BlobRequest): Uint8Array {
  return frame({ v: BLOB_WIRE_VERSION, cluster, ...request });
}

export function encodeResponseHeader(header: BlobResponseHeader): Uint8Array {
  return frame({ v: BLOB_WIRE_VERSION, ...header });
}

function unpackObject(body: Uint8Array): Record<string, unknown> {
  let value: unknown;
  try {
    value = packr.unpack(body);
  } catch (err) {
    throw new BlobWireError(`header is not msgpack: ${(err as Error).message}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new BlobWireError('header is not a map');
  const o = value as Record<string, unknown>;
  if (o.v !== BLOB_WIRE_VERSION) throw new BlobWireError(`blob protocol version ${String(o.v)} is not ${BLOB_WIRE_VERSION}`);
  return o;
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

/** Reads exact byte counts from a stream of arbitrary pieces. */
export class StreamReader {
  private readonly iterator: AsyncIterator<Uint8Array>;
  private pending: Uint8Array = new Uint8Array(0);

  constructor(source: AsyncIterable<Uint8Array>) {
    this.iterator = source[Symbol.asyncIterator]();
  }

  /** Exactly `n` bytes; BlobWireError when the stream ends first. */
  async read(n: number): Promise<Uint8Array> {
    if (this.pending.length >= n) return this.take(n);
    if (this.pending.length === 0) {
      // A piece that holds all `n` bytes is handed on as it is, without a copy.
      const next = await this.iterator.next();
      if (next.done) throw new BlobWireError(`the stream ended ${n} bytes short`);
      this.pending = next.value;
      if (this.pending.length >= n) return this.take(n);
    }
    const out = Buffer.allocUnsafe(n);
    let filled = 0;
    for (;;) {
      const take = Math.min(n - filled, this.pending.length);
      out.set(this.pending.subarray(0, take), filled);
      this.pending = this.pending.subarray(take);
      filled += take;
      if (filled === n) return out;
      const next = await this.iterator.next();
      if (next.done) throw new BlobWireError(`the stream ended ${n - filled} bytes short`);
      this.pending = next.value;
    }
  }

  /**
   * Whether the stream ends with nothing past what was read. A peer that sends more than it announced
   * would otherwise have libp2p buffer the rest for as long as the stream stays open, without bound.
   */
  async endsHere(): Promise<boolean> {
    if (this.pending.length > 0) return false;
    for (;;) {
      const next = await this.iterator.next();
      if (next.done) return true;
      if (next.value.length > 0) return false;
    }
  }

  /** A length-prefixed header body (at most MAX_BLOB_HEADER_BYTES). */
  async readFrame(): Promise<Uint8Array> {
    const length = Buffer.from(await this.read(4)).readUInt32BE(0);
    if (length > MAX_BLOB_HEADER_BYTES) throw new BlobWireError(`header of ${length} bytes is over ${MAX_BLOB_HEADER_BYTES}`);
    return this.read(length);
  }

  private take(n: number): Uint8Array {
    const out = this.pending.subarray(0, n);
    this.pending = this.pending.subarray(n);
    return out;
  }
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
