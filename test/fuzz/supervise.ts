// Runs a target in a worker with a bounded heap and a watchdog: no progress for hangMs is a hang,
// running out of the heap is an unbounded allocation; both are reported with the input that did it.
import { Worker } from 'node:worker_threads';
import type { Finding, TargetReport } from './runner.js';
import { targetNamed } from './targets/index.js';
import type { WorkerData } from './worker.js';

/** No progress for this long is a hang (the runner also flags an input slower than PER_INPUT_LIMIT_MS twice); generous for a loaded machine. */
export const DEFAULT_HANG_MS = 30_000;
/** A decoder holding more than this for one input is allocating without bound. */
export const DEFAULT_HEAP_MB = 512;
const PROGRESS_BYTES = 8 + 1024 * 1024;

export interface SuperviseOptions {
  inputs: number;
  seed: string;
  useCorpus: boolean;
  hangMs?: number;
  heapMb?: number;
  /** Figures so far, every `progressEvery` inputs. */
  onProgress?: (report: TargetReport) => void;
  progressEvery?: number;
}

export function fuzzInWorker(targetName: string, options: SuperviseOptions): Promise<TargetReport> {
  const target = targetNamed(targetName);
  const progress = new SharedArrayBuffer(PROGRESS_BYTES);
  const counters = new Int32Array(progress, 0, 2);
  const data: WorkerData = { target: targetName, inputs: options.inputs, seed: options.seed, useCorpus: options.useCorpus, progress, progressEvery: options.onProgress ? (options.progressEvery ?? 0) : 0 };
  const worker = new Worker(new URL('./worker.js', import.meta.url), {
    workerData: data,
    // The agent parses on its main thread (a stack of about 1 MiB); a worker's default is 4 MiB, which
    // lets deep inputs recurse four times further (and for longer) than they ever could in the agent.
    resourceLimits: { maxOldGenerationSizeMb: options.heapMb ?? DEFAULT_HEAP_MB, stackSizeMb: 1 },
  });
  const hangMs = options.hangMs ?? DEFAULT_HANG_MS;
  const started = Date.now();

  const failedReport = (kind: Finding['kind'], message: string): TargetReport => {
    const started_ = Atomics.load(counters, 0);
    const length = Atomics.load(counters, 1);
    const input = new Uint8Array(progress, 8, length);
    return {
      target: targetName,
      covers: target.covers,
      inputs: Math.max(0, started_ - 1),
      accepted: 0,
      rejected: 0,
      rejectionsByKind: {},
      signatures: 0,
      findings: [{ kind, message, inputHex: Buffer.from(input).toString('hex'), inputIndex: started_ - 1 }],
      findingCount: 1,
      slowestMs: 0,
      slowOnce: 0,
      elapsedMs: Date.now() - started,
      interesting: [],
    };
  };

  return new Promise((resolve) => {
    let settled = false;
    let lastCount = -1;
    let lastChange = Date.now();
    const finish = (report: TargetReport) => {
      if (settled) return;
      settled = true;
      clearInterval(watchdog);
      void worker.terminate();
      resolve(report);
    };
    const watchdog = setInterval(() => {
      const count = Atomics.load(counters, 0);
      if (count !== lastCount) {
        lastCount = count;
        lastChange = Date.now();
      } else if (Date.now() - lastChange > hangMs) {
        finish(failedReport('hang', `no progress for ${hangMs} ms on input ${count - 1} (or while generating the next one)`));
      }
    }, 250);
    worker.on('message', (message: { progress: TargetReport } | { final: TargetReport }) => {
      if ('progress' in message) options.onProgress?.(message.progress);
      else finish(message.final);
    });
    worker.on('error', (error: Error & { code?: string }) => {
      const kind = error.code === 'ERR_WORKER_OUT_OF_MEMORY' ? 'allocation' : 'crash';
      finish(failedReport(kind, `${error.name}: ${error.message}`));
    });
    worker.on('exit', (code) => finish(failedReport('crash', `worker exited with code ${code} before reporting`)));
  });
}
