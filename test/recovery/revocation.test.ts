// Revocation with real processes: once a site's removal is applied, every member's connection gater
// refuses its peer id, although every member's config still lists it as a seed peer. The removed
// site, down during its removal, comes back on its old disk believing it is a voter: it cannot
// reconnect, and the cluster keeps its leader and term while it campaigns.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { metricValue } from '../agent/admin-http.js';
import { AgentCluster } from '../agent/cluster.js';
import { sleep } from '../agent/agent-process.js';
import { putFlavor } from '../agent/fixtures.js';

const REFUSED_CONNECTIONS_METRIC = 'stackraft_transport_connections_refused_total';

describe('a removed site is refused by every member (real agents)', { timeout: 150_000 }, () => {
  let cluster: AgentCluster;

  before(async () => {
    cluster = await AgentCluster.start({ sites: 3, prefix: 'stackraft-revoke-' });
  });

  after(async () => {
    await cluster?.destroy();
  });

  it('cannot reconnect, vote or move the term when it comes back on its old disk', { timeout: 120_000 }, async () => {
    const { leader } = await cluster.waitForLeader();
    const removed = cluster.sites.find((s) => s.name !== leader)!.name;
    const members = cluster.sites.map((s) => s.name).filter((n) => n !== removed);
    // Down while it is removed, so it never learns of it: back on its disk it still believes it is a voter.
    await cluster.kill(removed);
    const reply = await cluster.admin(leader).write('DELETE', `/v1/sites/${removed}`, {});
    assert.equal(reply.status, 200, reply.text);
    await cluster.waitFor(`every member to apply the removal of ${removed}`, async () => {
      const views = await Promise.all(members.map((n) => cluster.admin(n).status()));
      return views.every((v) => !v.members.some((m) => m.site === removed));
    });
    const before = await cluster.waitForLeader({ among: members });
    const refusedBefore = await Promise.all(members.map(async (n) => metricValue(await cluster.admin(n).metrics(), REFUSED_CONNECTIONS_METRIC) ?? 0));

    await cluster.restart(removed);
    await cluster.waitFor(`every member to refuse ${removed}'s connections`, async () => {
      const now = await Promise.all(members.map(async (n) => metricValue(await cluster.admin(n).metrics(), REFUSED_CONNECTIONS_METRIC) ?? 0));
      return now.every((count, i) => count > refusedBefore[i]);
    });
    await sleep(cluster.electionTimeoutMs * 6);
    const afterwards = await cluster.waitForLeader({ among: members });
    assert.deepEqual(afterwards, before, 'the members kept their leader and term');
    await putFlavor(cluster.admin(members[0]), 'after-revocation', 1);
    const removedView = await cluster.admin(removed).status();
    assert.notEqual(removedView.leader, afterwards.leader, `${removed} must not hear from the leader any more`);
  });
});
