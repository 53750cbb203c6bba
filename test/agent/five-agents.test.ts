// Five real agent processes on loopback: election and replication to every site, the sites'
// self-registration, a protection-group write refused with PEER_UNREACHABLE (HTTP and CLI exit
// code 3) while its secondary site is stopped, and kill -9 of the leader with catch-up. One
// cluster, tests in order, each leaving every site running for the next.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { AgentCluster } from './cluster.js';
import { errorCodeOf, PROJECT, protectionGroupSpec, putFlavor, waitForFlavorEverywhere } from './fixtures.js';
import { runCli } from './run-cli.js';

describe('five agents on loopback', { timeout: 150_000 }, () => {
  let cluster: AgentCluster;
  const names = () => cluster.sites.map((s) => s.name);

  before(async () => {
    cluster = await AgentCluster.start({ sites: 5, prefix: 'stackraft-e2e5-' });
  });

  after(async () => {
    await cluster?.destroy();
  });

  it('elects one leader with five voters, and a write replicates to every site', { timeout: 30_000 }, async () => {
    const { leader } = await cluster.waitForLeader();
    const st = await cluster.admin(leader).status();
    assert.deepEqual(st.members.filter((m) => m.role === 'voter').map((m) => m.site).sort(), names());
    const follower = names().find((n) => n !== leader)!;
    const id = `f-${randomUUID()}`;
    await putFlavor(cluster.admin(follower), id, 5);
    await waitForFlavorEverywhere(cluster, names(), id, 5);
  });

  it('every site registered itself in the catalog with its peer id', { timeout: 30_000 }, async () => {
    await cluster.waitFor('five site records with the agents\' peer ids', async () => {
      const reply = await cluster.admin('site-5').request('GET', '/v1/resources/site');
      if (reply.status !== 200) return false;
      const byName = new Map<string, string>(reply.json.items.map((r: { id: string; spec: { peerId: string } }) => [r.id, r.spec.peerId]));
      return cluster.sites.every((s) => byName.get(s.name) === s.peerId);
    });
  });

  it('a protection-group write is refused with PEER_UNREACHABLE while its secondary site is stopped', { timeout: 60_000 }, async () => {
    const { leader } = await cluster.waitForLeader();
    const [primary, secondary, via] = names().filter((n) => n !== leader);

    // The same spec commits while both sites are up: the refusal below is about reachability.
    const ok = await cluster.admin(via).write('PUT', '/v1/resources/protection-group/pg0', { spec: protectionGroupSpec('pg0', primary, secondary) });
    assert.equal(ok.status, 200, ok.text);

    await cluster.kill(secondary, 'SIGTERM');
    try {
      await cluster.waitFor(`the leader to see ${secondary} as not live`, async () => {
        const st = await cluster.admin(leader).status();
        return st.members.some((m) => m.site === secondary && !m.live);
      });
      const refused = await cluster.admin(via).write('PUT', '/v1/resources/protection-group/pg1', { spec: protectionGroupSpec('pg1', primary, secondary) });
      assert.equal(refused.status, 503, refused.text);
      assert.equal(errorCodeOf(refused), 'PEER_UNREACHABLE');
      assert.match(refused.json.error.message, new RegExp(secondary));

      const cli = await runCli(
        ['protection-group', 'create', 'pg2', '--project', PROJECT, '--primary', primary, '--secondary', secondary, '--replication', 'async', '--volume-type', 'replicated-ssd'],
        { socket: cluster.site(via).socketPath },
      );
      assert.equal(cli.code, 3, `stdout: ${cli.stdout}\nstderr: ${cli.stderr}`);
      assert.match(cli.stderr, /PEER_UNREACHABLE/);

      // Writes that do not name the stopped site still commit, and the refused ones are absent.
      await putFlavor(cluster.admin(via), `f-${randomUUID()}`);
      for (const id of ['pg1', 'pg2']) {
        const read = await cluster.admin(leader).request('GET', `/v1/resources/protection-group/${id}?linearizable=true`);
        assert.equal(read.status, 404, `${id}: ${read.text}`);
      }
    } finally {
      await cluster.restart(secondary);
    }
    // Once the secondary is back, the same write commits.
    await cluster.waitFor(`pg1 to commit with ${secondary} back`, async () => {
      const reply = await cluster.admin(via).write('PUT', '/v1/resources/protection-group/pg1', { spec: protectionGroupSpec('pg1', primary, secondary) });
      return reply.status === 200;
    });
  });

  it('kill -9 of the leader: a new leader is elected, writes succeed, and the killed site catches up on restart', { timeout: 60_000 }, async () => {
    const before = await cluster.waitForLeader();
    await cluster.kill(before.leader);
    const survivors = cluster.running().map((s) => s.name);
    assert.equal(survivors.length, 4);
    const after = await cluster.waitForLeader({ among: survivors, notLeader: before.leader });
    assert.ok(after.term > before.term, `new term ${after.term} > ${before.term}`);

    const id = `f-${randomUUID()}`;
    const index = await putFlavor(cluster.admin(survivors[survivors.length - 1]), id, 6);
    await waitForFlavorEverywhere(cluster, survivors, id, 6);
    await cluster.restart(before.leader);
    const view = await cluster.waitForApplied(before.leader, index);
    assert.equal(view.role, 'follower');
    await waitForFlavorEverywhere(cluster, [before.leader], id, 6);
  });
});
