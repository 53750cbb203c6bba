// The image placement of the simulator (`--image-size`, sim/blobs/): the daemon's fetcher and blob
// server move a modelled image to every site over modelled access links; the run is deterministic;
// the two blob checkers pass on it and each fails on a bug planted in a site's blob storage (the
// same run without the hook passes: the control). Plus the parts: modelled bytes are verified for
// real, access links share fairly, the lower bound follows its formula.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { BlobStorage } from '../../agent/blobs/ports.js';
import { ModelledImage } from '../../sim/blobs/content.js';
import { AccessLinks, Flow } from '../../sim/blobs/links.js';
import type { ModelledBlobStore } from '../../sim/blobs/modelled-store.js';
import { ObservedBlobStorage } from '../../sim/blobs/observed-storage.js';
import { BLOB_BITS_CHECK, BLOB_SERVED_CHECK } from '../../sim/checkers/blob-integrity.js';
import type { SimHooks } from '../../sim/harness/hooks.js';
import { DEFAULT_SIM_OPTIONS, parseSimArgs, parseSize, replayCommand, type SimOptions } from '../../sim/harness/options.js';
import { runSimulation, type SimResult } from '../../sim/harness/simulation.js';
import { run as runSimCommand } from '../../sim/main.js';
import { Prng } from '../../sim/prng.js';
import { Scheduler } from '../../sim/scheduler.js';

const MiB = 2 ** 20;

function options(overrides: Partial<SimOptions> = {}): SimOptions {
  return { ...DEFAULT_SIM_OPTIONS, sites: 6, voters: 5, seed: 3, durationMs: 15_000, clouds: true, imageBytes: 24 * MiB, ...overrides };
}

function verdictOf(r: SimResult, check: string): string | undefined {
  return r.report.checkers.find((c) => c.name === check)?.verdict;
}

/** A site's storage whose reads hand out a damaged copy of the chunks `which` picks. */
function rotting(store: ModelledBlobStore, which: (digest: string) => boolean): BlobStorage {
  return new (class extends ObservedBlobStorage {
    override async readChunk(digest: string): Promise<Uint8Array | null> {
      const bytes = await this.inner.readChunk(digest);
      if (bytes === null || !which(digest)) return bytes;
      const copy = Uint8Array.from(bytes);
      copy[0]! ^= 1;
      return copy;
    }
  })(store, { stored: () => undefined, served: () => undefined });
}

test('a small image reaches every site, the checkers pass, and the same seed gives the same run', async () => {
  const a = await runSimulation(options());
  const blobs = a.report.blobs!;
  assert.equal(a.verdict, 'pass', a.failures.map((f) => `[${f.check}] ${f.message}`).join('\n'));
  assert.equal(blobs.receivers, 5);
  assert.equal(blobs.holding, 5);
  assert.equal(blobs.chunks, 6);
  assert.ok(blobs.allHeldAfterMs !== null && blobs.allHeldAfterMs >= blobs.lowerBound.totalMs, `held after ${blobs.allHeldAfterMs} ms, bound ${blobs.lowerBound.totalMs} ms`);
  assert.equal(verdictOf(a, BLOB_BITS_CHECK), 'pass');
  assert.equal(verdictOf(a, BLOB_SERVED_CHECK), 'pass');
  assert.ok(blobs.bytesSentByOrigin >= 24 * MiB, `the origin sent ${blobs.bytesSentByOrigin} bytes`);
  const b = await runSimulation(options());
  assert.equal(b.report.traceHash, a.report.traceHash);
  assert.deepEqual(b.report.blobs, a.report.blobs);
});

test('origin only (--swarm off, and without clouds): every byte comes from the origin', async () => {
  const r = await runSimulation(options({ swarm: false, clouds: false }));
  assert.equal(r.verdict, 'pass', r.failures.map((f) => `[${f.check}] ${f.message}`).join('\n'));
  assert.equal(r.report.blobs!.holding, 5);
  assert.equal(r.report.blobs!.bytesSentByOthers, 0);
  assert.ok(r.report.blobs!.bytesSentByOrigin >= 5 * 24 * MiB);
});

