// A local HTTP server (127.0.0.1) that serves image bits for driver tests.
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { request } from 'undici';
import { cloudErrorForStatus } from '../../drivers/errors.js';
import type { ImageSource, SourceFetcher } from '../../drivers/index.js';

export interface SourceServer {
  /** Serves `bytes` at /name and returns the catalog source (with both digests unless told). */
  put(name: string, bytes: Buffer, digests?: 'sha256' | 'sha512' | 'both'): ImageSource;
  url(name: string): string;
  /** The next `n` requests get this status instead of the bits. */
  failNext(n: number, status: number): void;
  /** GET requests served so far, by path. */
  hits: Map<string, number>;
  close(): Promise<void>;
}

export function sha256(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

export function sha512(bytes: Buffer): string {
  return createHash('sha512').update(bytes).digest('hex');
}

/** Deterministic bytes of a given size (no randomness: tests replay). */
export function patternBytes(size: number, seed = 1): Buffer {
  const out = Buffer.alloc(size);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

export async function startSourceServer(): Promise<SourceServer> {
  const files = new Map<string, Buffer>();
  const hits = new Map<string, number>();
  const failures: number[] = [];
  const server: Server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    hits.set(path, (hits.get(path) ?? 0) + 1);
    const failure = failures.shift();
    if (failure !== undefined) {
      res.writeHead(failure).end('injected failure');
      return;
    }
    const bytes = files.get(path);
    if (bytes === undefined) {
      res.writeHead(404).end('no such file');
      return;
    }
    res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': String(bytes.length) });
    // In 64 KiB pieces, so the bits stream (and the digest gate holds back a real last chunk).
    Readable.from(chunks(bytes, 64 << 10)).pipe(res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    put(name, bytes, digests = 'both') {
      files.set(`/${name}`, bytes);
      const source: ImageSource = { url: `${base}/${name}` };
      if (digests !== 'sha512') source.sha256 = sha256(bytes);
      if (digests !== 'sha256') source.sha512 = sha512(bytes);
      return source;
    },
    url: (name) => `${base}/${name}`,
    failNext(n, status) {
      for (let i = 0; i < n; i++) failures.push(status);
    },
    hits,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function* chunks(bytes: Buffer, size: number): Generator<Buffer> {
  for (let i = 0; i < bytes.length; i += size) yield bytes.subarray(i, Math.min(bytes.length, i + size));
}

/** A SourceFetcher over plain undici, for MemoryCloud in tests. */
export const testSourceFetcher: SourceFetcher = async (source) => {
  const res = await request(source.url);
  if (res.statusCode !== 200) {
    res.body.on('error', () => {});
    res.body.destroy();
    throw cloudErrorForStatus({ service: 'source', method: 'GET', path: new URL(source.url).pathname, status: res.statusCode, cloudMessage: `image source answered ${res.statusCode}` });
  }
  return res.body;
};
