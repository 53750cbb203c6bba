// Relays with real agent processes on loopback (DESIGN.md, "Relays"): five sites, three voters, two
// learners. The leader names a voter as each learner's relay and the learners keep up through it;
// kill -9 of that relay: the leader names another live voter and the learner keeps up.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { AgentCluster } from './cluster.js';
import { putFlavor, waitForFlavorEverywhere } from './fixtures.js';

const LEARNER = 'site-5';

describe('relayed replication between real agents', { timeout: 150_000 }, () => {
  let cluster: AgentCluster;

  before(async () => {
    cluster = await AgentCluster.start({ sites: 5, voters: 3, prefix: 'stackraft-e2e-relay-' });
  });

  after(async () => {
    await cluster?.destroy();
  });

  /** The relay the leader names for the learner, once it names one among `among`. */
  async function relayOf(learner: string, among: (site: string) => boolean): Promise<{ leader: string; relay: string }> {
    let found: { leader: string; relay: string } | null = null;
    let seen = 'nothing yet';
    await cluster.waitFor(() => `the leader to name a relay for ${learner} (last seen: ${seen})`, async () => {
      const { leader } = await cluster.waitForLeader({ among: cluster.running().map((s) => s.name) });
      const st = await cluster.admin(leader).status();
      const member = st.members.find((m) => m.site === learner);
      seen = `leader ${leader} term ${st.term}: ${JSON.stringify(st.members)}`;
      if (member?.role !== 'learner' || member.relay === undefined || !among(member.relay) || !member.live) return false;
      found = { leader, relay: member.relay };
      return true;
    });
    return found!;
  }

  it('a learner is fed by a voter other than the leader and keeps up', { timeout: 40_000 }, async () => {
    const { leader, relay } = await relayOf(LEARNER, () => true);
    assert.notEqual(relay, leader);
    const st = await cluster.admin(leader).status();
    assert.equal(st.members.find((m) => m.site === relay)?.role, 'voter');
    const id = `f-${randomUUID()}`;
    await putFlavor(cluster.admin(leader), id, 3);
    await waitForFlavorEverywhere(cluster, [LEARNER, 'site-4'], id, 3);
    const learnerView = await cluster.admin(LEARNER).status();
    assert.equal(learnerView.leader, leader, 'the learner names the leader, not its relay');
    const after = await cluster.admin(leader).status();
    assert.equal(after.members.find((m) => m.site === LEARNER)?.relay, relay, 'still fed by the same relay');
  });

  it('kill -9 of the relay: another voter relays and the learner keeps up', { timeout: 60_000 }, async () => {
    const { relay: dead } = await relayOf(LEARNER, () => true);
    await cluster.kill(dead);
    const { leader, relay } = await relayOf(LEARNER, (site) => site !== dead);
    assert.notEqual(relay, leader);
    const id = `f-${randomUUID()}`;
    await putFlavor(cluster.admin(leader), id, 4);
    await waitForFlavorEverywhere(cluster, [LEARNER], id, 4);
    const st = await cluster.admin(leader).status();
    assert.equal(st.members.find((m) => m.site === dead)?.live, false, 'the killed relay is seen down');
    assert.equal(st.members.find((m) => m.site === LEARNER)?.relay, relay);
  });
});
