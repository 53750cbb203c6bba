// The write-ahead log's on-disk encoding: the segment header and the records after it.
//
// A record is [body length u32 BE][crc32 u32 BE][body]. The checksum covers the length bytes and
// the body, so a torn length is caught as surely as a torn body. Segments are preallocated with
// zeros, so a zero length with a zero checksum is "nothing written here yet": the end of the log.
//
// Body: [version u8][flags u8] then, in this order and only when its flag is set:
//   HEAD        lastIndex f64             (a segment's first record: the whole log state at that point)
//   HARD_STATE  term f64, commit f64, vote length u16, vote UTF-8
//   SNAPSHOT    index f64, term f64       (with RESET: the snapshot replaced the whole log)
//   FIRST_INDEX firstIndex f64            (entries below it are compacted away)
// then entry count u32 and the entries: [index f64][term f64][type u8][data length u32][data].
// Indices and terms are safe integers, so a float64 holds them exactly.
import { crc32 } from 'node:zlib';
import type { Entry, HardState } from '../../consensus/types.js';

/** Version of the WAL format as a whole (segment header and records); refused when newer. */
export const WAL_FORMAT_VERSION = 1;
const RECORD_BODY_VERSION = 1;
const SEGMENT_MAGIC = 'stkrwal\n';
export const SEGMENT_HEADER_BYTES = 32;
export const RECORD_HEADER_BYTES = 8;
/** A record body never exceeds this; a larger length read back is damage, not a record. */
export const MAX_RECORD_BODY_BYTES = 1 << 30;
export const ENTRY_HEADER_BYTES = 21;
const MAX_VOTE_BYTES = 0xffff;

export const RecordFlag = {
  Head: 1,
  HardState: 2,
  Snapshot: 4,
  Reset: 8,
  FirstIndex: 16,
  /** The writer fdatasynced after this record (set on the last record of a synced group). */
  Synced: 32,
} as const;

export interface RecordContent {
  /** A segment head: the log is [firstIndex, lastIndex] with this hard state and snapshot base. */
  head?: { lastIndex: number };
  hardState?: HardState;
  snapshot?: { index: number; term: number; reset: boolean };
  firstIndex?: number;
  entries: Entry[];
  synced?: boolean;
}

/** Where one entry's bytes sit in a segment file, without its data. */
export interface EntryLocation {
  index: number;
  term: number;
  type: 0 | 1;
  /** Offset of the entry's header in the segment file. */
  offset: number;
  dataBytes: number;
}

export interface DecodedRecord extends Omit<RecordContent, 'entries'> {
  entries: EntryLocation[];
  /** Offset of the record's header in the segment, and its total size (header + body). */
  offset: number;
  bytes: number;
}

export class WalDecodeError extends Error {}

const utf8 = new TextEncoder();
const utf8Decoder = new TextDecoder('utf-8', { fatal: true });

export function recordBytes(content: RecordContent): number {
  let body = 2 + 4;
  if (content.head) body += 8;
  if (content.hardState) body += 8 + 8 + 2 + utf8.encode(content.hardState.vote).byteLength;
  if (content.snapshot) body += 16;
  if (content.firstIndex !== undefined) body += 8;
  for (const e of content.entries) body += ENTRY_HEADER_BYTES + e.data.byteLength;
  return RECORD_HEADER_BYTES + body;
}

