// The audit trail on three real agent processes: the CLI's operator, host and reason travel in the
// replicated write, and `stackraft audit list` shows them from any site (filters, json), also after
// the site is killed with SIGKILL and restarted (the ring is in its stored catalog); a malformed
// operator is refused (VALIDATION, exit 4) and writes nothing; a forced write needs a reason and
// the ring says it was forced.
import assert from 'node:assert/strict';
import { hostname } from 'node:os';
import { after, before, describe, it } from 'node:test';
import { operatorName } from '../../agent/cli/operator.js';
import { AgentCluster } from './cluster.js';
import { runCli } from './run-cli.js';

interface AuditRow {
  Index: number;
  Time: string;
  Operator: string;
  Host: string;
  Site: string;
  Changes: Array<{ op: string; kind: string; id: string }>;
  Outcome: string;
  Forced: boolean;
  Reason: string;
  'Write ID': string;
}

const SERVER = '11111111-2222-4333-8444-555555555555';
const PROJECT = '0123456789abcdef0123456789abcdef';

describe('audit trail (real agents)', { timeout: 240_000 }, () => {
  let cluster: AgentCluster;
  let leader: string;
  let follower: string;
  let other: string;

  before(async () => {
    cluster = await AgentCluster.start({ sites: 3, prefix: 'stackraft-audit-' });
    leader = (await cluster.waitForLeader()).leader;
    [follower, other] = cluster.sites.filter((s) => s.name !== leader).map((s) => s.name);
  });

  after(async () => {
    await cluster?.destroy();
  });

  const cli = (site: string, ...args: string[]) => runCli(args, { socket: cluster.site(site).socketPath });

  async function auditList(site: string, ...filters: string[]): Promise<AuditRow[]> {
    const run = await cli(site, 'audit', 'list', '-f', 'json', ...filters);
    assert.equal(run.code, 0, run.stderr);
    return JSON.parse(run.stdout) as AuditRow[];
  }

  it('a write through a follower records operator, host, site and reason; every site lists it', { timeout: 60_000 }, async () => {
    const run = await cli(follower, 'flavor', 'create', 'audited.small', '--id', 'audited.small', '--vcpus', '1', '--ram', '512', '--disk', '1', '--operator', 'alice', '--reason', 'CHG-1234 batch jobs');
    assert.equal(run.code, 0, run.stderr);
    const status = await cluster.admin(follower).status();
    await cluster.waitForApplied(other, status.commitIndex);
    for (const site of [leader, follower, other]) {
      const rows = (await auditList(site, '--id', 'audited.small')).filter((r) => r.Outcome === 'committed');
      assert.equal(rows.length, 1, `${site}: ${JSON.stringify(rows)}`);
      const [row] = rows;
      assert.equal(row.Operator, 'alice');
      assert.equal(row.Host, hostname());
      assert.equal(row.Site, follower);
      assert.equal(row.Reason, 'CHG-1234 batch jobs');
      assert.equal(row.Forced, false);
      assert.deepEqual(row.Changes, [{ op: 'put', kind: 'flavor', id: 'audited.small' }]);
      assert.match(row['Write ID'], /^cli-[0-9a-f-]+:1$/);
    }
  });

  it('without --operator the login user is recorded; --kind and --since filter', { timeout: 60_000 }, async () => {
    const before = Date.now();
    const run = await cli(leader, 'quota', 'set', PROJECT, '--cores', '8');
    assert.equal(run.code, 0, run.stderr);
    const quotas = await auditList(leader, '--kind', 'quota');
    assert.equal(quotas.length, 1);
    assert.equal(quotas[0].Operator, operatorName(undefined, process.env));
    assert.equal(quotas[0].Reason, '');
    assert.ok((await auditList(leader, '--kind', 'flavor')).every((r) => r.Changes.some((c) => c.kind === 'flavor')));
    const recent = await auditList(leader, '--since', new Date(before - 1000).toISOString());
    assert.ok(recent.some((r) => r.Changes.some((c) => c.kind === 'quota')));
    assert.ok(!recent.some((r) => r.Changes.some((c) => c.id === 'audited.small')), 'the flavor was written before --since');
    assert.deepEqual(await auditList(leader, '--since', new Date(Date.now() + 3_600_000).toISOString()), []);
    for (const query of ['limit=0', 'kind=server', 'since=soon', 'colour=red']) {
      const reply = await cluster.admin(leader).request('GET', `/v1/audit?${query}`);
      assert.equal(reply.status, 400, `${query}: ${reply.text}`);
      assert.equal(reply.json.error.code, 'BAD_REQUEST');
    }
    const bad = await cli(leader, 'audit', 'list', '--since', 'yesterday-ish');
    assert.equal(bad.code, 2, bad.stderr);
    assert.match(bad.stderr, /since/);
  });

  it('a malformed operator or reason is refused with VALIDATION (exit 4) and writes nothing', { timeout: 60_000 }, async () => {
    const cases = [['--operator', 'x'.repeat(200)], ['--operator', 'eve\u001b[2J'], ['--reason', ' padded ']];
    for (const extra of cases) {
      const run = await cli(follower, 'flavor', 'create', 'refused.small', '--id', 'refused.small', '--vcpus', '1', '--ram', '512', '--disk', '1', ...extra);
      assert.equal(run.code, 4, `${JSON.stringify(extra)}: ${run.stderr}`);
      assert.match(run.stderr, /VALIDATION/);
    }
    assert.deepEqual(await auditList(leader, '--id', 'refused.small'), []);
    const show = await cli(leader, 'flavor', 'show', 'refused.small');
    assert.equal(show.code, 1, show.stdout);
  });

  it('a forced write needs --reason and is listed as forced with it', { timeout: 60_000 }, async () => {
    const args = ['protection-group', 'create', 'pg-audit', '--project', PROJECT, '--primary', leader, '--secondary', follower, '--replication', 'async', '--volume-type', 'replicated', '--member', SERVER, '--force'];
    const missing = await cli(other, ...args);
    assert.equal(missing.code, 2, missing.stderr);
    assert.match(missing.stderr, /--force needs --reason/);
    const run = await cli(other, ...args, '--reason', 'DR drill 2026-12', '--operator', 'dave');
    assert.equal(run.code, 0, run.stderr);
    const rows = await auditList(other, '--kind', 'protection-group');
    assert.equal(rows.length, 1);
    assert.equal(rows[0].Forced, true);
    assert.equal(rows[0].Reason, 'DR drill 2026-12');
    assert.equal(rows[0].Operator, 'dave');
    assert.equal(rows[0].Site, other);
  });

  it('kill -9 and restart: the restarted site lists the same trail (read back from its store)', { timeout: 90_000 }, async () => {
    const beforeKill = await auditList(other);
    assert.ok(beforeKill.length >= 3, JSON.stringify(beforeKill));
    await cluster.kill(other);
    await cluster.restart(other);
    const { commitIndex } = await cluster.admin(leader).status();
    await cluster.waitForApplied(other, commitIndex);
    const afterRestart = await auditList(other);
    assert.deepEqual(afterRestart.slice(0, beforeKill.length), beforeKill);
    const table = await cli(other, 'audit', 'list', '--id', 'audited.small');
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, /alice/);
    assert.match(table.stdout, /put flavor\/audited\.small/);
  });
});
