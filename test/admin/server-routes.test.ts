// Every admin API route against a fake AgentService: success bodies, how each outcome maps to an
// HTTP status and JSON error, and what reaches the service.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { WriteOp, WriteOptions } from '../../agent/admin/service.js';
import { startHarness, type AdminHarness } from './harness.js';

const PEER = '12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA';
const flavorSpec = { name: 'm1.small', vcpus: 1, ram: 2048, disk: 20 };

describe('admin API routes', { timeout: 20_000 }, () => {
  let h: AdminHarness;
  before(async () => {
    h = await startHarness();
  });
  after(async () => {
    await h.close();
  });

  it('GET /v1/status returns the service status', async () => {
    const reply = await h.request('GET', '/v1/status');
    assert.equal(reply.status, 200);
    assert.match(String(reply.headers['content-type']), /^application\/json/);
    assert.equal(reply.json.site, 'eu-west-1');
    assert.equal(reply.json.members.length, 3);
  });

  it('GET /v1/members returns the members', async () => {
    const reply = await h.request('GET', '/v1/members');
    assert.equal(reply.status, 200);
    assert.deepEqual(reply.json.members.map((m: { site: string }) => m.site), ['eu-west-1', 'us-east-1', 'ap-south-1']);
  });

  it('PUT creates a resource with generated exactly-once ids, GET reads it with read metadata', async () => {
    const put = await h.request('PUT', '/v1/resources/flavor/f1', { spec: flavorSpec, placement: 'region=eu', expectedRevision: 0 });
    assert.equal(put.status, 200, put.text);
    assert.ok(put.json.index > 0);
    assert.deepEqual(put.json.revisions, [{ kind: 'flavor', id: 'f1', revision: put.json.index }]);
    const [ops, options] = h.service.callsOf('write').at(-1) as [WriteOp[], WriteOptions];
    assert.deepEqual(ops, [{ op: 'put', kind: 'flavor', id: 'f1', spec: flavorSpec, placement: 'region=eu', expectedRevision: 0 }]);
    assert.match(options.clientId, /^admin-/);
    assert.equal(options.seq, 1);
    assert.equal(options.force, false);
    assert.equal(put.json.writeId, `${options.clientId}:1`);

    const get = await h.request('GET', '/v1/resources/flavor/f1');
    assert.equal(get.status, 200);
    assert.equal(get.json.resource.spec.name, 'm1.small');
    assert.equal(get.json.resource.placement, 'region=eu');
    assert.equal(get.json.meta.linearizable, false);
    assert.equal(typeof get.json.meta.appliedIndex, 'number');
  });

  it('passes the caller\'s client id, seq and timeout through', async () => {
    const reply = await h.request('PUT', '/v1/resources/flavor/f2', { spec: flavorSpec, clientId: 'cli-abc', seq: 7, timeoutMs: 5000 });
    assert.equal(reply.status, 200, reply.text);
    const [, options] = h.service.callsOf('write').at(-1) as [WriteOp[], WriteOptions];
    assert.deepEqual(options, { force: false, clientId: 'cli-abc', seq: 7, timeoutMs: 5000 });
    assert.equal(reply.json.writeId, 'cli-abc:7');
  });

  it('GET of a missing resource is 404 NOT_FOUND naming it', async () => {
    const reply = await h.request('GET', '/v1/resources/flavor/nope');
    assert.equal(reply.status, 404);
    assert.equal(reply.json.error.code, 'NOT_FOUND');
    assert.equal(reply.json.error.kind, 'flavor');
    assert.equal(reply.json.error.id, 'nope');
  });

  it('an unknown kind is 404 and never reaches the service', async () => {
    const before = h.service.calls.length;
    const reply = await h.request('GET', '/v1/resources/widget/x');
    assert.equal(reply.status, 404);
    assert.equal(reply.json.error.code, 'NOT_FOUND');
    assert.match(reply.json.error.message, /unknown resource kind "widget"/);
    assert.equal(h.service.calls.length, before);
  });

  it('lists a kind, local or linearizable', async () => {
    const local = await h.request('GET', '/v1/resources/flavor');
    assert.equal(local.status, 200);
    assert.deepEqual(local.json.items.map((r: { id: string }) => r.id), ['f1', 'f2']);
    const linear = await h.request('GET', '/v1/resources/flavor?linearizable=true');
    assert.equal(linear.json.meta.linearizable, true);
    assert.deepEqual(h.service.callsOf('list').at(-1), ['flavor', { linearizable: true }]);
  });

  it('a refused linearizable read is 503 with the refusal code', async () => {
    h.service.linearizableRefusal = { code: 'NO_QUORUM', message: 'no quorum of voters is reachable' };
    try {
      const reply = await h.request('GET', '/v1/resources/flavor/f1?linearizable=1');
      assert.equal(reply.status, 503);
      assert.equal(reply.json.error.code, 'NO_QUORUM');
      const list = await h.request('GET', '/v1/resources/flavor?linearizable');
      assert.equal(list.status, 503);
    } finally {
      h.service.linearizableRefusal = undefined;
    }
  });

  it('a bad linearizable value is 400', async () => {
    const reply = await h.request('GET', '/v1/resources/flavor?linearizable=maybe');
    assert.equal(reply.status, 400);
    assert.equal(reply.json.error.code, 'BAD_REQUEST');
  });

  it('PATCH replaces top-level fields with the expected revision, null removes one', async () => {
    const current = (await h.request('GET', '/v1/resources/flavor/f1')).json.resource;
    const reply = await h.request('PATCH', '/v1/resources/flavor/f1', { patch: { extraSpecs: { a: 'b' } }, expectedRevision: current.revision });
    assert.equal(reply.status, 200, reply.text);
    const [ops] = h.service.callsOf('write').at(-1) as [WriteOp[]];
    assert.deepEqual(ops, [{ op: 'patch', kind: 'flavor', id: 'f1', patch: { extraSpecs: { a: 'b' } }, expectedRevision: current.revision }]);
    const removal = await h.request('PATCH', '/v1/resources/flavor/f1', { patch: { extraSpecs: null } });
    assert.equal(removal.status, 200, removal.text);
    const after = (await h.request('GET', '/v1/resources/flavor/f1')).json.resource;
    assert.equal(after.spec.extraSpecs, undefined);
    const required = await h.request('PATCH', '/v1/resources/flavor/f1', { patch: { vcpus: null } });
    assert.equal(required.status, 400);
    assert.equal(required.json.error.field, 'patch.vcpus');
  });

  it('a null placement means every site', async () => {
    const reply = await h.request('PATCH', '/v1/resources/flavor/f1', { patch: {}, placement: null });
    assert.equal(reply.status, 200, reply.text);
    const [ops] = h.service.callsOf('write').at(-1) as [WriteOp[]];
    assert.equal((ops[0] as { placement?: string }).placement, 'all');
  });

  it('a stale expectedRevision is 409 CONFLICT with the catalog\'s details', async () => {
    const reply = await h.request('PATCH', '/v1/resources/flavor/f1', { patch: { name: 'x' }, expectedRevision: 1 });
    assert.equal(reply.status, 409);
    assert.equal(reply.json.error.code, 'CONFLICT');
    assert.equal(typeof reply.json.error.actualRevision, 'number');
    assert.equal(reply.json.error.opIndex, 0);
  });

  it('DELETE works with and without a body', async () => {
    await h.request('PUT', '/v1/resources/flavor/tmp1', { spec: flavorSpec });
    await h.request('PUT', '/v1/resources/flavor/tmp2', { spec: flavorSpec });
    assert.equal((await h.request('DELETE', '/v1/resources/flavor/tmp1')).status, 200);
    const withBody = await h.request('DELETE', '/v1/resources/flavor/tmp2', { expectedRevision: 0 });
    assert.equal(withBody.status, 409);
    const rev = (await h.request('GET', '/v1/resources/flavor/tmp2')).json.resource.revision;
    assert.equal((await h.request('DELETE', '/v1/resources/flavor/tmp2', { expectedRevision: rev })).status, 200);
    assert.equal((await h.request('GET', '/v1/resources/flavor/tmp1')).status, 404);
  });

  it('POST /v1/batch applies several ops as one write', async () => {
    const before = h.service.callsOf('write').length;
    const reply = await h.request('POST', '/v1/batch', {
      ops: [
        { op: 'put', kind: 'flavor', id: 'b1', spec: flavorSpec },
        { op: 'put', kind: 'quota', id: 'proj1', spec: { project: 'proj1', compute: { cores: 10 } } },
      ],
    });
    assert.equal(reply.status, 200, reply.text);
    assert.equal(reply.json.revisions.length, 2);
    assert.equal(h.service.callsOf('write').length, before + 1);
  });

  it('a batch that names a resource twice, has no ops or too many is refused before the service', async () => {
    const before = h.service.callsOf('write').length;
    const twice = await h.request('POST', '/v1/batch', { ops: [{ op: 'delete', kind: 'flavor', id: 'b1' }, { op: 'delete', kind: 'flavor', id: 'b1' }] });
    assert.equal(twice.status, 400);
    assert.equal(twice.json.error.field, 'ops[1]');
    const empty = await h.request('POST', '/v1/batch', { ops: [] });
    assert.equal(empty.status, 400);
    const many = await h.request('POST', '/v1/batch', { ops: Array.from({ length: 101 }, (_, i) => ({ op: 'delete', kind: 'flavor', id: `x${i}` })) });
    assert.equal(many.status, 400);
    assert.match(many.json.error.message, /at most 100/);
    const badOp = await h.request('POST', '/v1/batch', { ops: [{ op: 'upsert', kind: 'flavor', id: 'b1' }] });
    assert.equal(badOp.status, 400);
    assert.equal(badOp.json.error.field, 'ops[0].op');
    assert.equal(h.service.callsOf('write').length, before);
  });

  it('a bad spec is 400 VALIDATION naming the field, before the service', async () => {
    const before = h.service.callsOf('write').length;
    const reply = await h.request('PUT', '/v1/resources/flavor/bad', { spec: { ...flavorSpec, vcpus: 0 } });
    assert.equal(reply.status, 400);
    assert.equal(reply.json.error.code, 'VALIDATION');
    assert.equal(reply.json.error.field, 'spec.vcpus');
    assert.match(reply.json.error.message, /spec\.vcpus: expected a positive integer, got 0/);

    const missing = await h.request('PUT', '/v1/resources/flavor/bad', { spec: { name: 'x' } });
    assert.equal(missing.status, 400);
    assert.deepEqual(missing.json.error.problems.map((p: { field: string }) => p.field), ['spec.vcpus', 'spec.ram', 'spec.disk']);

    const batchField = await h.request('POST', '/v1/batch', { ops: [{ op: 'put', kind: 'flavor', id: 'ok', spec: flavorSpec }, { op: 'put', kind: 'image', id: 'not-a-uuid', spec: {} }] });
    assert.equal(batchField.status, 400);
    assert.equal(batchField.json.error.field, 'ops[1].id');
    assert.equal(h.service.callsOf('write').length, before);
  });

  it("flavor ids that are not a URL path segment ('.', '..') are 400 in a batch and on the resource path", async () => {
    const before = h.service.callsOf('write').length;
    for (const id of ['.', '..']) {
      const batch = await h.request('POST', '/v1/batch', { ops: [{ op: 'put', kind: 'flavor', id, spec: flavorSpec }] });
      assert.equal(batch.status, 400, batch.text);
      assert.equal(batch.json.error.field, 'ops[0].id');
      assert.match(batch.json.error.message, /not usable as a path segment/);
    }
    assert.equal(h.service.callsOf('write').length, before);
  });

  it('flavor project access: a list of project ids, for a private flavor only', async () => {
    const before = h.service.callsOf('write').length;
    const publicOne = await h.request('PUT', '/v1/resources/flavor/acc', { spec: { ...flavorSpec, accessProjects: ['p1'] } });
    assert.equal(publicOne.status, 400, publicOne.text);
    assert.equal(publicOne.json.error.field, 'spec.accessProjects');
    const badId = await h.request('PUT', '/v1/resources/flavor/acc', { spec: { ...flavorSpec, isPublic: false, accessProjects: ['p 1'] } });
    assert.equal(badId.status, 400, badId.text);
    assert.equal(badId.json.error.field, 'spec.accessProjects.0');
    assert.equal(h.service.callsOf('write').length, before);
    const ok = await h.request('PUT', '/v1/resources/flavor/acc', { spec: { ...flavorSpec, isPublic: false, accessProjects: ['p1', 'p2'] } });
    assert.equal(ok.status, 200, ok.text);
  });

  it('kind-specific rules: image digest, protection group sites, quota limits', async () => {
    const image = await h.request('PUT', '/v1/resources/image/2b9c6e6e-8a0e-4bd5-b3e9-5bd14a5d0a11', {
      spec: { name: 'cirros', diskFormat: 'qcow2', containerFormat: 'bare', source: { url: 'https://example.com/c.img' } },
    });
    assert.equal(image.status, 400);
    assert.match(image.json.error.message, /source\.sha256 or source\.sha512/);
    const badUrl = await h.request('PUT', '/v1/resources/image/2b9c6e6e-8a0e-4bd5-b3e9-5bd14a5d0a11', {
      spec: { name: 'cirros', diskFormat: 'qcow2', containerFormat: 'bare', source: { url: 'ftp://example.com/c.img', sha256: 'a'.repeat(64) } },
    });
    assert.equal(badUrl.json.error.field, 'spec.source.url');
    const upperId = await h.request('PUT', '/v1/resources/image/2B9C6E6E-8A0E-4BD5-B3E9-5BD14A5D0A11', { spec: {} });
    assert.equal(upperId.json.error.field, 'id');
    const pg = await h.request('PUT', '/v1/resources/protection-group/pg1', {
      spec: { project: 'p1', primarySite: 'eu-west-1', secondarySite: 'eu-west-1', replicationType: 'sync', volumeType: 'replicated' },
    });
    assert.equal(pg.status, 400);
    assert.equal(pg.json.error.field, 'spec.secondarySite');
    const quota = await h.request('PUT', '/v1/resources/quota/p1', { spec: { project: 'p1', compute: { cores: -2 } } });
    assert.equal(quota.status, 400);
    assert.equal(quota.json.error.field, 'spec.compute.cores');
  });

  it('an unknown body field is a VALIDATION error that suggests the right one', async () => {
    const reply = await h.request('PUT', '/v1/resources/flavor/f9', { spec: flavorSpec, expectedRevison: 0 });
    assert.equal(reply.status, 400);
    assert.equal(reply.json.error.field, 'expectedRevison');
    assert.match(reply.json.error.message, /did you mean 'expectedRevision'/);
  });

  it('a write without its body is 400', async () => {
    assert.equal((await h.request('PUT', '/v1/resources/flavor/f9')).status, 400);
    assert.equal((await h.request('PATCH', '/v1/resources/flavor/f9')).status, 400);
    assert.equal((await h.request('POST', '/v1/batch')).status, 400);
  });

  it('--force without a reason is refused; with one it reaches the service', async () => {
    const refused = await h.request('PUT', '/v1/resources/flavor/f1', { spec: flavorSpec, force: true });
    assert.equal(refused.status, 400);
    assert.equal(refused.json.error.field, 'reason');
    const forced = await h.request('PUT', '/v1/resources/flavor/f1', { spec: flavorSpec, force: true, reason: 'site lost' });
    assert.equal(forced.status, 200);
    const [, options] = h.service.callsOf('write').at(-1) as [WriteOp[], WriteOptions];
    assert.equal(options.force, true);
    assert.equal(options.reason, 'site lost');
  });

  it('maps every write outcome to its status and error code', async () => {
    const cases = [
      { outcome: { status: 'refused', code: 'NO_LEADER', message: 'no leader' }, http: 503, code: 'NO_LEADER', retryAfter: '1' },
      { outcome: { status: 'refused', code: 'NO_QUORUM', message: 'no quorum', leader: 'eu-west-1' }, http: 503, code: 'NO_QUORUM' },
      { outcome: { status: 'refused', code: 'PEER_UNREACHABLE', message: 'down', member: 'us-east-1' }, http: 503, code: 'PEER_UNREACHABLE' },
      { outcome: { status: 'refused', code: 'BUSY', message: 'backlog' }, http: 503, code: 'BUSY', retryAfter: '1' },
      { outcome: { status: 'refused', code: 'INVALID', message: 'not a member' }, http: 400, code: 'INVALID' },
      { outcome: { status: 'rejected', code: 'VALIDATION', message: 'name taken', field: 'spec.name' }, http: 400, code: 'VALIDATION' },
      { outcome: { status: 'rejected', code: 'CONFLICT', message: 'changed' }, http: 409, code: 'CONFLICT' },
      { outcome: { status: 'unknown', writeId: 'c:1', message: 'timed out' }, http: 504, code: 'UNKNOWN' },
    ] as const;
    for (const c of cases) {
      h.service.scriptedWrites.push(c.outcome);
      const reply = await h.request('PUT', '/v1/resources/flavor/f1', { spec: flavorSpec });
      assert.equal(reply.status, c.http, `${c.code}: ${reply.text}`);
      assert.equal(reply.json.error.code, c.code);
      assert.equal(reply.json.error.message, c.outcome.message);
      if ('retryAfter' in c) assert.equal(reply.headers['retry-after'], c.retryAfter);
    }
    h.service.scriptedWrites.push({ status: 'refused', code: 'PEER_UNREACHABLE', message: 'down', member: 'us-east-1' });
    assert.equal((await h.request('PUT', '/v1/resources/flavor/f1', { spec: flavorSpec })).json.error.member, 'us-east-1');
    h.service.scriptedWrites.push({ status: 'unknown', writeId: 'c:1', message: 'timed out' });
    assert.equal((await h.request('PUT', '/v1/resources/flavor/f1', { spec: flavorSpec })).json.error.writeId, 'c:1');
    h.service.scriptedWrites.push({ status: 'rejected', code: 'VALIDATION', message: 'name taken', field: 'spec.name' });
    assert.equal((await h.request('PUT', '/v1/resources/flavor/f1', { spec: flavorSpec })).json.error.field, 'spec.name');
  });

  it('GET /v1/writes/:id reports a known write and 404s an unknown one', async () => {
    const put = await h.request('PUT', '/v1/resources/flavor/w1', { spec: flavorSpec, clientId: 'cli-w', seq: 3 });
    const known = await h.request('GET', `/v1/writes/${encodeURIComponent(put.json.writeId)}`);
    assert.equal(known.status, 200);
    assert.equal(known.json.status, 'committed');
    assert.equal(known.json.index, put.json.index);
    const unknown = await h.request('GET', '/v1/writes/cli-w:99');
    assert.equal(unknown.status, 404);
    assert.match(unknown.json.error.message, /not committed as of index/);
    assert.equal(unknown.json.error.final, false);
    assert.equal(typeof unknown.json.error.asOfIndex, 'number');
    for (const bad of ['no-seq', 'cli-w:0', 'cli-w:1.5', ':3']) {
      const reply = await h.request('GET', `/v1/writes/${encodeURIComponent(bad)}`);
      assert.equal(reply.status, 400, `${bad}: ${reply.text}`);
      assert.equal(reply.json.error.field, 'writeId');
    }
  });

  it('POST /v1/sites adds a site; a peer id mismatch or bad multiaddr is refused', async () => {
    const body = { name: 'ap-east-1', peerId: PEER, addrs: [`/ip4/10.0.0.1/tcp/7420/p2p/${PEER}`], region: 'ap-east', country: 'hk', labels: { tier: 'gold' } };
    const reply = await h.request('POST', '/v1/sites', body);
    assert.equal(reply.status, 200, reply.text);
    const [request] = h.service.callsOf('siteAdd').at(-1) as [Record<string, unknown>];
    assert.deepEqual(request, { name: 'ap-east-1', peerId: PEER, addrs: body.addrs, region: 'ap-east', country: 'HK', labels: { tier: 'gold' } });
    const noCountry = await h.request('POST', '/v1/sites', { ...body, country: undefined });
    assert.equal(noCountry.json.error.field, 'country');

    const mismatch = await h.request('POST', '/v1/sites', { ...body, peerId: '12D3KooWOther' });
    assert.equal(mismatch.status, 400);
    assert.equal(mismatch.json.error.field, 'addrs[0]');
    const badAddr = await h.request('POST', '/v1/sites', { ...body, addrs: ['/ip4/999.0.0.1/tcp/1'] });
    assert.equal(badAddr.status, 400);
    assert.match(badAddr.json.error.message, /addrs\[0\]: expected a multiaddr/);
    const badName = await h.request('POST', '/v1/sites', { ...body, name: '-ap-east' });
    assert.equal(badName.status, 400);
    assert.equal(badName.json.error.field, 'name');
  });

  it('DELETE /v1/sites/:site removes a site; a malformed name is refused', async () => {
    assert.equal((await h.request('DELETE', '/v1/sites/ap-east-1')).status, 200);
    assert.deepEqual((h.service.callsOf('siteRemove').at(-1) as unknown[])[0], 'ap-east-1');
    const bad = await h.request('DELETE', '/v1/sites/bad%20name');
    assert.equal(bad.status, 400);
  });

  it('promote and demote reach the service with exactly-once ids', async () => {
    const promote = await h.request('POST', '/v1/members/ap-south-1/promote', { clientId: 'cli-m', seq: 1 });
    assert.equal(promote.status, 200);
    assert.deepEqual(h.service.callsOf('memberPromote').at(-1), ['ap-south-1', { force: false, clientId: 'cli-m', seq: 1 }]);
    const demote = await h.request('POST', '/v1/members/us-east-1/demote');
    assert.equal(demote.status, 200);
    h.service.scriptedWrites.push({ status: 'refused', code: 'NO_QUORUM', message: 'no quorum' });
    assert.equal((await h.request('POST', '/v1/members/us-east-1/demote')).status, 503);
  });

  it('leader transfer maps transferred, refused, rejected and unknown', async () => {
    const done = await h.request('POST', '/v1/leader/transfer', { site: 'us-east-1' });
    assert.equal(done.status, 200);
    assert.deepEqual(done.json, { leader: 'us-east-1', term: 8 });
    const outcomes = [
      [{ status: 'refused', code: 'NO_LEADER', message: 'no leader' }, 503],
      [{ status: 'rejected', code: 'VALIDATION', message: 'ap-south-1 is a learner' }, 400],
      [{ status: 'unknown', message: 'no new leader within 10 s' }, 504],
    ] as const;
    for (const [outcome, status] of outcomes) {
      h.service.transferOutcome = outcome;
      assert.equal((await h.request('POST', '/v1/leader/transfer', { site: 'ap-south-1' })).status, status);
    }
    h.service.transferOutcome = undefined;
    assert.equal((await h.request('POST', '/v1/leader/transfer', {})).status, 400);
  });

  it('GET /v1/sync returns the sync view', async () => {
    h.service.syncView = { sites: [{ site: 'eu-west-1', reportedAt: '2025-01-01T00:00:00Z', resources: [{ kind: 'flavor', id: 'f1', wanted: 'present', desiredRevision: 5, syncedRevision: 5, state: 'in-sync' }] }] };
    const reply = await h.request('GET', '/v1/sync');
    assert.equal(reply.status, 200);
    assert.equal(reply.json.sites[0].resources[0].state, 'in-sync');
  });

  it('GET /metrics serves Prometheus text', async () => {
    const reply = await h.request('GET', '/metrics');
    assert.equal(reply.status, 200);
    assert.match(String(reply.headers['content-type']), /^text\/plain; version=0\.0\.4/);
    assert.match(reply.text, /stackraft_raft_term 7/);
  });

  it('GET /v1/debug/memory reports the process memory', async () => {
    const reply = await h.request('GET', '/v1/debug/memory');
    assert.equal(reply.status, 200, reply.text);
    for (const field of ['rssBytes', 'heapTotalBytes', 'heapUsedBytes', 'externalBytes', 'arrayBuffersBytes']) {
      assert.ok(Number.isInteger(reply.json[field]) && reply.json[field] > 0, `${field}: ${reply.json[field]}`);
    }
  });

  it('POST /v1/debug/gc is refused with 404 unless the agent runs under --expose-gc', async () => {
    assert.equal(typeof (globalThis as { gc?: unknown }).gc, 'undefined', 'the test process must not run with --expose-gc');
    const reply = await h.request('POST', '/v1/debug/gc');
    assert.equal(reply.status, 404);
    assert.equal(reply.json.error.code, 'NOT_FOUND');
    assert.match(reply.json.error.message, /--expose-gc/);
    assert.equal((await h.request('GET', '/v1/debug/gc')).status, 405);
  });
});
