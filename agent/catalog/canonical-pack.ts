// The canonical msgpack of the values the catalog stores, written in one walk: the bytes msgpackr
// gives for the value with its keys sorted and its undefined members dropped (codec.ts), without
// first building the sorted copy and without msgpackr's per-value dispatch. Every apply on every
// site encodes its records, so this is the catalog's largest cost after the rules themselves.
// Only JSON-like values are written here (null, booleans, numbers, strings, byte arrays, plain
// objects and arrays, at most MAX_VALUE_DEPTH deep, no '__proto__' key, no undefined in an
// array); for anything else packCanonical returns null and the caller takes msgpackr's path, which
// also throws the errors such values deserve. test/catalog/canonical-pack.test.ts checks the bytes
// against msgpackr's on generated values.
import { MAX_VALUE_DEPTH } from './limits.js';

/**
 * msgpackr decodes a map key '__proto__' as '__proto_' (its guard against prototype pollution), so
 * a value holding that key would not come back as it was sent: codec.ts refuses it.
 */
export const UNCARRIED_KEY = '__proto__';

const INITIAL_BYTES = 4096;
/** A scratch buffer grown past this (a large snapshot image) is let go after the value is copied out. */
const KEPT_SCRATCH_BYTES = 1 << 20;
/** Strings shorter than this (UTF-16 units) are encoded by hand, longer ones by Buffer: as msgpackr does. */
const HAND_ENCODED_STRING_UNITS = 0x40;

let scratch: Buffer = Buffer.allocUnsafe(INITIAL_BYTES);
let view = new DataView(scratch.buffer, scratch.byteOffset, scratch.byteLength);
let at = 0;

/** A value this writer does not handle: the caller falls back to msgpackr. */
const UNHANDLED = Symbol('unhandled');

/** The canonical bytes of `value` in an array of their own, or null when msgpackr must do it. */
export function packCanonical(value: unknown): Uint8Array | null {
  at = 0;
  try {
    writeValue(value, 0);
    return new Uint8Array(scratch.subarray(0, at));
  } catch (error) {
    if (error === UNHANDLED) return null;
    throw error;
  } finally {
    if (scratch.length > KEPT_SCRATCH_BYTES) setScratch(Buffer.allocUnsafe(INITIAL_BYTES));
  }
}

function setScratch(buffer: Buffer): void {
  scratch = buffer;
  view = new DataView(scratch.buffer, scratch.byteOffset, scratch.byteLength);
}

function room(bytes: number): void {
  if (at + bytes <= scratch.length) return;
  let size = scratch.length * 2;
  while (size < at + bytes) size *= 2;
  const next = Buffer.allocUnsafe(size);
  scratch.copy(next, 0, 0, at);
  setScratch(next);
}

function writeValue(value: unknown, depth: number): void {
  switch (typeof value) {
    case 'string':
      writeString(value);
      return;
    case 'number':
      writeNumber(value);
      return;
    case 'boolean':
      room(1);
      scratch[at++] = value ? 0xc3 : 0xc2;
      return;
    case 'object':
      if (value === null) {
        room(1);
        scratch[at++] = 0xc0;
        return;
      }
      if (depth >= MAX_VALUE_DEPTH) throw UNHANDLED;
      if (Array.isArray(value)) {
        if (value.constructor !== Array) throw UNHANDLED;
        writeArray(value, depth);
        return;
      }
      if (value instanceof Uint8Array) {
        writeBytes(value);
        return;
      }
      if ((value as object).constructor !== Object) throw UNHANDLED;
      writeObject(value as Record<string, unknown>, depth);
      return;
    default:
      throw UNHANDLED;
  }
}

// Same choices as msgpackr 2.x with useRecords: false and no float32: an integer that fits 32 bits
// (unsigned or signed) in the smallest form, everything else (larger integers too) as a float64.
function writeNumber(value: number): void {
  room(9);
  if (value >>> 0 === value) {
    if (value < 0x80) scratch[at++] = value;
    else if (value < 0x100) {
      scratch[at++] = 0xcc;
      scratch[at++] = value;
    } else if (value < 0x10000) {
      scratch[at++] = 0xcd;
      scratch[at++] = value >> 8;
      scratch[at++] = value & 0xff;
    } else {
      scratch[at++] = 0xce;
      view.setUint32(at, value);
      at += 4;
    }
  } else if (value >> 0 === value) {
    if (value >= -0x20) scratch[at++] = 0x100 + value;
    else if (value >= -0x80) {
      scratch[at++] = 0xd0;
      scratch[at++] = value + 0x100;
    } else if (value >= -0x8000) {
      scratch[at++] = 0xd1;
      view.setInt16(at, value);
      at += 2;
    } else {
      scratch[at++] = 0xd2;
      view.setInt32(at, value);
      at += 4;
    }
  } else {
    scratch[at++] = 0xcb;
    view.setFloat64(at, value);
    at += 8;
  }
}

