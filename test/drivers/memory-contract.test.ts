// The driver contract against MemoryCloud (no HTTP at all).
import { CloudModel, MemoryCloud } from '../../drivers/index.js';
import { runDriverContract } from './contract.js';
import { modelOutOfBand } from './out-of-band.js';
import { startSourceServer, testSourceFetcher } from './source-server.js';

runDriverContract('MemoryCloud', async () => {
  const source = await startSourceServer();
  const model = new CloudModel({ requireKnownProjects: true, projects: { 'project-a': 'a', 'project-b': 'b' } });
  const driver = new MemoryCloud({ model, fetchSource: testSourceFetcher });
  return {
    driver,
    source,
    projectA: 'project-a',
    projectB: 'project-b',
    outOfBand: modelOutOfBand(model, 'admin'),
    hasNetwork: true,
    close: async () => {
      await driver.close();
      await source.close();
    },
  };
});
