// What the blob stores keep once an image has reached its sites, on real agents with mock clouds
// (issue 13): once every placed site holds the image in its Glance every blob store drops its copy,
// the origin's too; a metadata patch then moves no bits over the peer network (only the name
// changes in each Glance); a site placed later still gets the bits: the origin reads them back
// from its own Glance and serves them.
import assert from 'node:assert/strict';
import { createHash, randomUUID } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { AgentCluster } from './cluster.js';
import { runCli } from './run-cli.js';
import { patternBytes } from '../blobs/helpers.js';

/** Two 4 MiB chunks and a short one. */
const FILE_BYTES = 2 * 4 * 1024 * 1024 + 4_321;
const SITES = ['site-1', 'site-2', 'site-3'];

function metric(text: string, name: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `));
  return line === undefined ? Number.NaN : Number(line.trim().split(/\s+/).pop());
}

interface SyncRow {
  id: string;
  state: string;
  syncedRevision: number | null;
}

describe('blob retention after a rollout (real agents)', () => {
  let cluster: AgentCluster;
  before(async () => {
    cluster = await AgentCluster.start({ sites: 3, mockClouds: true, prefix: 'stackraft-blob-keep-' });
  });
  after(async () => {
    await cluster?.destroy();
  });

  async function metrics(name: string): Promise<string> {
    return cluster.admin(name).metrics();
  }

  async function inSyncEverywhere(id: string, revision: number): Promise<boolean> {
    const sync = (await cluster.admin('site-1').request('GET', '/v1/sync')).json as { sites: { site: string; resources: SyncRow[] }[] };
    return SITES.every((name) => {
      const row = sync.sites.find((s) => s.site === name)?.resources.find((r) => r.id === id);
      return row !== undefined && row.state === 'in-sync' && row.syncedRevision === revision;
    });
  }

  async function revisionOf(id: string): Promise<number> {
    return (await cluster.admin('site-1').request('GET', `/v1/resources/image/${id}`)).json.resource.revision as number;
  }

  it('a metadata patch after the rollout fetches nothing again', async () => {
    const file = join(cluster.dir, 'patched.raw');
    await writeFile(file, patternBytes(FILE_BYTES, 41));
    const id = randomUUID();
    const run = await runCli(['image', 'create', 'before-patch', '--id', id, '--disk-format', 'raw', '--container-format', 'bare', '--file', file], { socket: cluster.site('site-1').socketPath });
    assert.equal(run.code, 0, run.stderr);
    const created = await revisionOf(id);
    await cluster.waitFor('the image in sync on every site', () => inSyncEverywhere(id, created), 90_000);
    // Every placed site holds the image: every copy is dropped, the origin's too (its Glance has the bits).
    for (const name of SITES) {
      await cluster.waitFor(`${name}'s blob store to drop its copy`, async () => metric(await metrics(name), 'stackraft_blob_store_blobs') === 0, 30_000);
    }
    const fetchedBefore = await Promise.all(SITES.map(async (n) => metric(await metrics(n), 'stackraft_blob_fetched_bytes_total')));
    assert.deepEqual(fetchedBefore, [0, FILE_BYTES, FILE_BYTES]);

    const patch = await runCli(['image', 'set', id, '--name', 'after-patch'], { socket: cluster.site('site-2').socketPath });
    assert.equal(patch.code, 0, patch.stderr);
    const patched = await revisionOf(id);
    assert.ok(patched > created);
    await cluster.waitFor('the patch in sync on every site', () => inSyncEverywhere(id, patched), 60_000);
    for (const name of SITES) assert.equal(cluster.clouds.get(name)!.model.getImage(id).name, 'after-patch', `${name}'s Glance`);
    // Two rounds of every blob loop (2 s each) after the sites reported: a fetch started by the patch would show by now.
    await new Promise((resolve) => setTimeout(resolve, 4_500));
    const fetchedAfter = await Promise.all(SITES.map(async (n) => metric(await metrics(n), 'stackraft_blob_fetched_bytes_total')));
    assert.deepEqual(fetchedAfter, fetchedBefore, 'bytes fetched over the peer network since the patch');
  });

  it('a site placed after every copy was dropped gets the bits: the origin reads them back from its Glance', async () => {
    const bytes = patternBytes(FILE_BYTES, 42);
    const file = join(cluster.dir, 'late.raw');
    await writeFile(file, bytes);
    const id = randomUUID();
    const run = await runCli(['image', 'create', 'late', '--id', id, '--disk-format', 'raw', '--container-format', 'bare', '--file', file, '--placement', 'site in (site-1, site-2)'], { socket: cluster.site('site-1').socketPath });
    assert.equal(run.code, 0, run.stderr);
    const created = await revisionOf(id);
    await cluster.waitFor('the image active in the Glance of site-1 and site-2', async () => ['site-1', 'site-2'].every((n) => cluster.clouds.get(n)!.model.listImages().some((i) => i.id === id && i.status === 'active')), 90_000);
    for (const name of ['site-1', 'site-2']) {
      await cluster.waitFor(`${name}'s blob store to drop its copy`, async () => metric(await metrics(name), 'stackraft_blob_store_blobs') === 0, 30_000);
    }
    assert.ok((await revisionOf(id)) === created);
    const fetchedBefore = metric(await metrics('site-3'), 'stackraft_blob_fetched_bytes_total');

    const widen = await runCli(['image', 'set', id, '--placement', 'all'], { socket: cluster.site('site-3').socketPath });
    assert.equal(widen.code, 0, widen.stderr);
    const model = cluster.clouds.get('site-3')!.model;
    await cluster.waitFor(`image ${id} active in site-3's Glance`, async () => model.listImages().some((i) => i.id === id && i.status === 'active'), 90_000);
    assert.equal(model.getImage(id).checksum, createHash('md5').update(bytes).digest('hex'));
    assert.equal(model.getImage(id).osHashValue, createHash('sha512').update(bytes).digest('hex'));
    assert.equal(metric(await metrics('site-3'), 'stackraft_blob_fetched_bytes_total') - fetchedBefore, FILE_BYTES, 'site-3 fetched the blob once, over the peer network');
    // Everyone in sync again: the copy read back and the one fetched go too.
    for (const name of SITES) {
      await cluster.waitFor(`${name}'s blob store to drop its copy again`, async () => metric(await metrics(name), 'stackraft_blob_store_blobs') === 0, 30_000);
    }
  });
});
