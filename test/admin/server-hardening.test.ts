// The admin server's defences and its socket file: malformed requests get 4xx JSON and are counted,
// an agent bug is a 500 JSON, the socket is 0660, a stale socket is replaced, a live one is not.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { lstat, mkdir, rm, stat, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { MAX_ADMIN_BODY_DEPTH } from '../../agent/admin/body.js';
import { AdminSocketError, CLIENT_GONE_STATUS, startAdminServer } from '../../agent/admin/server.js';
import { createAgentMetrics } from '../../agent/ops/metrics.js';
import { FakeAgentService } from './fake-service.js';
import { metricValue, startHarness, tempDir, type AdminHarness } from './harness.js';

/** Sends raw bytes on a fresh connection and returns what comes back until the server closes or `ms` pass. */
function rawExchange(socketPath: string, payload: string, ms = 3000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ path: socketPath });
    let received = '';
    const timer = setTimeout(() => {
      socket.destroy();
      resolve(received);
    }, ms);
    socket.on('data', (chunk) => {
      received += chunk.toString('utf8');
      if (/\r\n\r\n[\s\S]*\}\n$/.test(received)) {
        clearTimeout(timer);
        socket.destroy();
        resolve(received);
      }
    });
    socket.on('error', (error) => {
      clearTimeout(timer);
      if (received) resolve(received);
      else reject(error);
    });
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(received);
    });
    socket.write(payload);
  });
}

async function badRequests(h: AdminHarness, reason: string): Promise<number> {
  return metricValue(await h.metrics.registry.metrics(), 'stackraft_admin_bad_requests_total', { reason }) ?? 0;
}