test('planted: a site whose store hands out other bytes than it verified fails blob-bits-held', async () => {
  const hooks: SimHooks = { wrapBlobStorage: (site, store, run) => (site === run.origin ? store : rotting(store, () => true)) };
  const r = await runSimulation(options(), { hooks });
  assert.equal(verdictOf(r, BLOB_BITS_CHECK), 'fail');
  const f = r.failures.filter((x) => x.check === BLOB_BITS_CHECK);
  assert.ok(f.some((x) => /is not the chunk's bytes/.test(x.message)), f.map((x) => x.message).join('\n'));
  assert.ok(!f.some((x) => x.sites.includes(r.report.blobs!.origin)), 'the origin is honest');
  // The receivers never served (only the origin is a holder): the other checker has nothing to blame.
  assert.equal(verdictOf(r, BLOB_SERVED_CHECK), 'pass');
});

test('planted: an origin that serves a damaged chunk fails blob-served-verified, and the fetchers refuse it', async () => {
  let first: string | undefined;
  const hooks: SimHooks = {
    wrapBlobStorage: (site, store, run) => (site !== run.origin ? store : rotting(store, (digest) => (first ??= digest) === digest)),
  };
  const r = await runSimulation(options(), { hooks });
  assert.equal(verdictOf(r, BLOB_SERVED_CHECK), 'fail');
  const f = r.failures.filter((x) => x.check === BLOB_SERVED_CHECK);
  assert.ok(f.every((x) => x.sites.includes(r.report.blobs!.origin)), f.map((x) => x.message).join('\n'));
  assert.ok(r.report.blobs!.badChunks > 0, 'the fetchers found the bad chunk');
  assert.equal(r.report.blobs!.holding, 0, 'no receiver stored the damaged chunk');
});

test('planted: a site whose store claims the whole image too early gives its Glance missing bits, and fails blob-bits-held', async () => {
  const hooks: SimHooks = {
    wrapBlobStorage: (site, store, run) =>
      site === run.origin
        ? store
        : new (class extends ObservedBlobStorage {
            override async isComplete(): Promise<boolean> {
              return true;
            }
          })(store, { stored: () => undefined, served: () => undefined }),
  };
  const r = await runSimulation(options(), { hooks });
  assert.equal(verdictOf(r, BLOB_BITS_CHECK), 'fail');
  const f = r.failures.filter((x) => x.check === BLOB_BITS_CHECK);
  assert.ok(f.some((x) => /is giving its Glance image \w+ but (lacks chunk|holds no manifest)/.test(x.message)), f.map((x) => x.message).join('\n'));
});

test('modelled bytes: a window is accepted as is, a copy is hashed, a damaged copy is refused', () => {
  const image = new ModelledImage(new Prng(7), 3 * MiB + 5, MiB);
  assert.equal(image.manifest.chunks.length, 4);
  assert.equal(image.chunk(3).length, 5);
  for (let i = 0; i < 4; i++) assert.ok(image.isGenuine(image.manifest.chunks[i]!, image.chunk(i)));
  const copy = Uint8Array.from(image.chunk(1));
  assert.ok(image.isGenuine(image.manifest.chunks[1]!, copy));
  copy[copy.length - 1]! ^= 0x80;
  assert.ok(!image.isGenuine(image.manifest.chunks[1]!, copy));
  assert.ok(!image.isGenuine(image.manifest.chunks[2]!, image.chunk(1)), 'another chunk is not this one');
  assert.deepEqual(image.recheck(), []);
  assert.equal(new ModelledImage(new Prng(7), 3 * MiB + 5, MiB).root, image.root, 'same seed, same image');
});

test('access links: flows share an uplink equally and take the rest when one ends', () => {
  const scheduler = new Scheduler();
  const links = new AccessLinks(scheduler, ['a', 'b', 'c'], new Prng(1), { minGbps: 8, maxGbps: 8 });
  // 8 Gb/s = 1e6 bytes per ms at both ends of every site.
  const done: Array<[string, number]> = [];
  const ab = new Flow(0, 1, () => done.push(['ab', scheduler.now()]));
  const ac = new Flow(0, 2, () => done.push(['ac', scheduler.now()]));
  links.send(ab, 1e6);
  links.send(ac, 3e6);
  scheduler.runUntil(10);
  // Both at 0.5e6 bytes/ms: ab drains at 2 ms; ac has 2e6 left and then runs at 1e6 bytes/ms.
  assert.deepEqual(done.map(([n, t]) => [n, Math.round(t * 1000) / 1000]), [['ab', 2], ['ac', 4]]);
});

test('--image-size parses sizes and replays', () => {
  assert.equal(parseSize('2GiB'), 2 ** 31);
  assert.equal(parseSize('64MiB'), 64 * MiB);
  assert.equal(parseSize('1.5GB'), 1.5e9);
  assert.throws(() => parseSize('2 gigs'), /invalid size/);
  const args = parseSimArgs(['--sites', '100', '--image-size', '2GiB', '--swarm', 'off']);
  assert.equal(args.options.imageBytes, 2 ** 31);
  assert.equal(args.options.clouds, true);
  assert.match(replayCommand(args.options), /--image-size 2GiB --swarm off$/);
  assert.equal(parseSimArgs(['--image-size', '1MiB', '--swarm', 'compare']).compareOriginOnly, true);
  assert.throws(() => parseSimArgs(['--swarm', 'compare']), /--swarm needs --image-size/);
  assert.throws(() => parseSimArgs(['--image-size', '1MiB', '--swarm', 'maybe']), /on, off or compare/);
});

test('stackraft sim --swarm compare reports the origin-only run of the same seed beside the swarm', async () => {
  let out = '';
  const code = await runSimCommand(['--sites', '5', '--seed', '4', '--duration', '12s', '--image-size', '16MiB', '--swarm', 'compare'], {
    out: (t) => void (out += t),
    err: () => undefined,
    isTTY: false,
  });
  assert.equal(code, 0, out);
  assert.match(out, /origin only +\d+\.\d\d s \(4 of 4 receivers; origin sent [\d.]+ MiB; verdict pass, trace [0-9a-f]{16}\)/);
  assert.match(out, /swarm speedup +\d+\.\d\d×/);
});
