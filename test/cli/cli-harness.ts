// Runs the stackraft CLI against a fake agent: in process (fast, for the many command tests) or as
// the compiled program in a child process (for exit codes and the real entry point).
import { spawn } from 'node:child_process';
import { runCli } from '../../agent/cli/run.js';
import { allCommands } from '../../agent/cli/commands/index.js';
import { PROCESS_COMMANDS } from '../../cmd/commands.js';
import type { CliIo } from '../../agent/cli/io.js';

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the CLI in this process with captured output. */
export async function runInProcess(args: string[], options: { socketPath?: string; env?: Record<string, string>; stdin?: string } = {}): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  const io: CliIo = {
    stdout: { write: (text: string) => (stdout += text) },
    stderr: { write: (text: string) => (stderr += text) },
    env: { ...(options.socketPath ? { STACKRAFT_SOCKET: options.socketPath } : {}), ...options.env },
    readStdin: async () => options.stdin ?? '',
  };
  const code = await runCli(args, io, allCommands(), PROCESS_COMMANDS);
  return { code, stdout, stderr };
}

export const CLI_MAIN = new URL('../../cmd/stackraft.js', import.meta.url);

/** Spawns the compiled CLI; kills it (by pid) if it runs longer than `timeoutMs`. */
export function spawnCli(args: string[], options: { env?: Record<string, string>; stdin?: string; timeoutMs?: number } = {}): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI_MAIN.pathname, ...args], {
      env: { PATH: process.env.PATH ?? '', ...options.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => {
      if (child.pid !== undefined) process.kill(child.pid, 'SIGKILL');
      reject(new Error(`stackraft ${args.join(' ')} did not finish in ${options.timeoutMs ?? 15_000} ms\n${stderr}`));
    }, options.timeoutMs ?? 15_000);
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, stdout, stderr });
    });
    child.stdin.end(options.stdin ?? '');
  });
}
