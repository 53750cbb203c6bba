// The one-walk canonical writer (canonical-pack.ts) must give exactly the bytes of the sorted copy
// through msgpackr (stored records and snapshots are compared byte for byte across sites and
// versions), and leave to msgpackr every value it does not handle, including those to refuse.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { packCanonical } from '../../agent/catalog/canonical-pack.js';
import { encodeCanonical, encodeCanonicalWithMsgpackr, UncarriedKeyError, ValueTooDeepError } from '../../agent/catalog/codec.js';
import { MAX_VALUE_DEPTH } from '../../agent/catalog/limits.js';
import { Prng } from '../../sim/prng.js';

/** The simulator's seeded generator: the same stream on every run. */
function prng(seed: number): () => number {
  const generator = new Prng(seed);
  return () => generator.float();
}

// Each boundary of msgpack's integer, string, array and map forms, on both sides.
const NUMBERS = [
  0, -0, 1, 0x1f, 0x20, 0x7f, 0x80, 0xff, 0x100, 0xffff, 0x10000, 0xffffffff, 0x100000000, -1, -0x20, -0x21, -0x80, -0x81, -0x8000,
  -0x8001, -0x80000000, -0x80000001, 1.5, -2.25, 1e300, Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER, NaN, Infinity, -Infinity, 1_700_000_000_000,
];
const CHARS = ['a', 'z', '~', '\u0000', '\u007f', 'é', '\u07ff', '\u0800', '€', '\uffff', '😀', '\ud800', '\udc00'];

function randomString(random: () => number): string {
  const lengths = [0, 1, 0x1f, 0x20, 0x3f, 0x40, 0x41, 0xff, 0x100, 300];
  const units = lengths[Math.floor(random() * lengths.length)]! + (random() < 0.3 ? Math.floor(random() * 3) : 0);
  const ascii = random() < 0.5;
  let text = '';
  while (text.length < units) text += ascii ? String.fromCharCode(97 + Math.floor(random() * 26)) : CHARS[Math.floor(random() * CHARS.length)]!;
  return text;
}

function randomKey(random: () => number): string {
  const keys = ['a', 'b', 'v', 'spec', 'zeta', '0', '1', '10', '9', '4294967295', '4294967294', '01', 'Z', '_', 'é'];
  return random() < 0.7 ? keys[Math.floor(random() * keys.length)]! : randomString(random).slice(0, 20);
}

function randomValue(random: () => number, depth: number): unknown {
  const pick = random();
  if (depth > 3 || pick < 0.35) {
    const leaf = random();
    if (leaf < 0.3) return NUMBERS[Math.floor(random() * NUMBERS.length)];
    if (leaf < 0.5) return Math.floor((random() - 0.5) * 2 ** (1 + Math.floor(random() * 52)));
    if (leaf < 0.8) return randomString(random);
    if (leaf < 0.87) return random() < 0.5;
    if (leaf < 0.93) return null;
    return Uint8Array.from({ length: [0, 3, 255, 256, 300][Math.floor(random() * 5)]! }, (_, i) => i & 0xff);
  }
  if (pick < 0.6) {
    // Collections of 16 and more (the larger headers) at the top only: the values stay small.
    const length = (depth === 0 ? [0, 1, 15, 16, 17] : [0, 1, 2, 3, 4])[Math.floor(random() * 5)]!;
    return Array.from({ length }, () => randomValue(random, depth + 1));
  }
  const record: Record<string, unknown> = {};
  const members = (depth === 0 ? [0, 1, 3, 15, 16, 17] : [0, 1, 2, 3, 4, 5])[Math.floor(random() * 6)]!;
  for (let i = 0; i < members; i++) record[randomKey(random)] = random() < 0.1 ? undefined : randomValue(random, depth + 1);
  return record;
}

function nested(levels: number): unknown {
  let value: unknown = 1;
  for (let i = 0; i < levels; i++) value = { a: value };
  return value;
}

describe('canonical pack', () => {
  it('gives the bytes of the sorted copy through msgpackr for 2,000 generated values', () => {
    const random = prng(12);
    for (let i = 0; i < 2000; i++) {
      const value = randomValue(random, 0);
      const packed = packCanonical(value);
      assert.notEqual(packed, null, `value ${i} was left to msgpackr`);
      assert.deepEqual(packed, encodeCanonicalWithMsgpackr(value), `value ${i}: ${JSON.stringify(value)}`);
    }
  });

  it('returns bytes of their own, not a view of its scratch buffer', () => {
    const first = packCanonical({ a: 'x'.repeat(100) })!;
    const copy = Uint8Array.from(first);
    packCanonical({ b: 'y'.repeat(5000) });
    assert.deepEqual(first, copy);
    // Past the scratch buffer's kept size (a large snapshot image), then small again.
    const large = { records: [['k', new Uint8Array(3 << 20).fill(7)]], v: 1 };
    assert.deepEqual(packCanonical(large), encodeCanonicalWithMsgpackr(large));
    assert.deepEqual(packCanonical({ a: 'x'.repeat(100) }), copy);
    assert.equal(first.byteOffset, 0);
    assert.equal(first.buffer.byteLength, first.byteLength);
    assert.equal(first.constructor, Uint8Array);
  });

  it('leaves to msgpackr what it does not handle, and encodeCanonical still refuses what it refuses', () => {
    for (const value of [[undefined], [1, , 2], new Date(5), new Map([[1, 2]]), 5n, { a: new Uint16Array([1]) }, Object.create(null), () => 1]) {
      assert.equal(packCanonical(value), null);
    }
    assert.deepEqual(encodeCanonical({ a: [undefined, new Date(5)] }), encodeCanonicalWithMsgpackr({ a: [undefined, new Date(5)] }));
    assert.equal(packCanonical(JSON.parse('{"__proto__": 1}')), null);
    assert.throws(() => encodeCanonical(JSON.parse('{"a": {"__proto__": 1}}')), UncarriedKeyError);
    assert.equal(packCanonical(nested(MAX_VALUE_DEPTH + 1)), null);
    assert.throws(() => encodeCanonical(nested(MAX_VALUE_DEPTH + 1)), ValueTooDeepError);
    assert.deepEqual(packCanonical(nested(MAX_VALUE_DEPTH)), encodeCanonicalWithMsgpackr(nested(MAX_VALUE_DEPTH)));
  });
});
