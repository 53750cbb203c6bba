// stackraft import on real agents (two sites, each with a mock OpenStack cloud served over HTTP):
// the dry run lists what site-1's cloud has that this cluster does not manage, with conflicts (an id
// the catalog already uses, another cluster's flavor) shown, and changes nothing; --apply writes the
// importable flavors into the catalog and marks site-1's flavors as this cluster's without
// recreating them (no DELETE reaches the cloud), after which site-1's reconciler reports them in
// sync and the audit trail names the import; a second run skips them. Quotas: read by project.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { AgentCluster, CLUSTER_ID } from './cluster.js';
import { runCli } from './run-cli.js';

interface PlanRow {
  Kind: string;
  ID: string;
  Name: string;
  Action: string;
  Detail: string;
  Result: string;
}

const PROJECT = '0123456789abcdef0123456789abcdef';
const operatorFlavor = (id: string, name: string, extra: Record<string, unknown> = {}) => ({ id, name, vcpus: 2, ram: 4096, disk: 40, ephemeral: 0, swap: 0, rxtxFactor: 1, isPublic: true, description: null, ...extra });

describe('stackraft import (real agents, mock clouds over HTTP)', { timeout: 240_000 }, () => {
  let cluster: AgentCluster;

  before(async () => {
    cluster = await AgentCluster.start({ sites: 2, mockClouds: true, prefix: 'stackraft-import-' });
    const model = cluster.clouds.get('site-1')!.model;
    model.addProject(PROJECT, 'import-test');
    model.createFlavor(operatorFlavor('op-1', 'op.small'));
    model.setExtraSpecs('op-1', { 'hw:cpu_policy': 'dedicated' });
    model.createFlavor(operatorFlavor('op-private', 'op.private', { isPublic: false }));
    model.addFlavorAccess('op-private', PROJECT);
    model.createFlavor(operatorFlavor('taken', 'op.taken'));
    model.createFlavor(operatorFlavor('theirs', 'op.theirs'));
    model.setExtraSpecs('theirs', { 'stackraft:managed': 'true', 'stackraft:cluster': 'other-cluster' });
  });

  after(async () => {
    await cluster?.destroy();
  });

  const cli = (...args: string[]) => runCli(args, { socket: cluster.site('site-1').socketPath });
  const cloudFlavor = (id: string) => cluster.clouds.get('site-1')!.model.listFlavors().find((f) => f.id === id);

  async function plan(...extra: string[]): Promise<Map<string, PlanRow>> {
    const run = await cli('import', '--kind', 'flavor', '-f', 'json', ...extra);
    assert.equal(run.code, 0, run.stderr);
    return new Map((JSON.parse(run.stdout) as PlanRow[]).map((row) => [row.ID, row]));
  }

  it('the dry run shows importable flavors and conflicts, and changes nothing', { timeout: 60_000 }, async () => {
    // The catalog already uses the id "taken" for another flavor (site-1's reconciler reports an
    // error for it: the operator's flavor holds the id there).
    const taken = await cli('flavor', 'create', 'catalog.taken', '--id', 'taken', '--vcpus', '1', '--ram', '512', '--disk', '1');
    assert.equal(taken.code, 0, taken.stderr);
    const rows = await plan();
    assert.equal(rows.get('op-1')?.Action, 'import');
    assert.equal(rows.get('op-private')?.Action, 'import');
    assert.equal(rows.get('taken')?.Action, 'conflict');
    assert.match(rows.get('taken')?.Detail ?? '', /already has flavor taken/);
    assert.equal(rows.get('theirs')?.Action, 'conflict');
    assert.match(rows.get('theirs')?.Detail ?? '', /another stackraft cluster, "other-cluster"/);
    const show = await cli('flavor', 'show', 'op-1');
    assert.equal(show.code, 1, 'not in the catalog after a dry run');
    assert.deepEqual(cloudFlavor('op-1')?.extraSpecs, { 'hw:cpu_policy': 'dedicated' });
  });

  it('--apply imports and marks without recreating; the reconciler takes them over; a second run skips them', { timeout: 90_000 }, async () => {
    const mock = cluster.clouds.get('site-1')!;
    const run = await cli('import', '--kind', 'flavor', '--apply', '--reason', 'adopt site-1 flavors', '--operator', 'erin', '-f', 'json');
    assert.equal(run.code, 0, run.stderr);
    const rows = new Map((JSON.parse(run.stdout) as PlanRow[]).map((row) => [row.ID, row]));
    assert.equal(rows.get('op-1')?.Result, 'imported and marked');
    assert.equal(rows.get('op-private')?.Result, 'imported and marked');
    assert.equal(rows.get('taken')?.Result, '');

    const shown = await cli('flavor', 'show', 'op-1', '-f', 'json');
    assert.equal(shown.code, 0, shown.stderr);
    const flavor = JSON.parse(shown.stdout) as Record<string, unknown>;
    assert.equal(flavor.placement, 'site in (site-1)');
    assert.equal(flavor.vcpus, 2);
    assert.equal(cloudFlavor('op-1')?.extraSpecs['stackraft:cluster'], CLUSTER_ID);
    assert.equal(cloudFlavor('op-1')?.extraSpecs['hw:cpu_policy'], 'dedicated');
    assert.deepEqual(cluster.clouds.get('site-1')!.model.listFlavorAccess('op-private'), [PROJECT]);

    await cluster.waitFor('site-1 reports op-1 and op-private in sync', async () => {
      const reply = await cluster.admin('site-1').request('GET', '/v1/sync');
      const site = (reply.json.sites as Array<{ site: string; resources: Array<{ id: string; state: string }> }>).find((s) => s.site === 'site-1');
      return ['op-1', 'op-private'].every((id) => site?.resources.find((r) => r.id === id)?.state === 'in-sync');
    });
    assert.ok(!mock.requests.some((r) => r.method === 'DELETE' && r.path.includes('/flavors/op-')), 'no imported flavor was deleted and recreated');
    // site-2 is not in the placement: its cloud does not get them.
    assert.equal(cluster.clouds.get('site-2')!.model.listFlavors().some((f) => f.id === 'op-1'), false);

    const audit = await cli('audit', 'list', '--id', 'op-1', '-f', 'json');
    const entries = JSON.parse(audit.stdout) as Array<{ Operator: string; Reason: string; Outcome: string }>;
    assert.deepEqual(entries.map((e) => [e.Operator, e.Reason, e.Outcome]), [['erin', 'adopt site-1 flavors', 'committed']]);

    const again = await plan();
    assert.equal(again.get('op-1')?.Action, 'skip');
    assert.match(again.get('op-1')?.Detail ?? '', /already managed/);
  });

  it('quotas are read by project and imported without touching the cloud; bad requests are refused', { timeout: 60_000 }, async () => {
    const dry = await cli('import', '--kind', 'quota', '--project', PROJECT, '-f', 'json');
    assert.equal(dry.code, 0, dry.stderr);
    const [row] = JSON.parse(dry.stdout) as PlanRow[];
    assert.equal(row.Action, 'import');
    const applied = await cli('import', '--kind', 'quota', '--project', PROJECT, '--apply');
    assert.equal(applied.code, 0, applied.stderr);
    assert.equal((await cli('quota', 'show', PROJECT)).code, 0);
    const conflict = await cli('import', '--kind', 'quota', '--project', PROJECT, '-f', 'json');
    assert.equal((JSON.parse(conflict.stdout) as PlanRow[])[0].Action, 'conflict');

    assert.equal((await cli('import', '--kind', 'server')).code, 2, 'an unknown kind is a usage error');
    assert.equal((await cli('import', '--kind', 'quota')).code, 2);
    const otherSite = await cli('import', '--kind', 'flavor', '--site', 'site-2');
    assert.equal(otherSite.code, 2, otherSite.stderr);
    assert.match(otherSite.stderr, /reads only its own cloud/);
    const badBody = await cluster.admin('site-1').request('POST', '/v1/import', { kind: 'flavor', projects: [PROJECT] });
    assert.equal(badBody.status, 400, badBody.text);
  });
});
