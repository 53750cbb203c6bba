// The daemon's driver from config: a mock cloud URL is spoken to over HTTP by the real OpenStack
// driver (and the reconciler converges it), no URL gives an in-process cloud, none gives nothing,
// and a bad clouds.yaml is an error naming the file before anything starts.
import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { putOp } from '../../agent/catalog/index.js';
import { Reconciler, cloudDriverFromConfig } from '../../agent/reconciler/index.js';
import { CloudConfigError, MemoryCloud, OpenStackDriver, startMockCloud } from '../../drivers/index.js';
import { Harness, siteSpec } from '../catalog/helpers.js';
import { flavorSpec } from './fixture.js';

const refClock = {
  now: () => performance.now(),
  setTimer(delayMs: number, callback: () => void) {
    const timer = setTimeout(callback, delayMs);
    return { cancel: () => clearTimeout(timer) };
  },
};

describe('cloud driver from the agent config', () => {
  it('type mock with a url: the OpenStack driver over HTTP as admin/admin, and a reconciler converges that mock cloud', { timeout: 20_000 }, async () => {
    const mock = await startMockCloud();
    const driver = cloudDriverFromConfig({ type: 'mock', url: mock.url });
    assert.ok(driver instanceof OpenStackDriver);
    const h = new Harness();
    h.write(putOp('site', 'paris', siteSpec('paris', 1)), putOp('flavor', 'f1', flavorSpec({ isPublic: false, accessProjects: [mock.serviceProjectId, mock.adminProjectId] })));
    const reconciler = new Reconciler({
      site: 'paris',
      driver,
      catalog: h.catalog,
      clock: refClock,
      report: async (reports, digest) => void h.reportWithDigest(digest, ...reports),
    });
    try {
      reconciler.start();
      for (let i = 0; i < 100 && h.catalog.syncStatus({ site: 'paris' })[0]?.state !== 'in-sync'; i++) await new Promise((r) => setTimeout(r, 50));
      assert.equal(h.catalog.syncStatus({ site: 'paris' })[0]?.state, 'in-sync');
      assert.equal(mock.model.getFlavor('f1').vcpus, 1, 'the flavor is in the mock cloud');
      assert.deepEqual(mock.model.listFlavorAccess('f1'), [mock.adminProjectId, mock.serviceProjectId].sort(), 'with its project access (os-flavor-access)');
      assert.ok(mock.requests.some((r) => r.service === 'compute' && r.method === 'POST' && r.path.endsWith('/flavors/f1/action')));
      assert.ok(mock.requests.some((r) => r.service === 'identity' && r.method === 'POST'), 'authenticated with Keystone');
      assert.ok(mock.requests.some((r) => r.service === 'compute' && r.method === 'POST' && r.path.endsWith('/flavors')));
    } finally {
      await reconciler.stop();
      await driver.close();
      await mock.close();
    }
  });

  it('type mock without a url is an in-process MemoryCloud; type none is no driver', () => {
    assert.ok(cloudDriverFromConfig({ type: 'mock' }) instanceof MemoryCloud);
    assert.equal(cloudDriverFromConfig({ type: 'none' }), undefined);
  });

  it('type openstack reads clouds.yaml by name (with the config region and interface), and names the file and field when it is wrong', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sr-clouds-'));
    try {
      const path = join(dir, 'clouds.yaml');
      writeFileSync(path, 'clouds:\n  lab:\n    auth:\n      auth_url: http://127.0.0.1:5000/v3\n      username: admin\n      password: secret\n      project_name: admin\n      user_domain_name: Default\n      project_domain_name: Default\n    region_name: RegionOne\n');
      const driver = cloudDriverFromConfig({ type: 'openstack', cloud: 'lab', cloudsYaml: path, interface: 'internal', region: 'RegionTwo' });
      assert.ok(driver instanceof OpenStackDriver);
      assert.equal(driver.config.interface, 'internal');
      assert.equal(driver.config.regionName, 'RegionTwo');
      assert.equal(driver.config.auth.username, 'admin');
      void driver.close();
      assert.throws(
        () => cloudDriverFromConfig({ type: 'openstack', cloud: 'nope', cloudsYaml: path, interface: 'public' }),
        (err: unknown) => err instanceof CloudConfigError && err.message.includes(path) && err.message.includes('clouds.nope'),
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
