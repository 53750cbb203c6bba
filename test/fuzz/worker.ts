// One fuzz target in a worker thread: the supervisor (supervise.ts) bounds its heap and watches its
// progress counter, so an input that allocates without bound or never returns is caught and named.
import { parentPort, workerData } from 'node:worker_threads';
import { loadCorpus } from './corpus.js';
import { runTarget } from './runner.js';
import { targetNamed } from './targets/index.js';

export interface WorkerData {
  target: string;
  inputs: number;
  seed: string;
  useCorpus: boolean;
  /** [0] inputs started, [1] length of the current input; then the input's bytes. */
  progress: SharedArrayBuffer;
  /** Post the figures so far every this many inputs (0: never). */
  progressEvery: number;
}

const data = workerData as WorkerData;
// Rejections are exceptions in several decoders (yaml, zod): capturing their stacks a million times
// costs more than the decoding. A finding's stack comes from replaying its input (npm run fuzz -- --replay).
Error.stackTraceLimit = 0;
const counters = new Int32Array(data.progress, 0, 2);
const current = new Uint8Array(data.progress, 8);
const target = targetNamed(data.target);

const report = await runTarget(target, {
  inputs: data.inputs,
  seed: data.seed,
  corpus: data.useCorpus ? loadCorpus(target.name).map((e) => e.input) : [],
  onInput: (index, input) => {
    const n = Math.min(input.length, current.length);
    current.set(n === input.length ? input : input.subarray(0, n));
    Atomics.store(counters, 1, n);
    Atomics.store(counters, 0, index + 1);
  },
  progressEvery: data.progressEvery,
  onProgress: (partial) => parentPort!.postMessage({ progress: partial }),
});
parentPort!.postMessage({ final: report });
