// The driver contract against the real OpenStack lab (Keystone, Glance, Nova, Cinder from
// ../shared/openstack/up.sh). Runs only via `npm run test:openstack`, which starts the lab and
// exports its OS_* variables; without them the suite is skipped with a message saying so.
import { request } from 'undici';
import { createOpenStackDriver, type OpenStackDriver } from '../../drivers/index.js';
import { runDriverContract } from '../drivers/contract.js';
import { apisOutOfBand } from '../drivers/out-of-band.js';
import { startSourceServer } from '../drivers/source-server.js';

const skip = process.env.OS_AUTH_URL
  ? undefined
  : 'OS_AUTH_URL is not set: run `npm run test:openstack` (it starts the lab with scripts/openstack-test.sh), or eval "$(../shared/openstack/up.sh)" first';

/** The id of a second Keystone project (the lab's `service` project; OS_TEST_SECOND_PROJECT names another). */
async function secondProjectId(driver: OpenStackDriver): Promise<string> {
  const name = process.env.OS_TEST_SECOND_PROJECT ?? 'service';
  const token = await driver.session.token();
  const url = `${process.env.OS_AUTH_URL!.replace(/\/+$/, '').replace(/\/v3$/, '')}/v3/projects?name=${encodeURIComponent(name)}`;
  const res = await request(url, { headers: { 'X-Auth-Token': token.value, Accept: 'application/json' } });
  const body = (await res.body.json()) as { projects?: Array<{ id: string }> };
  const id = body.projects?.[0]?.id;
  if (id === undefined) throw new Error(`Keystone has no project named ${name} (set OS_TEST_SECOND_PROJECT to an existing one)`);
  return id;
}

runDriverContract(
  'OpenStackDriver against the real OpenStack lab',
  async () => {
    const source = await startSourceServer();
    const driver = createOpenStackDriver({ env: process.env });
    const token = await driver.session.token();
    return {
      driver,
      source,
      projectA: token.projectId,
      projectB: await secondProjectId(driver),
      outOfBand: apisOutOfBand(await driver.serviceApis()),
      hasNetwork: (await driver.capabilities()).hasNetwork,
      close: async () => {
        await driver.close();
        await source.close();
      },
    };
  },
  { skip },
);
