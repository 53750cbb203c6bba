// Joining with one token, real processes: `site add NAME --token` on a member prints a token,
// `init --join TOKEN` writes the new site's config, key and incarnation, and its agent joins as a
// learner (then is promoted) with nothing edited by hand, redeeming the token through the log.
// A reused token (another machine set up from it at the site's address) stops at redemption; an expired one is refused
// by init and, past its expiry, by the agent and the members (the leader never reaches it); a foreign or damaged one by init.
import assert from 'node:assert/strict';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { AgentProcess, sleep } from '../agent/agent-process.js';
import { AgentCluster, CLUSTER_WAIT_MS, freePort } from '../agent/cluster.js';
import { putFlavor } from '../agent/fixtures.js';
import { runCli } from '../agent/run-cli.js';

describe('join with one token (real agents)', { timeout: 240_000 }, () => {
  let cluster: AgentCluster;
  let leaderSocket = '';
  /** The token site-4 joined with, used again by mistake in the second test. */
  let firstToken = '';

  before(async () => {
    cluster = await AgentCluster.start({ sites: 3, prefix: 'stackraft-join-' });
    const { leader } = await cluster.waitForLeader();
    leaderSocket = cluster.site(leader).socketPath;
    await putFlavor(cluster.admin(leader), 'before-join', 1);
  });

  after(async () => {
    await cluster?.destroy();
  });

  async function mintToken(name: string, port: number, ttl?: string): Promise<string> {
    const run = await runCli(['site', 'add', name, '--token', '--addr', `/ip4/127.0.0.1/tcp/${port}`, '--region', 'eu-west', '--country', 'ie', ...(ttl ? ['--ttl', ttl] : [])], { socket: leaderSocket });
    assert.equal(run.code, 0, run.stderr);
    const token = run.stdout.trim();
    assert.match(token, /^stackraft-join-1\./);
    return token;
  }

  /** `init --join` into a new site directory; the AgentProcess for it (not started) and the CLI run. */
  async function initFromToken(name: string, dirName: string, port: number, token: string): Promise<{ site: AgentProcess; code: number | null; stderr: string }> {
    const dir = join(cluster.dir, dirName);
    await mkdir(dir, { recursive: true });
    const site = new AgentProcess({ name, dir, port, peerId: 'from-token' });
    const run = await runCli(['init', '--join', token, '--config', site.configPath, '--data-dir', site.dataDir, '--admin-socket', site.socketPath, '--listen', `/ip4/127.0.0.1/tcp/${port}`, '-f', 'json']);
    if (run.code === 0) cluster.sites.push(site);
    return { site, code: run.code, stderr: run.stderr };
  }

  async function waitForExit(site: AgentProcess): Promise<void> {
    await cluster.waitFor(`${site.name} (${site.dir}) to stop`, async () => !site.running, 30_000);
  }

  it('a site set up with init --join joins, is promoted, holds the catalog, and redeems the token', { timeout: 90_000 }, async () => {
    const port = await freePort();
    const token = await mintToken('site-4', port);
    firstToken = token;
    const { site, code, stderr } = await initFromToken('site-4', 'site-4', port, token);
    assert.equal(code, 0, stderr);
    await site.start(false, CLUSTER_WAIT_MS);
    await cluster.waitFor('site-4 to be a voter', async () => (await cluster.admin('site-1').status()).members.some((m) => m.site === 'site-4' && m.role === 'voter'));
    await cluster.waitFor('site-4 to hold the catalog', async () => (await cluster.admin('site-4').request('GET', '/v1/resources/flavor/before-join')).status === 200);
    await cluster.waitFor('the token to be redeemed', async () => JSON.parse(await readFile(join(site.dataDir, 'join.json'), 'utf8')).redeemed === true);
    const record = await cluster.admin('site-1').request('GET', '/v1/resources/site/site-4');
    const local = JSON.parse(await readFile(join(site.dataDir, 'join.json'), 'utf8'));
    assert.equal(record.json.resource.spec.join.redeemedBy, local.nonce);
  });

  it('the same token used again on a replacement machine (same address) is refused at redemption', { timeout: 90_000 }, async () => {
    const record = await cluster.admin('site-1').request('GET', '/v1/resources/site/site-4');
    const first = cluster.site('site-4');
    // The first machine is gone; the operator sets up another at its address from the old token.
    await first.kill('SIGTERM');
    const second = await initFromToken('site-4', 'site-4-copy', first.port, firstToken);
    assert.equal(second.code, 0, second.stderr);
    await second.site.start(false, CLUSTER_WAIT_MS);
    await waitForExit(second.site);
    assert.match(await second.site.logTail(), /this join token was already used by another site \(redeemed through the log as [0-9a-f]{32}\)/);
    const after = await cluster.admin('site-1').request('GET', '/v1/resources/site/site-4');
    assert.equal(after.json.resource.spec.join.redeemedBy, record.json.resource.spec.join.redeemedBy, 'the refused copy changed nothing');
    await first.start(false, CLUSTER_WAIT_MS);
    await cluster.waitFor('site-4 back in step', async () => (await cluster.admin('site-4').status()).leader !== null);
    await putFlavor(cluster.admin('site-4'), 'after-reuse', 2);
  });

  it('an expired token is refused by init, and by the members and the agent when redeemed too late', { timeout: 120_000 }, async () => {
    const port = await freePort();
    const short = await mintToken('site-5', port, '2s');
    await sleep(2_500);
    const late = await initFromToken('site-5', 'site-5-late', port, short);
    assert.equal(late.code, 1);
    assert.match(late.stderr, /the join token expired at/);

    const port6 = await freePort();
    const token = await mintToken('site-6', port6, '20s');
    const early = await initFromToken('site-6', 'site-6', port6, token);
    assert.equal(early.code, 0, early.stderr);
    const { expiresAt } = JSON.parse(await readFile(join(early.site.dataDir, 'join.json'), 'utf8')) as { expiresAt: number };
    await sleep(Math.max(0, expiresAt - Date.now()) + 500);
    await early.site.start(false, CLUSTER_WAIT_MS);
    await waitForExit(early.site);
    assert.match(await early.site.logTail(), /the join token expired at .* before this site redeemed it/);
    // An agent that skips its own check (its join state says redeemed) gets nothing from the
    // members: they no longer admit its peer id, so the leader never reaches it while it replicates.
    const state = JSON.parse(await readFile(join(early.site.dataDir, 'join.json'), 'utf8'));
    await writeFile(join(early.site.dataDir, 'join.json'), JSON.stringify({ ...state, redeemed: true }));
    await early.site.start(false, CLUSTER_WAIT_MS);
    for (let i = 0; i < 5; i++) {
      await putFlavor(cluster.admin('site-1'), `while-expired-${i}`, 1);
      await sleep(cluster.electionTimeoutMs);
    }
    const view = await cluster.admin('site-6').status();
    assert.equal(view.appliedIndex, 0, 'the expired site received entries');
    assert.equal(view.leader, null);
  });

  it('a foreign or damaged token is refused by init, changing nothing', { timeout: 60_000 }, async () => {
    const port = await freePort();
    const token = await mintToken('site-7', port);
    const dir = join(cluster.dir, 'foreign');
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'agent.yaml'), 'clusterId: another-cluster\n');
    const foreign = await runCli(['init', '--join', token, '--config', join(dir, 'agent.yaml'), '--data-dir', join(dir, 'data')]);
    assert.equal(foreign.code, 1);
    assert.match(foreign.stderr, /is the config of cluster another-cluster, and the token is for cluster stackraft-e2e: a foreign token/);
    const damaged = await runCli(['init', '--join', `${token.slice(0, 40)}xyz`, '--config', join(dir, 'other.yaml'), '--data-dir', join(dir, 'data')]);
    assert.equal(damaged.code, 1);
    assert.match(damaged.stderr, /join token is damaged|not a stackraft join token/);
    const garbage = await runCli(['init', '--join', 'hello', '--config', join(dir, 'other.yaml'), '--data-dir', join(dir, 'data')]);
    assert.equal(garbage.code, 1);
    assert.match(garbage.stderr, /not a stackraft join token/);
  });
});
