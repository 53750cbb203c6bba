// Image bits over the peer network between real agent processes on 127.0.0.1, each with its own
// mock OpenStack cloud (served over HTTP, reached through the real OpenStack driver): a file
// uploaded at site-1 with `image create --file` reaches the Glance of site-2 and site-3 with the
// same checksum (md5) and os_hash_value (sha512); a wrong --sha256 is refused and stores nothing.
import assert from 'node:assert/strict';
import { createHash, randomUUID } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { AgentCluster } from './cluster.js';
import { runCli } from './run-cli.js';
import { patternBytes } from '../blobs/helpers.js';

/** Three 4 MiB chunks and a short one. */
const FILE_BYTES = 3 * 4 * 1024 * 1024 + 12_345;

function metric(text: string, name: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `));
  return line === undefined ? Number.NaN : Number(line.trim().split(/\s+/).pop());
}

describe('image bits over the peer network (real agents)', () => {
  let cluster: AgentCluster;
  let file: string;
  let bytes: Buffer;
  before(async () => {
    cluster = await AgentCluster.start({ sites: 3, mockClouds: true, prefix: 'stackraft-blobs-' });
    bytes = patternBytes(FILE_BYTES, 31);
    file = join(cluster.dir, 'image.raw');
    await writeFile(file, bytes);
  });
  after(async () => {
    await cluster?.destroy();
  });

  it('a --sha256 that does not match is refused with exit code 4 and nothing is stored', async () => {
    const site1 = cluster.site('site-1');
    const run = await runCli(['image', 'create', 'wrong', '--id', randomUUID(), '--disk-format', 'raw', '--container-format', 'bare', '--file', file, '--sha256', 'a'.repeat(64)], { socket: site1.socketPath });
    assert.equal(run.code, 4, run.stderr);
    assert.match(run.stderr, /sha256 mismatch/);
    const text = await cluster.admin('site-1').metrics();
    assert.equal(metric(text, 'stackraft_blob_store_bytes'), 0);
    assert.equal(metric(text, 'stackraft_blob_store_blobs'), 0);
  });

  it('a file uploaded at site-1 reaches the Glance of site-2 and site-3 with the same checksum and os_hash_value', async () => {
    const id = randomUUID();
    const site1 = cluster.site('site-1');
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    const run = await runCli(['image', 'create', 'travelling', '--id', id, '--disk-format', 'raw', '--container-format', 'bare', '--file', file, '--sha256', sha256, '-f', 'json'], { socket: site1.socketPath });
    assert.equal(run.code, 0, run.stderr);
    const md5 = createHash('md5').update(bytes).digest('hex');
    const sha512 = createHash('sha512').update(bytes).digest('hex');
    for (const name of ['site-1', 'site-2', 'site-3']) {
      const model = cluster.clouds.get(name)!.model;
      await cluster.waitFor(`image ${id} active in ${name}'s Glance`, async () => model.listImages().some((i) => i.id === id && i.status === 'active'), 90_000);
      const image = model.getImage(id);
      assert.equal(image.size, FILE_BYTES);
      assert.equal(image.checksum, md5, `${name}: checksum`);
      assert.equal(image.osHashValue, sha512, `${name}: os_hash_value`);
    }
    const texts = await Promise.all(['site-1', 'site-2', 'site-3'].map((n) => cluster.admin(n).metrics()));
    const fetched = metric(texts[1]!, 'stackraft_blob_fetched_bytes_total') + metric(texts[2]!, 'stackraft_blob_fetched_bytes_total');
    assert.equal(fetched, 2 * FILE_BYTES, 'site-2 and site-3 each fetched the whole blob once');
    // Served bytes include the manifests; the origin served at least one whole copy (no one else had it at first).
    const served = texts.map((t) => metric(t, 'stackraft_blob_served_bytes_total'));
    assert.ok(served[0]! >= FILE_BYTES, `site-1 served ${served[0]} bytes`);
    assert.ok(served[0]! + served[1]! + served[2]! >= fetched, `served ${served.join(', ')}`);
    assert.equal(metric(texts[1]!, 'stackraft_blob_bad_chunks_total') + metric(texts[2]!, 'stackraft_blob_bad_chunks_total'), 0);
  });
});

describe('a blob transfer cut midway (real agents)', () => {
  let cluster: AgentCluster;
  before(async () => {
    // site-1 serves at 1 MB/s, so the transfer is still running when it is killed.
    cluster = await AgentCluster.start({
      sites: 2,
      mockClouds: true,
      prefix: 'stackraft-blobs-cut-',
      siteConfig: (name) => (name === 'site-1' ? { blobs: { uploadBytesPerSecond: 1_000_000 } } : {}),
    });
  });
  after(async () => {
    await cluster?.destroy();
  });

  it('the fetch fails with the reason when its only holder dies, keeps what it verified, and finishes from where it was once the holder is back', async () => {
    const bytes = patternBytes(FILE_BYTES, 32);
    const file = join(cluster.dir, 'cut.raw');
    await writeFile(file, bytes);
    const id = randomUUID();
    const run = await runCli(['image', 'create', 'cut', '--id', id, '--disk-format', 'raw', '--container-format', 'bare', '--file', file], { socket: cluster.site('site-1').socketPath });
    assert.equal(run.code, 0, run.stderr);
    const root = (await cluster.admin('site-1').request('GET', `/v1/resources/image/${id}`)).json.resource.spec.source.blob.root as string;
    const state = async () => (await cluster.admin('site-2').request('GET', `/v1/blobs/${root}`)).json;
    // The short last chunk arrives first; the three 4 MiB chunks are still on their way.
    await cluster.waitFor('site-2 to hold part of the blob', async () => (await state()).heldBytes > 0, 60_000);
    const before = await state();
    assert.ok(before.heldBytes < FILE_BYTES, `site-2 already holds ${before.heldBytes} bytes`);
    await cluster.kill('site-1');
    // The site's loop retries every 2 s: the attempt seen may be a retry, which keeps the last reason.
    await cluster.waitFor('site-2 to give up on its only holder', async () => (await state()).fetch?.lastError !== undefined, 60_000);
    const failed = await state();
    assert.match(failed.fetch.lastError, /site-1/, 'the failure names the holder it could not use');
    assert.ok(failed.heldBytes >= before.heldBytes, 'verified chunks are kept');
    await cluster.restart('site-1');
    const model = cluster.clouds.get('site-2')!.model;
    await cluster.waitFor(`image ${id} active in site-2's Glance`, async () => model.listImages().some((i) => i.id === id && i.status === 'active'), 120_000);
    assert.equal(model.getImage(id).checksum, createHash('md5').update(bytes).digest('hex'));
    assert.equal(model.getImage(id).osHashValue, createHash('sha512').update(bytes).digest('hex'));
    // Every byte was fetched verified exactly once: what was held before the cut was not fetched again.
    assert.equal(metric(await cluster.admin('site-2').metrics(), 'stackraft_blob_fetched_bytes_total'), FILE_BYTES);
  });
});
