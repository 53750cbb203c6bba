// stackraft import --kind image on real agents (two sites, each with a mock OpenStack cloud served
// over HTTP): the dry run lists site-1's Glance images this cluster does not manage (a private
// image, a queued one and another cluster's are conflicts with their reasons) and changes nothing;
// --apply adopts each importable image through the --from-glance path (bits into the blob store,
// checked against Glance's digests), so one whose bits disagree with its checksum is reported and
// not written while the others are; site-2 then gets the adopted image's bits over the peer
// network, site-1's Glance image is marked and never uploaded again, and a second run skips it.
import assert from 'node:assert/strict';
import { createHash, randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { createOpenStackDriver, type MockCloud } from '../../drivers/index.js';
import type { ImageApi } from '../../drivers/service-api.js';
import { AgentCluster } from './cluster.js';
import { runCli } from './run-cli.js';
import { patternBytes } from '../blobs/helpers.js';

interface PlanRow {
  Kind: string;
  ID: string;
  Name: string;
  Action: string;
  Detail: string;
  Result: string;
}

const BYTES = 4 * 1024 * 1024 + 999;

function metric(text: string, name: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `));
  return line === undefined ? Number.NaN : Number(line.trim().split(/\s+/).pop());
}

async function glanceImage(images: ImageApi, name: string, visibility: string, bytes: Buffer | null, properties: Record<string, string> = {}): Promise<string> {
  const id = randomUUID();
  await images.createImage({ id, name, diskFormat: 'raw', containerFormat: 'bare', visibility, minDisk: 0, minRam: 0, protected: false, tags: [], properties });
  if (bytes !== null) await images.uploadImageData(id, Readable.from([bytes]));
  return id;
}

function fileUploads(cloud: MockCloud, id: string): number {
  return cloud.requests.filter((r) => r.method === 'PUT' && r.path.endsWith(`/images/${id}/file`)).length;
}

describe('stackraft import --kind image (real agents, mock clouds over HTTP)', { timeout: 240_000 }, () => {
  let cluster: AgentCluster;
  let closeDriver: () => Promise<void>;
  const ids: Record<string, string> = {};
  const good = patternBytes(BYTES, 51);

  before(async () => {
    cluster = await AgentCluster.start({ sites: 2, mockClouds: true, prefix: 'stackraft-import-images-' });
    const driver = createOpenStackDriver({ env: cluster.clouds.get('site-1')!.env() });
    closeDriver = () => driver.close();
    const images = (await driver.serviceApis()).image!;
    ids.good = await glanceImage(images, 'op-good', 'public', good);
    ids.liar = await glanceImage(images, 'op-liar', 'community', patternBytes(BYTES, 52));
    // Glance's record claims other bits than those it serves.
    cluster.clouds.get('site-1')!.model.finishUpload(ids.liar, { sizeBytes: BYTES, md5: '0'.repeat(32), sha512: '1'.repeat(128) });
    ids.private = await glanceImage(images, 'op-private', 'private', patternBytes(1000, 53));
    ids.queued = await glanceImage(images, 'op-queued', 'public', null);
    ids.theirs = await glanceImage(images, 'op-theirs', 'public', patternBytes(1000, 54), { stackraft_managed: 'true', stackraft_cluster: 'other-cluster' });
  });

  after(async () => {
    await closeDriver?.();
    await cluster?.destroy();
  });

  const plan = async (...extra: string[]) => {
    const run = await runCli(['import', '--kind', 'image', '-f', 'json', ...extra], { socket: cluster.site('site-1').socketPath });
    return { run, rows: run.stdout.trim() === '' ? [] : (JSON.parse(run.stdout) as PlanRow[]) };
  };
  const row = (rows: PlanRow[], key: string) => rows.find((r) => r.ID === ids[key]);

  it('the dry run plans imports and conflicts with their reasons and changes nothing', async () => {
    const { run, rows } = await plan();
    assert.equal(run.code, 0, run.stderr);
    assert.equal(row(rows, 'good')?.Action, 'import');
    assert.equal(row(rows, 'liar')?.Action, 'import', 'the plan reads metadata only; the bits are checked by --apply');
    assert.equal(row(rows, 'private')?.Action, 'conflict');
    assert.match(row(rows, 'private')!.Detail, /private in Glance.*--from-glance/);
    assert.equal(row(rows, 'queued')?.Action, 'conflict');
    assert.match(row(rows, 'queued')!.Detail, /'queued' in Glance/);
    assert.equal(row(rows, 'theirs')?.Action, 'conflict');
    assert.match(row(rows, 'theirs')!.Detail, /another stackraft cluster, "other-cluster"/);
    assert.equal((await cluster.admin('site-1').request('GET', `/v1/resources/image/${ids.good}`)).status, 404, 'nothing written');
    assert.equal(metric(await cluster.admin('site-1').metrics(), 'stackraft_blob_store_blobs'), 0, 'nothing stored');
  });

  it('the admin API refuses apply for images (each is adopted as its own job)', async () => {
    const reply = await cluster.admin('site-1').request('POST', '/v1/import', { kind: 'image', apply: true, clientId: 'import-images-test', seq: 1 });
    assert.equal(reply.status, 400);
    assert.equal(reply.json.error.code, 'VALIDATION');
    assert.match(reply.json.error.message, /glance-adoptions/);
  });

  it('--apply adopts the good image, reports the lying one, and site-2 gets the bits', async () => {
    const { run, rows } = await plan('--apply', '--placement', 'all', '--reason', 'adopt site-1 images');
    assert.equal(run.code, 1, 'one image was not imported: exit 1');
    assert.match(row(rows, 'good')!.Result, /^imported/);
    assert.match(row(rows, 'liar')!.Result, /not imported: .*mismatch.*nothing was stored/);
    assert.equal(row(rows, 'private')!.Result, '', 'conflicts are not applied');
    const liar = await cluster.admin('site-1').request('GET', `/v1/resources/image/${ids.liar}`);
    assert.equal(liar.status, 404, 'the lying image was not written');
    const record = (await cluster.admin('site-1').request('GET', `/v1/resources/image/${ids.good}`)).json.resource;
    assert.equal(record.spec.source.kind, 'glance');
    assert.equal(record.spec.source.origin, 'site-1');
    const remote = cluster.clouds.get('site-2')!.model;
    await cluster.waitFor(`image ${ids.good} active in site-2's Glance`, async () => remote.listImages().some((i) => i.id === ids.good && i.status === 'active'), 90_000);
    assert.equal(remote.getImage(ids.good).osHashValue, createHash('sha512').update(good).digest('hex'));
    const local = cluster.clouds.get('site-1')!;
    await cluster.waitFor("site-1's Glance image to carry the marker", async () => local.model.getImage(ids.good).properties.stackraft_managed === 'true', 60_000);
    assert.equal(fileUploads(local, ids.good), 1, 'never uploaded again at site-1');
    const audit = await runCli(['audit', 'list', '--id', ids.good, '-f', 'json'], { socket: cluster.site('site-1').socketPath });
    assert.match(audit.stdout, /adopt site-1 images/);
  });

  it('a second run skips the adopted image', async () => {
    const { rows } = await plan();
    assert.equal(row(rows, 'good')?.Action, 'skip');
    assert.match(row(rows, 'good')!.Detail, /already managed/);
  });
});
