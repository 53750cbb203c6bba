// Image bits over the peer network into three REAL Glances (../shared/openstack/up.sh on 127.0.0.1,
// .2 and .3): three real agent processes, each managing one lab site through clouds.yaml; a file
// uploaded at site-1 with `image create --file` appears in the Glance of every site with the same
// checksum (md5) and os_hash_value (sha512) as the file. Runs only via `npm run test:openstack`.
import { strict as assert } from 'node:assert';
import { createHash, randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import { stringify } from 'yaml';
import { AgentCluster } from '../agent/cluster.js';
import { runCli } from '../agent/run-cli.js';
import { patternBytes } from '../blobs/helpers.js';

const HOSTS = ['127.0.0.1', '127.0.0.2', '127.0.0.3'];
const FILE_BYTES = 2 * 4 * 1024 * 1024 + 4321;
const WAIT_MS = Number(process.env.STACKRAFT_TEST_STEP_MS ?? 120_000);

const skip = process.env.OS_AUTH_URL && new URL(process.env.OS_AUTH_URL).hostname === '127.0.0.1'
  ? undefined
  : 'OS_AUTH_URL is not the loopback lab: run `npm run test:openstack` (scripts/openstack-test.sh starts the three lab sites)';

function authUrl(host: string): string {
  const u = new URL(process.env.OS_AUTH_URL!);
  u.hostname = host;
  return u.href;
}

const credentials = () => ({
  username: process.env.OS_USERNAME ?? 'admin',
  password: process.env.OS_PASSWORD ?? 'admin',
  project_name: process.env.OS_PROJECT_NAME ?? 'admin',
  user_domain_name: process.env.OS_USER_DOMAIN_NAME ?? 'Default',
  project_domain_name: process.env.OS_PROJECT_DOMAIN_NAME ?? 'Default',
});

/** A password token of the lab's admin at one site. */
async function labToken(host: string): Promise<string> {
  const c = credentials();
  const auth = await request(`${authUrl(host).replace(/\/+$/, '').replace(/\/v3$/, '')}/v3/auth/tokens`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      auth: {
        identity: { methods: ['password'], password: { user: { name: c.username, password: c.password, domain: { name: c.user_domain_name } } } },
        scope: { project: { name: c.project_name, domain: { name: c.project_domain_name } } },
      },
    }),
  });
  await auth.body.dump();
  return auth.headers['x-subject-token'] as string;
}

/** Glance's own JSON for an image (checksum included). */
async function glanceImage(host: string, id: string): Promise<Record<string, unknown> | undefined> {
  const res = await request(`http://${host}:9292/v2/images/${id}`, { headers: { 'x-auth-token': await labToken(host) } });
  if (res.statusCode === 404) {
    await res.body.dump();
    return undefined;
  }
  return (await res.body.json()) as Record<string, unknown>;
}

/** An operator's private image with bits, made with Glance's own API (no stackraft marker). */
async function operatorImage(host: string, id: string, bytes: Buffer): Promise<void> {
  const token = await labToken(host);
  const created = await request(`http://${host}:9292/v2/images`, {
    method: 'POST',
    headers: { 'x-auth-token': token, 'content-type': 'application/json' },
    body: JSON.stringify({ id, name: 'sr-test-operator', disk_format: 'raw', container_format: 'bare', visibility: 'private' }),
  });
  assert.equal(created.statusCode, 201, await created.body.text());
  const put = await request(`http://${host}:9292/v2/images/${id}/file`, { method: 'PUT', headers: { 'x-auth-token': token, 'content-type': 'application/octet-stream' }, body: bytes });
  assert.equal(put.statusCode, 204, await put.body.text());
}

