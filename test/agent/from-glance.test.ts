// `image create --from-glance` between real agent processes, each with its own mock OpenStack cloud
// (served over HTTP, reached through the real OpenStack driver): the bits of an image already in
// site-1's Glance go into site-1's blob store (checked against what Glance says of them), the
// record names site-1 as origin, site-2 gets the bits over the peer network, and site-1's Glance
// image becomes the managed copy (marked, never uploaded again). Refusals: an image whose bits
// disagree with its checksum, one that is not active, one that does not exist.
import assert from 'node:assert/strict';
import { createHash, randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import type { MockCloud } from '../../drivers/index.js';
import type { ImageApi } from '../../drivers/service-api.js';
import { clusterWithGlance } from './fixtures.js';
import { runCli } from './run-cli.js';
import { patternBytes } from '../blobs/helpers.js';

/** Two 4 MiB chunks and a short one. */
const IMAGE_BYTES = 2 * 4 * 1024 * 1024 + 4_321;

function metric(text: string, name: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `));
  return line === undefined ? Number.NaN : Number(line.trim().split(/\s+/).pop());
}

/** An operator's image in a mock cloud's Glance, uploaded over HTTP (so the mock keeps its bits for downloads). */
async function operatorImage(images: ImageApi, bytes: Buffer | null, visibility = 'private'): Promise<string> {
  const id = randomUUID();
  await images.createImage({ id, name: `operator-${id.slice(0, 8)}`, diskFormat: 'qcow2', containerFormat: 'bare', visibility, minDisk: 2, minRam: 256, protected: false, tags: ['ops'], properties: { os_distro: 'debian' } });
  if (bytes !== null) await images.uploadImageData(id, Readable.from([bytes]));
  return id;
}

function fileUploads(cloud: MockCloud, id: string): number {
  return cloud.requests.filter((r) => r.method === 'PUT' && r.path.endsWith(`/images/${id}/file`)).length;
}

describe('image create --from-glance (real agents)', () => {
  const world = clusterWithGlance({ sites: 2, mockClouds: true, prefix: 'stackraft-from-glance-' });

  it("adopts site-1's Glance image: site-2 gets the same bits, site-1's image is marked and not uploaded again", async () => {
    const bytes = patternBytes(IMAGE_BYTES, 41);
    const id = await operatorImage(world.images, bytes);
    const site1 = world.cluster.site('site-1');
    const run = await runCli(['image', 'create', 'adopted', '--from-glance', id, '--public', '-f', 'json'], { socket: site1.socketPath });
    assert.equal(run.code, 0, run.stderr);
    const record = (await world.cluster.admin('site-1').request('GET', `/v1/resources/image/${id}`)).json.resource;
    assert.equal(record.spec.source.kind, 'glance');
    assert.equal(record.spec.source.origin, 'site-1');
    assert.equal(record.spec.source.blob.size, IMAGE_BYTES);
    assert.equal(record.spec.source.sha512, createHash('sha512').update(bytes).digest('hex'));
    assert.equal(record.spec.diskFormat, 'qcow2', 'formats come from Glance');
    assert.equal(record.spec.minDisk, 2);
    assert.deepEqual(record.spec.properties, { os_distro: 'debian' });
    assert.deepEqual(record.spec.tags, ['ops']);
    const md5 = createHash('md5').update(bytes).digest('hex');
    const sha512 = createHash('sha512').update(bytes).digest('hex');
    const remote = world.cluster.clouds.get('site-2')!.model;
    await world.cluster.waitFor(`image ${id} active in site-2's Glance`, async () => remote.listImages().some((i) => i.id === id && i.status === 'active'), 90_000);
    assert.equal(remote.getImage(id).checksum, md5);
    assert.equal(remote.getImage(id).osHashValue, sha512);
    const local = world.cluster.clouds.get('site-1')!;
    await world.cluster.waitFor(`site-1's own Glance image ${id} to carry the marker`, async () => local.model.getImage(id).properties.stackraft_managed === 'true', 60_000);
    const adopted = local.model.getImage(id);
    assert.equal(adopted.visibility, 'public', "the catalog's visibility wins on the adopted image");
    assert.equal(adopted.checksum, md5);
    assert.ok(adopted.properties.stackraft_cluster !== undefined && adopted.properties.stackraft_cluster !== '', 'marked with the cluster id');
    assert.equal(fileUploads(local, id), 1, "site-1's image got its bits once (the operator's upload), never again");
    await world.cluster.waitFor('both sites in sync', async () => {
      const sync = (await world.cluster.admin('site-1').request('GET', '/v1/sync')).json as { sites: { resources: { id: string; state: string }[] }[] };
      const rows = sync.sites.flatMap((s) => s.resources.filter((r) => r.id === id));
      return rows.length === 2 && rows.every((r) => r.state === 'in-sync');
    }, 60_000);
  });

  it('refuses an image whose bits do not match what Glance says of them, and stores nothing', async () => {
    const bytes = patternBytes(IMAGE_BYTES, 42);
    const id = await operatorImage(world.images, bytes, 'public');
    // Glance's record now claims other bits than those it serves.
    world.cluster.clouds.get('site-1')!.model.finishUpload(id, { sizeBytes: IMAGE_BYTES, md5: '0'.repeat(32), sha512: '1'.repeat(128) });
    const run = await runCli(['image', 'create', 'liar', '--from-glance', id], { socket: world.cluster.site('site-1').socketPath });
    assert.equal(run.code, 4, run.stderr);
    assert.match(run.stderr, /mismatch/);
    assert.match(run.stderr, /nothing was stored/);
    const missing = (await world.cluster.admin('site-1').request('GET', `/v1/resources/image/${id}`)).status;
    assert.equal(missing, 404, 'no catalog record');
  });

  it('refuses an image that is not active, and one that does not exist', async () => {
    const queued = await operatorImage(world.images, null, 'public');
    const notActive = await runCli(['image', 'create', 'queued', '--from-glance', queued], { socket: world.cluster.site('site-1').socketPath });
    assert.equal(notActive.code, 4, notActive.stderr);
    assert.match(notActive.stderr, /'queued'/);
    const absent = await runCli(['image', 'create', 'ghost', '--from-glance', randomUUID()], { socket: world.cluster.site('site-1').socketPath });
    assert.equal(absent.code, 4, absent.stderr);
    assert.match(absent.stderr, /NOT_FOUND/);
  });

  it('keeps nothing of refused adoptions in the blob store', async () => {
    // At most the adopted image's blob is held at site-1: its origin drops it too once both sites
    // have the image (site-1's Glance holds the bits and site-1 can read them back from there).
    const text = await world.cluster.admin('site-1').metrics();
    const blobs = metric(text, 'stackraft_blob_store_blobs');
    assert.ok(blobs === 0 || blobs === 1, `${blobs} blobs`);
    assert.equal(metric(text, 'stackraft_blob_store_bytes'), blobs * IMAGE_BYTES);
    await world.cluster.waitFor("site-1's blob store to empty", async () => {
      const now = await world.cluster.admin('site-1').metrics();
      return metric(now, 'stackraft_blob_store_blobs') === 0 && metric(now, 'stackraft_blob_store_bytes') === 0;
    }, 30_000);
  });
});
