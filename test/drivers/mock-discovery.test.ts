// What the standard OpenStack clients need from the mock cloud before and besides the driver's own
// calls: version discovery, token validation, the projects API, image download, and Cinder's
// tolerance of the tenant_id cinderclient sends. (The real client runs against it in
// test/agent/openstack-cli.test.ts.)
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import { startMockCloud, type MockCloud } from '../../drivers/index.js';
import { ImageBits } from '../../drivers/mock/glance.js';

describe('mock cloud: discovery, tokens, projects, downloads', { timeout: 30_000 }, () => {
  let mock: MockCloud;
  let token: string;

  const call = async (method: string, path: string, opts: { headers?: Record<string, string>; body?: string | Buffer; json?: unknown; auth?: boolean } = {}) => {
    const headers: Record<string, string> = { ...opts.headers };
    if (opts.auth !== false) headers['X-Auth-Token'] = token;
    if (opts.json !== undefined) headers['Content-Type'] ??= 'application/json';
    const body = opts.json === undefined ? opts.body : JSON.stringify(opts.json);
    const res = await request(`${mock.url}${path}`, { method: method as 'GET', headers, body });
    const bytes = Buffer.from(await res.body.arrayBuffer());
    const text = bytes.toString('utf8');
    return { status: res.statusCode, headers: res.headers, bytes, json: text.startsWith('{') ? JSON.parse(text) : undefined };
  };

  before(async () => {
    mock = await startMockCloud();
    const res = await call('POST', '/identity/v3/auth/tokens', {
      auth: false,
      json: { auth: { identity: { methods: ['password'], password: { user: { name: 'admin', domain: { name: 'Default' }, password: 'admin' } } }, scope: { project: { name: 'admin', domain: { name: 'Default' } } } } },
    });
    token = String(res.headers['x-subject-token']);
  });
  after(() => mock.close());

  it('answers version discovery without a token, as the real services do', async () => {
    const root = await call('GET', '/identity', { auth: false });
    assert.equal(root.status, 300);
    assert.equal(root.json.versions.values[0].id, 'v3.14');
    assert.equal(root.json.versions.values[0].links[0].href, `${mock.url}/identity/v3/`);
    for (const path of ['/identity/v3', '/identity/v3/']) {
      const v3 = await call('GET', path, { auth: false });
      assert.equal(v3.status, 200);
      assert.equal(v3.json.version.status, 'stable');
      assert.equal(v3.json.version['media-types'][0].type, 'application/vnd.openstack.identity-v3+json');
    }
    const compute = await call('GET', '/compute/v2.1', { auth: false });
    assert.deepEqual([compute.status, compute.json.version.id, compute.json.version.min_version, compute.json.version.version], [200, 'v2.1', '2.1', '2.93']);
    assert.equal((await call('GET', '/compute', { auth: false })).json.versions[0].id, 'v2.1');
    const image = await call('GET', '/image', { auth: false });
    assert.equal(image.status, 300);
    assert.equal(image.json.versions[0].status, 'CURRENT');
    assert.equal(image.json.versions[0].links[0].href, `${mock.url}/image/v2/`);
    const volume = await call('GET', '/volume/v3/', { auth: false });
    assert.deepEqual([volume.json.versions[0].id, volume.json.versions[0].version], ['v3.0', '3.70']);
    // Anything else still needs a token.
    assert.equal((await call('GET', '/compute/v2.1/flavors/detail', { auth: false })).status, 401);
  });

  it('validates a token (GET and HEAD), 404 for an unknown subject, 401 without a caller token', async () => {
    const ok = await call('GET', '/identity/v3/auth/tokens', { headers: { 'X-Subject-Token': token } });
    assert.equal(ok.status, 200);
    assert.equal(ok.headers['x-subject-token'], token);
    assert.equal(ok.json.token.project.id, mock.adminProjectId);
    assert.deepEqual(ok.json.token.methods, ['password']);
    assert.ok(ok.json.token.catalog.some((s: { type: string }) => s.type === 'compute'));
    assert.ok(Date.parse(ok.json.token.expires_at) > Date.parse(ok.json.token.issued_at));
    assert.equal((await call('HEAD', '/identity/v3/auth/tokens', { headers: { 'X-Subject-Token': token } })).status, 200);
    const unknown = await call('GET', '/identity/v3/auth/tokens', { headers: { 'X-Subject-Token': 'mock-forged' } });
    assert.equal(unknown.status, 404);
    assert.equal(unknown.json.error.message, 'Could not find token.');
    assert.equal((await call('GET', '/identity/v3/auth/tokens', { auth: false, headers: { 'X-Subject-Token': token } })).status, 401);
  });

  it('lists projects, by name too, and shows one by id', async () => {
    const all = await call('GET', '/identity/v3/projects');
    assert.deepEqual(all.json.projects.map((p: { name: string }) => p.name), ['admin', 'service']);
    const named = await call('GET', '/identity/v3/projects?name=service');
    assert.deepEqual(named.json.projects.map((p: { id: string }) => p.id), [mock.serviceProjectId]);
    const one = await call('GET', `/identity/v3/projects/${mock.adminProjectId}`);
    assert.equal(one.json.project.name, 'admin');
    assert.equal((await call('GET', '/identity/v3/projects/admin')).status, 404);
  });

  it('downloads an uploaded image byte for byte; 204 before the upload; 404 after delete', async () => {
    const id = '3f2a1b4c-5d6e-4f70-8a9b-0c1d2e3f4a5b';
    assert.equal((await call('POST', '/image/v2/images', { json: { id, name: 'dl', disk_format: 'raw', container_format: 'bare' } })).status, 201);
    assert.equal((await call('GET', `/image/v2/images/${id}/file`)).status, 204);
    const bits = Buffer.from(Array.from({ length: 100_000 }, (_, i) => (i * 31) & 0xff));
    assert.equal((await call('PUT', `/image/v2/images/${id}/file`, { headers: { 'Content-Type': 'application/octet-stream' }, body: bits })).status, 204);
    const got = await call('GET', `/image/v2/images/${id}/file`);
    assert.equal(got.status, 200);
    assert.ok(got.bytes.equals(bits));
    assert.equal(got.headers['content-md5'], mock.model.getImage(id).checksum);
    assert.equal((await call('DELETE', `/image/v2/images/${id}`)).status, 204);
    assert.equal((await call('GET', `/image/v2/images/${id}/file`)).status, 404);
  });

  it('keeps image bits within its bound: the oldest are dropped, an oversized upload is not kept', async () => {
    const kept = new ImageBits(10);
    const drain = async (it: AsyncIterable<Buffer>) => {
      const seen: Buffer[] = [];
      for await (const chunk of it) seen.push(chunk);
      return Buffer.concat(seen);
    };
    assert.equal((await drain(kept.tee('a', [Buffer.from('aaaaaa')]))).toString(), 'aaaaaa');
    await drain(kept.tee('b', [Buffer.from('bbbbbb')]));
    assert.equal(kept.get('a'), undefined, 'a dropped to make room for b');
    assert.equal(kept.get('b')?.toString(), 'bbbbbb');
    assert.equal((await drain(kept.tee('c', [Buffer.from('cccccc'), Buffer.from('cccccc')]))).length, 12, 'an oversized stream still passes through');
    assert.equal(kept.get('c'), undefined);
    assert.equal(kept.get('b')?.toString(), 'bbbbbb');
  });

  it('Cinder ignores the tenant_id cinderclient sends in a quota set, and still refuses unknown keys', async () => {
    const path = `/volume/v3/${mock.adminProjectId}/os-quota-sets/${mock.adminProjectId}`;
    const set = await call('PUT', path, { json: { quota_set: { tenant_id: mock.adminProjectId, volumes: 4 } } });
    assert.equal(set.status, 200);
    assert.equal(set.json.quota_set.volumes, 4);
    assert.equal((await call('PUT', path, { json: { quota_set: { bogus: 1 } } })).status, 400);
  });
});
