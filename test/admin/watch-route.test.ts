// GET /v1/watch through the real admin server (a fake service with the real change feed), and the
// `stackraft watch` command on top of it.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Client } from 'undici';
import { startHarness, type AdminHarness } from './harness.js';
import { runInProcess } from '../cli/cli-harness.js';

const FLAVOR = { name: 'm1', vcpus: 1, ram: 512, disk: 1 };

/** Reads `count` NDJSON lines of a stream, then hangs up. */
async function readLines(socketPath: string, path: string, count: number, whileOpen: () => Promise<void> = async () => {}): Promise<{ status: number; lines: any[] }> {
  const client = new Client('http://localhost', { socketPath, bodyTimeout: 10_000 });
  try {
    const response = await client.request({ method: 'GET', path });
    if (response.statusCode !== 200) return { status: response.statusCode, lines: [JSON.parse(await response.body.text())] };
    await whileOpen();
    const lines: any[] = [];
    let pending = '';
    for await (const chunk of response.body) {
      pending += (chunk as Buffer).toString('utf8');
      const parts = pending.split('\n');
      pending = parts.pop()!;
      lines.push(...parts.filter((p) => p !== '').map((p) => JSON.parse(p)));
      if (lines.length >= count) break;
    }
    response.body.destroy();
    return { status: 200, lines };
  } finally {
    await client.destroy();
  }
}

describe('watch route', { timeout: 30_000 }, () => {
  let h: AdminHarness;
  const indices: number[] = [];
  before(async () => {
    h = await startHarness();
    for (const id of ['a', 'b', 'c']) {
      const reply = await h.request('PUT', `/v1/resources/flavor/${id}`, { spec: { ...FLAVOR, name: id } });
      assert.equal(reply.status, 200);
      indices.push(reply.json.index);
    }
  });
  after(async () => h.close());

  it('replays from an index and follows new writes, one JSON object per line', async () => {
    const [, b, c] = indices as [number, number, number];
    let d = 0;
    const { status, lines } = await readLines(h.socketPath, `/v1/watch?fromIndex=${b}&kind=flavor`, 3, async () => {
      const reply = await h.request('PUT', '/v1/resources/flavor/d', { spec: { ...FLAVOR, name: 'd' } });
      assert.equal(reply.status, 200);
      d = reply.json.index;
    });
    assert.equal(status, 200);
    assert.deepEqual(lines.map((l) => [l.index, l.type, l.kind, l.id]), [[b, 'put', 'flavor', 'b'], [c, 'put', 'flavor', 'c'], [d, 'put', 'flavor', 'd']]);
    assert.equal(lines[0].resource.spec.name, 'b');
  });

  it('refuses a bad query (400) and an unknown kind', async () => {
    for (const path of ['/v1/watch?fromIndex=0', '/v1/watch?fromIndex=x', '/v1/watch?kind=server', '/v1/watch?from=1']) {
      const reply = await h.request('GET', path);
      assert.equal(reply.status, 400, path);
      assert.equal(reply.json.error.code, 'BAD_REQUEST');
    }
  });

  it('a compacted index is refused 410 COMPACTED naming the first index kept; the CLI says what to do', async () => {
    const at = (await h.request('PUT', '/v1/resources/flavor/x', { spec: { ...FLAVOR, name: 'x' } })).json.index as number;
    h.service.changes.reset(at);
    const reply = await h.request('GET', '/v1/watch?fromIndex=1');
    assert.equal(reply.status, 410);
    assert.equal(reply.json.error.code, 'COMPACTED');
    assert.equal(reply.json.error.firstIndex, at + 1);
    const run = await runInProcess(['watch', '--from-index', '1'], { socketPath: h.socketPath });
    assert.equal(run.code, 1);
    assert.match(run.stderr, /compacted away/);
    assert.match(run.stderr, new RegExp(`it keeps them from index ${at + 1}`));
  });

  it('stackraft watch -f json prints each change as a JSON line until the stream ends, then says how to resume', async () => {
    const watchesBefore = h.service.callsOf('watch').length;
    const cli = runInProcess(['watch', '-f', 'json', '--kind', 'flavor'], { socketPath: h.socketPath });
    // The watch is registered once the service sees it; then one write, then the feed resets (the stream ends).
    while (h.service.callsOf('watch').length === watchesBefore) await new Promise((r) => setTimeout(r, 10));
    const e = (await h.request('PUT', '/v1/resources/flavor/e', { spec: { ...FLAVOR, name: 'e' } })).json.index as number;
    h.service.changes.reset(e);
    const run = await cli;
    const lines = run.stdout.trim().split('\n').map((l) => JSON.parse(l));
    assert.deepEqual(lines.map((l) => [l.type, l.id]), [['put', 'e']]);
    assert.equal(run.code, 1);
    assert.match(run.stderr, /the watch ended: COMPACTED/);
    assert.match(run.stderr, new RegExp(`--from-index ${e + 1}`));
  });
});
