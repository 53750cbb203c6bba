// Numbers for the report: exact percentiles over arrays, a log-bucketed histogram for long runs,
// and the trace hash that proves two runs of one seed were the same, event for event.

/** Nearest-rank percentile (p in [0, 100]) of unsorted values; NaN for an empty list. */
export function percentile(values: ArrayLike<number>, p: number): number {
  return percentiles(values, [p])[0];
}

/** Several nearest-rank percentiles with one sort. */
export function percentiles(values: ArrayLike<number>, ps: readonly number[]): number[] {
  for (const p of ps) if (!(p >= 0 && p <= 100)) throw new RangeError(`percentile must be in [0, 100], got ${p}`);
  if (values.length === 0) return ps.map(() => NaN);
  const sorted = Float64Array.from(values).sort();
  return ps.map((p) => sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)]);
}

export interface Summary {
  count: number;
  min: number;
  max: number;
  mean: number;
  p50: number;
  p90: number;
  p99: number;
}

export function summarize(values: ArrayLike<number>): Summary {
  const count = values.length;
  if (count === 0) return { count: 0, min: NaN, max: NaN, mean: NaN, p50: NaN, p90: NaN, p99: NaN };
  let min = Infinity;
  let max = -Infinity;
  let sum = 0;
  for (let i = 0; i < count; i++) {
    const v = values[i];
    if (v < min) min = v;
    if (v > max) max = v;
    sum += v;
  }
  const [p50, p90, p99] = percentiles(values, [50, 90, 99]);
  return { count, min, max, mean: sum / count, p50, p90, p99 };
}

/** Sub-buckets per doubling: bucket bounds grow by 2^(1/16) ≈ 4.4 %, the histogram's precision. */
const SUB_BUCKETS_PER_DOUBLING = 16;
/** Values below this land in the first bucket (0.001 ms = 1 µs). */
const HISTOGRAM_MIN_VALUE = 0.001;
/** Bound on bucket count: 64 doublings above the minimum covers any latency a run can produce. */
const HISTOGRAM_MAX_BUCKETS = 64 * SUB_BUCKETS_PER_DOUBLING;

/** Log-bucketed histogram of non-negative values: constant memory, percentiles within ~4.4 %. */
export class Histogram {
  private readonly counts = new Float64Array(HISTOGRAM_MAX_BUCKETS);
  private total = 0;
  private minSeen = Infinity;
  private maxSeen = -Infinity;
  private sum = 0;

  record(value: number): void {
    if (!(value >= 0) || !Number.isFinite(value)) throw new RangeError(`histogram value must be finite and >= 0, got ${value}`);
    this.counts[bucketOf(value)]++;
    this.total++;
    this.sum += value;
    if (value < this.minSeen) this.minSeen = value;
    if (value > this.maxSeen) this.maxSeen = value;
  }

  get count(): number {
    return this.total;
  }

  get min(): number {
    return this.total === 0 ? NaN : this.minSeen;
  }

  get max(): number {
    return this.total === 0 ? NaN : this.maxSeen;
  }

  get mean(): number {
    return this.total === 0 ? NaN : this.sum / this.total;
  }

  /** Upper bound of the bucket holding the nearest-rank p-th percentile, clamped to [min, max]. */
  percentile(p: number): number {
    if (!(p >= 0 && p <= 100)) throw new RangeError(`percentile must be in [0, 100], got ${p}`);
    if (this.total === 0) return NaN;
    const rank = Math.max(1, Math.ceil((p / 100) * this.total));
    let seen = 0;
    for (let b = 0; b < HISTOGRAM_MAX_BUCKETS; b++) {
      seen += this.counts[b];
      if (seen >= rank) return Math.min(this.maxSeen, Math.max(this.minSeen, bucketUpper(b)));
    }
    return this.maxSeen;
  }

