// agent/ops: the metrics registry (names, role gauge, per-peer series) and log redaction of secrets.
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { createLogger } from '../../agent/ops/logger.js';
import { createAgentMetrics, forgetPeer, setRole } from '../../agent/ops/metrics.js';
import { MAX_REDACT_DEPTH, REDACTED, isSecretKey, redactSecrets } from '../../agent/ops/redact.js';
import { metricValue } from './harness.js';

describe('metrics', () => {
  it('registers every agent metric on its own registry', async () => {
    const m = createAgentMetrics({ processMetrics: false });
    m.term.set(3);
    m.commitIndex.set(10);
    m.appliedIndex.set(9);
    m.applyLagEntries.set(1);
    m.peerMatchIndex.set({ peer: 'us-east-1' }, 8);
    m.peerRttSeconds.set({ peer: 'us-east-1' }, 0.082);
    m.proposalsCommitted.inc();
    m.proposalsRefused.inc({ reason: 'NO_QUORUM' });
    m.fsyncSeconds.observe(0.002);
    m.badFrames.inc({ reason: 'too_large' });
    m.badAdminRequests.inc({ reason: 'malformed_json' });
    m.writeSeconds.observe({ outcome: 'committed' }, 0.05);
    const text = await m.registry.metrics();
    assert.equal(metricValue(text, 'stackraft_raft_term'), 3);
    assert.equal(metricValue(text, 'stackraft_raft_commit_index'), 10);
    assert.equal(metricValue(text, 'stackraft_raft_applied_index'), 9);
    assert.equal(metricValue(text, 'stackraft_raft_apply_lag_entries'), 1);
    assert.equal(metricValue(text, 'stackraft_raft_peer_match_index', { peer: 'us-east-1' }), 8);
    assert.equal(metricValue(text, 'stackraft_peer_rtt_seconds', { peer: 'us-east-1' }), 0.082);
    assert.equal(metricValue(text, 'stackraft_proposals_committed_total'), 1);
    assert.equal(metricValue(text, 'stackraft_proposals_refused_total', { reason: 'NO_QUORUM' }), 1);
    assert.equal(metricValue(text, 'stackraft_storage_fsync_seconds_count'), 1);
    assert.equal(metricValue(text, 'stackraft_transport_bad_frames_total', { reason: 'too_large' }), 1);
    assert.equal(metricValue(text, 'stackraft_admin_bad_requests_total', { reason: 'malformed_json' }), 1);
    assert.equal(metricValue(text, 'stackraft_write_seconds_count', { outcome: 'committed' }), 1);
    assert.doesNotMatch(text, /process_cpu/, 'process metrics are off when asked');
  });

  it('two agents in one process keep separate registries', async () => {
    const a = createAgentMetrics({ processMetrics: true, defaultLabels: { site: 'a' } });
    const b = createAgentMetrics({ processMetrics: true, defaultLabels: { site: 'b' } });
    a.term.set(1);
    b.term.set(2);
    assert.equal(metricValue(await a.registry.metrics(), 'stackraft_raft_term', { site: 'a' }), 1);
    assert.equal(metricValue(await b.registry.metrics(), 'stackraft_raft_term', { site: 'b' }), 2);
    assert.match(await a.registry.metrics(), /stackraft_process_cpu_seconds_total/);
  });

  it('the role gauge has exactly one role at 1', async () => {
    const m = createAgentMetrics({ processMetrics: false });
    setRole(m, 'leader');
    setRole(m, 'candidate');
    const text = await m.registry.metrics();
    assert.equal(metricValue(text, 'stackraft_raft_role', { role: 'candidate' }), 1);
    for (const role of ['follower', 'preCandidate', 'leader']) assert.equal(metricValue(text, 'stackraft_raft_role', { role }), 0);
  });

  it('forgetPeer drops a departed peer\'s series', async () => {
    const m = createAgentMetrics({ processMetrics: false });
    m.peerMatchIndex.set({ peer: 'gone' }, 5);
    m.peerRttSeconds.set({ peer: 'gone' }, 0.1);
    forgetPeer(m, 'gone');
    const text = await m.registry.metrics();
    assert.equal(metricValue(text, 'stackraft_raft_peer_match_index', { peer: 'gone' }), undefined);
    assert.equal(metricValue(text, 'stackraft_peer_rtt_seconds', { peer: 'gone' }), undefined);
  });
});

