// One real agent process (`stackraft agent --config FILE`), on 127.0.0.1 unless told otherwise, started and killed by
// PID. Its stdout and stderr go to a log file in its directory, so a failing test can show them.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, openSync, closeSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { AGENT_NODE_FLAGS } from '../../agent/ops/memory.js';

/** The CLI entry point, compiled next to this file (build/test/agent -> build/agent/cli). */
export const CLI_SCRIPT = new URL('../../cmd/stackraft.js', import.meta.url).pathname;

/** How long a process gets to exit after a signal before the helper gives up on it. */
export const EXIT_WAIT_MS = 10_000;
/** Bytes of an agent's log shown when a test fails. */
const LOG_TAIL_BYTES = 4_000;

/** Every agent process this process started and has not seen exit: killed by PID when this process ends. */
const live = new Set<ChildProcess>();

function killAllLive(): void {
  for (const child of live) {
    try {
      if (child.pid !== undefined) process.kill(child.pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
}

process.once('exit', killAllLive);
// A signal ends the process without 'exit' handlers: kill the agents first, then end as the signal would.
for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
  process.once(signal, () => {
    killAllLive();
    process.exit(code);
  });
}

export interface AgentProcessOptions {
  name: string;
  /** Site directory: holds agent.yaml, agent.log, the admin socket and data/. */
  dir: string;
  /** libp2p TCP port on 127.0.0.1. */
  port: number;
  peerId: string;
  /** Node flags for the child besides AGENT_NODE_FLAGS (e.g. --cpu-prof). */
  nodeArgs?: string[];
  /** Address the agent listens on and others dial (default 127.0.0.1). */
  host?: string;
  /** Command the agent is started through, e.g. ['ip', 'netns', 'exec', NS] (it must exec, keeping the PID). */
  launcher?: string[];
  /** Extra environment for the agent. */
  env?: Record<string, string>;
}

export class AgentProcess {
  readonly name: string;
  readonly dir: string;
  readonly port: number;
  readonly peerId: string;
  readonly configPath: string;
  readonly dataDir: string;
  readonly socketPath: string;
  readonly logPath: string;
  readonly host: string;
  private readonly nodeArgs: string[];
  private readonly launcher: string[];
  private readonly env: Record<string, string>;
  private child: ChildProcess | null = null;
  private exited: Promise<void> = Promise.resolve();

  constructor(options: AgentProcessOptions) {
    this.name = options.name;
    this.dir = options.dir;
    this.port = options.port;
    this.peerId = options.peerId;
    this.nodeArgs = options.nodeArgs ?? [];
    this.host = options.host ?? '127.0.0.1';
    this.launcher = options.launcher ?? [];
    this.env = options.env ?? {};
    this.configPath = join(options.dir, 'agent.yaml');
    this.dataDir = join(options.dir, 'data');
    this.socketPath = join(options.dir, 'admin.sock');
    this.logPath = join(options.dir, 'agent.log');
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get running(): boolean {
    return this.child !== null;
  }

  /** Multiaddr other sites dial. */
  get addr(): string {
    return `/ip4/${this.host}/tcp/${this.port}/p2p/${this.peerId}`;
  }

  /** Spawns the agent; resolves once its admin socket exists. */
  async start(bootstrap: boolean, readyTimeoutMs: number): Promise<void> {
    const child = this.spawnAgent(bootstrap);
    const deadline = Date.now() + readyTimeoutMs;
    while (!existsSync(this.socketPath)) {
      if (this.child !== child) throw new Error(`${this.name} exited before opening its admin socket:\n${await this.logTail()}`);
      if (Date.now() > deadline) throw new Error(`${this.name} did not open its admin socket within ${readyTimeoutMs} ms:\n${await this.logTail()}`);
      await sleep(50);
    }
  }

  /**
   * Spawns an agent the test expects to refuse something and stop on its own; resolves once it has
   * exited. (Such an agent may open its admin socket and close it again between two polls of start.)
   */
  async runUntilExit(timeoutMs: number): Promise<void> {
    const child = this.spawnAgent(false);
    const timedOut = await Promise.race([this.exited.then(() => false), sleep(timeoutMs).then(() => true)]);
    if (timedOut) {
      if (child.pid !== undefined) process.kill(child.pid, 'SIGKILL');
      await this.exited;
      throw new Error(`${this.name} (pid ${child.pid}) was still running ${timeoutMs} ms after it started; killed it:\n${await this.logTail()}`);
    }
  }

  private spawnAgent(bootstrap: boolean): ChildProcess {
    if (this.child) throw new Error(`${this.name} is already running (pid ${this.child.pid})`);
    const log = openSync(this.logPath, 'a');
    const args = [...AGENT_NODE_FLAGS, ...this.nodeArgs, CLI_SCRIPT, 'agent', '--config', this.configPath, ...(bootstrap ? ['--bootstrap'] : [])];
    const [command, ...prefix] = [...this.launcher, process.execPath];
    const child = spawn(command, [...prefix, ...args], { stdio: ['ignore', log, log], env: { ...process.env, ...this.env } });
    closeSync(log);
    this.child = child;
    live.add(child);
    this.exited = new Promise<void>((resolve) => {
      child.once('exit', () => {
        live.delete(child);
        if (this.child === child) this.child = null;
        resolve();
      });
    });
    return child;
  }

  /** Sends `signal` to the process (by PID) and waits until it has exited. */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const child = this.child;
    if (!child || child.pid === undefined) return;
    try {
      process.kill(child.pid, signal);
    } catch {
      // Exited on its own meanwhile.
    }
    const timedOut = await Promise.race([this.exited.then(() => false), sleep(EXIT_WAIT_MS).then(() => true)]);
    if (timedOut) {
      process.kill(child.pid, 'SIGKILL');
      await this.exited;
      throw new Error(`${this.name} (pid ${child.pid}) did not exit within ${EXIT_WAIT_MS} ms of ${signal}; killed it`);
    }
  }

  /** Resident memory of the process in KiB (VmRSS from /proc/PID/status). */
  async rssKiB(): Promise<number> {
    if (this.pid === undefined) throw new Error(`${this.name} is not running`);
    const status = await readFile(`/proc/${this.pid}/status`, 'utf8');
    const match = /^VmRSS:\s+(\d+)\s+kB$/m.exec(status);
    if (!match) throw new Error(`no VmRSS in /proc/${this.pid}/status`);
    return Number(match[1]);
  }

  async logTail(bytes = LOG_TAIL_BYTES): Promise<string> {
    try {
      const text = await readFile(this.logPath, 'utf8');
      return `--- ${this.name} (${this.logPath}) ---\n${text.slice(-bytes)}`;
    } catch {
      return `--- ${this.name}: no log ---`;
    }
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
