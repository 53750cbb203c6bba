// The admin socket's own CPU per write, without a cluster: the real admin server (routing, body,
// validation, error mapping, metrics, the JSON answer) over a FakeAgentService, driven in this
// process by keep-alive clients sending the side-by-side bench's flavor PUT (a 256-byte
// description, a client id and sequence). Prints the process's CPU (user + system) per PUT, the
// client's share included: compare two builds by running each in turn on the same machine.
// Run: node dist/bench/admin-bench.js [--puts 32000] [--clients 16] [--warmup 4000]
import { parseArgs } from 'node:util';
import { Pool } from 'undici';
import { startHarness } from '../test/admin/harness.js';

const DESCRIPTION = 'd'.repeat(256);

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { puts: { type: 'string', default: '32000' }, clients: { type: 'string', default: '16' }, warmup: { type: 'string', default: '4000' } } });
  const puts = Number(values.puts);
  const clients = Number(values.clients);
  const warmup = Number(values.warmup);
  for (const [name, n] of [['--puts', puts], ['--clients', clients], ['--warmup', warmup]] as const) {
    if (!Number.isInteger(n) || n < (name === '--warmup' ? 0 : 1)) throw new Error(`${name}: expected a positive integer, got ${n}`);
  }
  const harness = await startHarness();
  const pool = new Pool('http://localhost', { socketPath: harness.socketPath, connections: clients, pipelining: 1 });
  let seq = 0;
  const writer = async (w: number, count: number): Promise<void> => {
    for (let i = 0; i < count; i++) {
      const s = ++seq;
      const body = JSON.stringify({ spec: { name: `f${w}`, vcpus: 1 + (s % 64), ram: 512, disk: 1, description: DESCRIPTION }, clientId: `bench-${w}`, seq: s, timeoutMs: 10_000 });
      const res = await pool.request({ method: 'PUT', path: `/v1/resources/flavor/f${w}`, headers: { 'content-type': 'application/json' }, body });
      await res.body.dump();
      if (res.statusCode !== 200) throw new Error(`PUT answered ${res.statusCode}`);
    }
  };
  const run = (total: number): Promise<unknown> => Promise.all(Array.from({ length: clients }, (_, w) => writer(w, Math.ceil(total / clients))));
  try {
    await run(warmup);
    const before = process.cpuUsage();
    await run(puts);
    const used = process.cpuUsage(before);
    const done = Math.ceil(puts / clients) * clients;
    process.stdout.write(`${JSON.stringify({ puts: done, clients, cpuUsPerPut: Number(((used.user + used.system) / done).toFixed(1)) })}\n`);
  } finally {
    await pool.close();
    await harness.close();
  }
}

main().catch((err: Error) => {
  process.stderr.write(`admin-bench: ${err.message}\n`);
  process.exitCode = 1;
});
