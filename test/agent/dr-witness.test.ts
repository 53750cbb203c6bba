// Disaster recovery with real agent processes, in the topology a DR pair really has: sites A and B
// with (mock) clouds and the reference DR action, and a witness W with `cloud: none` as the third
// voter. Kill A: a forced failover at B succeeds (and is refused while A was reachable). Restart A:
// it is fenced (stops acting as primary, runs its demote step, says so). Then fail back to A.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AgentCluster } from './cluster.js';
import { CLI_SCRIPT } from './agent-process.js';
import { runCli } from './run-cli.js';

const A = 'site-1';
const B = 'site-2';
const W = 'site-3';
const SERVER = '0b1c2d3e-4f50-4a6b-8c7d-8e9fa0b1c2d3';

interface GroupView {
  revision: number;
  spec: { primarySite: string; secondarySite: string; failoverEpoch: number; status: string };
  forced?: { reason: string };
  dr?: { home: string; acks: Record<string, number>; operation: { action: string; epoch: number; forced?: string; steps: Array<{ step: string; site: string; state: string; message: string }> } | null; history: Array<{ event: string }> };
}

describe('disaster recovery: two sites and a witness, real processes', { timeout: 240_000 }, () => {
  let cluster: AgentCluster;
  let recordDir = '';
  const records = (site: string) => join(recordDir, `${site}-dr-actions.jsonl`);
  const cli = (site: string, ...args: string[]) => runCli(args, { socket: cluster.site(site).socketPath });
  const group = async (site: string): Promise<GroupView> => {
    const reply = await cluster.admin(site).request('GET', '/v1/resources/protection-group/pg1');
    assert.equal(reply.status, 200, reply.text);
    return reply.json.resource as GroupView;
  };
  const recorded = async (site: string): Promise<Array<{ key: string; kind: string; servers: Array<Record<string, unknown>> }>> =>
    (await readFile(records(site), 'utf8').catch(() => '')).split('\n').filter((l) => l !== '').map((l) => JSON.parse(l));

  before(async () => {
    recordDir = await mkdtemp(join(tmpdir(), 'stackraft-e2e-dr-records-'));
    cluster = await AgentCluster.start({
      sites: 3,
      voters: 3,
      mockClouds: true,
      prefix: 'stackraft-e2e-dr-',
      siteConfig: (name) =>
        name === W
          ? { cloud: { type: 'none' } }
          : { dr: { action: { type: 'exec', command: [process.execPath, CLI_SCRIPT, 'dr-action-mock', '--record', records(name), '--fail-attempts', '1'], timeoutMs: 30_000 } } },
    });
    const put = await cluster.admin(A).write('PUT', '/v1/resources/protection-group/pg1', {
      spec: { name: 'pg1', project: '0123456789abcdef0123456789abcdef', replicationType: 'async', primarySite: A, secondarySite: B, volumeType: 'replicated', members: [SERVER], mappings: { networks: { 'net-a': 'net-b' }, flavors: { 'm1-a': 'm1-b' } } },
    });
    assert.equal(put.status, 200, put.text);
  });
  after(async () => {
    await cluster?.destroy();
    if (recordDir) await rm(recordDir, { recursive: true, force: true });
  });

  it('a forced failover is refused while the leader reaches the primary (exit 3, PEER_REACHABLE)', async () => {
    const run = await cli(B, 'protection-group', 'failover', 'pg1', '--force', '--reason', 'A looks down');
    assert.equal(run.code, 3, run.stderr);
    assert.match(run.stderr, /reachable from the leader/);
    assert.equal((await group(B)).spec.primarySite, A);
  });

  it('kill A: the forced failover at B commits, B promotes (after one failed attempt, retried) and acts as primary', async () => {
    await cluster.kill(A);
    await cluster.waitForLeader({ among: [B, W] });
    const planned = await cli(B, 'protection-group', 'failover', 'pg1');
    assert.equal(planned.code, 3, `a planned failover needs both sites: ${planned.stderr}`);
    assert.match(planned.stderr, /PEER_UNREACHABLE|must be reachable/);
    const forced = await cli(B, 'protection-group', 'failover', 'pg1', '--force', '--reason', 'site-1 lost power', '-f', 'json');
    assert.equal(forced.code, 0, forced.stderr);
    await cluster.waitFor('B to promote', async () => (await group(B)).dr?.operation?.steps.find((s) => s.step === 'promote')?.state === 'done');
    const g = await group(B);
    assert.equal(g.spec.primarySite, B);
    assert.equal(g.spec.failoverEpoch, 1);
    assert.equal(g.spec.status, 'failing-over', 'the demote on A is still owed');
    assert.equal(g.forced?.reason, 'site-1 lost power');
    assert.deepEqual(g.dr?.operation?.steps.find((s) => s.step === 'demote')?.state, 'pending');
    const booted = (await recorded(B)).filter((r) => r.kind === 'promote');
    assert.equal(booted.length, 1, 'one promote recorded, whatever the retries');
    assert.equal(booted[0]?.key, 'pg1/1/promote');
    assert.deepEqual(booted[0]?.servers[0], { server: SERVER, action: 'boot', name: `pg1-${SERVER.slice(0, 8)}`, project: '0123456789abcdef0123456789abcdef', bootVolumeType: 'replicated', networks: ['net-b'], flavors: ['m1-b'], securityGroups: [] });
    const show = await cli(B, 'protection-group', 'show', 'pg1', '-f', 'json');
    const shown = JSON.parse(show.stdout) as Record<string, unknown>;
    assert.equal(shown.acting_primary, B);
    assert.equal(shown.forced_reason, 'site-1 lost power');
    assert.match(String(shown.steps), /promote on site-2: done \(attempt 2\)/);
  });

  it('restart A: it applies epoch 1, is fenced, runs its demote and says so; the failover finishes', async () => {
    await cluster.restart(A);
    await cluster.waitFor('A to be fenced and demoted', async () => (await group(B)).spec.status === 'failed-over', 60_000);
    // Read where the wait saw it: A's own copy may still be an entry behind.
    const g = await group(B);
    const demote = g.dr?.operation?.steps.find((s) => s.step === 'demote');
    assert.equal(demote?.state, 'done');
    assert.match(demote?.message ?? '', /fenced: demoted after the forced failover to site-2/);
    assert.equal(g.dr?.acks[A], 1);
    const log = await readFile(cluster.site(A).logPath, 'utf8');
    assert.match(log, /fenced: epoch 1 made site-2 the primary/);
    assert.deepEqual((await recorded(A)).map((r) => r.key), ['pg1/1/demote']);
  });

  it('fail back to A once it is healthy; history tells the whole story', async () => {
    const run = await cli(W, 'protection-group', 'failback', 'pg1');
    assert.equal(run.code, 0, run.stderr);
    await cluster.waitFor('the failback to finish', async () => (await group(W)).spec.status === 'active', 60_000);
    const g = await group(W);
    assert.equal(g.spec.primarySite, A);
    assert.equal(g.spec.failoverEpoch, 2);
    assert.deepEqual((await recorded(B)).map((r) => r.key), ['pg1/1/promote', 'pg1/2/demote']);
    const history = await cli(A, 'protection-group', 'history', 'pg1', '-f', 'value', '-c', 'event', '-c', 'epoch');
    assert.equal(history.code, 0, history.stderr);
    const events = history.stdout.trim().split('\n');
    assert.equal(events[0], 'forced-failover 1');
    assert.ok(events.includes('failback 2'), history.stdout);
    assert.equal(events.at(-1), 'completed 2');
  });
});
