// Fetch progress and partial holders with real agent processes (three sites, mock clouds over
// HTTP). The origin, site-1, serves at 2 MB/s, so site-2 is still fetching for a while: every site
// sees site-2 as `fetching` (bytes done of total) in sync status and in `image show`, never as an
// error. Then the origin is killed while site-2 holds part of the blob, and the image is placed on
// site-3 too: site-3's only possible source is site-2, a partial holder learnt from the catalog,
// which it asks which chunks it has and fetches those from it. Once the origin is back, both
// Glances get the whole image with the file's digests.
import assert from 'node:assert/strict';
import { createHash, randomUUID } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { AgentCluster } from './cluster.js';
import { runCli } from './run-cli.js';
import { patternBytes } from '../blobs/helpers.js';

const CHUNK = 4 * 1024 * 1024;
/**
 * Eight 4 MiB chunks and a short one: a fetch asks a member for 4 chunks at once, and a rate-capped
 * origin sends them side by side, so the first four arrive together and the last four are still on
 * their way when the origin is killed.
 */
const FILE_BYTES = 8 * CHUNK + 12_345;

function metric(text: string, name: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `));
  return line === undefined ? Number.NaN : Number(line.trim().split(/\s+/).pop());
}

describe('fetch progress and partial holders (real agents)', { timeout: 300_000 }, () => {
  let cluster: AgentCluster;
  const id = randomUUID();
  const bytes = patternBytes(FILE_BYTES, 61);
  let root = '';
  before(async () => {
    cluster = await AgentCluster.start({
      sites: 3,
      mockClouds: true,
      prefix: 'stackraft-blobs-partial-',
      siteConfig: (name) => (name === 'site-1' ? { blobs: { uploadBytesPerSecond: 2_000_000 } } : {}),
    });
  });
  after(async () => {
    await cluster?.destroy();
  });

  const held = async (site: string) => (await cluster.admin(site).request('GET', `/v1/blobs/${root}`)).json.heldBytes as number;
  const syncOf = async (from: string, site: string) => {
    const view = (await cluster.admin(from).request('GET', '/v1/sync')).json as { sites: { site: string; resources: { id: string; state: string; message?: string }[] }[] };
    return view.sites.find((s) => s.site === site)?.resources.find((r) => r.id === id);
  };

  it('a site fetching the bits shows as fetching, with its progress, from every site', async () => {
    const file = join(cluster.dir, 'partial.raw');
    await writeFile(file, bytes);
    const run = await runCli(['image', 'create', 'partial', '--id', id, '--disk-format', 'raw', '--container-format', 'bare', '--file', file, '--placement', 'site in (site-1, site-2)'], { socket: cluster.site('site-1').socketPath });
    assert.equal(run.code, 0, run.stderr);
    root = (await cluster.admin('site-1').request('GET', `/v1/resources/image/${id}`)).json.resource.spec.source.blob.root as string;
    const states = new Set<string>();
    // The first report may come before the manifest (size not known yet); progress follows within 5 s.
    await cluster.waitFor('site-3 to see site-2 fetching, with the size', async () => {
      const row = await syncOf('site-3', 'site-2');
      if (row !== undefined) states.add(row.state);
      return row?.state === 'fetching' && / of 32\.0 MiB/.test(row.message ?? '');
    }, 60_000);
    const row = await syncOf('site-3', 'site-2');
    assert.match(row!.message ?? '', /^fetching [\d.]+ of 32\.0 MiB, [\d.]+ MB\/s from /);
    assert.ok(!states.has('error'), `site-2 was never shown in error while fetching (seen: ${[...states].join(', ')})`);
    const show = await runCli(['image', 'show', id, '-f', 'json'], { socket: cluster.site('site-3').socketPath });
    assert.equal(show.code, 0, show.stderr);
    const sites = (JSON.parse(show.stdout) as { sites: Record<string, string> }).sites;
    assert.match(sites['site-2'] ?? '', /^(fetching: fetching|in-sync)/, `image show at site-3: ${JSON.stringify(sites)}`);
    assert.equal(sites['site-3'], undefined, 'site-3 is not placed');
  });

  it('with the origin dead, a site placed late fetches the chunks a partial holder has from it', async () => {
    await cluster.waitFor('site-2 to hold a whole chunk', async () => (await held('site-2')) >= CHUNK, 60_000);
    await cluster.kill('site-1');
    const partial = await held('site-2');
    assert.ok(partial > 0 && partial < FILE_BYTES, `site-2 holds ${partial} of ${FILE_BYTES} bytes when the origin dies`);
    // site-1 founded the cluster and usually leads: the write waits for the other two to elect.
    await cluster.waitForLeader({ among: ['site-2', 'site-3'], notLeader: 'site-1' });
    const widen = await runCli(['image', 'set', id, '--placement', 'all'], { socket: cluster.site('site-2').socketPath });
    assert.equal(widen.code, 0, widen.stderr);
    await cluster.waitFor('site-3 to fetch what site-2 holds', async () => (await held('site-3')) >= partial, 90_000);
    assert.ok((await held('site-2')) < FILE_BYTES, 'site-2 is still a partial holder (its only source is dead)');
    const fetched = metric(await cluster.admin('site-3').metrics(), 'stackraft_blob_fetched_bytes_total');
    const served = metric(await cluster.admin('site-2').metrics(), 'stackraft_blob_served_bytes_total');
    assert.ok(fetched >= partial, `site-3 fetched ${fetched} bytes`);
    assert.ok(served >= partial, `site-2 served ${served} bytes while it did not hold the whole blob`);
  });

  it('once the origin is back, every placed Glance gets the whole image', async () => {
    await cluster.restart('site-1');
    const md5 = createHash('md5').update(bytes).digest('hex');
    const sha512 = createHash('sha512').update(bytes).digest('hex');
    for (const name of ['site-2', 'site-3']) {
      const model = cluster.clouds.get(name)!.model;
      await cluster.waitFor(`image ${id} active in ${name}'s Glance`, async () => model.listImages().some((i) => i.id === id && i.status === 'active'), 120_000);
      assert.equal(model.getImage(id).checksum, md5, `${name}: checksum`);
      assert.equal(model.getImage(id).osHashValue, sha512, `${name}: os_hash_value`);
    }
  });
});
