// Recovery from a lost majority with real processes: 5 sites under a write load, 3 killed for good,
// `stackraft recover --force-new-cluster` on the most up-to-date survivor, the other survivor and a
// new site added back. Every write the recovered survivor had applied is still there, and members
// of the old cluster that come back with their old disks are refused (a killed site: not a member;
// the re-added survivor with its old disk: "different cluster incarnation") without disturbing the
// new cluster's leader or term.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { writeClusterIncarnation } from '../../agent/recovery/incarnation.js';
import { metricValue } from '../agent/admin-http.js';
import { AgentCluster, CLUSTER_ID, CLUSTER_WAIT_MS } from '../agent/cluster.js';
import { flavorSpec } from '../agent/fixtures.js';
import { sleep } from '../agent/agent-process.js';
import { runCli } from '../agent/run-cli.js';
import { handMadeSite, writeSiteConfig } from './helpers.js';

const BAD_FRAMES_METRIC = 'stackraft_transport_bad_frames_total';
const REFUSED_CONNECTIONS_METRIC = 'stackraft_transport_connections_refused_total';
/** Writes acknowledged before the kill, at least. */
const WRITES_BEFORE_KILL = 30;

describe('recovery from a lost majority (real agents)', { timeout: 300_000 }, () => {
  let cluster: AgentCluster;
  let survivors: string[] = [];
  let recovered = '';
  let rejoined = '';
  const appliedBySurvivor = new Map<string, Set<string>>();

  before(async () => {
    cluster = await AgentCluster.start({ sites: 5, prefix: 'stackraft-recover-' });
  });

  after(async () => {
    await cluster?.destroy();
  });

  async function flavorIds(site: string): Promise<Set<string>> {
    const reply = await cluster.admin(site).request('GET', '/v1/resources/flavor');
    assert.equal(reply.status, 200, reply.text);
    return new Set((reply.json.items as Array<{ id: string }>).map((f) => f.id));
  }

  it('3 of 5 sites are killed for good under a write load: the survivors refuse writes', { timeout: 90_000 }, async () => {
    const { leader } = await cluster.waitForLeader();
    const killed = [leader, ...cluster.sites.map((s) => s.name).filter((n) => n !== leader).slice(0, 2)];
    survivors = cluster.sites.map((s) => s.name).filter((n) => !killed.includes(n));
    let acknowledged = 0;
    let stop = false;
    const load = (async () => {
      for (let i = 0; !stop; i++) {
        const id = `load-${i}-${randomUUID().slice(0, 8)}`;
        const reply = await cluster.admin(survivors[i % 2]).write('PUT', `/v1/resources/flavor/${id}`, { spec: flavorSpec(id) }, 3_000).catch(() => null);
        if (reply?.status === 200) acknowledged++;
        else await sleep(50);
      }
    })();
    await cluster.waitFor(`${WRITES_BEFORE_KILL} acknowledged writes`, async () => acknowledged >= WRITES_BEFORE_KILL, 60_000);
    await Promise.all(killed.map((name) => cluster.kill(name)));
    await sleep(2_000);
    stop = true;
    await load;
    const refused = await cluster.admin(survivors[0]).write('PUT', '/v1/resources/flavor/after-kill', { spec: flavorSpec('after-kill') }, 3_000);
    assert.notEqual(refused.status, 200, 'a write without a quorum must not commit');
    for (const name of survivors) appliedBySurvivor.set(name, await flavorIds(name));
    await Promise.all(survivors.map((name) => cluster.kill(name, 'SIGTERM')));
  });

  it('recover --force-new-cluster names what may be lost and needs the site name to go ahead', { timeout: 60_000 }, async () => {
    const positions: Array<{ name: string; index: number; term: number }> = [];
    for (const name of survivors) {
      const dry = await runCli(['recover', '--force-new-cluster', '--config', cluster.site(name).configPath]);
      assert.equal(dry.code, 2, dry.stderr);
      const match = /last log index (\d+), term (\d+)/.exec(dry.stdout);
      assert.ok(match, dry.stdout);
      assert.match(dry.stdout, /MAY BE LOST: every entry after index \d+ \(term \d+\) that the lost sites committed/);
      assert.match(dry.stderr, /not confirmed; nothing was changed/);
      positions.push({ name, index: Number(match[1]), term: Number(match[2]) });
    }
    // The most up-to-date log, as Raft compares them: the last term first, then the last index.
    positions.sort((a, b) => b.term - a.term || b.index - a.index);
    recovered = positions[0].name;
    rejoined = positions[1].name;
    const wrong = await runCli(['recover', '--force-new-cluster', '--config', cluster.site(recovered).configPath, '--confirm', rejoined]);
    assert.equal(wrong.code, 1);
    assert.match(wrong.stderr, /--confirm names/);
    const done = await runCli(['recover', '--force-new-cluster', '--config', cluster.site(recovered).configPath, '--confirm', recovered]);
    assert.equal(done.code, 0, done.stderr);
    assert.match(done.stdout, new RegExp(`done: ${recovered} is the only voter of cluster ${CLUSTER_ID}, incarnation [0-9a-f]{32}, at index ${positions[0].index}`));
  });

  it('the recovered survivor leads a one-voter cluster holding every write it had applied', { timeout: 60_000 }, async () => {
    await cluster.restart(recovered);
    await cluster.waitForLeader({ among: [recovered] });
    const status = (await cluster.admin(recovered).status()) as unknown as { incarnation: string; members: Array<{ site: string; role: string }> };
    assert.deepEqual(status.members.map((m) => [m.site, m.role]), [[recovered, 'voter']]);
    const now = await flavorIds(recovered);
    const missing = [...appliedBySurvivor.get(recovered)!].filter((id) => !now.has(id));
    assert.deepEqual(missing, [], 'writes the survivor had applied are gone');
    assert.ok(now.size >= WRITES_BEFORE_KILL - 5, `only ${now.size} flavors survived`);
    const reply = await cluster.admin(recovered).write('PUT', '/v1/resources/flavor/after-recovery', { spec: flavorSpec('after-recovery') });
    assert.equal(reply.status, 200, reply.text);
  });

  it('the other survivor (fresh store) and a new site join the new cluster', { timeout: 90_000 }, async () => {
    const { incarnation } = (await cluster.admin(recovered).status()) as unknown as { incarnation: string };
    const old = cluster.site(rejoined);
    await rename(join(old.dataDir, 'raft'), join(old.dataDir, 'raft.old-disk'));
    await writeClusterIncarnation(old.dataDir, incarnation, 'join');
    const fresh = await handMadeSite(cluster.dir, 'site-6');
    const recoveredSite = cluster.site(recovered);
    await writeClusterIncarnation(fresh.site.dataDir, incarnation, 'join');
    await fresh.writeConfig({ clusterId: CLUSTER_ID, peers: [{ site: recovered, addr: recoveredSite.addr }] });
    for (const site of [old, fresh.site]) {
      const reply = await cluster.admin(recovered).write('POST', '/v1/sites', { name: site.name, peerId: site.peerId, addrs: [`/ip4/127.0.0.1/tcp/${site.port}`], region: 'eu-west', country: 'IE', labels: {} });
      assert.equal(reply.status, 200, reply.text);
    }
    cluster.sites.push(fresh.site);
    await cluster.restart(rejoined);
    await fresh.site.start(false, CLUSTER_WAIT_MS);
    const expected = await flavorIds(recovered);
    for (const name of [rejoined, 'site-6']) {
      await cluster.waitFor(`${name} to hold the recovered catalog`, async () => (await flavorIds(name)).size === expected.size);
    }
    await cluster.waitFor('three voters', async () => (await cluster.admin(recovered).status()).members.filter((m) => m.role === 'voter').length === 3);
  });

  it('old members back with their old disks are refused and cannot disturb the new cluster', { timeout: 90_000 }, async () => {
    const before = await cluster.waitForLeader({ among: [recovered, 'site-6'] });
    const killedSite = cluster.sites.find((s) => !survivors.includes(s.name) && s.name !== 'site-6')!;
    // A killed site restarts on its old disk: its peer id is no member of the new cluster.
    await killedSite.start(false, CLUSTER_WAIT_MS);
    // The re-added survivor comes back with its OLD disk: a member's peer id, an old incarnation.
    const old = cluster.site(rejoined);
    await old.kill('SIGTERM');
    await rm(join(old.dataDir, 'raft'), { recursive: true });
    await rename(join(old.dataDir, 'raft.old-disk'), join(old.dataDir, 'raft'));
    await rm(join(old.dataDir, 'cluster-incarnation.json'));
    await old.start(false, CLUSTER_WAIT_MS);
    await cluster.waitFor('frames of the old incarnation to be refused', async () => {
      const text = await cluster.admin(recovered).metrics();
      return (metricValue(text, BAD_FRAMES_METRIC, { reason: 'wrongIncarnation' }) ?? 0) > 0 && (metricValue(text, REFUSED_CONNECTIONS_METRIC) ?? 0) > 0;
    });
    // Several election timeouts in which the old members campaign with their old terms.
    await sleep(cluster.electionTimeoutMs * 6);
    const afterwards = await cluster.waitForLeader({ among: [recovered, 'site-6'] });
    assert.deepEqual(afterwards, before, 'the new cluster kept its leader and term');
    const reply = await cluster.admin(recovered).write('PUT', '/v1/resources/flavor/still-writable', { spec: flavorSpec('still-writable') });
    assert.equal(reply.status, 200, reply.text);
    // The refusal is logged where it happened, with the reason an operator can act on.
    assert.match(await readFile(cluster.site(recovered).logPath, 'utf8'), /different cluster incarnation: the frame is from incarnation original \(none\)/);
  });
});
