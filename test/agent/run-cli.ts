// Runs the `stackraft` CLI binary (the compiled cmd/stackraft.js) as a child process, for exit
// code tests, and times it. The child is killed by PID if it outlives its bound.
import { spawn } from 'node:child_process';
import { CLI_SCRIPT } from './agent-process.js';

export interface CliRun {
  /** Exit code; null when the child was killed (by the bound or a signal). */
  code: number | null;
  stdout: string;
  stderr: string;
  /** Wall time from spawn to exit, in milliseconds. */
  durationMs: number;
}

/** Bound of one CLI run unless the caller gives another. */
export const CLI_RUN_TIMEOUT_MS = 60_000;

export function runCli(args: string[], options: { socket?: string; timeoutMs?: number } = {}): Promise<CliRun> {
  const started = performance.now();
  const env = { ...process.env, ...(options.socket ? { STACKRAFT_SOCKET: options.socket } : {}) };
  const child = spawn(process.execPath, [CLI_SCRIPT, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const bound = setTimeout(() => {
    if (child.pid !== undefined) process.kill(child.pid, 'SIGKILL');
  }, options.timeoutMs ?? CLI_RUN_TIMEOUT_MS);
  return new Promise((resolve, reject) => {
    child.once('error', (err) => {
      clearTimeout(bound);
      reject(err);
    });
    child.once('close', (code) => {
      clearTimeout(bound);
      resolve({ code, stdout, stderr, durationMs: performance.now() - started });
    });
  });
}
