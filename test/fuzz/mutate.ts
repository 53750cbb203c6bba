// The mutation engine: byte-level mutations (bit flips, interesting integers at any offset, range
// insert/delete/duplicate, splices with other inputs, dictionary tokens) and structure-level ones
// on decoded value trees (replace, delete or add a member, weird keys, deep nesting, edge numbers,
// odd strings and binary). Every choice comes from the seeded Prng: one seed, one input stream.
import type { Prng } from '../../sim/prng.js';

/** Deepest nesting a structural mutation builds: deep enough to overflow a naive recursive walker. */
export const MAX_NESTING = 20_000;
/** Byte mutations stacked on one input. */
const MAX_STACKED_MUTATIONS = 6;

const INTERESTING_U8 = [0x00, 0x01, 0x7f, 0x80, 0xff, 0xc0, 0xc1, 0xc2, 0xc3, 0xc4, 0xc7, 0xd4, 0xd5, 0xd6, 0xd7, 0xd8, 0xdc, 0xdd, 0xde, 0xdf, 0x90, 0x9f, 0x80, 0x8f, 0xa0, 0xbf];
const INTERESTING_U32 = [0, 1, 0x7f, 0x80, 0xff, 0x100, 0x7fff, 0x8000, 0xffff, 0x10000, 0x3fffff, 0x400000, 0x400001, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff];

export const EDGE_NUMBERS: readonly number[] = [
  0, -0, 1, -1, 2, 7, 255, 256, 65535, 65536, 2 ** 31 - 1, 2 ** 31, -(2 ** 31), 2 ** 32, 2 ** 53 - 1, 2 ** 53, 2 ** 53 + 2, -(2 ** 53), 1e308, -1e308,
  Number.MIN_VALUE, 0.5, 1.5, -0.5, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 120_000, 120_001, 1e21,
];

export const EDGE_STRINGS: readonly string[] = [
  '', ' ', 'a', '0', '-1', 'true', 'null', '__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', '\u0000', '\uFFFD', '\uD800', '\uDFFF',
  '\u202E', 'é', '日本', '😀', '%', '%zz', '%00', '%2F', '../', '/', '//', '\\', '\n', '\r\n', '\t', '"', "'", '{', '[', '*', '&', '!', '#', ':', '- ', '? ',
  'x'.repeat(127), 'x'.repeat(128), 'x'.repeat(129), 'x'.repeat(255), 'x'.repeat(256), 'x'.repeat(4097), 'A'.repeat(70_000),
];

const KEY_NAMES = ['__proto__', 'constructor', 'prototype', 'toString', 'valueOf', '', '0', '1', '4294967295', 'length', 'then', 'x', 'kind', 'v', 'type', 'spec', 'id'];

export class Mutator {
  constructor(
    private readonly rng: Prng,
    private readonly dictionary: readonly string[] = [],
    private readonly maxNesting: number = MAX_NESTING,
  ) {}

  // ------------------------------------------------------------------ bytes

  /** 1..MAX_STACKED_MUTATIONS byte mutations of `input`; `other` is a splice partner. Never longer than maxBytes. */
  bytes(input: Uint8Array, other: Uint8Array, maxBytes: number): Uint8Array {
    let out = input;
    const count = 1 + this.rng.int(MAX_STACKED_MUTATIONS);
    for (let i = 0; i < count; i++) out = this.oneByteMutation(out, other);
    return out.length > maxBytes ? out.subarray(0, maxBytes) : out;
  }

