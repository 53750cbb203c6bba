// The agent's memory as Node.js sees it, and a forced garbage collection for measuring what the heap
// really holds (heap used right after a full GC). Forcing a GC is only possible when the agent runs
// under `node --expose-gc` (a soak benchmark or a debugging session, never the systemd unit), and a
// full GC stops the event loop for as long as it takes, so it is refused more often than once per
// MIN_FORCED_GC_INTERVAL_MS.

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