function writeString(value: string): void {
  const units = value.length;
  // The header is sized from the units, then grown (the bytes moved up) if the UTF-8 needs more.
  const guessed = units < 0x20 ? 1 : units < 0x100 ? 2 : units < 0x10000 ? 3 : 5;
  room(5 + units * 3);
  const start = at + guessed;
  // Below the threshold a lone surrogate is written as its own 3 bytes (msgpackr's hand loop);
  // above it Buffer writes U+FFFD for it. Either way the same bytes as msgpackr's.
  const length = units < HAND_ENCODED_STRING_UNITS ? writeShortString(value, start) : scratch.write(value, start, 'utf8');
  const needed = length < 0x20 ? 1 : length < 0x100 ? 2 : length < 0x10000 ? 3 : 5;
  if (needed > guessed) scratch.copyWithin(at + needed, start, start + length);
  if (needed === 1) scratch[at++] = 0xa0 | length;
  else if (needed === 2) {
    scratch[at++] = 0xd9;
    scratch[at++] = length;
  } else if (needed === 3) {
    scratch[at++] = 0xda;
    scratch[at++] = length >> 8;
    scratch[at++] = length & 0xff;
  } else {
    scratch[at++] = 0xdb;
    view.setUint32(at, length);
    at += 4;
  }
  at += length;
}

function writeShortString(value: string, start: number): number {
  let p = start;
  for (let i = 0; i < value.length; i++) {
    let c1 = value.charCodeAt(i);
    let c2: number;
    if (c1 < 0x80) scratch[p++] = c1;
    else if (c1 < 0x800) {
      scratch[p++] = (c1 >> 6) | 0xc0;
      scratch[p++] = (c1 & 0x3f) | 0x80;
    } else if ((c1 & 0xfc00) === 0xd800 && ((c2 = value.charCodeAt(i + 1)) & 0xfc00) === 0xdc00) {
      c1 = 0x10000 + ((c1 & 0x03ff) << 10) + (c2 & 0x03ff);
      i++;
      scratch[p++] = (c1 >> 18) | 0xf0;
      scratch[p++] = ((c1 >> 12) & 0x3f) | 0x80;
      scratch[p++] = ((c1 >> 6) & 0x3f) | 0x80;
      scratch[p++] = (c1 & 0x3f) | 0x80;
    } else {
      scratch[p++] = (c1 >> 12) | 0xe0;
      scratch[p++] = ((c1 >> 6) & 0x3f) | 0x80;
      scratch[p++] = (c1 & 0x3f) | 0x80;
    }
  }
  return p - start;
}

function writeBytes(bytes: Uint8Array): void {
  const length = bytes.byteLength;
  room(5 + length);
  if (length < 0x100) {
    scratch[at++] = 0xc4;
    scratch[at++] = length;
  } else if (length < 0x10000) {
    scratch[at++] = 0xc5;
    scratch[at++] = length >> 8;
    scratch[at++] = length & 0xff;
  } else {
    scratch[at++] = 0xc6;
    view.setUint32(at, length);
    at += 4;
  }
  scratch.set(bytes, at);
  at += length;
}

function writeCollectionHeader(length: number, fix: number, bits16: number): void {
  room(5);
  if (length < 0x10) scratch[at++] = fix | length;
  else if (length < 0x10000) {
    scratch[at++] = bits16;
    scratch[at++] = length >> 8;
    scratch[at++] = length & 0xff;
  } else {
    scratch[at++] = bits16 + 1;
    view.setUint32(at, length);
    at += 4;
  }
}

function writeArray(array: unknown[], depth: number): void {
  writeCollectionHeader(array.length, 0x90, 0xdc);
  for (let i = 0; i < array.length; i++) {
    const member = array[i];
    // Numbers straight to their writer: a session's recent list is 32 pairs of them.
    if (typeof member === 'number') writeNumber(member);
    else if (member === undefined) throw UNHANDLED;
    else writeValue(member, depth + 1);
  }
}

/**
 * Members in canonical order: JavaScript lists integer-like keys first, in numeric order, and the
 * sorted copy codec.ts would build keeps that; the other keys follow in sorted order. Undefined
 * members are left out of the map and its count.
 */
function writeObject(record: Record<string, unknown>, depth: number): void {
  const keys = Object.keys(record);
  let defined = 0;
  let sorted = true;
  let previous: string | null = null;
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i]!;
    if (key === UNCARRIED_KEY) throw UNHANDLED;
    if (record[key] !== undefined) defined++;
    if (!isIndexKey(key)) {
      if (previous !== null && previous > key) sorted = false;
      previous = key;
    }
  }
  writeCollectionHeader(defined, 0x80, 0xde);
  const order = sorted ? keys : canonicalOrder(keys);
  for (let i = 0; i < order.length; i++) {
    const key = order[i]!;
    const member = record[key];
    if (member === undefined) continue;
    writeString(key);
    writeValue(member, depth + 1);
  }
}

function canonicalOrder(keys: string[]): string[] {
  const indexKeys = keys.filter(isIndexKey);
  const others = keys.filter((key) => !isIndexKey(key)).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return indexKeys.length === 0 ? others : [...indexKeys, ...others];
}

/** An array index as JavaScript orders keys (listed first, in numeric order). */
export function isIndexKey(key: string): boolean {
  const first = key.charCodeAt(0);
  if (first < 48 || first > 57) return false;
  return String(Number(key) >>> 0) === key && key !== '4294967295';
}
