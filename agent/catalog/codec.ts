// Canonical msgpack: the same value always gives the same bytes on every site, so snapshots and
// stored records can be compared byte for byte. Object keys are sorted; undefined members dropped.
import { Packr, RESET_BUFFER_MODE } from 'msgpackr';
import { isIndexKey, packCanonical, UNCARRIED_KEY } from './canonical-pack.js';
import { MAX_VALUE_DEPTH } from './limits.js';

export { UNCARRIED_KEY };

const packr = new Packr({ useRecords: false, mapsAsObjects: true, variableMapSize: true });

export class UncarriedKeyError extends Error {
  constructor() {
    super(`'${UNCARRIED_KEY}' cannot be used as a key: the log's encoding does not carry it`);
    this.name = 'UncarriedKeyError';
  }
}

/** The path of the first '__proto__' key in `value` (e.g. `extraSpecs.__proto__`), or undefined. */
export function findUncarriedKey(value: unknown, path = ''): string | undefined {
  if (value === null || typeof value !== 'object' || value instanceof Uint8Array) return undefined;
  const entries: Array<[string, unknown]> = Array.isArray(value) ? value.map((v, i) => [`[${i}]`, v]) : Object.entries(value);
  for (const [key, member] of entries) {
    const here = Array.isArray(value) ? `${path}${key}` : path === '' ? key : `${path}.${key}`;
    if (!Array.isArray(value) && key === UNCARRIED_KEY) return here;
    const found = findUncarriedKey(member, here);
    if (found !== undefined) return found;
  }
  return undefined;
}

/** A value nested deeper than MAX_VALUE_DEPTH: refused before any recursion could exhaust the stack. */
export class ValueTooDeepError extends Error {
  constructor(readonly limit: number) {
    super(`value is nested more than ${limit} levels deep`);
    this.name = 'ValueTooDeepError';
  }
}

/**
 * Returns a plain Uint8Array of its own: msgpackr hands out views into a shared, reused buffer.
 * Throws ValueTooDeepError for a value nested deeper than MAX_VALUE_DEPTH.
 */
export function encodeCanonical(value: unknown): Uint8Array {
  // JSON-like values (every record the catalog writes) are written in one walk (canonical-pack.ts);
  // anything else, and the values to refuse, go through the sorted copy and msgpackr.
  return packCanonical(value) ?? encodeCanonicalWithMsgpackr(value);
}

/**
 * encodeCanonical through a sorted copy and msgpackr: the reference packCanonical must equal, and
 * the path of the values it leaves (and refuses).
 */
export function encodeCanonicalWithMsgpackr(value: unknown): Uint8Array {
  // The bytes are copied out at once, so msgpackr may write the next value over them: without
  // RESET_BUFFER_MODE it moves on through its buffer and allocates a new 8 KiB one every few
  // records, which every apply on every site paid for in allocation and GC.
  return new Uint8Array(packr.pack(canonicalize(value, 0), RESET_BUFFER_MODE));
}

/** Whether `value` nests objects or arrays more than `limit` levels deep (stops looking at the limit). */
export function exceedsDepth(value: unknown, limit = MAX_VALUE_DEPTH): boolean {
  if (value === null || typeof value !== 'object' || value instanceof Uint8Array) return false;
  if (limit <= 0) return true;
  // Loops, not Object.values(): this walks every command on every site and allocated an array per object.
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) if (exceedsDepth(value[i], limit - 1)) return true;
    return false;
  }
  const keys = Object.keys(value);
  for (let i = 0; i < keys.length; i++) if (exceedsDepth((value as Record<string, unknown>)[keys[i]!], limit - 1)) return true;
  return false;
}

/**
 * Throws on malformed bytes (callers that face untrusted input catch it). Decodes through a fresh
 * view because msgpackr caches a DataView as a property on the buffer it is given.
 */
export function decodeMsgpack(bytes: Uint8Array): unknown {
  return packr.unpack(bytes.subarray(0));
}

