// The edges of a real agent process: bad admin requests get 4xx JSON errors and leave the agent
// serving; a bad config file stops the agent before it touches anything, naming the field.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { stringify } from 'yaml';
import { MAX_ADMIN_BODY_BYTES } from '../../agent/admin/body.js';
import { metricTotal, rawExchange, type Reply } from './admin-http.js';
import { AgentCluster, freePort } from './cluster.js';
import { errorCodeOf, putFlavor } from './fixtures.js';
import { runCli } from './run-cli.js';

/** Just over the agent's request body bound, so that little is left to send once it has answered. */
const OVERSIZE_BODY_BYTES = MAX_ADMIN_BODY_BYTES + 1024;

function assertJsonError(reply: Reply, status: number, code: string): void {
  assert.equal(reply.status, status, reply.text);
  assert.match(String(reply.headers['content-type']), /^application\/json/);
  assert.equal(errorCodeOf(reply), code);
}

describe('bad admin requests to a real agent', { timeout: 90_000 }, () => {
  let cluster: AgentCluster;
  const admin = () => cluster.admin('site-1');
  const socketPath = () => cluster.site('site-1').socketPath;

  before(async () => {
    cluster = await AgentCluster.start({ sites: 1, prefix: 'stackraft-e2ea-' });
  });

  after(async () => {
    await cluster?.destroy();
  });

  it('malformed JSON: 400 BAD_REQUEST', async () => {
    assertJsonError(await admin().requestRaw('PUT', '/v1/resources/flavor/f1', '{"spec": {"name": ', { 'content-type': 'application/json' }), 400, 'BAD_REQUEST');
  });

  it('a body that is not JSON by its content type: 415', async () => {
    assertJsonError(await admin().requestRaw('PUT', '/v1/resources/flavor/f1', 'name=f1', { 'content-type': 'application/x-www-form-urlencoded' }), 415, 'UNSUPPORTED_MEDIA_TYPE');
  });

  it('an unknown route: 404; a known route with the wrong method: 405', async () => {
    assertJsonError(await admin().request('GET', '/v1/no-such-thing'), 404, 'NOT_FOUND');
    assertJsonError(await admin().request('GET', '/'), 404, 'NOT_FOUND');
    const wrongMethod = await admin().request('DELETE', '/v1/status');
    assertJsonError(wrongMethod, 405, 'METHOD_NOT_ALLOWED');
    assert.match(String(wrongMethod.headers.allow), /GET/);
  });

  it('a kind the catalog does not have: 404 naming the kind', async () => {
    const put = await admin().write('PUT', '/v1/resources/widget/w1', { spec: { name: 'w1' } });
    assertJsonError(put, 404, 'NOT_FOUND');
    assert.equal(put.json.error.field, 'kind');
    assertJsonError(await admin().request('GET', '/v1/resources/widget'), 404, 'NOT_FOUND');
  });

  it('a spec with a wrong field type: 400 VALIDATION naming the field', async () => {
    const reply = await admin().write('PUT', '/v1/resources/flavor/f1', { spec: { name: 'f1', vcpus: 'two', ram: 512, disk: 1 } });
    assertJsonError(reply, 400, 'VALIDATION');
    assert.match(reply.json.error.field, /vcpus/);
  });

  it('a body over the size limit, by its declared length: 413 at once, before any body is sent', async () => {
    const head = `PUT /v1/resources/flavor/f1 HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/json\r\ncontent-length: ${OVERSIZE_BODY_BYTES}\r\n\r\n`;
    const answer = await rawExchange(socketPath(), Buffer.from(head));
    assert.match(answer.statusLine, /^HTTP\/1\.1 413 /);
    assert.equal(JSON.parse(answer.body).error.code, 'PAYLOAD_TOO_LARGE');
  });

  it('a body over the size limit, chunked (no declared length): 413 once the limit is passed, without waiting for the end', async () => {
    const chunk = 'x'.repeat(OVERSIZE_BODY_BYTES);
    const request = `PUT /v1/resources/flavor/f1 HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n${chunk.length.toString(16)}\r\n${chunk}\r\n`;
    const answer = await rawExchange(socketPath(), Buffer.from(request));
    assert.match(answer.statusLine, /^HTTP\/1\.1 413 /);
    assert.equal(JSON.parse(answer.body).error.code, 'PAYLOAD_TOO_LARGE');
  });

  it('after all that, the agent still serves, commits writes, and counted the refusals', async () => {
    await putFlavor(admin(), 'f1');
    const text = await admin().metrics();
    assert.ok(metricTotal(text, 'stackraft_admin_bad_requests_total') >= 8, text.split('\n').filter((l) => l.includes('bad_requests')).join('\n'));
  });
});

describe('a bad config file', { timeout: 60_000 }, () => {
  let dir: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'stackraft-e2ec-'));
  });

  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  /** A valid config for a site in `dir`/name, to be broken by the caller. */
  async function validConfig(name: string): Promise<Record<string, unknown>> {
    return {
      site: { name, region: 'eu-west', country: 'IE' },
      clusterId: 'stackraft-e2e',
      dataDir: join(dir, name, 'data'),
      listen: [`/ip4/127.0.0.1/tcp/${await freePort()}`],
      adminSocket: join(dir, name, 'admin.sock'),
      cloud: { type: 'none' },
    };
  }

  /** Starts the agent on the config; asserts it failed before touching anything, and returns stderr. */
  async function expectRefused(name: string, config: Record<string, unknown> | string): Promise<string> {
    const file = join(dir, `${name}.yaml`);
    await writeFile(file, typeof config === 'string' ? config : stringify(config));
    const run = await runCli(['agent', '--config', file], { timeoutMs: 20_000 });
    assert.notEqual(run.code, 0, `the agent started on ${name}: ${run.stderr}`);
    assert.notEqual(run.code, null, 'the agent exited by itself, not by the test bound');
    assert.ok(run.stderr.includes(file), `the message names the file: ${run.stderr}`);
    assert.match(run.stderr, /nothing was started/);
    assert.equal(existsSync(join(dir, name)), false, 'no data directory or socket was created');
    return run.stderr;
  }

  it('refuses each broken field by name, exits non-zero and creates nothing', async () => {
    const cases: Array<[string, (c: Record<string, unknown>) => void, RegExp]> = [
      ['tick', (c) => (c.timing = { tickMs: 5 }), /timing\.tickMs/],
      ['typo', (c) => (c.clusterid = c.clusterId), /clusterid/],
      ['peer', (c) => (c.peers = [{ site: 'site-9', addr: '/ip4/127.0.0.1/tcp/7420' }]), /peers.*addr/],
      ['region', (c) => ((c.site as Record<string, unknown>).region = 'Not A Region!'), /site\.region/],
      ['voters', (c) => (c.voters = 4), /voters/],
      ['relative', (c) => (c.dataDir = 'relative/data'), /dataDir/],
    ];
    await Promise.all(
      cases.map(async ([name, breakIt, field]) => {
        const config = await validConfig(name);
        breakIt(config);
        const stderr = await expectRefused(name, config);
        assert.match(stderr, field, `${name}: the message names the field: ${stderr}`);
      }),
    );
  });

  it('refuses YAML that does not parse, and a missing file, naming the file', async () => {
    await expectRefused('syntax', 'site: { name: broken\nclusterId: [\n');
    const missing = join(dir, 'missing.yaml');
    const run = await runCli(['agent', '--config', missing], { timeoutMs: 20_000 });
    assert.notEqual(run.code, 0);
    assert.ok(run.stderr.includes(missing), run.stderr);
  });
});
