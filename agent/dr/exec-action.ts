// An action that is an executable: the request as JSON on its stdin, exit status 0 = done, anything
// else = failed with the end of its stderr (and stdout) as the message. Bounded in time (SIGTERM at
// the deadline, SIGKILL a grace period later) and in the output kept.
import { spawn } from 'node:child_process';
import type { DrActionRequest, DrActionResult, DrActionRunner } from './action.js';

/** Output kept from an action, per stream (the message shows its end). */
export const MAX_ACTION_OUTPUT_BYTES = 16 * 1024;
const KILL_GRACE_MS = 2000;

export class ExecAction implements DrActionRunner {
  constructor(
    private readonly command: readonly string[],
    readonly timeoutMs?: number,
  ) {
    if (command.length === 0) throw new Error('an exec DR action needs a command');
  }

  run(request: DrActionRequest, signal: AbortSignal): Promise<DrActionResult> {
    return new Promise((resolve) => {
      const [file, ...args] = this.command as [string, ...string[]];
      const child = spawn(file, args, { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, STACKRAFT_DR_KEY: request.idempotencyKey } });
      const out = tail();
      const err = tail();
      child.stdout.on('data', (chunk: Buffer) => out.add(chunk));
      child.stderr.on('data', (chunk: Buffer) => err.add(chunk));
      let killTimer: NodeJS.Timeout | undefined;
      let stopped = '';
      const stop = (): void => {
        stopped = signal.reason instanceof Error ? signal.reason.message : 'stopped';
        child.kill('SIGTERM');
        killTimer = setTimeout(() => child.kill('SIGKILL'), KILL_GRACE_MS);
      };
      if (signal.aborted) stop();
      else signal.addEventListener('abort', stop, { once: true });
      child.on('error', (error) => {
        signal.removeEventListener('abort', stop);
        clearTimeout(killTimer);
        resolve({ ok: false, message: `cannot run ${file}: ${error.message}` });
      });
      child.on('close', (code, signalName) => {
        signal.removeEventListener('abort', stop);
        clearTimeout(killTimer);
        const said = (err.text() || out.text()).trim();
        if (stopped) resolve({ ok: false, message: `${file} was stopped (${stopped})${said ? `: ${said}` : ''}` });
        else if (code === 0) resolve({ ok: true, message: out.text().trim() });
        else resolve({ ok: false, message: `${file} exited with ${code === null ? `signal ${signalName}` : `status ${code}`}${said ? `: ${said}` : ''}` });
      });
      child.stdin.on('error', () => undefined); // an action that does not read its input is its business
      child.stdin.end(JSON.stringify(request));
    });
  }
}

function tail(): { add(chunk: Buffer): void; text(): string } {
  let kept = Buffer.alloc(0);
  return {
    add: (chunk) => {
      kept = Buffer.concat([kept, chunk]);
      if (kept.length > MAX_ACTION_OUTPUT_BYTES) kept = kept.subarray(kept.length - MAX_ACTION_OUTPUT_BYTES);
    },
    text: () => kept.toString('utf8'),
  };
}
