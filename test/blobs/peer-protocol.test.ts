// The blob protocol between real libp2p nodes on 127.0.0.1 (Noise + yamux, the Raft transport's
// connections): a swarm fetch, a lying peer, a transfer cut midway and resumed, a holder that is gone.
import '../../agent/runtime/promise-shim.js';
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { silentLogger } from '../../consensus/ports.js';
import { nodeBlobDisk } from '../../agent/blobs/disk.js';
import { BlobFetcher, BlobFetchError, type BlobFetchLimits } from '../../agent/blobs/fetcher.js';
import { MIN_CHUNK_BYTES } from '../../agent/blobs/format.js';
import type { BlobStreams, ByteStream } from '../../agent/blobs/ports.js';
import { BlobServer } from '../../agent/blobs/server.js';
import { BlobStore } from '../../agent/blobs/store.js';
import { decodeRequest, encodeResponseHeader, StreamReader } from '../../agent/blobs/wire.js';
import { libp2pBlobStreams } from '../../agent/transport/blob-streams.js';
import { CLUSTER, startSites, stopSites, type Site } from '../transport/helpers.js';
import { patternBytes, piecesOf, withTempDir } from './helpers.js';

const CHUNK = MIN_CHUNK_BYTES;
const FAST: Partial<BlobFetchLimits> = { chunkTimeoutMs: 5_000, roundPauseMs: 20, maxRoundsPerChunk: 3 };

interface Peer {
  site: Site;
  store: BlobStore;
  streams: BlobStreams;
  server: BlobServer;
}

async function peerOf(site: Site, dir: string): Promise<Peer> {
  const store = await BlobStore.open(nodeBlobDisk(`${dir}/${site.name}`), { maxBytes: 256 * CHUNK, chunkBytes: CHUNK });
  const streams = libp2pBlobStreams(site.transport);
  const server = new BlobServer({ clusterId: CLUSTER, store, logger: silentLogger });
  return { site, store, streams, server };
}

function fetcherOf(peer: Peer, rtt: Record<string, number> = {}, limits: Partial<BlobFetchLimits> = FAST): BlobFetcher {
  return new BlobFetcher({
    clusterId: CLUSTER,
    store: peer.store,
    streams: peer.streams,
    rttMs: (m) => rtt[m],
    limits,
    now: () => performance.now(),
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
    logger: silentLogger,
  });
}

async function collect(source: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  for await (const part of source) parts.push(part);
  return Buffer.concat(parts);
}

/**
 * A member that serves its manifests but answers chunk requests with `answer` instead of its server.
 * It refuses picks (NOT_HELD), so the fetcher asks it chunk by chunk.
 */
function misbehave(peer: Peer, answer: (stream: ByteStream, digest: string) => Promise<void>): void {
  peer.streams.serve((stream) => {
    void (async () => {
      const { request } = decodeRequest(await new StreamReader(stream.incoming).readFrame());
      if (request.op === 'chunk') return answer(stream, request.digest);
      if (request.op === 'pick') {
        await stream.write(encodeResponseHeader({ ok: false, code: 'NOT_HELD', message: 'no picks here' }));
        return stream.end();
      }
      const manifest = Buffer.from(JSON.stringify(peer.store.manifest(request.root)));
      await stream.write(encodeResponseHeader({ ok: true, bytes: manifest.length }));
      await stream.write(manifest);
      await stream.end();
    })().catch((err: Error) => stream.abort(err));
  });
}