/** Encodes `content` at `offset` of `out` (which has room for recordBytes(content)); returns the end offset. */
export function encodeRecord(content: RecordContent, out: Uint8Array, offset: number, entryOffsets?: number[]): number {
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  const bodyStart = offset + RECORD_HEADER_BYTES;
  let p = bodyStart;
  let flags = 0;
  if (content.head) flags |= RecordFlag.Head;
  if (content.hardState) flags |= RecordFlag.HardState;
  if (content.snapshot) flags |= RecordFlag.Snapshot | (content.snapshot.reset ? RecordFlag.Reset : 0);
  if (content.firstIndex !== undefined) flags |= RecordFlag.FirstIndex;
  if (content.synced) flags |= RecordFlag.Synced;
  out[p++] = RECORD_BODY_VERSION;
  out[p++] = flags;
  if (content.head) p = putF64(view, p, content.head.lastIndex);
  if (content.hardState) {
    const vote = utf8.encode(content.hardState.vote);
    if (vote.byteLength > MAX_VOTE_BYTES) throw new RangeError(`vote of ${vote.byteLength} bytes is too long`);
    p = putF64(view, p, content.hardState.term);
    p = putF64(view, p, content.hardState.commit);
    view.setUint16(p, vote.byteLength);
    p += 2;
    out.set(vote, p);
    p += vote.byteLength;
  }
  if (content.snapshot) {
    p = putF64(view, p, content.snapshot.index);
    p = putF64(view, p, content.snapshot.term);
  }
  if (content.firstIndex !== undefined) p = putF64(view, p, content.firstIndex);
  view.setUint32(p, content.entries.length);
  p += 4;
  for (const e of content.entries) {
    entryOffsets?.push(p);
    p = putF64(view, p, e.index);
    p = putF64(view, p, e.term);
    out[p++] = e.type;
    view.setUint32(p, e.data.byteLength);
    p += 4;
    out.set(e.data, p);
    p += e.data.byteLength;
  }
  const bodyBytes = p - bodyStart;
  view.setUint32(offset, bodyBytes);
  view.setUint32(offset + 4, recordChecksum(out.subarray(offset, offset + 4), out.subarray(bodyStart, p)));
  return p;
}

function recordChecksum(lengthBytes: Uint8Array, body: Uint8Array): number {
  return crc32(body, crc32(lengthBytes));
}

function putF64(view: DataView, p: number, value: number): number {
  view.setFloat64(p, value);
  return p + 8;
}

export type RecordAt =
  /** Zeros: nothing was ever written here. */
  | { kind: 'end' }
  | { kind: 'record'; record: DecodedRecord }
  /** Not a whole, checksummed record: a torn write or damage. `bodyBytes` is the length read, if plausible. */
  | { kind: 'damaged'; reason: string; bodyBytes: number | null };

/** Reads the record at `offset` of a segment held in `data`; entry offsets are relative to `data`. */
export function readRecordAt(data: Uint8Array, offset: number): RecordAt {
  if (offset + RECORD_HEADER_BYTES > data.byteLength) {
    return allZero(data, offset, data.byteLength) ? { kind: 'end' } : { kind: 'damaged', reason: 'torn record header', bodyBytes: null };
  }
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const bodyBytes = view.getUint32(offset);
  const checksum = view.getUint32(offset + 4);
  if (bodyBytes === 0 && checksum === 0) return { kind: 'end' };
  const bodyStart = offset + RECORD_HEADER_BYTES;
  if (bodyBytes < 6 || bodyBytes > MAX_RECORD_BODY_BYTES || bodyStart + bodyBytes > data.byteLength) {
    return { kind: 'damaged', reason: `record length ${bodyBytes} does not fit the segment`, bodyBytes: null };
  }
  const body = data.subarray(bodyStart, bodyStart + bodyBytes);
  if (recordChecksum(data.subarray(offset, offset + 4), body) !== checksum) {
    return { kind: 'damaged', reason: 'record checksum mismatch', bodyBytes };
  }
  try {
    const record = decodeBody(view, bodyStart, bodyStart + bodyBytes);
    return { kind: 'record', record: { ...record, offset, bytes: RECORD_HEADER_BYTES + bodyBytes } };
  } catch (err) {
    if (err instanceof WalDecodeError) return { kind: 'damaged', reason: err.message, bodyBytes };
    throw err;
  }
}

