// The OpenStack driver's HTTP behaviour against the mock cloud: retries with backoff on 5xx and
// dead connections (never on 4xx), token renewal (ahead of expiry and after a 401, once), the
// Keystone login variants, endpoint selection, paging, microversion and Accept headers, timeouts.
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { after, before, describe, it } from 'node:test';
import {
  CloudError,
  ConflictError,
  createOpenStackDriver,
  mockProjectId,
  startMockCloud,
  type CreateOpenStackDriverOptions,
  type CloudFlavorSpec,
  type MockCloud,
  type OpenStackDriver,
} from '../../drivers/index.js';

const FAST_RETRY = { maxAttempts: 4, baseDelayMs: 1, maxDelayMs: 4 };

function flavor(id: string, over: Partial<CloudFlavorSpec> = {}): CloudFlavorSpec {
  return { id, name: id, vcpus: 1, ram: 128, disk: 0, ephemeral: 0, swap: 0, rxtxFactor: 1, isPublic: true, extraSpecs: {}, ...over };
}

/** A sleep that records the delays asked for and returns at once. */
function recordingSleep(): { sleep: (ms: number) => Promise<void>; delays: number[] } {
  const delays: number[] = [];
  return { delays, sleep: async (ms) => void delays.push(ms) };
}

function driverFor(mock: MockCloud, options: CreateOpenStackDriverOptions = {}): OpenStackDriver {
  return createOpenStackDriver({ env: mock.env(), retry: FAST_RETRY, ...options });
}

function since(mock: MockCloud, from: number) {
  return mock.requests.slice(from).map((r) => `${r.method} ${r.path} ${r.status}`);
}

