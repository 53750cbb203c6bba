// The blob protocol's pick (the fetcher names chunks, the holder sends the one it has sent least
// often), the server's sending turns, and the fetcher's use of both: strict decoding, a lone holder
// that sends every chunk once before any twice, a fetch that completes through picks, and a holder
// that answers BUSY is not asked again until its backoff ends while another holder serves.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { silentLogger } from '../../consensus/ports.js';
import { nodeBlobDisk } from '../../agent/blobs/disk.js';
import { BlobFetcher } from '../../agent/blobs/fetcher.js';
import { MIN_CHUNK_BYTES } from '../../agent/blobs/format.js';
import type { BlobStreams, ByteStream } from '../../agent/blobs/ports.js';
import { BlobServer, type BlobServerLimits } from '../../agent/blobs/server.js';
import { BlobStore } from '../../agent/blobs/store.js';
import { BlobWireError, decodeRequest, decodeResponseHeader, encodeRequest, encodeResponseHeader, MAX_PICK_CHOICES, StreamReader } from '../../agent/blobs/wire.js';
import { patternBytes, piecesOf, pipePair, withTempDir } from './helpers.js';

const CHUNK = MIN_CHUNK_BYTES;
const CLUSTER = 'pick-test';
const ROOT = 'b'.repeat(64);

function body(frame: Uint8Array): Uint8Array {
  return frame.subarray(4);
}

async function holderOf(dir: string, name: string, bytes: Uint8Array, limits?: Partial<BlobServerLimits>): Promise<{ store: BlobStore; server: BlobServer; root: string }> {
  const store = await BlobStore.open(nodeBlobDisk(`${dir}/${name}`), { maxBytes: 64 * CHUNK, chunkBytes: CHUNK });
  const { root } = await store.ingest(piecesOf(bytes));
  return { store, server: new BlobServer({ clusterId: CLUSTER, store, logger: silentLogger, ...(limits ? { limits } : {}) }), root };
}

/** Sends one pick to a server in memory and reads the answer's header (and skips its body). */
async function pick(server: BlobServer, root: string, chunks: number[]): Promise<{ ok: boolean; chunk?: number; bytes?: number; code?: string }> {
  const [client, serverSide] = pipePair(() => {});
  server.handle(serverSide, 'asker');
  await client.write(encodeRequest(CLUSTER, { op: 'pick', root, chunks }));
  await client.end();
  const reader = new StreamReader(client.incoming);
  const header = decodeResponseHeader(await reader.readFrame());
  if (!header.ok) return { ok: false, code: header.code };
  await reader.read(header.bytes);
  return { ok: true, bytes: header.bytes, ...(header.chunk !== undefined ? { chunk: header.chunk } : {}) };
}

class MemoryStreams implements BlobStreams {
  readonly requests = new Map<string, number>();
  constructor(private readonly servers: Map<string, BlobServer>) {}
  async open(member: string): Promise<ByteStream> {
    const server = this.servers.get(member);
    if (server === undefined) throw new Error(`${member} is not reachable`);
    this.requests.set(member, (this.requests.get(member) ?? 0) + 1);
    const [client, serverSide] = pipePair(() => {});
    setTimeout(() => server.handle(serverSide, 'fetcher'), 5);
    return client;
  }
  serve(): void {}
}

function fetcherOf(store: BlobStore, streams: BlobStreams, rtt: Record<string, number>, now: () => number = () => performance.now()): BlobFetcher {
  return new BlobFetcher({
    clusterId: CLUSTER,
    store,
    streams,
    rttMs: (m) => rtt[m],
    limits: { maxFetches: 8, maxFetchesPerPeer: 4, roundPauseMs: 10, chunkTimeoutMs: 5_000 },
    now,
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
    logger: silentLogger,
  });
}

