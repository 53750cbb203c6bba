// Three real agent processes on loopback: election, replication, kill -9 of the leader and the
// killed site's catch-up, and refusal (CLI exit code 3) when a majority is gone. The tests share
// one cluster and run in order; each leaves every site running for the next, except where said.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { AgentCluster } from './cluster.js';
import { putFlavor, waitForFlavorEverywhere } from './fixtures.js';
import { runCli, type CliRun } from './run-cli.js';

/**
 * Bound given to a write expected to be refused (--timeout): far above two election timeouts,
 * so it never decides the outcome, but it keeps a wrong "unknown" answer from costing 30 s.
 */
const REFUSED_WRITE_TIMEOUT_S = '5';

describe('three agents on loopback', { timeout: 150_000 }, () => {
  let cluster: AgentCluster;

  before(async () => {
    cluster = await AgentCluster.start({ sites: 3, prefix: 'stackraft-e2e3-' });
  });

  after(async () => {
    await cluster?.destroy();
  });

  it('elects one leader, and a write sent to a follower is readable on every site', { timeout: 30_000 }, async () => {
    const { leader } = await cluster.waitForLeader();
    const follower = cluster.sites.find((s) => s.name !== leader)!.name;
    const views = await Promise.all(cluster.sites.map((s) => cluster.admin(s.name).status()));
    assert.deepEqual(views.map((v) => v.role).sort(), ['follower', 'follower', 'leader']);
    for (const v of views) assert.deepEqual(v.members.filter((m) => m.role === 'voter').map((m) => m.site).sort(), ['site-1', 'site-2', 'site-3']);

    const id = `f-${randomUUID()}`;
    await putFlavor(cluster.admin(follower), id, 2);
    await waitForFlavorEverywhere(cluster, cluster.sites.map((s) => s.name), id, 2);
  });

  it('the CLI binary: a flavor create commits (exit 0); the same id again is a CONFLICT (exit 4)', { timeout: 30_000 }, async () => {
    const id = randomUUID();
    const socket = cluster.site('site-2').socketPath;
    const args = ['flavor', 'create', `cli-${id.slice(0, 8)}`, '--id', id, '--vcpus', '3', '--ram', '1024', '--disk', '5', '-f', 'json'];
    const created = await runCli(args, { socket });
    assert.equal(created.code, 0, created.stderr);
    assert.equal(JSON.parse(created.stdout).vcpus, 3);
    await waitForFlavorEverywhere(cluster, ['site-1', 'site-3'], id, 3);
    const again = await runCli(args, { socket });
    assert.equal(again.code, 4, `stdout: ${again.stdout}\nstderr: ${again.stderr}`);
    assert.match(again.stderr, /CONFLICT/);
  });

  it('kill -9 of the leader: a new leader is elected, writes succeed, and the killed site catches up on restart', { timeout: 60_000 }, async () => {
    const before = await cluster.waitForLeader();
    await cluster.kill(before.leader);
    const survivors = cluster.running().map((s) => s.name);
    assert.equal(survivors.length, 2);
    const after = await cluster.waitForLeader({ among: survivors, notLeader: before.leader });
    assert.ok(after.term > before.term, `new term ${after.term} > ${before.term}`);

    const id = `f-${randomUUID()}`;
    const index = await putFlavor(cluster.admin(survivors[0]), id, 4);
    await cluster.restart(before.leader);
    const view = await cluster.waitForApplied(before.leader, index);
    assert.equal(view.role, 'follower');
    await waitForFlavorEverywhere(cluster, [before.leader], id, 4);
    // It rejoined as a voter the leader hears from again.
    await cluster.waitFor(`${before.leader} live at the leader`, async () => {
      const st = await cluster.admin(after.leader).status();
      return st.members.some((m) => m.site === before.leader && m.live && (m.matchIndex ?? 0) >= index);
    });
  });

  it('with both followers killed, a write at the leader is refused with exit code 3, not left to time out', { timeout: 60_000 }, async () => {
    const { leader } = await cluster.waitForLeader();
    const killed = cluster.sites.filter((s) => s.name !== leader).map((s) => s.name);
    await refusedWhenMajorityKilled(leader, killed);
  });

  it('with the leader and one follower killed, a write at the other follower is refused with exit code 3, not left to time out', { timeout: 60_000 }, async () => {
    const { leader } = await cluster.waitForLeader();
    const survivor = cluster.sites.find((s) => s.name !== leader)!.name;
    const killed = cluster.sites.filter((s) => s.name !== survivor).map((s) => s.name);
    await refusedWhenMajorityKilled(survivor, killed);
  });

  /**
   * Kills `killed` (a majority) and at once sends a write through the CLI on `survivor`. The
   * duration measured is the CLI call's, from spawn to exit.
   */
  async function refusedWhenMajorityKilled(survivor: string, killed: string[]): Promise<void> {
    await Promise.all(killed.map((name) => cluster.kill(name)));
    const id = randomUUID();
    let run: CliRun;
    try {
      run = await runCli(
        ['--timeout', REFUSED_WRITE_TIMEOUT_S, 'flavor', 'create', `refused-${id.slice(0, 8)}`, '--id', id, '--vcpus', '1', '--ram', '512', '--disk', '1'],
        { socket: cluster.site(survivor).socketPath },
      );
    } finally {
      // Whatever happened, the next test gets all three sites back.
      await Promise.all(killed.map((name) => cluster.restart(name)));
    }
    // Refused, not timed out: a write left to wait would be answered UNKNOWN (exit 5) at --timeout.
    // How soon it is refused is a figure, measured by test:partitions (in CI), not asserted here:
    // a wall-clock bound in a test fails on a loaded machine without saying anything about the code.
    assert.equal(run.code, 3, `expected exit 3 (refused), got ${run.code} after ${Math.round(run.durationMs)} ms: ${run.stderr}`);
    assert.match(run.stderr, /NO_QUORUM|NO_LEADER/);

    // Refused means absent: with the majority back, a linearizable read does not find it.
    await cluster.waitForLeader();
    let readStatus = 0;
    await cluster.waitFor(`a linearizable read of flavor ${id}`, async () => {
      readStatus = (await cluster.admin(survivor).request('GET', `/v1/resources/flavor/${id}?linearizable=true`)).status;
      return readStatus === 404 || readStatus === 200;
    });
    assert.equal(readStatus, 404, 'the refused write is not in the catalog');
  }
});
