// The daemon's fetcher and server over the simulator's streams and modelled store (sim/blobs/), on
// virtual time: a fetch that fails against a flaky holder and is retried (as the blob loop does)
// must not transfer a chunk twice. Before the fix the failed fetch's other workers kept fetching
// after it rejected, and the retry asked again for the chunks still on their way.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BlobFetcher } from '../../agent/blobs/fetcher.js';
import { BlobServer } from '../../agent/blobs/server.js';
import { silentLogger } from '../../consensus/ports.js';
import { selectSites } from '../../sim/cities.js';
import { ModelledImage } from '../../sim/blobs/content.js';
import { AccessLinks } from '../../sim/blobs/links.js';
import { ModelledBlobStore } from '../../sim/blobs/modelled-store.js';
import { SimBlobNet } from '../../sim/blobs/streams.js';
import { Prng } from '../../sim/prng.js';
import { Scheduler, SiteClock } from '../../sim/scheduler.js';
import { WanModel } from '../../sim/wan.js';

test('a fetch retried after failing against a flaky holder fetches no chunk twice', async () => {
  const scheduler = new Scheduler();
  const locations = selectSites(2);
  const [holder, fetching] = locations.map((l) => l.name) as [string, string];
  const prng = new Prng(5);
  const wan = new WanModel(locations, prng.fork('wan'));
  const net = new SimBlobNet(scheduler, wan, new AccessLinks(scheduler, [holder, fetching], prng.fork('links')), [holder, fetching]);
  const image = new ModelledImage(prng.fork('image'), 24 * 64 * 1024, 64 * 1024);
  const images = () => [image];
  const source = new ModelledBlobStore(images, 2 ** 30);
  await source.putManifest(image.root, image.manifest);
  for (let i = 0; i < image.manifest.chunks.length; i++) await source.putChunk(image.manifest.chunks[i]!, image.chunk(i));
  const clock = new SiteClock(scheduler);
  // Every third chunk read finds nothing (NOT_HELD): a chunk refused so fails the fetch (one round
  // per chunk) while its other requests are on their way. The manifest is served once, so picks
  // (which choose among held chunks, and so would step round a missing one) are refused and every
  // chunk is asked for by digest. (A BUSY answer no longer fails a fetch: the chunk waits for the
  // holder's backoff.)
  let reads = 0;
  let manifests = 0;
  const flaky = new Proxy(source, {
    get(target, key) {
      if (key === 'readChunk') return async (digest: string) => (++reads % 3 === 0 ? null : target.readChunk(digest));
      if (key === 'manifest') return (root: string) => (++manifests === 1 ? target.manifest(root) : undefined);
      const value = Reflect.get(target, key) as unknown;
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
  const server = new BlobServer({ clusterId: 'c', store: flaky, clock, logger: silentLogger });
  net.streamsFor(holder).serve((stream, member) => server.handle(stream, member));
  const target = new ModelledBlobStore(images, 2 ** 30);
  const fetcher = new BlobFetcher({
    clusterId: 'c',
    store: target,
    streams: net.streamsFor(fetching),
    rttMs: () => undefined,
    limits: { maxFetches: 6, maxFetchesPerPeer: 6, maxRoundsPerChunk: 1, roundPauseMs: 10, chunkTimeoutMs: 30_000 },
    now: () => clock.now(),
    sleep: (ms) => new Promise((resolve) => void clock.setTimer(ms, resolve)),
    clock,
    logger: silentLogger,
  });
  let attempts = 0;
  let failures = 0;
  let done = false;
  void (async () => {
    for (;;) {
      attempts++;
      try {
        await fetcher.fetch(image.root, () => [holder]);
        done = true;
        return;
      } catch {
        failures++;
      }
    }
  })();
  await scheduler.runWhileAsync(() => !done, 1_000_000);
  assert.ok(done, `the fetch never completed (${attempts} attempts)`);
  assert.ok(failures > 0, 'the holder failed a fetch (else this test shows nothing)');
  assert.ok(await target.isComplete(image.root));
  assert.equal(target.duplicatePuts, 0, `${target.duplicatePuts} chunks were transferred twice over ${attempts} attempts`);
  assert.equal(fetcher.counters.chunksFetched, image.manifest.chunks.length);
});