describe('blob protocol: pick', () => {
  it('decodes a pick and its answer, and refuses malformed ones', () => {
    assert.deepEqual(decodeRequest(body(encodeRequest('c1', { op: 'pick', root: ROOT, chunks: [3, 0, 7] }))), { cluster: 'c1', request: { op: 'pick', root: ROOT, chunks: [3, 0, 7] } });
    const tooMany = Array.from({ length: MAX_PICK_CHOICES + 1 }, (_, i) => i);
    for (const chunks of [[], tooMany, [-1], [1.5], ['2']]) {
      assert.throws(() => decodeRequest(body(encodeRequest('c1', { op: 'pick', root: ROOT, chunks } as never))), BlobWireError, JSON.stringify(chunks));
    }
    assert.throws(() => decodeRequest(body(encodeRequest('c1', { op: 'pick', root: 'xyz', chunks: [1] }))), BlobWireError);
    assert.deepEqual(decodeResponseHeader(body(encodeResponseHeader({ ok: true, bytes: 10, chunk: 4 }))), { ok: true, bytes: 10, chunk: 4 });
    assert.deepEqual(decodeResponseHeader(body(encodeResponseHeader({ ok: true, bytes: 10 }))), { ok: true, bytes: 10 });
    assert.throws(() => decodeResponseHeader(body(encodeResponseHeader({ ok: true, bytes: 10, chunk: -2 }))), BlobWireError);
  });

  it('a holder sends the named chunk it has sent least often, every chunk once before any twice', async () => {
    await withTempDir(async (dir) => {
      const holder = await holderOf(dir, 'origin', patternBytes(4 * CHUNK, 3));
      const got: number[] = [];
      for (let i = 0; i < 4; i++) {
        const answer = await pick(holder.server, holder.root, [2, 0, 1, 3]);
        assert.equal(answer.ok, true);
        assert.equal(answer.bytes, CHUNK);
        got.push(answer.chunk!);
      }
      assert.deepEqual(got, [2, 0, 1, 3], 'four picks of the same four chunks: each once, in the order named');
      assert.equal((await pick(holder.server, holder.root, [3, 1])).chunk, 3, 'all sent once: the first named');
      assert.equal((await pick(holder.server, holder.root, [3, 1])).chunk, 1, 'chunk 3 now sent twice, chunk 1 once');
      assert.deepEqual(await pick(holder.server, ROOT, [0]), { ok: false, code: 'NOT_HELD' }, 'a blob it does not hold');
      assert.deepEqual(await pick(holder.server, holder.root, [9]), { ok: false, code: 'NOT_HELD' }, 'no named chunk in the blob');
      assert.equal(holder.server.counters.picksServed, 6);
    });
  });

  it('a partial holder picks only among the named chunks it holds', async () => {
    await withTempDir(async (dir) => {
      const bytes = patternBytes(4 * CHUNK, 4);
      const origin = await holderOf(dir, 'origin', bytes);
      const partial = await BlobStore.open(nodeBlobDisk(`${dir}/partial`), { maxBytes: 64 * CHUNK, chunkBytes: CHUNK });
      const manifest = origin.store.manifest(origin.root)!;
      await partial.putManifest(origin.root, manifest);
      await partial.putChunk(manifest.chunks[1]!, (await origin.store.readChunk(manifest.chunks[1]!))!);
      const server = new BlobServer({ clusterId: CLUSTER, store: partial, logger: silentLogger });
      assert.equal((await pick(server, origin.root, [0, 1, 2])).chunk, 1);
      assert.equal((await pick(server, origin.root, [0, 1, 2])).chunk, 1, 'the only one it holds, sent again');
      assert.deepEqual(await pick(server, origin.root, [0, 2, 3]), { ok: false, code: 'NOT_HELD' });
    });
  });
});

describe('blob fetch with picks and BUSY holders', () => {
  it('fetches a whole blob from a lone holder through picks, each chunk once', async () => {
    await withTempDir(async (dir) => {
      const holder = await holderOf(dir, 'origin', patternBytes(10 * CHUNK + 77, 5));
      const store = await BlobStore.open(nodeBlobDisk(`${dir}/fetcher`), { maxBytes: 64 * CHUNK, chunkBytes: CHUNK });
      await fetcherOf(store, new MemoryStreams(new Map([['origin', holder.server]])), { origin: 10 }).fetch(holder.root, () => ['origin']);
      assert.ok(await store.isComplete(holder.root));
      assert.equal(holder.server.counters.chunksServed, 11, 'each chunk once');
      assert.ok(holder.server.counters.picksServed >= 1, `picks served: ${holder.server.counters.picksServed}`);
    });
  });

  it('asks a holder that answered BUSY again only after its backoff, and completes from the one that serves', async () => {
    await withTempDir(async (dir) => {
      const bytes = patternBytes(12 * CHUNK, 6);
      // The nearest holder takes one chunk request at a time and refuses the rest BUSY.
      const near = await holderOf(dir, 'near', bytes, { maxServes: 1, maxServesPerPeer: 1 });
      const far = await holderOf(dir, 'far', bytes);
      const streams = new MemoryStreams(new Map([['near', near.server], ['far', far.server]]));
      const store = await BlobStore.open(nodeBlobDisk(`${dir}/fetcher`), { maxBytes: 64 * CHUNK, chunkBytes: CHUNK });
      // The fetcher's clock stands still, so a backoff never ends: the near holder is asked only by
      // the requests already on their way when its first BUSY came back (at most the per-member
      // limit), whatever the load on the machine.
      const fetcher = fetcherOf(store, streams, { near: 1, far: 50 }, () => 0);
      await fetcher.fetch(near.root, () => ['near', 'far']);
      assert.ok(await store.isComplete(near.root));
      assert.ok(far.server.counters.chunksServed >= 1, 'the far holder served what the near one refused');
      assert.equal(near.server.counters.chunksServed + far.server.counters.chunksServed, 12, 'each chunk once in all');
      // Without the backoff the workers went back to the near holder after each BUSY (11 refusals in a run).
      assert.ok(near.server.counters.refused.BUSY <= 4, `near refused ${near.server.counters.refused.BUSY} requests BUSY`);
    });
  });
});