  private oneByteMutation(input: Uint8Array, other: Uint8Array): Uint8Array {
    const rng = this.rng;
    const n = input.length;
    const at = (extra = 0) => rng.int(n + extra || 1);
    switch (rng.int(12)) {
      case 0: {
        if (n === 0) return Uint8Array.of(rng.int(256));
        const out = input.slice();
        out[at()] ^= 1 << rng.int(8);
        return out;
      }
      case 1: {
        if (n === 0) return Uint8Array.of(rng.pick(INTERESTING_U8));
        const out = input.slice();
        out[at()] = rng.chance(0.5) ? rng.pick(INTERESTING_U8) : rng.int(256);
        return out;
      }
      case 2: {
        if (n < 4) return input;
        const out = input.slice();
        const value = rng.pick(INTERESTING_U32);
        const pos = rng.int(n - 3);
        new DataView(out.buffer).setUint32(pos, value, rng.chance(0.2));
        return out;
      }
      case 3: {
        if (n < 2) return input;
        const out = input.slice();
        const pos = rng.int(n - 1);
        new DataView(out.buffer).setUint16(pos, rng.pick(INTERESTING_U32) & 0xffff);
        return out;
      }
      case 4:
        return insert(input, at(1), randomBytes(rng, 1 + rng.int(rng.chance(0.9) ? 8 : 256)));
      case 5: {
        if (n === 0) return input;
        const start = at();
        return concat(input.subarray(0, start), input.subarray(start + 1 + rng.int(Math.min(n - start, 64))));
      }
      case 6: {
        if (n === 0) return input;
        const start = at();
        const chunk = input.subarray(start, start + 1 + rng.int(Math.min(n - start, 128)));
        const times = rng.chance(0.9) ? 1 : 2 + rng.int(200);
        return insert(input, at(1), repeat(chunk, times));
      }
      case 7: {
        if (other.length === 0) return input;
        const cut = at(1);
        const from = rng.int(other.length);
        return concat(input.subarray(0, cut), other.subarray(from));
      }
      case 8:
        return n === 0 ? input : input.subarray(0, at());
      case 9:
        if (this.dictionary.length === 0) return input;
        return insert(input, at(1), new TextEncoder().encode(rng.pick(this.dictionary)));
      case 10: {
        if (this.dictionary.length === 0 || n === 0) return input;
        const start = at();
        const token = new TextEncoder().encode(rng.pick(this.dictionary));
        return concat(input.subarray(0, start), token, input.subarray(start + token.length));
      }
      default: {
        if (n === 0) return input;
        const out = input.slice();
        const start = at();
        out.fill(rng.pick(INTERESTING_U8), start, start + 1 + rng.int(16));
        return out;
      }
    }
  }

  // ------------------------------------------------------------------ values

  int(): number {
    const rng = this.rng;
    switch (rng.int(4)) {
      case 0:
        return rng.pick(EDGE_NUMBERS);
      case 1:
        return rng.int(16);
      case 2:
        return rng.intBetween(-1000, 100_000);
      default:
        return (rng.next() * 2 ** 21 + rng.next()) * (rng.chance(0.5) ? 1 : -1);
    }
  }

  string(): string {
    const rng = this.rng;
    switch (rng.int(4)) {
      case 0:
        return rng.pick(EDGE_STRINGS);
      case 1:
        return this.dictionary.length > 0 ? rng.pick(this.dictionary) : 'x';
      case 2: {
        let s = '';
        const len = rng.int(24);
        for (let i = 0; i < len; i++) s += String.fromCharCode(rng.chance(0.8) ? 0x20 + rng.int(95) : rng.int(0x10000));
        return s;
      }
      default:
        return `${rng.pick(['a', 'site-', 'm1.', 'r/flavor/'])}${rng.int(1000)}`;
    }
  }

  key(): string {
    return this.rng.chance(0.5) ? this.rng.pick(KEY_NAMES) : this.string();
  }

  /** A random value of any JSON/msgpack type; `binary` allows Uint8Array leaves. */
  any(depth: number, binary: boolean): unknown {
    const rng = this.rng;
    const pick = rng.int(depth > 3 ? 6 : 9);
    switch (pick) {
      case 0:
        return null;
      case 1:
        return rng.chance(0.5);
      case 2:
        return this.int();
      case 3:
        return this.string();
      case 4:
        return binary ? randomBytes(rng, rng.int(rng.chance(0.9) ? 16 : 5000)) : this.string();
      case 5:
        return binary && rng.chance(0.3) ? undefined : rng.uniform(-1e6, 1e6);
      case 6: {
        const out: unknown[] = [];
        const len = rng.int(5);
        for (let i = 0; i < len; i++) out.push(this.any(depth + 1, binary));
        return out;
      }
      default: {
        const out: Record<string, unknown> = {};
        const len = rng.int(5);
        for (let i = 0; i < len; i++) setOwn(out, this.key(), this.any(depth + 1, binary));
        return out;
      }
    }
  }

