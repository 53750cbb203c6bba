// What the blob stores keep once an image has reached its sites, on real agents with mock clouds
// (issue 13): a metadata patch of an image every placed site already holds moves no bits over the
// peer network (the bits are in each site's Glance; only the name changes there).
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
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
    // Every placed site holds the image: the copies fetched for it are dropped.
    for (const name of ['site-2', 'site-3']) {
      await cluster.waitFor(`${name}'s blob store to drop the fetched copy`, async () => metric(await metrics(name), 'stackraft_blob_store_blobs') === 0, 30_000);
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
});
