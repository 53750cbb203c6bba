// The driver contract for the OpenStack driver talking HTTP to the mock cloud: the same suite as
// MemoryCloud, so both behave alike (and the mock behaves like the lab, see test/openstack/).
import { createOpenStackDriver, startMockCloud } from '../../drivers/index.js';
import { runDriverContract } from './contract.js';
import { apisOutOfBand } from './out-of-band.js';
import { startSourceServer } from './source-server.js';

for (const withNetwork of [false, true]) {
  runDriverContract(`OpenStackDriver over the mock cloud (${withNetwork ? 'with' : 'without'} Neutron)`, async () => {
    const source = await startSourceServer();
    const mock = await startMockCloud({ withNetwork });
    const driver = createOpenStackDriver({ env: mock.env(), retry: { baseDelayMs: 5, maxDelayMs: 20 } });
    return {
      driver,
      source,
      projectA: mock.adminProjectId,
      projectB: mock.serviceProjectId,
      outOfBand: apisOutOfBand(await driver.serviceApis()),
      hasNetwork: withNetwork,
      close: async () => {
        await driver.close();
        await mock.close();
        await source.close();
      },
    };
  });
}
