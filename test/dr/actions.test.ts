// The DR actions the daemon runs steps through: an executable (JSON on stdin, exit status, bounded
// time) and an HTTP endpoint (POST with Idempotency-Key, 2xx = done).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { DrActionRequest } from '../../agent/dr/action.js';
import { ExecAction } from '../../agent/dr/exec-action.js';
import { HttpAction } from '../../agent/dr/http-action.js';

const REQUEST: DrActionRequest = {
  idempotencyKey: 'pg1/3/promote',
  group: 'pg1',
  epoch: 3,
  step: 'promote',
  kind: 'promote',
  site: 'b',
  operation: 'failover',
  fromSite: 'a',
  toSite: 'b',
  attempt: 1,
  spec: { name: 'pg1', project: 'p', replicationType: 'async', primarySite: 'b', secondarySite: 'a', volumeType: 'v', members: [], mappings: { networks: {}, flavors: {}, securityGroups: {} }, status: 'failing-over', failoverEpoch: 3 },
  timeoutMs: 5000,
};

const node = (script: string) => new ExecAction([process.execPath, '-e', script]);

describe('ExecAction', () => {
  it('hands the step as JSON on stdin; exit 0 is done, with stdout as the message', async () => {
    const result = await node("let s='';process.stdin.on('data',d=>s+=d).on('end',()=>{const r=JSON.parse(s);console.log(r.idempotencyKey+' '+process.env.STACKRAFT_DR_KEY)})").run(REQUEST, new AbortController().signal);
    assert.deepEqual(result, { ok: true, message: 'pg1/3/promote pg1/3/promote' });
  });

  it('a non-zero exit is a failure carrying the end of stderr', async () => {
    const result = await node("process.stderr.write('cinder: volume not replicated');process.exit(3)").run(REQUEST, new AbortController().signal);
    assert.equal(result.ok, false);
    assert.match(result.message, /exited with status 3: cinder: volume not replicated/);
  });

  it('an abort (the deadline) stops the action and fails the attempt', async () => {
    const abort = new AbortController();
    const started = performance.now();
    const pending = node('setInterval(() => {}, 1000)').run(REQUEST, abort.signal);
    setTimeout(() => abort.abort(new Error('no result within 100 ms')), 100);
    const result = await pending;
    assert.equal(result.ok, false);
    assert.match(result.message, /was stopped \(no result within 100 ms\)/);
    assert.ok(performance.now() - started < 10_000);
  });

  it('a missing executable is a failure, not a crash', async () => {
    const result = await new ExecAction(['/nonexistent/dr-engine']).run(REQUEST, new AbortController().signal);
    assert.equal(result.ok, false);
    assert.match(result.message, /cannot run \/nonexistent\/dr-engine/);
  });
});

describe('HttpAction', () => {
  let server: Server;
  let url = '';
  const seen: Array<{ key: string | undefined; body: DrActionRequest }> = [];
  before(async () => {
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => (body += d.toString()));
      req.on('end', () => {
        seen.push({ key: req.headers['idempotency-key'] as string | undefined, body: JSON.parse(body) as DrActionRequest });
        if (req.url === '/fail') {
          res.writeHead(503).end('engine busy');
          return;
        }
        res.writeHead(200).end('booted 0 servers');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('POSTs the step with its Idempotency-Key; a 2xx is done', async () => {
    assert.deepEqual(await new HttpAction(`${url}/ok`).run(REQUEST, new AbortController().signal), { ok: true, message: 'booted 0 servers' });
    assert.equal(seen.at(-1)?.key, 'pg1/3/promote');
    assert.equal(seen.at(-1)?.body.step, 'promote');
  });

  it('another status is a failure with the body; an unreachable endpoint too', async () => {
    const failed = await new HttpAction(`${url}/fail`).run(REQUEST, new AbortController().signal);
    assert.deepEqual(failed, { ok: false, message: `${url}/fail answered HTTP 503: engine busy` });
    const closed = await new HttpAction('http://127.0.0.1:1/dr').run(REQUEST, new AbortController().signal);
    assert.equal(closed.ok, false);
  });
});