/**
 * The canonical form: object keys in sorted order, undefined members dropped. JavaScript always
 * lists integer-like keys first in numeric order, so "sorted" is checked on the other keys only.
 * Values already in canonical form are returned as they are (no copy): the common case.
 */
function canonicalize(value: unknown, depth: number): unknown {
  if (value !== null && typeof value === 'object' && depth >= MAX_VALUE_DEPTH) throw new ValueTooDeepError(MAX_VALUE_DEPTH);
  if (Array.isArray(value)) {
    let copy: unknown[] | null = null;
    for (let i = 0; i < value.length; i++) {
      const member: unknown = value[i];
      // A primitive is its own canonical form: no call for each number of a session's recent list.
      const c = member === null || typeof member !== 'object' ? member : canonicalize(member, depth + 1);
      if (c !== member && copy === null) copy = value.slice(0, i);
      if (copy !== null) copy.push(c);
    }
    return copy ?? value;
  }
  if (value === null || typeof value !== 'object' || value instanceof Uint8Array) return value;
  const record = value as Record<string, unknown>;
  const keys = Object.keys(record);
  // Allocated only once a member changes: a value already canonical (the common case) costs no copy.
  let members: unknown[] | null = null;
  let sorted = true;
  let previous: string | null = null;
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i]!;
    if (key === UNCARRIED_KEY) throw new UncarriedKeyError();
    const member = record[key];
    const c = member === null || typeof member !== 'object' ? member : canonicalize(member, depth + 1);
    if (members === null && (c !== member || member === undefined)) {
      members = new Array<unknown>(keys.length);
      for (let j = 0; j < i; j++) members[j] = record[keys[j]!];
    }
    if (members !== null) members[i] = c;
    if (!isIndexKey(key)) {
      if (previous !== null && previous > key) sorted = false;
      previous = key;
    }
  }
  if (members === null && sorted) return value;
  const memberAt = members === null ? (i: number) => record[keys[i]!] : (i: number) => members[i];
  const order = keys.map((_, i) => i);
  if (!sorted) order.sort((a, b) => (keys[a]! < keys[b]! ? -1 : keys[a]! > keys[b]! ? 1 : 0));
  // A plain loop: Object.fromEntries costs several microseconds per small object, and this runs
  // for every record of every apply on every site.
  const out: Record<string, unknown> = {};
  for (const i of order) {
    const member = memberAt(i);
    if (member === undefined) continue;
    out[keys[i]!] = member; // never '__proto__': refused above
  }
  return out;
}

/** Equality of the canonical forms (same keys with defined values, same values), without encoding. */
export function canonicallyEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') return false;
  if (a instanceof Uint8Array || b instanceof Uint8Array) {
    return a instanceof Uint8Array && b instanceof Uint8Array && Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(b);
  }
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const other = b as unknown[];
    return a.length === other.length && a.every((item, i) => canonicallyEqual(item, other[i]));
  }
  const left = definedKeys(a as Record<string, unknown>);
  const right = definedKeys(b as Record<string, unknown>);
  if (left.length !== right.length) return false;
  return left.every((key) => Object.hasOwn(b, key) && canonicallyEqual((a as Record<string, unknown>)[key], (b as Record<string, unknown>)[key]));
}

function definedKeys(record: Record<string, unknown>): string[] {
  return Object.keys(record).filter((key) => record[key] !== undefined);
}

export function deepFreeze<T>(value: T): T {
  if (value === null || typeof value !== 'object' || Object.isFrozen(value) || value instanceof Uint8Array) return value;
  // Loops, not Object.values(): every apply freezes what it stores, and the array per object was garbage.
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) deepFreeze(value[i]);
  } else {
    const keys = Object.keys(value);
    for (let i = 0; i < keys.length; i++) deepFreeze((value as Record<string, unknown>)[keys[i]!]);
  }
  return Object.freeze(value) as T;
}
