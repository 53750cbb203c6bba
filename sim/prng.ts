// The simulator's only source of randomness: xoshiro128** (32-bit state words, Math.imul), seeded
// from a seed path string. A fork is keyed by the root seed and a label path, never by how many
// numbers were drawn before, so enabling one more fault kind does not shift the workload's stream.

const TWO_POW_32 = 4294967296;
const TWO_PI = 2 * Math.PI;

/** A run's seed: a non-negative safe integer or a non-empty string. */
export type Seed = number | string;

/** Parses a `--seed` argument: a decimal integer in [0, 2^53). */
export function parseSeed(text: string): number {
  const trimmed = text.trim();
  if (!/^\d+$/.test(trimmed)) throw new Error(`invalid seed "${text}": expected a non-negative decimal integer`);
  const seed = Number(trimmed);
  if (!Number.isSafeInteger(seed)) throw new Error(`invalid seed "${text}": larger than ${Number.MAX_SAFE_INTEGER}`);
  return seed;
}

function seedToPath(seed: Seed): string {
  if (typeof seed === 'number') {
    if (!Number.isSafeInteger(seed) || seed < 0) {
      throw new RangeError(`seed must be a non-negative safe integer, got ${seed}`);
    }
    return String(seed);
  }
  if (typeof seed !== 'string' || seed.length === 0) throw new TypeError('seed must be a number or a non-empty string');
  return seed;
}

/** Avalanche of one 32-bit word (the murmur3 finaliser constants). */
function mix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Hashes a label path into four well-mixed, not-all-zero 32-bit words. */
export function hashToWords(text: string): [number, number, number, number] {
  let a = 0x9e3779b9;
  let b = 0x243f6a88;
  let c = 0xb7e15162;
  let d = 0x85a308d3;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    a = Math.imul(a ^ ch, 0x01000193);
    b = Math.imul(b ^ ch, 0x5bd1e995);
    c = Math.imul(c ^ ch, 0x27d4eb2f);
    d = Math.imul(d ^ ch, 0x165667b1);
  }
  // Cross the lanes so every output word depends on every input character and on the length.
  a = mix32(a ^ text.length);
  b = mix32(b ^ a);
  c = mix32(c ^ b);
  d = mix32(d ^ c);
  a = mix32(a ^ d);
  if ((a | b | c | d) === 0) a = 1; // xoshiro's one forbidden state
  return [a, b, c, d];
}

export class Prng {
  /** The label path this stream was derived from (e.g. "42/wan/jitter"): print it to explain a stream. */
  readonly path: string;
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;

  constructor(seed: Seed) {
    this.path = seedToPath(seed);
    [this.s0, this.s1, this.s2, this.s3] = hashToWords(this.path);
  }

  /** An independent stream for `label`, depending only on this stream's path and the label. */
  fork(label: string): Prng {
    if (label.length === 0) throw new Error('fork label must be non-empty');
    return new Prng(`${this.path}/${label}`);
  }

  /** Next uniformly distributed unsigned 32-bit integer. */
  next(): number {
    const s1 = this.s1;
    const result = Math.imul(rotl(Math.imul(s1, 5), 7), 9) >>> 0;
    const t = s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** Uniform in [0, 1), 32 bits of resolution. */
  float(): number {
    return this.next() / TWO_POW_32;
  }

  /** Uniform integer in [0, n), unbiased (rejection sampling); n in [1, 2^32]. */
  int(n: number): number {
    if (!Number.isInteger(n) || n < 1 || n > TWO_POW_32) throw new RangeError(`int(n) needs an integer n in [1, 2^32], got ${n}`);
    const limit = TWO_POW_32 - (TWO_POW_32 % n);
    let r = this.next();
    while (r >= limit) r = this.next();
    return r % n;
  }

  /** Uniform integer in [lo, hi] (both inclusive). */
  intBetween(lo: number, hi: number): number {
    if (hi < lo) throw new RangeError(`intBetween: hi ${hi} < lo ${lo}`);
    return lo + this.int(hi - lo + 1);
  }

  /** Uniform real in [lo, hi). */
  uniform(lo: number, hi: number): number {
    return lo + (hi - lo) * this.float();
  }

  /** True with probability p (p <= 0 never draws, so a disabled fault does not consume the stream). */
  chance(p: number): boolean {
    if (p <= 0) return false;
    if (p >= 1) return true;
    return this.float() < p;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new RangeError('pick from an empty list');
    return items[this.int(items.length)];
  }

  /** Fisher–Yates, in place; returns the same array. */
  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const tmp = items[i];
      items[i] = items[j];
      items[j] = tmp;
    }
    return items;
  }

  /** Normal sample (Box–Muller, one value per call so the stream consumption is fixed: 2 draws). */
  normal(mean = 0, stdDev = 1): number {
    const u1 = 1 - this.float(); // (0, 1]: log is finite
    const u2 = this.float();
    return mean + stdDev * Math.sqrt(-2 * Math.log(u1)) * Math.cos(TWO_PI * u2);
  }

  /** Exponential sample with the given mean (inter-arrival times of a Poisson process). */
  exponential(mean: number): number {
    return -mean * Math.log(1 - this.float());
  }

  /** Log-normal sample with the given median and shape sigma (always > 0, long right tail: network jitter). */
  logNormal(median: number, sigma: number): number {
    return median * Math.exp(sigma * this.normal());
  }

  /** A `() => number` in [0, 1) for APIs that take one (RaftConfig.random). */
  asRandom(): () => number {
    return () => this.float();
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}
