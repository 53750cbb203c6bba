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
