// The admin server's defences and its socket file: malformed requests get 4xx JSON and are counted,
// an agent bug is a 500 JSON, the socket is 0660, a stale socket is replaced, a live one is not.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { lstat, mkdir, rm, stat, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { AdminSocketError, startAdminServer } from '../../agent/admin/server.js';
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