describe('admin server: malformed requests', { timeout: 20_000 }, () => {
  let h: AdminHarness;
  before(async () => {
    h = await startHarness();
  });
  after(async () => {
    await h.close();
  });

  it('malformed JSON is 400 BAD_REQUEST and counted', async () => {
    const before = await badRequests(h, 'malformed_json');
    const reply = await h.requestRaw('PUT', '/v1/resources/flavor/f1', '{"spec": {', { 'content-type': 'application/json' });
    assert.equal(reply.status, 400);
    assert.equal(reply.json.error.code, 'BAD_REQUEST');
    assert.match(reply.json.error.message, /not valid JSON/);
    assert.equal(await badRequests(h, 'malformed_json'), before + 1);
  });

  it('invalid UTF-8 is 400', async () => {
    const reply = await h.requestRaw('POST', '/v1/batch', Buffer.from([0x7b, 0xff, 0x7d]) as unknown as string, { 'content-type': 'application/json' });
    assert.equal(reply.status, 400);
    assert.match(reply.json.error.message, /UTF-8/);
  });

  it('a body that is not a JSON object is a VALIDATION error', async () => {
    const reply = await h.requestRaw('POST', '/v1/batch', '[1,2]', { 'content-type': 'application/json' });
    assert.equal(reply.status, 400);
    assert.equal(reply.json.error.code, 'VALIDATION');
  });

  it('a wrong content type is 415 and counted', async () => {
    const before = await badRequests(h, 'unsupported_media_type');
    const reply = await h.requestRaw('POST', '/v1/batch', 'ops=1', { 'content-type': 'application/x-www-form-urlencoded' });
    assert.equal(reply.status, 415);
    assert.equal(reply.json.error.code, 'UNSUPPORTED_MEDIA_TYPE');
    assert.equal(await badRequests(h, 'unsupported_media_type'), before + 1);
    const charset = await h.requestRaw('POST', '/v1/batch', '{"ops":[{"op":"delete","kind":"flavor","id":"zz"}]}', { 'content-type': 'application/json; charset=utf-8' });
    assert.notEqual(charset.status, 415);
  });

  it('an unknown route is 404 JSON and counted', async () => {
    const before = await badRequests(h, 'unknown_route');
    const reply = await h.request('GET', '/v2/status');
    assert.equal(reply.status, 404);
    assert.equal(reply.json.error.code, 'NOT_FOUND');
    assert.match(reply.json.error.message, /no such route/);
    assert.equal(await badRequests(h, 'unknown_route'), before + 1);
  });

  it('a wrong method is 405 with Allow', async () => {
    const reply = await h.request('POST', '/v1/status', {});
    assert.equal(reply.status, 405);
    assert.equal(reply.json.error.code, 'METHOD_NOT_ALLOWED');
    assert.equal(reply.headers.allow, 'GET');
    const resource = await h.request('POST', '/v1/resources/flavor/f1', {});
    assert.equal(resource.headers.allow, 'GET, PUT, PATCH, DELETE');
  });

  it('bad percent-encoding in the path is 400', async () => {
    const reply = await h.request('GET', '/v1/resources/flavor/%E0%A4%A');
    assert.equal(reply.status, 400);
    assert.equal(reply.json.error.code, 'BAD_REQUEST');
  });

  it('a body nested deeper than MAX_ADMIN_BODY_DEPTH is 400 and counted, not a 500 from a stack overflow', async () => {
    const before = await badRequests(h, 'too_deeply_nested');
    const deep = (depth: number) => `${'['.repeat(depth)}1${']'.repeat(depth)}`;
    const reply = await h.requestRaw('PUT', '/v1/resources/flavor/f1', `{"spec":{"name":"x","deep":${deep(1500)}}}`, { 'content-type': 'application/json' });
    assert.equal(reply.status, 400, reply.text);
    assert.equal(reply.json.error.code, 'BAD_REQUEST');
    assert.match(reply.json.error.message, new RegExp(`more than ${MAX_ADMIN_BODY_DEPTH} levels deep`));
    assert.equal(await badRequests(h, 'too_deeply_nested'), before + 1);
    // Brackets inside strings do not count; a body at the limit is parsed.
    const atLimit = await h.requestRaw('PUT', '/v1/resources/flavor/f1', `{"spec":{"name":"[[[[","vcpus":1,"ram":1,"disk":1,"description":${deep(MAX_ADMIN_BODY_DEPTH - 2)}}}`, { 'content-type': 'application/json' });
    assert.equal(atLimit.status, 400, atLimit.text);
    assert.equal(atLimit.json.error.code, 'VALIDATION', 'parsed, then refused for its content');
  });

  it("spec fields and keys named like Object.prototype's members are data, never a 500", async () => {
    for (const name of ['constructor', 'toString', 'hasOwnProperty', 'valueOf']) {
      const spec = { name: 'x', vcpus: 1, ram: 1, disk: 1, extraSpecs: { [name]: 'v' }, [name]: 'v' };
      const reply = await h.request('PUT', `/v1/resources/flavor/proto-${name}`, { spec });
      assert.equal(reply.status, 200, `${name}: ${reply.text}`);
      const [ops] = h.service.callsOf('write').at(-1) as [Array<{ spec: Record<string, unknown> }>];
      assert.ok(Object.hasOwn(ops[0].spec, name), `${name} reaches the service as a field`);
    }
    const proto = await h.requestRaw('PUT', '/v1/resources/flavor/proto', '{"spec":{"name":"x","vcpus":1,"ram":1,"disk":1,"extraSpecs":{"__proto__":"v"}}}', { 'content-type': 'application/json' });
    assert.equal(proto.status, 400, proto.text);
    assert.equal(proto.json.error.field, 'spec.extraSpecs.__proto__');
    const top = await h.requestRaw('PUT', '/v1/resources/flavor/proto', '{"spec":{"name":"x","vcpus":1,"ram":1,"disk":1,"__proto__":{"a":1}}}', { 'content-type': 'application/json' });
    assert.equal(top.status, 400, top.text);
    assert.equal(top.json.error.field, 'spec.__proto__');
  });

  it('a body declared too large is 413 without being read', async () => {
    const before = await badRequests(h, 'body_too_large');
    const response = await rawExchange(h.socketPath, 'PUT /v1/resources/flavor/f1 HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 104857600\r\n\r\n{');
    assert.match(response, /^HTTP\/1\.1 413 /);
    assert.match(response, /"code":"PAYLOAD_TOO_LARGE"/);
    assert.equal(await badRequests(h, 'body_too_large'), before + 1);
  });

  it('a chunked body that grows too large is 413', async () => {
    const chunk = 'x'.repeat(64 * 1024);
    const chunks = Array.from({ length: 10 }, () => `${chunk.length.toString(16)}\r\n${chunk}\r\n`).join('');
    const response = await rawExchange(h.socketPath, `POST /v1/batch HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n${chunks}0\r\n\r\n`);
    assert.match(response, /^HTTP\/1\.1 413 /);
  });

  it('an agent bug is a 500 JSON error, and the server keeps serving', async () => {
    h.service.crash = true;
    try {
      const reply = await h.request('GET', '/v1/status');
      assert.equal(reply.status, 500);
      assert.equal(reply.json.error.code, 'INTERNAL');
      assert.match(reply.json.error.message, /simulated agent bug/);
    } finally {
      h.service.crash = false;
    }
    assert.equal((await h.request('GET', '/v1/status')).status, 200);
  });

  it('counts every request by route template and status', async () => {
    await h.request('GET', '/v1/resources/flavor/nope');
    const text = await h.metrics.registry.metrics();
    assert.ok((metricValue(text, 'stackraft_admin_requests_total', { method: 'GET', route: '/v1/resources/:kind/:id', status: '404' }) ?? 0) >= 1);
    assert.ok((metricValue(text, 'stackraft_admin_requests_total', { method: 'GET', route: 'unmatched', status: '404' }) ?? 0) >= 1);
  });
});

