// Keys and values of the LevelDB store. Every key starts with one byte naming its kind; log keys
// then hold the index as 8 bytes big-endian, so LevelDB's byte order is index order. Every value is
// framed as [frame version u8][crc32 of payload, u32 BE][payload], so any bit flip or torn value
// is detected when it is read.
import { crc32 } from 'node:zlib';
import { Packr } from 'msgpackr';
import type { Entry, HardState, SnapshotMeta } from '../consensus/types.js';

/** Version of the store layout as a whole (keys, framing, payloads). */
export const STORE_FORMAT_VERSION = 1;
export const STORE_FORMAT_NAME = 'stackraft-log-store';

/** Version of the per-value frame; a different byte is reported, never guessed at. */
const VALUE_FRAME_VERSION = 1;
const FRAME_HEADER_BYTES = 5;

export const KeyKind = {
  Format: 0x01,
  HardState: 0x02,
  SnapshotMeta: 0x03,
  SnapshotImage: 0x04,
  LogEntry: 0x05,
  AppliedIndex: 0x06,
  Record: 0x07,
} as const;

const TWO_POW_32 = 2 ** 32;
const LOG_KEY_BYTES = 9;

const packr = new Packr({ useRecords: false, mapsAsObjects: true });
const utf8Decoder = new TextDecoder('utf-8', { fatal: true });

/** A stored value that does not decode; the caller names where it was found. */
export class CorruptValue extends Error {}

// ---------------------------------------------------------------- keys

export function singletonKey(kind: number): Uint8Array {
  return Uint8Array.of(kind);
}

export function logKey(index: number): Uint8Array {
  const key = new Uint8Array(LOG_KEY_BYTES);
  const view = new DataView(key.buffer);
  key[0] = KeyKind.LogEntry;
  view.setUint32(1, Math.floor(index / TWO_POW_32));
  view.setUint32(5, index >>> 0);
  return key;
}

export function indexOfLogKey(key: Uint8Array): number {
  if (key.byteLength !== LOG_KEY_BYTES || key[0] !== KeyKind.LogEntry) {
    throw new CorruptValue(`malformed log key of ${key.byteLength} bytes`);
  }
  const view = new DataView(key.buffer, key.byteOffset, key.byteLength);
  return view.getUint32(1) * TWO_POW_32 + view.getUint32(5);
}

/** Bounds covering every key of one kind: { gte: [kind], lt: [kind + 1] }. */
export function kindRange(kind: number): { gte: Uint8Array; lt: Uint8Array } {
  return { gte: Uint8Array.of(kind), lt: Uint8Array.of(kind + 1) };
}

export function recordKey(name: string): Uint8Array {
  // Written in place from Node's buffer pool (the same UTF-8 bytes a TextEncoder gives, lone
  // surrogates included): every applied write makes several of these, and encoding to a
  // temporary array and copying it cost an allocation each.
  const key = Buffer.allocUnsafe(Buffer.byteLength(name, 'utf8') + 1);
  key[0] = KeyKind.Record;
  key.write(name, 1, 'utf8');
  return key;
}

export function nameOfRecordKey(key: Uint8Array): string {
  try {
    return utf8Decoder.decode(key.subarray(1));
  } catch {
    throw new CorruptValue('record key is not valid UTF-8');
  }
}

// ---------------------------------------------------------------- value frame

export function seal(payload: Uint8Array): Uint8Array {
  const value = new Uint8Array(FRAME_HEADER_BYTES + payload.byteLength);
  value[0] = VALUE_FRAME_VERSION;
  const crc = crc32(payload);
  // Big-endian by hand: a DataView per sealed value was an allocation on every record of every apply.
  value[1] = crc >>> 24;
  value[2] = (crc >>> 16) & 0xff;
  value[3] = (crc >>> 8) & 0xff;
  value[4] = crc & 0xff;
  value.set(payload, FRAME_HEADER_BYTES);
  return value;
}

export function unseal(value: Uint8Array): Uint8Array {
  if (value.byteLength < FRAME_HEADER_BYTES) throw new CorruptValue(`truncated value (${value.byteLength} bytes)`);
  if (value[0] !== VALUE_FRAME_VERSION) throw new CorruptValue(`unknown value frame version ${value[0]}`);
  const expected = new DataView(value.buffer, value.byteOffset, value.byteLength).getUint32(1);
  const payload = value.subarray(FRAME_HEADER_BYTES);
  if (crc32(payload) !== expected) throw new CorruptValue('checksum mismatch');
  return payload;
}

