// The fetcher's request limits, with in-memory streams between a fetcher and real BlobServers (no
// network): the requests in flight to one member never pass maxFetchesPerPeer, also when every
// worker starts at once or wakes at once, and a second holder gets the requests the first cannot take.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { silentLogger } from '../../consensus/ports.js';
import { nodeBlobDisk } from '../../agent/blobs/disk.js';
import { BlobFetcher } from '../../agent/blobs/fetcher.js';
import { MIN_CHUNK_BYTES } from '../../agent/blobs/format.js';
import type { BlobStreams, ByteStream } from '../../agent/blobs/ports.js';
import { BlobServer } from '../../agent/blobs/server.js';
import { BlobStore } from '../../agent/blobs/store.js';
import { patternBytes, piecesOf, pipePair, withTempDir } from './helpers.js';

const CHUNK = MIN_CHUNK_BYTES;
const CLUSTER = 'limits-test';
const SERVE_DELAY_MS = 20;

/** Streams to in-process servers; counts the requests in flight to each member (opened, not yet answered to the end). */
class CountingStreams implements BlobStreams {
  readonly inflight = new Map<string, number>();
  readonly most = new Map<string, number>();
  readonly requests = new Map<string, number>();

  constructor(private readonly servers: Map<string, BlobServer>) {}

  async open(member: string): Promise<ByteStream> {
    const server = this.servers.get(member);
    if (server === undefined) throw new Error(`${member} is not reachable`);
    const now = (this.inflight.get(member) ?? 0) + 1;
    this.inflight.set(member, now);
    this.most.set(member, Math.max(this.most.get(member) ?? 0, now));
    this.requests.set(member, (this.requests.get(member) ?? 0) + 1);
    const [client, serverSide] = pipePair(() => this.inflight.set(member, (this.inflight.get(member) ?? 1) - 1));
    // The server answers a little later, so requests overlap as they do on a network.
    setTimeout(() => server.handle(serverSide, 'fetcher'), SERVE_DELAY_MS);
    return client;
  }

  serve(): void {}
}

async function holderOf(dir: string, name: string, bytes: Uint8Array): Promise<{ store: BlobStore; server: BlobServer; root: string }> {
  const store = await BlobStore.open(nodeBlobDisk(`${dir}/${name}`), { maxBytes: 64 * CHUNK, chunkBytes: CHUNK });
  const { root } = await store.ingest(piecesOf(bytes));
  return { store, server: new BlobServer({ clusterId: CLUSTER, store, logger: silentLogger }), root };
}

function fetcherOf(store: BlobStore, streams: BlobStreams, maxFetchesPerPeer: number): BlobFetcher {
  return new BlobFetcher({
    clusterId: CLUSTER,
    store,
    streams,
    rttMs: (m) => (m === 'near' ? 1 : 50),
    limits: { maxFetches: 16, maxFetchesPerPeer, roundPauseMs: 10, chunkTimeoutMs: 5_000 },
    now: () => performance.now(),
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
    logger: silentLogger,
  });
}

describe('blob fetch request limits', () => {
  it('never sends a lone holder more than maxFetchesPerPeer requests at once, though 16 workers start together', async () => {
    await withTempDir(async (dir) => {
      const bytes = patternBytes(12 * CHUNK + 99, 5);
      const near = await holderOf(dir, 'near', bytes);
      const streams = new CountingStreams(new Map([['near', near.server]]));
      const store = await BlobStore.open(nodeBlobDisk(`${dir}/fetcher`), { maxBytes: 64 * CHUNK, chunkBytes: CHUNK });
      await fetcherOf(store, streams, 3).fetch(near.root, () => ['near']);
      assert.ok(await store.isComplete(near.root));
      assert.equal(streams.most.get('near'), 3, 'at most 3 requests in flight, and the limit was reached');
      assert.equal(near.server.counters.refused.BUSY, 0, 'the server never had to refuse');
      assert.equal(streams.requests.get('near'), 1 + 13, 'the manifest and each chunk once');
    });
  });

  it('sends what the nearest holder cannot take to the next one, each within its limit', async () => {
    await withTempDir(async (dir) => {
      const bytes = patternBytes(12 * CHUNK, 6);
      const near = await holderOf(dir, 'near', bytes);
      const far = await holderOf(dir, 'far', bytes);
      const streams = new CountingStreams(new Map([['near', near.server], ['far', far.server]]));
      const store = await BlobStore.open(nodeBlobDisk(`${dir}/fetcher`), { maxBytes: 64 * CHUNK, chunkBytes: CHUNK });
      await fetcherOf(store, streams, 2).fetch(near.root, () => ['far', 'near']);
      assert.ok(await store.isComplete(near.root));
      assert.equal(streams.most.get('near'), 2);
      assert.equal(streams.most.get('far'), 2);
      assert.ok((streams.requests.get('far') ?? 0) >= 2, `the far holder served ${streams.requests.get('far')} requests`);
    });
  });
});

/** A member whose answers carry bytes past the body they announce (to each stream, after the body). */
class OverSendingStreams implements BlobStreams {
  constructor(
    private readonly servers: Map<string, BlobServer>,
    private readonly liar: string,
  ) {}

  async open(member: string): Promise<ByteStream> {
    const server = this.servers.get(member);
    if (server === undefined) throw new Error(`${member} is not reachable`);
    const [client, serverSide] = pipePair(() => {});
    const served: ByteStream =
      member !== this.liar
        ? serverSide
        : {
            ...serverSide,
            async end() {
              await serverSide.write(new Uint8Array(64 * 1024).fill(7));
              await serverSide.end();
            },
          };
    setTimeout(() => server.handle(served, 'fetcher'), SERVE_DELAY_MS);
    return client;
  }

  serve(): void {}
}

describe('blob answers longer than announced', () => {
  it('counts a member that sends bytes past the body it announced as lying, avoids it and fetches elsewhere', async () => {
    await withTempDir(async (dir) => {
      const bytes = patternBytes(6 * CHUNK, 8);
      const liar = await holderOf(dir, 'liar', bytes);
      const honest = await holderOf(dir, 'honest', bytes);
      const streams = new OverSendingStreams(new Map([['liar', liar.server], ['honest', honest.server]]), 'liar');
      const store = await BlobStore.open(nodeBlobDisk(`${dir}/fetcher`), { maxBytes: 64 * CHUNK, chunkBytes: CHUNK });
      const fetcher = fetcherOf(store, streams, 4);
      // The liar is listed first, so it is asked first.
      await fetcher.fetch(liar.root, () => ['liar', 'honest']);
      assert.ok(await store.isComplete(liar.root));
      assert.ok(fetcher.counters.badChunks >= 1, `bad answers counted: ${fetcher.counters.badChunks}`);
    });
  });
});