describe('log redaction', () => {
  it('recognises secret key names in any spelling', () => {
    for (const key of ['password', 'adminPassword', 'token', 'X-Auth-Token', 'x-subject-token', 'application_credential_secret', 'privateKey', 'authorization', 'Cookie', 'keyMaterial']) {
      assert.ok(isSecretKey(key), key);
    }
    for (const key of ['site', 'key', 'tokenExpiresAt', 'peerId', 'kind', 'passwordPolicyUrl']) assert.ok(!isSecretKey(key), key);
  });

  it('redacts at any depth, copies instead of mutating, and bounds the depth', () => {
    const input = { auth: { identity: { password: { user: { name: 'admin', password: 'hunter2' } } } }, headers: [{ 'X-Auth-Token': 'gAAAA' }], site: 'eu' };
    const out = redactSecrets(input) as typeof input;
    assert.equal(out.auth.identity.password as unknown, REDACTED);
    assert.equal(out.headers[0]['X-Auth-Token'], REDACTED);
    assert.equal(out.site, 'eu');
    assert.equal(input.auth.identity.password.user.password, 'hunter2', 'the original is untouched');
    let deep: Record<string, unknown> = { password: 'x' };
    for (let i = 0; i < MAX_REDACT_DEPTH + 2; i++) deep = { next: deep };
    assert.ok(!JSON.stringify(redactSecrets(deep)).includes('"x"'));
  });

  it('the logger never writes a secret', async () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _encoding, done) {
        lines.push(String(chunk));
        done();
      },
    });
    const logger = createLogger({ level: 'info', destination: sink, base: { site: 'eu-west-1' } });
    logger.info({ request: { headers: { 'x-auth-token': 'gAAAAsecret' } }, application_credential_secret: 's3cr3t' }, 'calling keystone');
    logger.child({ token: 'child-secret' }).warn({ attempt: 2 }, 'retrying');
    logger.debug({ password: 'not-even-written' }, 'below the level');
    await new Promise((resolve) => setImmediate(resolve));
    const text = lines.join('');
    assert.equal(lines.length, 2);
    for (const secret of ['gAAAAsecret', 's3cr3t', 'child-secret', 'not-even-written']) assert.ok(!text.includes(secret), `${secret} leaked: ${text}`);
    const first = JSON.parse(lines[0]) as Record<string, unknown>;
    assert.equal(first.msg, 'calling keystone');
    assert.equal(first.site, 'eu-west-1');
    assert.equal(first.level, 'info');
    assert.equal(first.application_credential_secret, REDACTED);
  });
});

describe('metrics HTTP endpoint', { timeout: 10_000 }, () => {
  it('serves GET /metrics on 127.0.0.1 and nothing else', async () => {
    const { startMetricsHttpServer, parseHostPort } = await import('../../agent/ops/metrics-http.js');
    assert.deepEqual(parseHostPort('[::1]:9464'), { host: '::1', port: 9464 });
    assert.throws(() => parseHostPort('localhost'), /expected host:port/);
    const m = createAgentMetrics({ processMetrics: false });
    m.term.set(5);
    const server = await startMetricsHttpServer({ listen: '127.0.0.1:0', metrics: () => m.registry.metrics() });
    try {
      const base = `http://127.0.0.1:${server.port}`;
      const ok = await fetch(`${base}/metrics`);
      assert.equal(ok.status, 200);
      assert.match(ok.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
      assert.equal(metricValue(await ok.text(), 'stackraft_raft_term'), 5);
      assert.equal((await fetch(`${base}/other`)).status, 404);
      assert.equal((await fetch(`${base}/metrics`, { method: 'POST' })).status, 405);
    } finally {
      await server.close();
    }
  });
});
