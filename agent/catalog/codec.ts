// Canonical msgpack: the same value always gives the same bytes on every site, so snapshots and
// stored records can be compared byte for byte. Object keys are sorted; undefined members dropped.
import { Packr } from 'msgpackr';

const packr = new Packr({ useRecords: false, mapsAsObjects: true, variableMapSize: true });

/** Returns a plain Uint8Array of its own: msgpackr hands out views into a shared, reused buffer. */
export function encodeCanonical(value: unknown): Uint8Array {
  return new Uint8Array(packr.pack(canonicalize(value)));
}

/**
 * Throws on malformed bytes (callers that face untrusted input catch it). Decodes through a fresh
 * view because msgpackr caches a DataView as a property on the buffer it is given.
 */
export function decodeMsgpack(bytes: Uint8Array): unknown {
  return packr.unpack(bytes.subarray(0));
}

function canonicalize(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonicalize);
  if (value === null || typeof value !== 'object' || value instanceof Uint8Array) return value;
  const entries: Array<[string, unknown]> = [];
  for (const key of Object.keys(value).sort()) {
    const member = (value as Record<string, unknown>)[key];
    if (member !== undefined) entries.push([key, canonicalize(member)]);
  }
  // fromEntries defines own properties, so a key such as "__proto__" stays plain data.
  return Object.fromEntries(entries);
}

/** Byte-wise equality of two canonical encodings (cheap structural comparison of stored values). */
export function canonicallyEqual(a: unknown, b: unknown): boolean {
  return Buffer.from(encodeCanonical(a)).equals(encodeCanonical(b));
}

export function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value) && !(value instanceof Uint8Array)) {
    for (const member of Object.values(value)) deepFreeze(member);
    Object.freeze(value);
  }
  return value;
}
