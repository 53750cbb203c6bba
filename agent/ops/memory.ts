// The agent's memory as Node.js sees it, the V8 heap sizing the agent runs with, and a forced
// garbage collection for measuring what the heap really holds (heap used right after a full GC).
//
// Why the sizing: measured with bench/soak-bench.ts (18,000 flavors, reconcilers on), an agent's heap
// after a full GC held ~50-60 MB, yet V8 kept 120-170 MB of heap (and RSS reached 250-300 MB, the
// issue's 450-600 MB on longer runs): after each full GC V8 lets the old generation grow to up to 4x
// the live size before the next one, and reserves 2 x 16 MB for the young generation. The agent
// allocates in bursts (reconciler audits listing every flavor, snapshots of the whole catalog), so
// the heap settles near the top of what V8 allows. Two bounds, both measured in the soak bench:
//  - heap growth (config memory.heapGrowthPercent): the old generation may grow to live size x
//    (1 + percent / 100) before a full GC. V8 reads this flag at every GC, so the agent sets it at
//    start (v8.setFlagsFromString); it scales with the catalog and can never cause an out-of-memory
//    crash the way a fixed --max-old-space-size can;
//  - young generation (AGENT_NODE_FLAGS: --max-semi-space-size): fixed when V8 starts, so it is a
//    node flag, passed by the systemd unit (NODE_OPTIONS), the dev cluster and the test cluster. Forcing a GC is only possible when the agent runs
// under `node --expose-gc` (a soak benchmark or a debugging session, never the systemd unit), and a
// full GC stops the event loop for as long as it takes, so it is refused more often than once per
// MIN_FORCED_GC_INTERVAL_MS.

import { setFlagsFromString } from 'node:v8';

/** Old generation growth allowed past the live size before a full GC, percent (V8's own factor is dynamic, up to 300). */
export const DEFAULT_HEAP_GROWTH_PERCENT = 50;
export const MIN_HEAP_GROWTH_PERCENT = 10;
export const MAX_HEAP_GROWTH_PERCENT = 300;
/**
 * Each of V8's two young-generation semi-spaces, MiB (V8's default on 64 bits: 16). It was 8 until
 * the side-by-side bench showed what the smaller young generation costs the leader under load
 * (DESIGN.md, "Memory bounds"): 16 buys 5-25 % more writes per second at 64-256 writers for about
 * 16-30 MB more RSS.
 */
export const MAX_SEMI_SPACE_MIB = 16;
/** Node flags every agent process runs with; they must be given when node starts. */
export const AGENT_NODE_FLAGS: readonly string[] = [`--max-semi-space-size=${MAX_SEMI_SPACE_MIB}`];

/** Sets V8's old-generation growth factor for this process (takes effect at the next GC). */
export function applyHeapGrowthPercent(percent: number): void {
  if (!Number.isInteger(percent) || percent < MIN_HEAP_GROWTH_PERCENT || percent > MAX_HEAP_GROWTH_PERCENT) {
    throw new RangeError(`heap growth percent must be an integer from ${MIN_HEAP_GROWTH_PERCENT} to ${MAX_HEAP_GROWTH_PERCENT}, got ${percent}`);
  }
  setFlagsFromString(`--heap-growing-percent=${percent}`);
}

/** A full GC of a large heap pauses the agent (tens of ms per 100 MB): at most one per this many ms. */
export const MIN_FORCED_GC_INTERVAL_MS = 1_000;

export interface MemoryView {
  /** Resident set size of the whole process. */
  rssBytes: number;
  /** V8 heap: reserved (heapTotal) and in use by live and not yet collected objects (heapUsed). */
  heapTotalBytes: number;
  heapUsedBytes: number;
  /** Memory of C++ objects bound to JS objects (Buffers, LevelDB handles...), arrayBuffers included. */
  externalBytes: number;
  /** Backing stores of ArrayBuffers and SharedArrayBuffers (all Buffers and Uint8Arrays). */
  arrayBuffersBytes: number;
}

export type ForcedGcOutcome =
  | { ok: true; before: MemoryView; after: MemoryView; gcMs: number }
  | { ok: false; reason: 'unavailable' | 'too_soon'; message: string };

export function memoryNow(): MemoryView {
  const m = process.memoryUsage();
  return { rssBytes: m.rss, heapTotalBytes: m.heapTotal, heapUsedBytes: m.heapUsed, externalBytes: m.external, arrayBuffersBytes: m.arrayBuffers };
}

/** The `gc` function node exposes under --expose-gc, or undefined. */
function exposedGc(): (() => void) | undefined {
  const gc = (globalThis as { gc?: unknown }).gc;
  return typeof gc === 'function' ? (gc as () => void) : undefined;
}

let lastForcedGcAtMs = Number.NEGATIVE_INFINITY;

/** Runs a full GC and reports memory before and after; refused without --expose-gc or when asked too often. */
export function forceGc(nowMs: number = performance.now()): ForcedGcOutcome {
  const gc = exposedGc();
  if (gc === undefined) {
    return { ok: false, reason: 'unavailable', message: 'a forced GC needs the agent to run under node --expose-gc (for soak benchmarks and debugging only)' };
  }
  if (nowMs - lastForcedGcAtMs < MIN_FORCED_GC_INTERVAL_MS) {
    return { ok: false, reason: 'too_soon', message: `at most one forced GC per ${MIN_FORCED_GC_INTERVAL_MS} ms` };
  }
  lastForcedGcAtMs = nowMs;
  const before = memoryNow();
  const started = performance.now();
  gc();
  const gcMs = performance.now() - started;
  return { ok: true, before, after: memoryNow(), gcMs };
}
