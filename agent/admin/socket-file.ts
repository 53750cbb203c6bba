// Claiming the admin socket path: create its directory, clear a stale socket left by a crashed
// agent, and never take the path from an agent that is still serving it.
import { lstat, mkdir, unlink } from 'node:fs/promises';
import { connect } from 'node:net';
import { dirname } from 'node:path';

/** How long to wait for a live agent to accept a probe connection before calling the path busy. */
export const SOCKET_PROBE_TIMEOUT_MS = 1_000;
/** Directory mode when we create it ourselves (systemd's RuntimeDirectoryMode does it in production). */
const SOCKET_DIR_MODE = 0o750;

export class AdminSocketError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AdminSocketError';
  }
}

export type SocketProbe = 'listening' | 'stale' | 'absent';

/** Connects to `path` to learn whether something serves it. */
export function probeSocket(path: string, timeoutMs = SOCKET_PROBE_TIMEOUT_MS): Promise<SocketProbe> {
  return new Promise((resolve, reject) => {
    const socket = connect({ path });
    const timer = setTimeout(() => finish('listening'), timeoutMs);
    function finish(result: SocketProbe | Error): void {
      clearTimeout(timer);
      socket.destroy();
      if (result instanceof Error) reject(result);
      else resolve(result);
    }
    socket.once('connect', () => finish('listening'));
    socket.once('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'ECONNREFUSED') finish('stale');
      else if (error.code === 'ENOENT') finish('absent');
      else finish(new AdminSocketError(`cannot probe the admin socket ${path}: ${error.message}`));
    });
  });
}

/** Makes `path` free to listen on, or throws AdminSocketError saying why it is not. */
export async function claimSocketPath(path: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: SOCKET_DIR_MODE });
  let stats;
  try {
    stats = await lstat(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw error;
  }
  if (!stats.isSocket()) {
    throw new AdminSocketError(`${path} exists and is not a socket; refusing to replace it (move it away, or set adminSocket in the config)`);
  }
  const probe = await probeSocket(path);
  if (probe === 'listening') throw inUse(path);
  if (probe === 'stale') {
    try {
      await unlink(path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
  }
}

export function inUse(path: string): AdminSocketError {
  return new AdminSocketError(
    `another process is already serving the admin socket ${path}: is another stackraft agent running? (systemctl status stackraft-agent)`,
  );
}