  /** One text row per doubling that holds values: range, count and a bar scaled to `width`. */
  render(width = 40, unit = 'ms'): string {
    if (this.total === 0) return '(no values)';
    const rows: Array<{ lo: number; hi: number; count: number }> = [];
    for (let start = 0; start < HISTOGRAM_MAX_BUCKETS; start += SUB_BUCKETS_PER_DOUBLING) {
      let count = 0;
      for (let b = start; b < start + SUB_BUCKETS_PER_DOUBLING; b++) count += this.counts[b];
      if (count > 0) rows.push({ lo: start === 0 ? 0 : bucketUpper(start - 1), hi: bucketUpper(start + SUB_BUCKETS_PER_DOUBLING - 1), count });
    }
    const peak = Math.max(...rows.map((r) => r.count));
    return rows
      .map((r) => {
        const bar = '#'.repeat(Math.max(1, Math.round((r.count / peak) * width)));
        return `${fmt(r.lo).padStart(9)}–${fmt(r.hi).padEnd(9)} ${unit} ${String(r.count).padStart(8)} ${bar}`;
      })
      .join('\n');
  }
}

function bucketOf(value: number): number {
  if (value <= HISTOGRAM_MIN_VALUE) return 0;
  const b = Math.ceil(Math.log2(value / HISTOGRAM_MIN_VALUE) * SUB_BUCKETS_PER_DOUBLING);
  return Math.min(b, HISTOGRAM_MAX_BUCKETS - 1);
}

function bucketUpper(b: number): number {
  return HISTOGRAM_MIN_VALUE * 2 ** (b / SUB_BUCKETS_PER_DOUBLING);
}

function fmt(v: number): string {
  return v >= 100 ? v.toFixed(0) : v >= 1 ? v.toFixed(1) : v.toPrecision(2);
}

// ------------------------------------------------------------------------------------ hashing

const FNV64_OFFSET_HI = 0xcbf29ce4;
const FNV64_OFFSET_LO = 0x84222325;
/** The 64-bit FNV prime is 2^40 + 0x1b3. */
const FNV64_PRIME_LOW = 0x1b3;
const TWO_POW_32 = 4294967296;

/**
 * 64-bit FNV-1a kept as two 32-bit halves (BigInt is far too slow for a per-event hash).
 * mixU32 folds in a whole 32-bit word per round (a word-wise FNV-1a variant: fast, order-sensitive,
 * fine for "are these two runs identical"); mixBytes / fnv1a64Hex are the classic byte-wise FNV-1a.
 */
export class TraceHash {
  private hi = FNV64_OFFSET_HI;
  private lo = FNV64_OFFSET_LO;
  private mixed = 0;
  private readonly f64 = new Float64Array(1);
  private readonly u32 = new Uint32Array(this.f64.buffer);

  mixU32(word: number): void {
    this.round(word >>> 0);
    this.mixed++;
  }

  /** Folds in a number's exact float64 bits (so 1.0000001 and 1 differ). */
  mixNumber(value: number): void {
    this.f64[0] = value;
    this.round(this.u32[0]);
    this.round(this.u32[1]);
    this.mixed++;
  }

  mixString(text: string): void {
    this.round(text.length);
    for (let i = 0; i < text.length; i++) this.round(text.charCodeAt(i));
    this.mixed++;
  }

  mixBytes(bytes: Uint8Array): void {
    for (let i = 0; i < bytes.length; i++) this.round(bytes[i]);
    this.mixed++;
  }

  /** Number of mix calls so far. */
  get count(): number {
    return this.mixed;
  }

  /** 16 lowercase hex digits. */
  hex(): string {
    return this.hi.toString(16).padStart(8, '0') + this.lo.toString(16).padStart(8, '0');
  }

  private round(word: number): void {
    const lo = (this.lo ^ word) >>> 0;
    // (hi·2^32 + lo) · (2^40 + 0x1b3) mod 2^64; every partial product stays below 2^53.
    const lowProduct = lo * FNV64_PRIME_LOW;
    const carry = Math.floor(lowProduct / TWO_POW_32);
    this.hi = (this.hi * FNV64_PRIME_LOW + carry + ((lo << 8) >>> 0)) >>> 0;
    this.lo = lowProduct >>> 0;
  }
}

/** Classic byte-wise 64-bit FNV-1a of UTF-8 text or bytes, as 16 hex digits. */
export function fnv1a64Hex(input: string | Uint8Array): string {
  const h = new TraceHash();
  h.mixBytes(typeof input === 'string' ? new TextEncoder().encode(input) : input);
  return h.hex();
}