describe('admin server: a client that hangs up mid-body', { timeout: 20_000 }, () => {
  it('is counted as its own outcome (499), not a 500, and logged at debug only', async () => {
    const dir = await tempDir('stackraft-gone-');
    const socketPath = join(dir, 'admin.sock');
    const logged: Array<{ level: string; msg: string | undefined }> = [];
    const record = (level: string) => (_obj: object, msg?: string) => void logged.push({ level, msg });
    const logger = { debug: record('debug'), info: record('info'), warn: record('warn'), error: record('error') };
    const metrics = createAgentMetrics({ processMetrics: false });
    const server = await startAdminServer({ socketPath, service: new FakeAgentService(), metrics, logger });
    try {
      const socket = connect({ path: socketPath });
      await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
      socket.write('PUT /v1/resources/flavor/f1 HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"spec":');
      await new Promise((resolve) => setTimeout(resolve, 50));
      socket.destroy();
      const gone = async () => metricValue(await metrics.registry.metrics(), 'stackraft_admin_requests_total', { method: 'PUT', status: String(CLIENT_GONE_STATUS) }) ?? 0;
      for (let i = 0; i < 100 && (await gone()) === 0; i++) await new Promise((resolve) => setTimeout(resolve, 20));
      assert.equal(await gone(), 1);
      const text = await metrics.registry.metrics();
      assert.equal(metricValue(text, 'stackraft_admin_requests_total', { status: '500' }), undefined, 'no 500 counted');
      assert.deepEqual(logged.filter((l) => l.level === 'error' || l.level === 'warn'), []);
      assert.ok(logged.some((l) => l.level === 'debug' && /hung up/.test(l.msg ?? '')));
    } finally {
      await server.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('admin server: the socket file', { timeout: 20_000 }, () => {
  let dir: string;
  before(async () => {
    dir = await tempDir('stackraft-sock-');
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const metrics = () => createAgentMetrics({ processMetrics: false });

  it('creates the directory, listens with mode 0660, and removes the socket on close', async () => {
    const socketPath = join(dir, 'nested', 'run', 'admin.sock');
    const server = await startAdminServer({ socketPath, service: new FakeAgentService(), metrics: metrics() });
    try {
      const info = await stat(socketPath);
      assert.ok(info.isSocket());
      assert.equal(info.mode & 0o777, 0o660);
    } finally {
      await server.close();
    }
    await assert.rejects(lstat(socketPath), { code: 'ENOENT' });
  });

  it('replaces a stale socket left by a killed agent', async () => {
    const socketPath = join(dir, 'stale.sock');
    // A process that listens and dies without cleaning up leaves exactly such a file.
    const child = spawn(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(socketPath)}, () => process.kill(process.pid, 'SIGKILL'))`], { stdio: 'ignore' });
    await new Promise((resolve) => child.once('exit', resolve));
    assert.ok((await lstat(socketPath)).isSocket(), 'the killed process left its socket file');
    const server = await startAdminServer({ socketPath, service: new FakeAgentService(), metrics: metrics() });
    await server.close();
  });

  it('refuses to take over a socket another agent is serving, which keeps working', async () => {
    const socketPath = join(dir, 'busy.sock');
    const first = await startAdminServer({ socketPath, service: new FakeAgentService(), metrics: metrics() });
    try {
      await assert.rejects(startAdminServer({ socketPath, service: new FakeAgentService(), metrics: metrics() }), (error: unknown) => {
        assert.ok(error instanceof AdminSocketError);
        assert.match(error.message, /already serving the admin socket .*busy\.sock: is another stackraft agent running\?/);
        return true;
      });
      const response = await rawExchange(socketPath, 'GET /v1/status HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n');
      assert.match(response, /^HTTP\/1\.1 200 /);
    } finally {
      await first.close();
    }
  });

  it('refuses to replace a path that is not a socket', async () => {
    const socketPath = join(dir, 'regular-file');
    await mkdir(dir, { recursive: true });
    await writeFile(socketPath, 'not a socket');
    await assert.rejects(startAdminServer({ socketPath, service: new FakeAgentService(), metrics: metrics() }), /exists and is not a socket/);
  });

  it('close() is idempotent', async () => {
    const socketPath = join(dir, 'twice.sock');
    const server = await startAdminServer({ socketPath, service: new FakeAgentService(), metrics: metrics() });
    await Promise.all([server.close(), server.close()]);
    await server.close();
  });
});
