// Shared by the blob tests: a temp directory, deterministic pseudo-random bytes, a stream of them.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ByteStream } from '../../agent/blobs/ports.js';

export async function withTempDir<T>(body: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'stackraft-blobs-'));
  try {
    return await body(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** `size` bytes from a small xorshift generator: different for each seed, identical across runs. */
export function patternBytes(size: number, seed = 1): Buffer {
  const out = Buffer.allocUnsafe(size);
  let x = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}

/** The bytes as a stream of uneven pieces, as a socket would deliver them. */
export async function* piecesOf(bytes: Uint8Array, piece = 10_007): AsyncGenerator<Uint8Array> {
  for (let offset = 0; offset < bytes.length; offset += piece) yield bytes.subarray(offset, offset + piece);
}

/** Two connected in-memory ByteStreams; `onClientDone` runs when the server has ended its side. */
export function pipePair(onClientDone: () => void): [ByteStream, ByteStream] {
  const toServer: Uint8Array[] = [];
  const toClient: Uint8Array[] = [];
  let serverEnded = false;
  let clientEnded = false;
  let wakeServer: (() => void) | undefined;
  let wakeClient: (() => void) | undefined;
  async function* drain(queue: Uint8Array[], ended: () => boolean, park: (wake: () => void) => void): AsyncGenerator<Uint8Array> {
    for (;;) {
      const next = queue.shift();
      if (next !== undefined) yield next;
      else if (ended()) return;
      else await new Promise<void>((resolve) => park(resolve));
    }
  }
  const client: ByteStream = {
    async write(bytes) {
      toServer.push(Uint8Array.from(bytes));
      wakeServer?.();
    },
    async end() {
      clientEnded = true;
      wakeServer?.();
    },
    incoming: drain(toClient, () => serverEnded, (wake) => (wakeClient = wake)),
    abort() {
      serverEnded = true;
      wakeClient?.();
    },
  };
  const server: ByteStream = {
    async write(bytes) {
      toClient.push(Uint8Array.from(bytes));
      wakeClient?.();
    },
    async end() {
      serverEnded = true;
      onClientDone();
      wakeClient?.();
    },
    incoming: drain(toServer, () => clientEnded, (wake) => (wakeServer = wake)),
    abort() {
      clientEnded = true;
      serverEnded = true;
      onClientDone();
      wakeServer?.();
      wakeClient?.();
    },
  };
  return [client, server];
}
