// Two clusters, one cloud, with real agent processes: cluster alpha and cluster beta (one site
// each) manage the same mock OpenStack cloud through the OpenStack driver over HTTP. Each marks what
// it creates with its cluster id; an audit (at every agent start) never deletes the other's flavor,
// nor one marked by an older release that no catalog names; a catalog id taken by the other
// cluster's flavor is reported as an error naming that cluster, and nothing of it changes.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startMockCloud, type MockCloud } from '../../drivers/index.js';
import { AgentCluster } from './cluster.js';
import { runCli } from './run-cli.js';

const WAIT_MS = 30_000;

describe('two clusters sharing one cloud (real agents, mock OpenStack over HTTP)', { timeout: 180_000 }, () => {
  let cloud: MockCloud;
  let alpha: AgentCluster;
  let beta: AgentCluster;

  before(async () => {
    cloud = await startMockCloud();
    // What an older release left: the managed marker, no cluster id.
    cloud.model.createFlavor({ id: 'legacy-unnamed', name: 'm1.legacy', vcpus: 1, ram: 128, disk: 0, ephemeral: 0, swap: 0, rxtxFactor: 1, isPublic: true, description: null });
    cloud.model.setExtraSpecs('legacy-unnamed', { 'stackraft:managed': 'true' });
    alpha = await AgentCluster.start({ sites: 1, clusterId: 'alpha', sharedCloudUrl: cloud.url, prefix: 'stackraft-alpha-' });
    beta = await AgentCluster.start({ sites: 1, clusterId: 'beta', sharedCloudUrl: cloud.url, prefix: 'stackraft-beta-' });
  });

  after(async () => {
    await alpha?.destroy();
    await beta?.destroy();
    await cloud?.close();
  });

  const flavor = (id: string) => cloud.model.listFlavors().find((f) => f.id === id);

  async function createFlavor(cluster: AgentCluster, id: string, name: string): Promise<void> {
    const run = await runCli(['flavor', 'create', name, '--id', id, '--vcpus', '1', '--ram', '256', '--disk', '1'], { socket: cluster.sites[0].socketPath });
    assert.equal(run.code, 0, run.stderr);
  }

  async function syncEntry(cluster: AgentCluster, kind: string, id: string): Promise<{ state: string; message?: string } | undefined> {
    const reply = await cluster.admin(cluster.sites[0].name).request('GET', '/v1/sync');
    const site = (reply.json.sites as Array<{ resources: Array<{ kind: string; id: string; state: string; message?: string }> }>)[0];
    return site?.resources.find((r) => r.kind === kind && r.id === id);
  }

  it('each cluster marks its flavors with its own id', async () => {
    await createFlavor(alpha, 'fa', 'm1.alpha');
    await createFlavor(beta, 'fb', 'm1.beta');
    await alpha.waitFor('both flavors in sync', async () => (await syncEntry(alpha, 'flavor', 'fa'))?.state === 'in-sync' && (await syncEntry(beta, 'flavor', 'fb'))?.state === 'in-sync', WAIT_MS);
    assert.equal(flavor('fa')?.extraSpecs['stackraft:cluster'], 'alpha');
    assert.equal(flavor('fb')?.extraSpecs['stackraft:cluster'], 'beta');
    assert.equal(flavor('fa')?.extraSpecs['stackraft:managed'], 'true');
  });

  it("a restarted agent's audit deletes neither the other cluster's flavor nor an unnamed legacy one", async () => {
    for (const cluster of [alpha, beta]) {
      const name = cluster.sites[0].name;
      await cluster.kill(name);
      await cluster.restart(name);
      await cluster.waitForLeader();
    }
    // The audit at start has run once both report their own flavor in sync again after the restart.
    await alpha.waitFor('alpha in sync after its restart', async () => (await syncEntry(alpha, 'flavor', 'fa'))?.state === 'in-sync', WAIT_MS);
    await beta.waitFor('beta in sync after its restart', async () => (await syncEntry(beta, 'flavor', 'fb'))?.state === 'in-sync', WAIT_MS);
    await new Promise((resolve) => setTimeout(resolve, 2_000)); // room for a wrong removal to happen
    assert.equal(flavor('fb')?.extraSpecs['stackraft:cluster'], 'beta', "alpha's audit left beta's flavor alone");
    assert.equal(flavor('fa')?.extraSpecs['stackraft:cluster'], 'alpha', "beta's audit left alpha's flavor alone");
    assert.deepEqual(flavor('legacy-unnamed')?.extraSpecs, { 'stackraft:managed': 'true' }, 'no cluster claims a legacy flavor its catalog does not name');
  });

  it("a catalog id taken by the other cluster's flavor is an error naming that cluster; nothing changes", async () => {
    await createFlavor(alpha, 'fb', 'm1.wants-fb');
    await alpha.waitFor('an error for fb on alpha', async () => (await syncEntry(alpha, 'flavor', 'fb'))?.state === 'error', WAIT_MS);
    assert.match((await syncEntry(alpha, 'flavor', 'fb'))?.message ?? '', /another stackraft cluster, "beta"/);
    assert.equal(flavor('fb')?.name, 'm1.beta');
    assert.equal(flavor('fb')?.extraSpecs['stackraft:cluster'], 'beta');
  });
});
