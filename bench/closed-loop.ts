// The closed-loop client both sides of `npm run bench -- --compare etcd` are driven by: N writers,
// each one write at a time over keep-alive HTTP/1.1 connections; the latency of every committed
// write in the measured window, and the CPU the server processes used in it (from /proc).
import { readFile } from 'node:fs/promises';

/** Clock ticks per second of /proc/PID/stat (USER_HZ, 100 on Linux). */
const CLOCK_TICKS_PER_SECOND = 100;
/** Latency samples kept per run; beyond it the run stops sampling. */
const MAX_LATENCY_SAMPLES = 1_000_000;
/** Pause of a writer after a refused or failed write, so an election is not hammered. */
export const RETRY_PAUSE_MS = 10;

/** One system's client towards one member: a write of one key, true when it committed. */
export interface WriteClient {
  put(key: string, clientId: string, seq: number): Promise<boolean>;
  close(): Promise<void>;
}

export interface LoopResult {
  writers: number;
  committed: number;
  failed: number;
  writesPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  /** CPU (user + system) of every server process during the window, per committed write. */
  serverCpuMsPerWrite: number;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** CPU time (user + system) a process has used so far, in seconds, from /proc/PID/stat. */
export async function cpuSeconds(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // After the command name: state is field 3, utime 14 and stime 15 (1-based, see proc(5)).
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND;
}

export function percentile(sorted: number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

export function median(values: number[]): number {
  const finite = values.filter((v) => Number.isFinite(v));
  if (finite.length === 0) return Number.NaN;
  const sorted = [...finite].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/**
 * Runs `writers` closed-loop writers through `client` for warmup + run seconds and measures the run
 * window: each writer writes its own key with its own client id and an increasing sequence.
 */
export async function runClosedLoop(
  client: WriteClient,
  writers: number,
  timing: { warmupSeconds: number; runSeconds: number },
  serverPids: number[],
  tag: string,
  window: { atStart?: () => Promise<void>; atEnd?: () => Promise<void> } = {},
): Promise<LoopResult & { windowMs: number }> {
  const latencies: number[] = [];
  let committed = 0;
  let failed = 0;
  let measuring = false;
  let stopping = false;
  const writer = async (w: number): Promise<void> => {
    const key = `bench-${tag}-w${w}`;
    const clientId = `bench-${tag}-${process.pid}-${w}`;
    for (let seq = 1; !stopping; seq++) {
      const started = performance.now();
      const ok = await client.put(key, clientId, seq);
      const ms = performance.now() - started;
      if (measuring && !stopping) {
        if (ok) {
          committed++;
          if (latencies.length < MAX_LATENCY_SAMPLES) latencies.push(ms);
        } else failed++;
      }
      if (!ok) await sleep(RETRY_PAUSE_MS);
    }
  };
  const loops = Array.from({ length: writers }, (_, w) => writer(w));
  await sleep(timing.warmupSeconds * 1000);
  await window.atStart?.();
  const cpuBefore = await Promise.all(serverPids.map(cpuSeconds));
  measuring = true;
  const windowStart = performance.now();
  await sleep(timing.runSeconds * 1000);
  stopping = true;
  const windowMs = performance.now() - windowStart;
  const cpuAfter = await Promise.all(serverPids.map(cpuSeconds));
  await window.atEnd?.();
  await Promise.all(loops);
  latencies.sort((a, b) => a - b);
  const cpuUsed = cpuAfter.reduce((sum, after, i) => sum + after - cpuBefore[i], 0);
  return {
    writers,
    committed,
    failed,
    writesPerSecond: committed / (windowMs / 1000),
    p50Ms: percentile(latencies, 0.5),
    p99Ms: percentile(latencies, 0.99),
    serverCpuMsPerWrite: committed > 0 ? (cpuUsed * 1000) / committed : Number.NaN,
    windowMs,
  };
}