describe('OpenStack driver over HTTP', { timeout: 60_000 }, () => {
  let mock: MockCloud;
  const drivers: OpenStackDriver[] = [];
  const track = (d: OpenStackDriver) => (drivers.push(d), d);

  before(async () => {
    mock = await startMockCloud({ withNetwork: true });
  });
  after(async () => {
    for (const d of drivers) await d.close();
    await mock.close();
  });

  it('retries 5xx with growing, jittered delays and then succeeds', async () => {
    const { sleep, delays } = recordingSleep();
    const driver = track(driverFor(mock, { sleep, retry: { maxAttempts: 4, baseDelayMs: 100, maxDelayMs: 1000 }, random: () => 0.5 }));
    await driver.listFlavors();
    const from = mock.requests.length;
    mock.faults.failNext('error', 'error');
    await driver.listFlavors();
    assert.deepEqual(since(mock, from), [
      'GET /compute/v2.1/flavors/detail 503',
      'GET /compute/v2.1/flavors/detail 503',
      'GET /compute/v2.1/flavors/detail 200',
    ]);
    // Equal jitter: half of the exponential step plus random * half (random fixed at 0.5 here).
    assert.deepEqual(delays, [75, 150]);
  });

  it('gives up after maxAttempts with the service, path and status in the error', async () => {
    const driver = track(driverFor(mock, { sleep: recordingSleep().sleep, retry: { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 1 } }));
    await driver.listImages();
    const from = mock.requests.length;
    mock.faults.failNext('error', 'error', 'error');
    await assert.rejects(driver.listImages(), (err: unknown) => {
      assert.ok(err instanceof CloudError);
      assert.equal(err.code, 'UNAVAILABLE');
      assert.equal(err.service, 'image');
      assert.equal(err.method, 'GET');
      assert.equal(err.path, '/image/v2/images');
      assert.equal(err.status, 503);
      assert.equal(err.retryable, true);
      assert.match(err.cloudMessage, /Service Unavailable/);
      return true;
    });
    assert.equal(since(mock, from).length, 3);
  });

  it('never retries a 4xx, and reports the service’s own message', async () => {
    const driver = track(driverFor(mock));
    await driver.createFlavor(flavor('http-4xx'));
    const from = mock.requests.length;
    await assert.rejects(driver.createFlavor(flavor('http-4xx', { vcpus: 2 })), ConflictError);
    assert.equal(since(mock, from).filter((r) => r === 'POST /compute/v2.1/flavors 409').length, 1);
    const from2 = mock.requests.length;
    await assert.rejects(driver.getQuota('no-such-project'), (err: unknown) => {
      assert.ok(err instanceof CloudError);
      assert.equal(err.code, 'BAD_REQUEST');
      assert.equal(err.status, 400);
      assert.equal(err.path, '/compute/v2.1/os-quota-sets/no-such-project');
      assert.equal(err.cloudMessage, 'Project ID no-such-project is not a valid project.');
      assert.equal(err.retryable, false);
      return true;
    });
    assert.deepEqual(since(mock, from2), ['GET /compute/v2.1/os-quota-sets/no-such-project 400']);
  });

  it('sends the compute microversion to Nova and Accept: application/json to Glance', async () => {
    const driver = track(driverFor(mock));
    const from = mock.requests.length;
    await driver.listFlavors();
    await driver.listImages();
    const sent = mock.requests.slice(from);
    const nova = sent.find((r) => r.service === 'compute');
    const glance = sent.find((r) => r.service === 'image');
    assert.equal(nova?.headers['openstack-api-version'], 'compute 2.61');
    assert.match(String(glance?.headers.accept), /application\/json/);
  });

  it('renews the token after a 401 and repeats the request once', async () => {
    const driver = track(driverFor(mock));
    await driver.listFlavors();
    const issued = mock.tokens.issued;
    const from = mock.requests.length;
    mock.tokens.revokeAll();
    await driver.listFlavors();
    assert.equal(mock.tokens.issued, issued + 1);
    assert.deepEqual(since(mock, from), ['GET /compute/v2.1/flavors/detail 401', 'POST /identity/v3/auth/tokens 201', 'GET /compute/v2.1/flavors/detail 200']);
  });

  it('reports a 401 that a new token does not cure, after one repeat', async () => {
    // Tokens that are dead on arrival: every service call says 401.
    const deadTokens = await startMockCloud({ tokenTtlMs: 0 });
    const driver = driverFor(deadTokens);
    try {
      await assert.rejects(driver.listFlavors(), (err: unknown) => err instanceof CloudError && err.code === 'UNAUTHORIZED' && err.status === 401 && !err.retryable);
      assert.equal(deadTokens.requests.filter((r) => r.service === 'compute').length, 2);
    } finally {
      await driver.close();
      await deadTokens.close();
    }
  });

  it('renews the token before it expires, on its own clock', async () => {
    let now = 1_000_000;
    const driver = track(driverFor(mock, { now: () => now, tokenRenewMarginMs: 5 * 60_000 }));
    await driver.listFlavors();
    const issued = mock.tokens.issued;
    now += 54 * 60_000; // the mock's tokens live 60 min: 54 min in, still before the 5 min margin
    await driver.listFlavors();
    assert.equal(mock.tokens.issued, issued);
    now += 2 * 60_000;
    await driver.listFlavors();
    assert.equal(mock.tokens.issued, issued + 1);
  });

  it('shares one login among concurrent first calls', async () => {
    const driver = track(driverFor(mock));
    const issued = mock.tokens.issued;
    await Promise.all([driver.listFlavors(), driver.listImages(), driver.getQuota(mock.adminProjectId), driver.capabilities()]);
    assert.equal(mock.tokens.issued, issued + 1);
  });

  it('logs in with an application credential, and names it when Keystone refuses', async () => {
    const appMock = await startMockCloud({
      applicationCredentials: [{ id: 'ac-1', name: 'stackraft', secret: 's3cret', userId: 'u-1', projectId: mockProjectId('admin') }],
    });
    const env = { OS_AUTH_URL: appMock.authUrl, OS_AUTH_TYPE: 'v3applicationcredential', OS_APPLICATION_CREDENTIAL_ID: 'ac-1', OS_APPLICATION_CREDENTIAL_SECRET: 's3cret' };
    const good = createOpenStackDriver({ env });
    const bad = createOpenStackDriver({ env: { ...env, OS_APPLICATION_CREDENTIAL_SECRET: 'wrong' } });
    try {
      assert.deepEqual(await good.listFlavors(), []);
      assert.equal((await good.session.token()).projectId, appMock.adminProjectId);
      await assert.rejects(bad.listFlavors(), (err: unknown) => err instanceof CloudError && err.code === 'UNAUTHORIZED' && /application credential ac-1/.test(err.message));
    } finally {
      await good.close();
      await bad.close();
      await appMock.close();
    }
  });

  it('picks endpoints by region and interface; a missing service is reported, not guessed', async () => {
    const internal = track(driverFor(mock, { env: { ...mock.env(), OS_INTERFACE: 'internal' } }));
    assert.equal((await internal.capabilities()).hasCompute, true);
    const elsewhere = track(driverFor(mock, { env: { ...mock.env(), OS_REGION_NAME: 'Nowhere' } }));
    assert.deepEqual(await elsewhere.capabilities(), { hasCompute: false, hasImage: false, hasVolume: false, hasNetwork: false });
    await assert.rejects(elsewhere.listFlavors(), (err: unknown) => err instanceof CloudError && err.code === 'NO_ENDPOINT' && /no compute endpoint/.test(err.message));
    const quota = await elsewhere.updateQuota({ project: mock.adminProjectId, compute: { cores: 1 } });
    assert.match(quota.warnings[0], /compute limits skipped/);
  });

  it('retries a dead connection and reports it when it stays dead', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as { port: number }).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const { sleep, delays } = recordingSleep();
    const driver = track(createOpenStackDriver({ env: { ...mock.env(), OS_AUTH_URL: `http://127.0.0.1:${port}/identity/v3` }, sleep, retry: { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 2 } }));
    await assert.rejects(driver.listFlavors(), (err: unknown) => {
      assert.ok(err instanceof CloudError);
      assert.equal(err.code, 'CONNECTION');
      assert.equal(err.service, 'identity');
      assert.equal(err.status, 0);
      assert.equal(err.retryable, true);
      assert.match(err.message, /ECONNREFUSED/);
      return true;
    });
    assert.equal(delays.length, 2);
  });

  it('times out a request that hangs and retries it', async () => {
    const driver = track(driverFor(mock, { requestTimeoutMs: 300 }));
    await driver.listFlavors();
    mock.faults.set({ timeoutMs: 1500 });
    const from = mock.requests.length;
    mock.faults.failNext('timeoutBeforeApply');
    assert.ok(Array.isArray(await driver.listFlavors()));
    assert.equal(since(mock, from).filter((r) => r.startsWith('GET /compute/v2.1/flavors/detail')).length, 2);
  });

  it('finishes a flavor whose POST response was lost (applied, then timed out)', async () => {
    const driver = track(driverFor(mock, { requestTimeoutMs: 300 }));
    await driver.listFlavors();
    mock.faults.set({ timeoutMs: 1500 });
    mock.faults.failNext('timeoutAfterApply');
    const result = await driver.createFlavor(flavor('http-lost-response', { extraSpecs: { a: 'b' } }));
    assert.equal(result.resource.managed, true);
    assert.deepEqual(result.resource.extraSpecs, { a: 'b' });
    assert.match(result.warnings.join(' '), /interrupted/);
  });

  it('follows Nova and Glance paging links', async () => {
    const paged = await startMockCloud();
    const driver = createOpenStackDriver({ env: paged.env(), listPageSize: 2 });
    try {
      for (let i = 0; i < 5; i++) await driver.createFlavor(flavor(`page-${i}`));
      paged.model.createFlavor({ id: 'operator-flavor', name: 'operator-flavor', vcpus: 1, ram: 1, disk: 0, ephemeral: 0, swap: 0, rxtxFactor: 1, isPublic: false, description: null });
      assert.deepEqual((await driver.listFlavors()).map((f) => f.id), ['page-0', 'page-1', 'page-2', 'page-3', 'page-4']);
      const apis = await driver.serviceApis();
      assert.equal((await apis.compute!.listFlavors()).length, 6, 'private flavors are listed too (is_public=None)');
      for (let i = 0; i < 5; i++) {
        paged.model.createImage({ id: `00000000-0000-4000-8000-00000000000${i}`, name: `i${i}`, diskFormat: 'raw', containerFormat: 'bare', visibility: i % 2 === 0 ? 'public' : 'community', minDisk: 0, minRam: 0, protected: false, tags: [], properties: { stackraft_managed: 'true' } }, paged.adminProjectId);
      }
      assert.equal((await driver.listImages()).length, 5);
      const gets = paged.requests.filter((r) => r.method === 'GET' && r.path === '/image/v2/images');
      assert.equal(gets.length, 3);
    } finally {
      await driver.close();
      await paged.close();
    }
  });
});
