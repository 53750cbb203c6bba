// Joining with one token, real processes: `site add NAME --token` on a member prints a token that
// holds no key, `init --join TOKEN` makes the new site's own key and writes its config and
// incarnation, and its agent redeems the token through the log over the join protocol (the one
// exchange the members' gaters let a stranger have), is added as a learner, then promoted, with
// nothing edited by hand. A reused or stolen token is refused at redemption and gets nothing; an
// expired one is refused by the log (the leader's time in the redemption's entry); a foreign, damaged
// or format-1 token by init.
import assert from 'node:assert/strict';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { metricValue } from '../agent/admin-http.js';
import { AgentProcess, sleep } from '../agent/agent-process.js';
import { AgentCluster, CLUSTER_WAIT_MS, freePort } from '../agent/cluster.js';
import { putFlavor } from '../agent/fixtures.js';
import { runCli } from '../agent/run-cli.js';
import { statusOf } from './helpers.js';

const JOIN_REQUESTS_METRIC = 'stackraft_join_requests_total';
/** How long an agent whose join is refused may take to start, be refused and stop. */
const EXIT_WAIT_MS = 30_000;

describe('join with one token (real agents)', { timeout: 300_000 }, () => {
  let cluster: AgentCluster;
  let leaderSocket = '';
  /** The token site-4 joined with, used again in the second and third tests. */
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
    assert.match(token, /^stackraft-join-2\./);
    return token;
  }

  /** `init --join` into a new site directory; the AgentProcess for it (not started), its own peer id, and the CLI run. */
  async function initFromToken(name: string, dirName: string, port: number, token: string): Promise<{ site: AgentProcess; peerId: string; code: number | null; stderr: string }> {
    const dir = join(cluster.dir, dirName);
    await mkdir(dir, { recursive: true });
    const run = await runCli(['init', '--join', token, '--config', join(dir, 'agent.yaml'), '--data-dir', join(dir, 'data'), '--admin-socket', join(dir, 'admin.sock'), '--listen', `/ip4/127.0.0.1/tcp/${port}`, '-f', 'json']);
    const peerId = run.code === 0 ? (JSON.parse(run.stdout) as { peerId: string }).peerId : 'none';
    const site = new AgentProcess({ name, dir, port, peerId });
    if (run.code === 0) cluster.sites.push(site);
    return { site, peerId, code: run.code, stderr: run.stderr };
  }

  async function joinRequests(outcome: string): Promise<number> {
    const counts = await Promise.all(cluster.sites.slice(0, 3).map(async (s) => metricValue(await cluster.admin(s.name).metrics(), JOIN_REQUESTS_METRIC, { outcome }) ?? 0));
    return counts.reduce((a, b) => a + b, 0);
  }

  it('a site set up with init --join makes its own key, redeems the token through the log, is promoted and holds the catalog', { timeout: 90_000 }, async () => {
    const port = await freePort();
    const token = await mintToken('site-4', port);
    firstToken = token;
    const body = JSON.parse(Buffer.from(token.slice(token.indexOf('.') + 1), 'base64url').toString('utf8')) as Record<string, unknown>;
    assert.equal(body.key, undefined, 'the token holds no key');
    assert.match(String(body.secret), /^[A-Za-z0-9_-]{43}$/);
    const waiting = await cluster.admin('site-1').request('GET', '/v1/resources/site/site-4');
    assert.equal(waiting.json.resource.spec.peerId, undefined, 'a waiting site has no peer id');
    assert.equal(JSON.stringify(waiting.json).includes(String(body.secret)), false, 'the secret is not in the catalog');
    const { site, peerId, code, stderr } = await initFromToken('site-4', 'site-4', port, token);
    assert.equal(code, 0, stderr);
    await site.start(false, CLUSTER_WAIT_MS);
    await cluster.waitFor('site-4 to be a voter', async () => (await cluster.admin('site-1').status()).members.some((m) => m.site === 'site-4' && m.role === 'voter'));
    await cluster.waitFor('site-4 to hold the catalog', async () => (await cluster.admin('site-4').request('GET', '/v1/resources/flavor/before-join')).status === 200);
    const record = await cluster.admin('site-1').request('GET', '/v1/resources/site/site-4');
    assert.equal(record.json.resource.spec.peerId, peerId, 'the record holds the key the site made itself');
    assert.equal(record.json.resource.spec.join.redeemedBy, peerId);
    const local = JSON.parse(await readFile(join(site.dataDir, 'join.json'), 'utf8')) as Record<string, unknown>;
    assert.equal(local.redeemed, true);
    assert.equal(local.secret, undefined, 'the secret is dropped once redeemed');
    assert.ok((await joinRequests('redeemed')) >= 1);
  });

  it('the same token used again on a replacement machine (same address) is refused at redemption', { timeout: 90_000 }, async () => {
    const record = await cluster.admin('site-1').request('GET', '/v1/resources/site/site-4');
    const first = cluster.site('site-4');
    // The first machine is gone; the operator sets up another at its address from the old token.
    await first.kill('SIGTERM');
    const second = await initFromToken('site-4', 'site-4-copy', first.port, firstToken);
    assert.equal(second.code, 0, second.stderr);
    await second.site.runUntilExit(EXIT_WAIT_MS);
    assert.match(await second.site.logTail(), /this join token was already used by another site \(redeemed through the log by peer 12D3KooW\w+\)/);
    const after = await cluster.admin('site-1').request('GET', '/v1/resources/site/site-4');
    assert.deepEqual(after.json.resource.spec, record.json.resource.spec, 'the refused copy changed nothing');
    await first.start(false, CLUSTER_WAIT_MS);
    await cluster.waitFor('site-4 back in step', async () => (await cluster.admin('site-4').status()).leader !== null);
    await putFlavor(cluster.admin('site-4'), 'after-reuse', 2);
  });

  it('a stolen token used after the redemption gets nothing, even by an agent that skips its own check', { timeout: 90_000 }, async () => {
    const usedBefore = await joinRequests('used');
    const thief = await initFromToken('site-4', 'thief', await freePort(), firstToken);
    assert.equal(thief.code, 0, thief.stderr);
    await thief.site.runUntilExit(EXIT_WAIT_MS);
    assert.match(await thief.site.logTail(), /already used by another site/);
    assert.ok((await joinRequests('used')) > usedBefore, 'the members counted the refused redemption');
    // Past its own check (its join state says redeemed), it still receives nothing: its peer id is no member's.
    const state = JSON.parse(await readFile(join(thief.site.dataDir, 'join.json'), 'utf8'));
    await writeFile(join(thief.site.dataDir, 'join.json'), JSON.stringify({ ...state, redeemed: true }));
    await thief.site.start(false, CLUSTER_WAIT_MS);
    for (let i = 0; i < 5; i++) {
      await putFlavor(cluster.admin('site-1'), `while-stolen-${i}`, 1);
      await sleep(cluster.electionTimeoutMs);
    }
    const view = await statusOf(thief.site);
    assert.equal(view.appliedIndex, 0, 'the thief received entries');
    assert.equal(view.leader, null);
    const record = await cluster.admin('site-1').request('GET', '/v1/resources/site/site-4');
    assert.notEqual(record.json.resource.spec.peerId, thief.peerId);
    await thief.site.kill();
  });

  it('a token redeemed after its expiry is refused by the log (the redemption\'s entry time), not by init', { timeout: 120_000 }, async () => {
    const port = await freePort();
    const short = await mintToken('site-5', port, '2s');
    await sleep(2_500);
    const expiredBefore = await joinRequests('expired');
    const late = await initFromToken('site-5', 'site-5-late', port, short);
    assert.equal(late.code, 0, late.stderr);
    await late.site.runUntilExit(EXIT_WAIT_MS);
    assert.match(await late.site.logTail(), /the join token expired at .* \(this redemption's entry is stamped /);
    assert.ok((await joinRequests('expired')) > expiredBefore);
    const record = await cluster.admin('site-1').request('GET', '/v1/resources/site/site-5');
    assert.equal(record.json.resource.spec.peerId, undefined, 'the expired token recorded no key');
    assert.equal((await cluster.admin('site-1').status()).members.some((m) => m.site === 'site-5'), false, 'site-5 is no member');
  });

  it('a foreign, damaged or format-1 token is refused by init, changing nothing', { timeout: 60_000 }, async () => {
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
    const body = JSON.parse(Buffer.from(token.slice(token.indexOf('.') + 1), 'base64url').toString('utf8')) as Record<string, unknown>;
    const formatOne = `stackraft-join-1.${Buffer.from(JSON.stringify({ ...body, v: 1, secret: undefined, key: 'CAESQ...' })).toString('base64url')}`;
    const old = await runCli(['init', '--join', formatOne, '--config', join(dir, 'other.yaml'), '--data-dir', join(dir, 'data')]);
    assert.equal(old.code, 1);
    assert.match(old.stderr, /format version 1, which carried the site's private key/);
  });
});
