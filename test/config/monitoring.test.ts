// deploy/monitoring: the Grafana dashboard and the Prometheus alerting rules name only metrics the
// agent exports; promtool (Debian's prometheus package) accepts the rules and its unit tests
// (alerts.promtool.yaml) show each alert firing when it should; the health gauges the alerts read
// are set from what the agent knows.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import type { RaftStatus } from '../../consensus/types.js';
import { setHealthGauges } from '../../agent/daemon/health-gauges.js';
import { createAgentMetrics } from '../../agent/ops/metrics.js';
import { Harness, expectOk, flavorSpec } from '../catalog/helpers.js';
import { metricValue } from '../agent/admin-http.js';
import { repoRoot } from './repo-root.js';

const DASHBOARD = join('deploy', 'monitoring', 'stackraft-dashboard.json');
const RULES = join('deploy', 'monitoring', 'stackraft-alerts.yaml');
const PROMTOOL_TESTS = join('test', 'config', 'alerts.promtool.yaml');
/** A Prometheus histogram is exported as these series. */
const HISTOGRAM_SUFFIXES = ['_bucket', '_count', '_sum'];

interface Panel {
  type: string;
  title: string;
  targets?: Array<{ expr: string }>;
  panels?: Panel[];
}

function read(path: string): string {
  return readFileSync(join(repoRoot(), path), 'utf8');
}

function dashboardExprs(): string[] {
  const doc = JSON.parse(read(DASHBOARD)) as { panels: Panel[]; annotations: { list: Array<{ expr?: string }> }; templating: { list: Array<{ definition?: string }> } };
  const panels = doc.panels.flatMap((p) => [p, ...(p.panels ?? [])]);
  return [
    ...panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr)),
    ...doc.annotations.list.flatMap((a) => (a.expr ? [a.expr] : [])),
    ...doc.templating.list.flatMap((t) => (t.definition ? [t.definition] : [])),
  ];
}

function alertRules(): Array<{ alert: string; expr: string }> {
  const doc = parse(read(RULES)) as { groups: Array<{ rules: Array<{ alert: string; expr: string }> }> };
  return doc.groups.flatMap((g) => g.rules);
}

function metricNames(exprs: string[]): Set<string> {
  return new Set(exprs.flatMap((e) => [...e.matchAll(/\bstackraft_[a-z0-9_]+/g)].map((m) => m[0])));
}

/** Every series name the agent's registry exports (histograms with their suffixes). */
async function exportedNames(): Promise<Set<string>> {
  const metrics = createAgentMetrics({ processMetrics: true });
  const out = new Set<string>();
  for (const m of await metrics.registry.getMetricsAsJSON()) {
    out.add(m.name);
    if (String(m.type) === 'histogram') for (const suffix of HISTOGRAM_SUFFIXES) out.add(`${m.name}${suffix}`);
  }
  return out;
}

function promtool(): string | undefined {
  const which = spawnSync('sh', ['-c', 'command -v promtool'], { encoding: 'utf8' });
  return which.status === 0 ? which.stdout.trim() : undefined;
}

const promtoolPath = promtool();
const noPromtool = promtoolPath === undefined ? 'promtool is not installed (Debian: apt-get install prometheus; .ci/run installs it as root)' : undefined;
if (noPromtool) process.stdout.write(`# SKIP promtool checks: ${noPromtool}\n`);

