// Connection failures: a write whose connection drops is sent once more with the same client id and
// sequence (the catalog applies it at most once); if that fails too, the outcome is unknown (exit 5).
// External commands: the registry runs what the lead registers and explains a missing module.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runCli } from '../../agent/cli/run.js';
import { allCommands } from '../../agent/cli/commands/index.js';
import { runInProcess } from './cli-harness.js';

type Mode = 'drop-first' | 'drop-all';

describe('CLI connection failures', { timeout: 20_000 }, () => {
  let dir: string;
  let socketPath: string;
  let server: Server;
  let mode: Mode = 'drop-first';
  const received: Array<{ method: string; url: string; body: Record<string, unknown> | undefined }> = [];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'stackraft-retry-'));
    socketPath = join(dir, 'admin.sock');
    server = createServer((req, res) => {
      let text = '';
      req.on('data', (chunk) => (text += chunk));
      req.on('end', () => {
        received.push({ method: req.method ?? '', url: req.url ?? '', body: text ? (JSON.parse(text) as Record<string, unknown>) : undefined });
        const writesSoFar = received.filter((r) => r.method !== 'GET').length;
        if (req.method === 'GET' || mode === 'drop-all' || writesSoFar === 1) {
          req.socket.destroy(); // the agent died (or the connection broke) before answering
          return;
        }
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ writeId: 'w', index: 7, revisions: [{ kind: 'flavor', id: 'f', revision: 7 }] }));
      });
    });
    await new Promise<void>((resolve) => server.listen(socketPath, resolve));
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await rm(dir, { recursive: true, force: true });
  });

  const create = () => runInProcess(['flavor', 'create', 'f', '--id', 'f', '--vcpus', '1', '--ram', '512', '--disk', '1', '-f', 'value', '-c', 'revision'], { socketPath });

  it('retries a write once with the same client id and seq when the connection drops', async () => {
    mode = 'drop-first';
    received.length = 0;
    const run = await create();
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout, '7\n');
    assert.match(run.stderr, /connection to the agent was lost .*sending the write again with the same write id/);
    assert.equal(received.length, 2);
    const [first, second] = received.map((r) => r.body!);
    assert.equal(typeof first.clientId, 'string');
    assert.equal(first.clientId, second.clientId);
    assert.equal(first.seq, second.seq);
    assert.deepEqual(first, second);
  });

  it('reports an unknown outcome (exit 5) with the write id when the retry fails too', async () => {
    mode = 'drop-all';
    received.length = 0;
    const run = await create();
    assert.equal(run.code, 5);
    assert.equal(received.length, 2, 'exactly one retry');
    const { clientId, seq } = received[0].body!;
    assert.match(run.stderr, /its outcome is unknown/);
    assert.ok(run.stderr.includes(`stackraft write show ${String(clientId)}:${String(seq)}`), run.stderr);
  });

  it('a read whose connection drops is not retried and exits 1', async () => {
    received.length = 0;
    const run = await runInProcess(['status'], { socketPath });
    assert.equal(run.code, 1);
    assert.equal(received.length, 1);
    assert.match(run.stderr, /cannot reach the agent at .*admin\.sock/);
  });
});

describe('process commands', { timeout: 10_000 }, () => {
  it('runs a registered command with the remaining arguments and returns its exit code', async () => {
    const seen: string[][] = [];
    const external = new Map([['sim', { summary: 'test', run: async (argv: string[]) => (seen.push(argv), 7) }]]);
    const io = { stdout: { write: () => true }, stderr: { write: () => true }, env: {}, readStdin: async () => '' };
    const code = await runCli(['sim', '--seed', '42'], io, allCommands(), external);
    assert.equal(code, 7);
    assert.deepEqual(seen, [['--seed', '42']]);
  });

  it('every process command appears in the main help', async () => {
    const run = await runInProcess(['--help']);
    for (const name of ['init', 'agent', 'dev-cluster', 'sim']) assert.match(run.stdout, new RegExp(`\\n  ${name} +`));
  });
});
