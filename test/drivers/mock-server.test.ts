// The mock cloud at the HTTP level: OpenStack's paths, status codes and body shapes (as checked
// against the real lab), token checks, microversions, and a broken upload leaving the image queued.
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import { startMockCloud, type MockCloud } from '../../drivers/index.js';

describe('mock cloud over HTTP', { timeout: 30_000 }, () => {
  let mock: MockCloud;
  let token: string;

  const call = async (method: string, path: string, opts: { headers?: Record<string, string>; json?: unknown; auth?: boolean } = {}) => {
    const headers: Record<string, string> = { ...opts.headers };
    if (opts.auth !== false) headers['X-Auth-Token'] = token;
    if (opts.json !== undefined) headers['Content-Type'] ??= 'application/json';
    const res = await request(`${mock.url}${path}`, { method: method as 'GET', headers, body: opts.json === undefined ? undefined : JSON.stringify(opts.json) });
    const text = await res.body.text();
    return { status: res.statusCode, headers: res.headers, text, json: text.startsWith('{') ? JSON.parse(text) : undefined };
  };

  const login = (password: string) =>
    call('POST', '/identity/v3/auth/tokens', {
      auth: false,
      json: { auth: { identity: { methods: ['password'], password: { user: { name: 'admin', domain: { name: 'Default' }, password } } }, scope: { project: { name: 'admin', domain: { name: 'Default' } } } } },
    });

  before(async () => {
    mock = await startMockCloud();
    const res = await login('admin');
    token = String(res.headers['x-subject-token']);
  });
  after(() => mock.close());

  it('issues project-scoped tokens with a catalog pointing at itself, and refuses a wrong password', async () => {
    const res = await login('admin');
    assert.equal(res.status, 201);
    assert.equal(res.json.token.project.id, mock.adminProjectId);
    const types = res.json.token.catalog.map((s: { type: string }) => s.type).sort();
    assert.deepEqual(types, ['block-storage', 'compute', 'identity', 'image', 'volumev3']);
    const volume = res.json.token.catalog.find((s: { type: string }) => s.type === 'volumev3');
    assert.equal(volume.endpoints[0].url, `${mock.url}/volume/v3/${mock.adminProjectId}`);
    const bad = await login('wrong');
    assert.equal(bad.status, 401);
    assert.equal(bad.json.error.code, 401);
  });

  it('checks the token on every service call, answering in each service’s shape', async () => {
    const nova = await call('GET', '/compute/v2.1/flavors/detail', { auth: false });
    assert.equal(nova.status, 401);
    assert.equal(nova.json.error.message, 'The request you have made requires authentication.');
    const glance = await call('GET', '/image/v2/images', { auth: false, headers: { Accept: 'application/json' } });
    assert.equal(glance.status, 401);
    assert.equal(glance.json.code, '401 Unauthorized');
    const stale = await call('GET', '/compute/v2.1/flavors/detail', { headers: { 'X-Auth-Token': 'mock-forged' }, auth: false });
    assert.equal(stale.status, 401);
  });

  it('answers Glance errors in HTML unless JSON is asked for', async () => {
    const html = await call('GET', '/image/v2/images/00000000-0000-4000-8000-000000000000');
    assert.equal(html.status, 404);
    assert.match(html.text, /<h1>404 Not Found<\/h1>/);
    const json = await call('GET', '/image/v2/images/00000000-0000-4000-8000-000000000000', { headers: { Accept: 'application/json' } });
    assert.equal(json.json.code, '404 Not Found');
    assert.match(json.json.message, /^No image found with ID/);
    const wrongType = await call('PATCH', '/image/v2/images/00000000-0000-4000-8000-000000000000', { json: [], headers: { Accept: 'application/json' } });
    assert.equal(wrongType.status, 415);
  });

  it('honours compute microversions and refuses unknown ones', async () => {
    const created = await call('POST', '/compute/v2.1/flavors', { json: { flavor: { id: 'mv', name: 'mv', vcpus: 1, ram: 64, disk: 0 } } });
    assert.equal(created.status, 200);
    assert.equal(created.json.flavor.swap, '', 'before 2.75 Nova sends swap 0 as ""');
    assert.equal(created.json.flavor.extra_specs, undefined);
    assert.equal(created.headers['openstack-api-version'], 'compute 2.1');
    const modern = await call('GET', '/compute/v2.1/flavors/mv', { headers: { 'OpenStack-API-Version': 'compute 2.75' } });
    assert.equal(modern.json.flavor.swap, 0);
    assert.deepEqual(modern.json.flavor.extra_specs, {});
    const tooNew = await call('GET', '/compute/v2.1/flavors/mv', { headers: { 'OpenStack-API-Version': 'compute 2.99' } });
    assert.equal(tooNew.status, 406);
    assert.match(tooNew.json.computeFault.message, /Version 2.99 is not supported by the API. Minimum is 2.1 and maximum is 2.93./);
    const description = await call('POST', '/compute/v2.1/flavors', { json: { flavor: { name: 'd', vcpus: 1, ram: 64, disk: 0, description: 'x' } } });
    assert.equal(description.status, 400, 'description needs 2.55');
    assert.equal((await call('DELETE', '/compute/v2.1/flavors/mv')).status, 202);
  });

  it('says 404 for unknown paths, 405 for unknown methods, 400 for a foreign project in a Cinder URL', async () => {
    assert.equal((await call('GET', '/compute/v2.1/servers')).status, 404);
    assert.equal((await call('PATCH', '/compute/v2.1/flavors/x')).status, 405);
    const foreign = await call('GET', `/volume/v3/${mock.serviceProjectId}/os-quota-sets/${mock.adminProjectId}`);
    assert.equal(foreign.status, 400);
    assert.equal(foreign.json.badRequest.message, 'Malformed request url');
  });

  it('puts an image back to queued when its upload breaks off', async () => {
    const id = '00000000-0000-4000-8000-00000000abcd';
    const created = await call('POST', '/image/v2/images', { json: { id, name: 'broken', disk_format: 'raw', container_format: 'bare' } });
    assert.equal(created.status, 201);
    assert.equal(created.json.status, 'queued');
    const url = new URL(`${mock.url}/image/v2/images/${id}/file`);
    await new Promise<void>((resolve) => {
      const req = httpRequest({ host: url.hostname, port: url.port, path: url.pathname, method: 'PUT', headers: { 'X-Auth-Token': token, 'Content-Type': 'application/octet-stream', 'Transfer-Encoding': 'chunked' } });
      req.on('error', () => resolve());
      req.write(Buffer.alloc(1000, 1), () => setTimeout(() => req.destroy(), 50));
      req.on('close', () => resolve());
    });
    let status = '';
    for (let i = 0; i < 50 && status !== 'queued'; i++) {
      status = mock.model.getImage(id).status;
      if (status !== 'queued') await new Promise((resolve) => setTimeout(resolve, 20));
    }
    assert.equal(status, 'queued');
    const uploaded = await request(url, { method: 'PUT', headers: { 'X-Auth-Token': token, 'Content-Type': 'application/octet-stream' }, body: 'hello' });
    assert.equal(uploaded.statusCode, 204);
    await uploaded.body.dump();
    const active = await call('GET', `/image/v2/images/${id}`, { headers: { Accept: 'application/json' } });
    assert.equal(active.json.status, 'active');
    assert.equal(active.json.size, 5);
    const again = await call('PUT', `/image/v2/images/${id}/file`, { headers: { 'Content-Type': 'application/octet-stream', Accept: 'application/json' } });
    assert.equal(again.status, 409);
    assert.match(again.json.message, /Image status transition from active to saving is not allowed/);
  });
});