function decodeBody(view: DataView, start: number, end: number): Omit<DecodedRecord, 'offset' | 'bytes'> {
  let p = start;
  const need = (n: number): void => {
    if (p + n > end) throw new WalDecodeError('record body ends early');
  };
  const f64 = (what: string): number => {
    need(8);
    const v = view.getFloat64(p);
    p += 8;
    if (!Number.isSafeInteger(v) || v < 0) throw new WalDecodeError(`${what} ${v} is not an index`);
    return v;
  };
  need(2);
  const version = view.getUint8(p++);
  if (version !== RECORD_BODY_VERSION) throw new WalDecodeError(`unknown record version ${version}`);
  const flags = view.getUint8(p++);
  const out: Omit<DecodedRecord, 'offset' | 'bytes'> = { entries: [], synced: (flags & RecordFlag.Synced) !== 0 };
  if (flags & RecordFlag.Head) out.head = { lastIndex: f64('head last index') };
  if (flags & RecordFlag.HardState) {
    const term = f64('term');
    const commit = f64('commit');
    need(2);
    const voteBytes = view.getUint16(p);
    p += 2;
    need(voteBytes);
    let vote: string;
    try {
      vote = utf8Decoder.decode(new Uint8Array(view.buffer, view.byteOffset + p, voteBytes));
    } catch {
      throw new WalDecodeError('vote is not UTF-8');
    }
    p += voteBytes;
    out.hardState = { term, vote, commit };
  }
  if (flags & RecordFlag.Snapshot) {
    out.snapshot = { index: f64('snapshot index'), term: f64('snapshot term'), reset: (flags & RecordFlag.Reset) !== 0 };
  }
  if (flags & RecordFlag.FirstIndex) out.firstIndex = f64('first index');
  need(4);
  const count = view.getUint32(p);
  p += 4;
  for (let i = 0; i < count; i++) {
    const offset = p;
    const index = f64('entry index');
    const term = f64('entry term');
    need(5);
    const type = view.getUint8(p++);
    if (type !== 0 && type !== 1) throw new WalDecodeError(`entry type ${type} is unknown`);
    const dataBytes = view.getUint32(p);
    p += 4;
    need(dataBytes);
    p += dataBytes;
    out.entries.push({ index, term, type, offset, dataBytes });
  }
  if (p !== end) throw new WalDecodeError(`record body has ${end - p} bytes past its entries`);
  return out;
}

/** The entry whose header starts at `offset` of `data` (a read of the segment around it). */
export function decodeEntryAt(data: Uint8Array, offset: number, expectedIndex: number): Entry {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  if (offset + ENTRY_HEADER_BYTES > data.byteLength) throw new WalDecodeError(`entry ${expectedIndex} is cut short`);
  const index = view.getFloat64(offset);
  const term = view.getFloat64(offset + 8);
  const type = view.getUint8(offset + 16);
  const dataBytes = view.getUint32(offset + 17);
  const start = offset + ENTRY_HEADER_BYTES;
  if (index !== expectedIndex) throw new WalDecodeError(`entry at ${expectedIndex}'s place says index ${index}`);
  if ((type !== 0 && type !== 1) || start + dataBytes > data.byteLength) throw new WalDecodeError(`entry ${index} is malformed`);
  return { index, term, type, data: data.slice(start, start + dataBytes) };
}

export function allZero(data: Uint8Array, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (data[i] !== 0) return false;
  return true;
}

// ---------------------------------------------------------------- segment header

export function segmentFileName(seq: number): string {
  return `${seq.toString(16).padStart(16, '0')}.wal`;
}

/** The sequence number a segment file name holds, or null for a name that is not a segment. */
export function seqOfSegmentName(name: string): number | null {
  const m = /^([0-9a-f]{16})\.wal$/.exec(name);
  if (!m) return null;
  const seq = Number.parseInt(m[1], 16);
  return Number.isSafeInteger(seq) && seq > 0 ? seq : null;
}

export function encodeSegmentHeader(seq: number): Uint8Array {
  const out = new Uint8Array(SEGMENT_HEADER_BYTES);
  const view = new DataView(out.buffer);
  out.set(utf8.encode(SEGMENT_MAGIC), 0);
  view.setUint32(8, WAL_FORMAT_VERSION);
  view.setFloat64(16, seq);
  view.setUint32(24, crc32(out.subarray(0, 24)));
  return out;
}

/** Checks a segment header; returns the format version it names, or throws WalDecodeError. */
export function checkSegmentHeader(data: Uint8Array, seq: number): number {
  if (data.byteLength < SEGMENT_HEADER_BYTES) throw new WalDecodeError('segment header is cut short');
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const magic = utf8.encode(SEGMENT_MAGIC);
  if (magic.some((byte, i) => data[i] !== byte)) throw new WalDecodeError('not a stackraft WAL segment');
  if (view.getUint32(24) !== crc32(data.subarray(0, 24))) throw new WalDecodeError('segment header checksum mismatch');
  const version = view.getUint32(8);
  if (view.getFloat64(16) !== seq) throw new WalDecodeError(`segment header names sequence ${view.getFloat64(16)}, its file name ${seq}`);
  return version;
}
