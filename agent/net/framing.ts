// The framing the peer protocols other than Raft's share (blob: agent/blobs/wire.ts, join:
// agent/recovery/join-wire.ts): a header is `u32 big-endian length | msgpack map { v, ... }`, and a
// stream is read in exact byte counts. Each protocol keeps its own shapes, version and error class;
// only the bytes-level part lives here, so neither protocol's folder imports the other's.
import { Packr } from 'msgpackr';

/** A header frame's body is at most this many bytes unless the protocol says otherwise. */
export const MAX_FRAME_HEADER_BYTES = 4096;

/** Bytes that are not a well-formed frame; each protocol's wire error extends it. */
export class FrameError extends Error {
  override readonly name: string = 'FrameError';
}

const packr = new Packr({ useRecords: false, mapsAsObjects: true, moreTypes: false, bundleStrings: false });

export function encodeFrame(body: object): Uint8Array {
  const packed = packr.pack(body);
  const out = Buffer.allocUnsafe(4 + packed.length);
  out.writeUInt32BE(packed.length, 0);
  out.set(packed, 4);
  return out;
}

/**
 * A frame body as a map carrying `v === version`; anything else fails with `fail(message)`, so the
 * caller's own error class reaches its own catch. `what` names the body in the message.
 */
export function decodeFrameMap(body: Uint8Array, version: number, what: string, fail: (message: string) => Error): Record<string, unknown> {
  let value: unknown;
  try {
    value = packr.unpack(body);
  } catch (err) {
    throw fail(`${what} is not msgpack: ${(err as Error).message}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw fail(`${what} is not a map`);
  const o = value as Record<string, unknown>;
  if (o.v !== version) throw fail(`${what}: protocol version ${String(o.v)} is not ${version}`);
  return o;
}

/** Reads exact byte counts from a stream of arbitrary pieces. */
export class StreamReader {
  private readonly iterator: AsyncIterator<Uint8Array>;
  private pending: Uint8Array = new Uint8Array(0);

  constructor(source: AsyncIterable<Uint8Array>) {
    this.iterator = source[Symbol.asyncIterator]();
  }

  /** Exactly `n` bytes; FrameError when the stream ends first. */
  async read(n: number): Promise<Uint8Array> {
    if (this.pending.length >= n) return this.take(n);
    if (this.pending.length === 0) {
      // A piece that holds all `n` bytes is handed on as it is, without a copy.
      const next = await this.iterator.next();
      if (next.done) throw new FrameError(`the stream ended ${n} bytes short`);
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
      if (next.done) throw new FrameError(`the stream ended ${n - filled} bytes short`);
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

  /** A length-prefixed header body of at most `maxBytes`. */
  async readFrame(maxBytes = MAX_FRAME_HEADER_BYTES): Promise<Uint8Array> {
    const length = Buffer.from(await this.read(4)).readUInt32BE(0);
    if (length > maxBytes) throw new FrameError(`header of ${length} bytes is over ${maxBytes}`);
    return this.read(length);
  }

  private take(n: number): Uint8Array {
    const out = this.pending.subarray(0, n);
    this.pending = this.pending.subarray(n);
    return out;
  }
}