describe('monitoring: dashboard and alerting rules', () => {
  it('name only metrics the agent exports', async () => {
    const exported = await exportedNames();
    const dashboard = metricNames(dashboardExprs());
    const rules = metricNames(alertRules().map((r) => r.expr));
    assert.ok(dashboard.size >= 15, `the dashboard names only ${dashboard.size} metrics`);
    assert.deepEqual([...dashboard].filter((n) => !exported.has(n)), [], 'dashboard metrics the agent does not export');
    assert.deepEqual([...rules].filter((n) => !exported.has(n)), [], 'alert metrics the agent does not export');
    // The check itself catches a misspelt name.
    assert.ok(!exported.has('stackraft_raft_leader'), 'a name the agent does not export');
  });

  it('cover what an operator watches', () => {
    const titles = (JSON.parse(read(DASHBOARD)) as { panels: Panel[] }).panels.map((p) => p.title);
    for (const wanted of ['Leader per site', 'Term per site', 'Commit and applied index', 'Lag behind the cluster (entries)', 'Write rate by outcome', 'Write latency by outcome (p50, p99)', 'Refusals by code', 'Peer round-trip time', 'Peer links', 'Reconciler: resources by sync state', 'Transport: bad frames by reason']) {
      assert.ok(titles.includes(wanted), `no panel "${wanted}"`);
    }
    const alerts = alertRules().map((r) => r.alert);
    for (const wanted of ['StackraftNoLeader', 'StackraftQuorumAtRisk', 'StackraftSiteLagging', 'StackraftResourcesOutOfSync', 'StackraftPeerUnreachable']) assert.ok(alerts.includes(wanted), `no alert ${wanted}`);
  });

  it('promtool accepts the rules, and its unit tests fire each alert when it should', { skip: noPromtool, timeout: 60_000 }, () => {
    const check = spawnSync(promtoolPath!, ['check', 'rules', RULES], { cwd: repoRoot(), encoding: 'utf8', timeout: 30_000 });
    assert.equal(check.status, 0, `${check.stdout}${check.stderr}`);
    assert.match(check.stdout, /SUCCESS: 7 rules found/);
    const unit = spawnSync(promtoolPath!, ['test', 'rules', PROMTOOL_TESTS], { cwd: repoRoot(), encoding: 'utf8', timeout: 30_000 });
    assert.equal(unit.status, 0, `${unit.stdout}${unit.stderr}`);
    assert.match(unit.stdout, /SUCCESS/);
  });
});

describe('health gauges', () => {
  const status = (voters: string[], leader: string): RaftStatus => ({ leader, conf: { voters, learners: ['l1'] } }) as unknown as RaftStatus;

  it('report the known leader, voters reachable against the quorum, each link, and this site\'s sync states', async () => {
    const m = createAgentMetrics({ processMetrics: false, defaultLabels: { site: 'paris' } });
    const h = new Harness();
    h.addTwoSites();
    const [r1, r2] = expectOk(h.write({ op: 'put', kind: 'flavor', id: 'f1', spec: flavorSpec({ name: 'one' }) }, { op: 'put', kind: 'flavor', id: 'f2', spec: flavorSpec({ name: 'two' }) }).result);
    h.report({ site: 'paris', kind: 'flavor', id: 'f1', state: 'in-sync', revision: r1 }, { site: 'paris', kind: 'flavor', id: 'f2', state: 'error', message: 'Nova said 500', revision: r2 });
    const up = new Set(['montreal']);
    setHealthGauges(m, { site: 'paris', status: status(['paris', 'montreal', 'lyon'], 'montreal'), linkUp: (peer) => up.has(peer), catalog: h.catalog });
    let text = await m.registry.metrics();
    assert.equal(metricValue(text, 'stackraft_raft_leader_known', { site: 'paris' }), 1);
    assert.equal(metricValue(text, 'stackraft_raft_voters'), 3);
    assert.equal(metricValue(text, 'stackraft_raft_quorum_size'), 2);
    assert.equal(metricValue(text, 'stackraft_raft_voters_reachable'), 2);
    assert.equal(metricValue(text, 'stackraft_peer_link_up', { peer: 'montreal' }), 1);
    assert.equal(metricValue(text, 'stackraft_peer_link_up', { peer: 'lyon' }), 0);
    assert.equal(metricValue(text, 'stackraft_peer_link_up', { peer: 'l1' }), 0);
    assert.equal(metricValue(text, 'stackraft_peer_link_up', { peer: 'paris' }), undefined, 'no link to itself');
    assert.equal(metricValue(text, 'stackraft_reconciler_resources', { state: 'in-sync' }), 1);
    assert.equal(metricValue(text, 'stackraft_reconciler_resources', { state: 'error' }), 1);
    assert.equal(metricValue(text, 'stackraft_reconciler_resources', { state: 'pending' }), 0);

    up.clear();
    setHealthGauges(m, { site: 'paris', status: status(['paris', 'montreal', 'lyon'], ''), linkUp: (peer) => up.has(peer), catalog: h.catalog });
    text = await m.registry.metrics();
    assert.equal(metricValue(text, 'stackraft_raft_leader_known'), 0);
    assert.equal(metricValue(text, 'stackraft_raft_voters_reachable'), 1);
    assert.equal(metricValue(text, 'stackraft_peer_link_up', { peer: 'montreal' }), 0);
  });
});
