// The benchmarks' stackraft client: flavor PUTs through agents' admin sockets over keep-alive
// HTTP/1.1, each with a client id and sequence (exactly-once), as an operator's tool would send them.
import { Pool } from 'undici';
import type { WriteClient } from './closed-loop.js';

/** A write's own timeout at the agent (body timeoutMs); a write slower than this is a failure. */
export const WRITE_TIMEOUT_MS = 10_000;

/**
 * A client over one keep-alive pool per socket (`connections` each); a key always goes through the
 * same socket. `description(seq)` fills the flavor's description (the compare bench's 256 bytes).
 */
export function adminSocketClient(socketPaths: string[], connections: number, description?: (seq: number) => string): WriteClient {
  const pools = socketPaths.map(
    (socketPath) =>
      new Pool('http://localhost', {
        socketPath,
        connections,
        pipelining: 1,
        keepAliveTimeout: 60_000,
        headersTimeout: WRITE_TIMEOUT_MS * 2,
        bodyTimeout: WRITE_TIMEOUT_MS * 2,
      }),
  );
  const poolOf = (key: string): Pool => {
    let h = 0;
    for (let i = 0; i < key.length; i++) h = (h * 31 + key.charCodeAt(i)) >>> 0;
    return pools[h % pools.length];
  };
  return {
    async put(key, clientId, seq) {
      const spec = { name: key, vcpus: 1 + (seq % 64), ram: 512, disk: 1, ...(description ? { description: description(seq) } : {}) };
      const body = JSON.stringify({ spec, clientId, seq, timeoutMs: WRITE_TIMEOUT_MS });
      try {
        const res = await poolOf(key).request({ method: 'PUT', path: `/v1/resources/flavor/${key}`, headers: { 'content-type': 'application/json' }, body, idempotent: true });
        await res.body.dump();
        return res.statusCode === 200;
      } catch {
        return false;
      }
    },
    close: async () => {
      await Promise.all(pools.map((p) => p.destroy()));
    },
  };
}
