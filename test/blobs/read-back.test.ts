// The blob loop reading an image's bits back from its own cloud (agent/blobs/site-blobs.ts, issue
// 13): the origin, its copy dropped after the rollout, sees a site placed later report that it
// waits for the bits and reads them back into its store. Bits that do not match the catalog's
// digests, and a cloud that cannot be read, leave nothing in the store.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { silentLogger, type Logger } from '../../consensus/ports.js';
import { nodeBlobDisk } from '../../agent/blobs/disk.js';
import { MIN_CHUNK_BYTES } from '../../agent/blobs/format.js';
import { realRateClock } from '../../agent/blobs/rate.js';
import { SiteBlobs } from '../../agent/blobs/site-blobs.js';
import { BlobStore } from '../../agent/blobs/store.js';
import { blobSourceUrl } from '../../agent/catalog/types.js';
import { realClock } from '../../agent/daemon/real-clock.js';
import { expectOk, Harness, IMAGE_ID, siteSpec } from '../catalog/helpers.js';
import { patternBytes, withTempDir } from './helpers.js';

const BYTES = patternBytes(3 * MIN_CHUNK_BYTES + 99, 7);

async function* once(bytes: Uint8Array): AsyncGenerator<Uint8Array> {
  yield bytes;
}

/** The catalog after a rollout to paris (origin) and montreal, then lyon placed and waiting for the bits. */
async function world(dir: string): Promise<{ harness: Harness; root: string }> {
  const scratch = await BlobStore.open(nodeBlobDisk(`${dir}/scratch`), { maxBytes: 1 << 30, chunkBytes: MIN_CHUNK_BYTES });
  const { root, manifest } = await scratch.ingest(once(BYTES));
  const harness = new Harness(undefined, 'read-back-test');
  harness.addTwoSites();
  expectOk(harness.write({ op: 'put', kind: 'site', id: 'lyon', spec: siteSpec('lyon', 3, { region: 'eu-west', country: 'FR' }) }).result);
  const source = { kind: 'file', url: blobSourceUrl(root), sha256: manifest.sha256, sha512: manifest.sha512, blob: { root, size: manifest.size, md5: manifest.md5 }, origin: 'paris' };
  const [created] = expectOk(harness.write({ op: 'put', kind: 'image', id: IMAGE_ID, spec: { name: 'x', diskFormat: 'raw', containerFormat: 'bare', source }, placement: 'site in (paris, montreal)' }).result);
  for (const site of ['paris', 'montreal']) harness.reportWithDigest({ site, through: created! });
  const [widened] = expectOk(harness.write({ op: 'patch', kind: 'image', id: IMAGE_ID, spec: {}, placement: 'all' }).result);
  for (const site of ['paris', 'montreal']) harness.reportWithDigest({ site, through: widened! });
  harness.report({ site: 'lyon', kind: 'image', id: IMAGE_ID, state: 'fetching', message: 'no fetch started yet', revision: widened! });
  return { harness, root };
}

function warnings(lines: string[]): Logger {
  return { ...silentLogger, warn: (_obj: object, msg = '') => void lines.push(msg) };
}

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function originWith(dir: string, harness: Harness, cloudImageBits: (id: string) => Promise<AsyncIterable<Uint8Array>>, logged: string[], readBackRetryMs?: number): Promise<{ blobs: SiteBlobs; store: BlobStore }> {
  const store = await BlobStore.open(nodeBlobDisk(`${dir}/paris`), { maxBytes: 1 << 30, chunkBytes: MIN_CHUNK_BYTES });
  const blobs = new SiteBlobs({
    site: 'paris',
    clusterId: 'c1',
    catalog: harness.catalog,
    store,
    streams: { open: async () => Promise.reject(new Error('no peers here')), serve: () => {} },
    clock: realClock,
    rateClock: realRateClock,
    rttMs: () => undefined,
    cloudHoldsImage: () => true,
    cloudImageBits,
    logger: warnings(logged),
    ...(readBackRetryMs === undefined ? {} : { settings: { readBackRetryMs } }),
  });
  return { blobs, store };
}

describe('reading a blob back from the site\'s own cloud', () => {
  it('the origin reads the bits back for a site that waits for them, and keeps them while it waits', { timeout: 30_000 }, async () => {
    await withTempDir(async (dir) => {
      const { harness, root } = await world(dir);
      const asked: string[] = [];
      const logged: string[] = [];
      const { blobs, store } = await originWith(dir, harness, async (id) => (asked.push(id), once(BYTES)), logged);
      blobs.start();
      try {
        await until('the blob read back whole', () => store.isComplete(root));
        assert.deepEqual(asked, [IMAGE_ID]);
        assert.deepEqual(store.roots(), [root]);
        assert.deepEqual(logged, []);
      } finally {
        blobs.stop();
      }
    });
  });

  it('bits that are not the catalog\'s, or a cloud that cannot be read, leave nothing in the store, and a failed read-back waits before the next', { timeout: 30_000 }, async () => {
    await withTempDir(async (dir) => {
      const { harness } = await world(dir);
      const wrong = Buffer.from(BYTES);
      wrong[MIN_CHUNK_BYTES + 5] ^= 0xff;
      let attempts = 0;
      const logged: string[] = [];
      const { blobs, store } = await originWith(dir, harness, async () => {
        attempts++;
        if (attempts === 1) return once(wrong);
        if (attempts === 2) throw new Error('Glance is down');
        return new Promise<never>(() => {}); // later rounds wait: the store is looked at meanwhile
      }, logged, 1_000);
      blobs.start();
      try {
        // Tried again after readBackRetryMs (here 1 s), at the loop's next round (2 s), not at once:
        // the first try gets the wrong bits, the second an error.
        await until('two attempts', async () => logged.length >= 2);
        assert.ok(attempts <= 3, `${attempts} attempts`);
        assert.deepEqual(store.roots(), []);
        assert.equal(store.usage().bytes, 0);
        assert.ok(logged.every((m) => /reading a blob back from this site's cloud failed/.test(m)), logged.join('\n'));
      } finally {
        blobs.stop();
      }
    });
  });

  it('a failed read-back is not tried again before readBackRetryMs', { timeout: 30_000 }, async () => {
    await withTempDir(async (dir) => {
      const { harness } = await world(dir);
      let attempts = 0;
      const logged: string[] = [];
      const { blobs } = await originWith(dir, harness, async () => {
        attempts++;
        throw new Error('Glance is down');
      }, logged);
      blobs.start();
      try {
        await until('the first attempt', async () => logged.length >= 1);
        // Three rounds of the loop (2 s each) within the default 30 s wait: no second attempt.
        await new Promise((resolve) => setTimeout(resolve, 6_500));
        assert.equal(attempts, 1);
      } finally {
        blobs.stop();
      }
    });
  });
});