function unpackSealed(value: Uint8Array): unknown {
  const payload = unseal(value);
  try {
    return packr.unpack(payload);
  } catch (err) {
    throw new CorruptValue(`undecodable payload (${(err as Error).message})`);
  }
}

/** A view typed as a plain Uint8Array (msgpackr and LevelDB hand out Buffers). */
function plainBytes(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** A decoded field for an error message: String() of a decoded object can itself throw. */
function describeField(value: unknown): string {
  if (typeof value === 'number' || typeof value === 'boolean' || value === null || value === undefined) return String(value);
  if (typeof value === 'string') return JSON.stringify(value.slice(0, 32));
  return `(a ${value instanceof Uint8Array ? 'byte string' : Array.isArray(value) ? 'list' : typeof value})`;
}

function isCount(n: unknown): n is number {
  return Number.isSafeInteger(n) && (n as number) >= 0;
}

// ---------------------------------------------------------------- payloads

export function encodeEntry(entry: Entry): Uint8Array {
  return seal(packr.pack([entry.index, entry.term, entry.type, entry.data]));
}

/** Decodes and checks an entry; `index` is the one its key names. */
export function decodeEntry(value: Uint8Array, index: number): Entry {
  const fields = unpackSealed(value);
  if (!Array.isArray(fields) || fields.length !== 4) throw new CorruptValue('entry is not a 4-field record');
  const [storedIndex, term, type, data] = fields as unknown[];
  if (storedIndex !== index) throw new CorruptValue(`entry says index ${describeField(storedIndex)} under key ${index}`);
  if (!isCount(term) || term < 1) throw new CorruptValue(`entry term ${describeField(term)} is invalid`);
  if (type !== 0 && type !== 1) throw new CorruptValue(`entry type ${describeField(type)} is unknown`);
  if (!(data instanceof Uint8Array)) throw new CorruptValue('entry data is not bytes');
  return { index, term, type, data: plainBytes(data) };
}

export function encodeHardState(hs: HardState): Uint8Array {
  return seal(packr.pack([hs.term, hs.vote, hs.commit]));
}

export function decodeHardState(value: Uint8Array): HardState {
  const fields = unpackSealed(value);
  if (!Array.isArray(fields) || fields.length !== 3) throw new CorruptValue('hard state is not a 3-field record');
  const [term, vote, commit] = fields as unknown[];
  if (!isCount(term) || typeof vote !== 'string' || !isCount(commit)) throw new CorruptValue('hard state fields invalid');
  return { term, vote, commit };
}

/** Snapshot metadata, with the image length so a mismatched image is caught. */
export function encodeSnapshotMeta(meta: SnapshotMeta, imageBytes: number): Uint8Array {
  return seal(packr.pack([meta.index, meta.term, meta.conf.voters, meta.conf.learners, imageBytes]));
}

export function decodeSnapshotMeta(value: Uint8Array): { meta: SnapshotMeta; imageBytes: number } {
  const fields = unpackSealed(value);
  if (!Array.isArray(fields) || fields.length !== 5) throw new CorruptValue('snapshot meta is not a 5-field record');
  const [index, term, voters, learners, imageBytes] = fields as unknown[];
  const isNames = (v: unknown): v is string[] => Array.isArray(v) && v.every((x) => typeof x === 'string');
  if (!isCount(index) || !isCount(term) || !isNames(voters) || !isNames(learners) || !isCount(imageBytes)) {
    throw new CorruptValue('snapshot meta fields invalid');
  }
  return { meta: { index, term, conf: { voters, learners } }, imageBytes };
}

export function encodeBytes(bytes: Uint8Array): Uint8Array {
  return seal(bytes);
}

export function decodeBytes(value: Uint8Array): Uint8Array {
  return plainBytes(unseal(value));
}

export function encodeIndex(index: number): Uint8Array {
  return seal(packr.pack(index));
}

export function decodeIndex(value: Uint8Array): number {
  const index = unpackSealed(value);
  if (!isCount(index)) throw new CorruptValue(`index ${describeField(index)} invalid`);
  return index;
}

export interface FormatRecord {
  format: string;
  version: number;
}

export function encodeFormatRecord(): Uint8Array {
  return seal(packr.pack({ format: STORE_FORMAT_NAME, version: STORE_FORMAT_VERSION }));
}

export function decodeFormatRecord(value: Uint8Array): FormatRecord {
  const record = unpackSealed(value) as Partial<FormatRecord> | null;
  if (record === null || typeof record !== 'object' || typeof record.format !== 'string' || !isCount(record.version)) {
    throw new CorruptValue('format record invalid');
  }
  return { format: record.format, version: record.version };
}