describe('blob protocol over libp2p', () => {
  let sites: Site[] = [];
  before(async () => {
    sites = await startSites(['a', 'b', 'c', 'liar']);
  });
  after(async () => {
    await stopSites(sites);
  });

  it('fetches a blob chunk by chunk from its holders, verified, and serves it on', async () => {
    await withTempDir(async (dir) => {
      const [a, b, c] = await Promise.all(sites.slice(0, 3).map((s) => peerOf(s, dir)));
      for (const p of [a!, b!, c!]) p.streams.serve((s, m) => p.server.handle(s, m));
      const bytes = patternBytes(5 * CHUNK + 77, 21);
      const { root } = await a!.store.ingest(piecesOf(bytes));
      const fb = fetcherOf(b!);
      await fb.fetch(root, () => ['a']);
      assert.deepEqual(await collect(b!.store.read(root)), bytes);
      const progress = fb.progress(root)!;
      assert.equal(progress.state, 'done');
      assert.equal(progress.bytesDone, bytes.length);
      assert.equal(progress.bytesTotal, bytes.length);
      assert.equal(a!.server.counters.chunksServed, 6);
      // c learns of two holders: b (nearer) serves what it has now.
      await fetcherOf(c!, { a: 40, b: 1 }).fetch(root, () => ['a', 'b']);
      assert.deepEqual(await collect(c!.store.read(root)), bytes);
      assert.ok(b!.server.counters.chunksServed > 0, 'the nearer holder served chunks');
    });
  });

  it('a peer serving a corrupt chunk is counted, avoided, and the chunk comes from another holder', async () => {
    await withTempDir(async (dir) => {
      const a = await peerOf(sites[0]!, dir);
      const c = await peerOf(sites[2]!, dir);
      const liar = await peerOf(sites[3]!, dir);
      a.streams.serve((s, m) => a.server.handle(s, m));
      const bytes = patternBytes(4 * CHUNK, 22);
      const { root, manifest } = await a.store.ingest(piecesOf(bytes));
      await liar.store.putManifest(root, manifest);
      let lies = 0;
      misbehave(liar, async (stream) => {
        lies++;
        await stream.write(encodeResponseHeader({ ok: true, bytes: CHUNK }));
        await stream.write(patternBytes(CHUNK, 99));
        await stream.end();
      });
      const fetcher = fetcherOf(c, { liar: 1, a: 30 });
      await fetcher.fetch(root, () => ['liar', 'a']);
      assert.deepEqual(await collect(c.store.read(root)), bytes);
      assert.ok(lies >= 1);
      assert.equal(fetcher.counters.badChunks, lies);
      assert.deepEqual(fetcher.progress(root)!.avoided, ['liar']);
      assert.match(fetcher.progress(root)!.lastError ?? '', /liar served a chunk .* failed verification/);
    });
  });

  it('a transfer cut midway fails with a clear error, keeps the verified chunks, and resumes with only the missing ones', async () => {
    await withTempDir(async (dir) => {
      const a = await peerOf(sites[0]!, dir);
      const b = await peerOf(sites[1]!, dir);
      const bytes = patternBytes(6 * CHUNK, 23);
      const { root } = await a.store.ingest(piecesOf(bytes));
      let served = 0;
      // a serves three chunks whole, then cuts every answer halfway.
      misbehave(a, async (stream, digest) => {
        const chunk = (await a.store.readChunk(digest))!;
        await stream.write(encodeResponseHeader({ ok: true, bytes: chunk.length }));
        if (served++ < 3) {
          await stream.write(chunk);
          await stream.end();
          return;
        }
        await stream.write(chunk.subarray(0, chunk.length / 2));
        stream.abort(new Error('cable cut'));
      });
      const fetcher = fetcherOf(b, {}, { ...FAST, maxFetches: 1 });
      await assert.rejects(fetcher.fetch(root, () => ['a']), (err: Error) => err instanceof BlobFetchError && /no member could serve chunk 3/.test(err.message));
      assert.equal(fetcher.progress(root)!.state, 'failed');
      assert.ok(fetcher.progress(root)!.lastError);
      assert.deepEqual(await b.store.missing(root), [3, 4, 5]);
      // a is repaired: the next fetch asks only for what is missing.
      a.streams.serve((s, m) => a.server.handle(s, m));
      await fetcher.fetch(root, () => ['a']);
      assert.deepEqual(await collect(b.store.read(root)), bytes);
      assert.equal(a.server.counters.chunksServed, 3);
    });
  });

  it('with no reachable holder the fetch fails and says so', async () => {
    await withTempDir(async (dir) => {
      const b = await peerOf(sites[1]!, dir);
      const fetcher = fetcherOf(b);
      await assert.rejects(fetcher.fetch('ab'.repeat(32), () => ['nobody']), /no member could serve the manifest/);
      assert.match(fetcher.progress('ab'.repeat(32))!.lastError ?? '', /nobody/);
    });
  });
});