  /** A deeply nested array or map around `inner`. */
  nest(inner: unknown): unknown {
    const depth = this.rng.chance(0.9) ? 1 + this.rng.int(Math.min(200, this.maxNesting)) : 1 + this.rng.int(this.maxNesting);
    const asMap = this.rng.chance(0.5);
    let value = inner;
    for (let i = 0; i < depth; i++) value = asMap ? { a: value } : [value];
    return value;
  }

  /** `count` structural mutations of `value` (a copy: the input is not changed). */
  tree(value: unknown, binary: boolean, count = 1 + this.rng.int(3)): unknown {
    let out = value;
    for (let i = 0; i < count; i++) out = this.mutateOnce(out, binary, 0);
    return out;
  }

  private mutateOnce(value: unknown, binary: boolean, depth: number): unknown {
    const rng = this.rng;
    const container = Array.isArray(value) || isRecord(value);
    if (!container || depth > 30 || rng.chance(0.25)) return this.replace(value, binary);
    if (Array.isArray(value)) {
      const out = value.slice();
      if (out.length === 0 || rng.chance(0.2)) {
        out.splice(rng.int(out.length + 1), 0, this.any(2, binary));
        return out;
      }
      const i = rng.int(out.length);
      switch (rng.int(6)) {
        case 0:
          out.splice(i, 1);
          return out;
        case 1:
          out.splice(i, 0, out[i]);
          return out;
        case 2:
          return rng.chance(0.5) ? out.slice(0, i) : out.concat(out);
        default:
          out[i] = this.mutateOnce(out[i], binary, depth + 1);
          return out;
      }
    }
    const record = value as Record<string, unknown>;
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(record)) setOwn(out, key, record[key]);
    const keys = Object.keys(out);
    if (keys.length === 0 || rng.chance(0.15)) {
      setOwn(out, this.key(), this.any(2, binary));
      return out;
    }
    const key = rng.pick(keys);
    switch (rng.int(6)) {
      case 0:
        delete out[key];
        return out;
      case 1: {
        const moved = out[key];
        delete out[key];
        setOwn(out, this.key(), moved);
        return out;
      }
      default:
        setOwn(out, key, this.mutateOnce(out[key], binary, depth + 1));
        return out;
    }
  }

  private replace(value: unknown, binary: boolean): unknown {
    const rng = this.rng;
    switch (rng.int(8)) {
      case 0:
        // Nesting is costly to encode and rarely new: one replacement in 40.
        return rng.chance(0.2) ? this.nest(value) : this.any(1, binary);
      case 1:
        return typeof value === 'number' ? this.int() : this.any(2, binary);
      case 2:
        return typeof value === 'string' ? this.string() : this.any(2, binary);
      case 3:
        return binary ? undefined : null;
      default:
        return this.any(1, binary);
    }
  }
}

/** Sets an own data property, even for "__proto__" (plain assignment would set the prototype). */
export function setOwn(target: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !(value instanceof Uint8Array);
}

export function randomBytes(rng: Prng, n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = rng.int(256);
  return out;
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  let length = 0;
  for (const p of parts) length += p.length;
  const out = new Uint8Array(length);
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

function insert(input: Uint8Array, at: number, piece: Uint8Array): Uint8Array {
  return concat(input.subarray(0, at), piece, input.subarray(at));
}

function repeat(chunk: Uint8Array, times: number): Uint8Array {
  const out = new Uint8Array(chunk.length * times);
  for (let i = 0; i < times; i++) out.set(chunk, i * chunk.length);
  return out;
}