describe('image bits over the peer network into real Glance (3 lab sites)', { skip }, () => {
  let cluster: AgentCluster | undefined;
  let dir: string;
  const id = randomUUID();
  const adoptedId = randomUUID();
  const bytes = patternBytes(FILE_BYTES, 77);
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'stackraft-blobs-lab-'));
    const clouds: Record<string, unknown> = {};
    for (const [i, host] of HOSTS.entries()) clouds[`lab-${i}`] = { auth: { auth_url: authUrl(host), ...credentials() }, region_name: process.env.OS_REGION_NAME ?? 'RegionOne', interface: 'public' };
    await writeFile(join(dir, 'clouds.yaml'), stringify({ clouds }));
    await writeFile(join(dir, 'image.raw'), bytes);
    cluster = await AgentCluster.start({
      sites: 3,
      prefix: 'stackraft-blobs-lab-',
      clusterId: `blobs-lab-${randomUUID().slice(0, 8)}`,
      siteConfig: (_name, i) => ({ cloud: { type: 'openstack', cloud: `lab-${i}`, cloudsYaml: join(dir, 'clouds.yaml') } }),
    });
  });
  after(async () => {
    if (cluster !== undefined) {
      // The reconcilers remove the image from the three Glances; give them a moment, then stop.
      for (const image of [id, adoptedId]) {
        await runCli(['image', 'delete', image], { socket: cluster.site('site-1').socketPath }).catch(() => undefined);
        await cluster.waitFor('the image removed from every lab Glance', async () => (await Promise.all(HOSTS.map((h) => glanceImage(h, image)))).every((i) => i === undefined || i.status === 'deleted'), 30_000).catch(() => undefined);
      }
      await cluster.destroy();
    }
    await rm(dir, { recursive: true, force: true });
  });

  it('a file uploaded at site-1 is in every site’s Glance with the same checksum and os_hash_value', async () => {
    const c = cluster!;
    const run = await runCli(['image', 'create', 'sr-test-blob', '--id', id, '--disk-format', 'raw', '--container-format', 'bare', '--file', join(dir, 'image.raw')], { socket: c.site('site-1').socketPath });
    assert.equal(run.code, 0, run.stderr);
    const md5 = createHash('md5').update(bytes).digest('hex');
    const sha512 = createHash('sha512').update(bytes).digest('hex');
    for (const host of HOSTS) {
      let image: Record<string, unknown> | undefined;
      await c.waitFor(`image ${id} active in the Glance at ${host}`, async () => {
        image = await glanceImage(host, id);
        return image?.status === 'active';
      }, WAIT_MS);
      assert.equal(image!.size, FILE_BYTES, `${host}: size`);
      assert.equal(image!.checksum, md5, `${host}: checksum`);
      assert.equal(image!.os_hash_algo, 'sha512', `${host}: os_hash_algo`);
      assert.equal(image!.os_hash_value, sha512, `${host}: os_hash_value`);
    }
  });

  it("an image already in site-1's Glance, adopted with --from-glance, is in every site's Glance; site-1's own is marked, not uploaded again", async () => {
    const c = cluster!;
    const adopted = patternBytes(FILE_BYTES, 78);
    await operatorImage(HOSTS[0]!, adoptedId, adopted);
    const before = await glanceImage(HOSTS[0]!, adoptedId);
    const run = await runCli(['image', 'create', 'sr-test-adopted', '--from-glance', adoptedId, '--public'], { socket: c.site('site-1').socketPath });
    assert.equal(run.code, 0, run.stderr);
    const md5 = createHash('md5').update(adopted).digest('hex');
    const sha512 = createHash('sha512').update(adopted).digest('hex');
    for (const host of HOSTS) {
      let image: Record<string, unknown> | undefined;
      await c.waitFor(`image ${adoptedId} active and marked in the Glance at ${host}`, async () => {
        image = await glanceImage(host, adoptedId);
        return image?.status === 'active' && image.stackraft_managed === 'true' && image.visibility === 'public';
      }, WAIT_MS);
      assert.equal(image!.checksum, md5, `${host}: checksum`);
      assert.equal(image!.os_hash_value, sha512, `${host}: os_hash_value`);
    }
    const after = await glanceImage(HOSTS[0]!, adoptedId);
    assert.equal(after!.created_at, before!.created_at, "site-1's image is the operator's own, adopted in place");
  });
});
