// `npm run bench -- --compare etcd`: stackraft and etcd side by side on this machine, the same
// cluster size on 127.0.0.1, fsync on, the same timing (100 ms heartbeat, 1 s election timeout),
// driven by the same closed-loop client (bench/closed-loop.ts) over equally cheap HTTP/1.1 + JSON:
// etcd's JSON gateway (POST /v3/kv/put, a 256-byte value) and stackraft's admin socket (PUT of a
// flavor whose description is the same 256 bytes, with a client id and sequence). Writers go to
// the leader on both sides. Runs alternate between the two systems, so load from other tenants of
// the machine hits both; each figure is the median over --rounds runs, and the ratio column is the
// median of the per-round ratios (stackraft / etcd). Then kill -9 of the leader to the next write
// (probes every 20 ms through a surviving member), alternating, --kills times each.
import { spawn } from 'node:child_process';
import Table from 'cli-table3';
import { loadavg, cpus } from 'node:os';
import { writeFile } from 'node:fs/promises';
import { CONFIG_DEFAULTS } from '../agent/config/schema.js';
import { AgentCluster } from '../test/agent/cluster.js';
import { median, runClosedLoop, sleep, type LoopResult, type WriteClient } from './closed-loop.js';
import { adminSocketClient } from './stackraft-client.js';
import { ETCD_ELECTION_TIMEOUT_MS, ETCD_HEARTBEAT_MS, EtcdCluster, benchValue, ensureEtcdInstalled } from './etcd-cluster.js';

export interface CompareOptions {
  sites: number[];
  levels: number[];
  runSeconds: number;
  warmupSeconds: number;
  rounds: number;
  kills: number;
  /** Seconds of saturating load with a CPU-burning neighbour per system (0: skip). */
  saturateSeconds: number;
  jsonFile: string | null;
}

/** Keep-alive connections per member: the agent admits 64 admin connections and the bench polls need a few. */
const MAX_CONNECTIONS = 60;
const PROBE_INTERVAL_MS = 20;
/**
 * Connections for the failover probes: one per probe for the first seconds. A probe sent while
 * there is no leader may hang until the server's request timeout (etcd: 7 s); with fewer
 * connections the probes sent after the election would wait behind them in the client.
 */
const PROBE_CONNECTIONS = 512;
const FAILOVER_BOUND_MS = 30_000;

/** What the comparison needs of a running cluster, for either system. */
interface System {
  label: 'etcd' | 'stackraft';
  leader(): Promise<string>;
  running(): string[];
  pids(): number[];
  client(member: string, connections: number): WriteClient;
  kill(member: string): Promise<void>;
  /** Starts the member again and waits until it has caught up and a leader is agreed on. */
  restart(member: string): Promise<void>;
  /** The highest Raft term a running member reports. */
  maxTerm(): Promise<number>;
  destroy(): Promise<void>;
}

function stackraftSystem(cluster: AgentCluster): System {
  return {
    label: 'stackraft',
    leader: async () => (await cluster.waitForLeader()).leader,
    running: () => cluster.running().map((s) => s.name),
    pids: () => cluster.running().map((s) => s.pid!),
    client: (member, connections) => adminSocketClient([cluster.site(member).socketPath], connections, (seq) => benchValue(seq).toString('latin1')),
    kill: (member) => cluster.kill(member),
    async maxTerm() {
      const views = await Promise.all(cluster.running().map((s) => cluster.admin(s.name).status().then((v) => v.term, () => 0)));
      return Math.max(0, ...views);
    },
    async restart(member) {
      await cluster.restart(member);
      const { leader } = await cluster.waitForLeader();
      await cluster.waitForApplied(member, (await cluster.admin(leader).status()).commitIndex);
    },
    destroy: () => cluster.destroy(),
  };
}

function etcdSystem(cluster: EtcdCluster): System {
  return {
    label: 'etcd',
    leader: () => cluster.leader(),
    running: () => cluster.running(),
    pids: () => cluster.pids(),
    client: (member, connections) => cluster.client(member, connections),
    kill: (member) => cluster.kill(member),
    restart: (member) => cluster.restart(member),
    maxTerm: () => cluster.maxTerm(),
    destroy: () => cluster.destroy(),
  };
}

async function runLevel(system: System, writers: number, opts: CompareOptions, tag: string): Promise<LoopResult> {
  const leader = await system.leader();
  const client = system.client(leader, Math.min(writers, MAX_CONNECTIONS));
  try {
    return await runClosedLoop(client, writers, opts, system.pids(), tag);
  } finally {
    await client.close();
  }
}

/** kill -9 of the leader; open-loop probes through a surviving member; ms to the first probe sent after the kill that commits. */
async function timeFailover(system: System, rep: number): Promise<number> {
  const leader = await system.leader();
  const via = system.running().find((m) => m !== leader)!;
  const probes = system.client(via, PROBE_CONNECTIONS);
  const key = `failover-${system.label}-${rep}`;
  for (let seq = 1; seq <= 3; seq++) await probes.put(key, `warm-${process.pid}-${rep}`, seq);
  let killedAt = Number.POSITIVE_INFINITY;
  let okAt = 0;
  let stop = false;
  const probing = (async () => {
    for (let n = 1; !stop && okAt === 0; n++) {
      const sentAt = performance.now();
      void probes.put(key, `probe-${process.pid}-${rep}-${n}`, 1).then((ok) => {
        if (ok && sentAt >= killedAt && okAt === 0) okAt = performance.now();
      });
      await sleep(PROBE_INTERVAL_MS);
    }
  })();
  await sleep(300);
  killedAt = performance.now();
  await system.kill(leader);
  const bound = setTimeout(() => (stop = true), FAILOVER_BOUND_MS);
  await probing;
  clearTimeout(bound);
  await probes.close();
  if (okAt === 0) throw new Error(`${system.label}: no write committed within ${FAILOVER_BOUND_MS} ms of killing the leader ${leader}`);
  await system.restart(leader);
  return okAt - killedAt;
}

/** Writers of the saturation run, and how often the term is polled during it. */
const SATURATION_WRITERS = 256;
const TERM_POLL_MS = 200;

interface SaturationResult {
  /** Elections during the run: the highest term at the end minus at the start. */
  termChanges: number;
  result: LoopResult;
}

/**
 * Saturating load (SATURATION_WRITERS closed-loop writers at the leader) while a CPU-burning
 * neighbour process spins on this 2-core machine, for `seconds`; counts the elections it caused.
 */
async function saturate(system: System, seconds: number, tag: string): Promise<SaturationResult> {
  const burner = spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' });
  try {
    const termBefore = await system.maxTerm();
    let highest = termBefore;
    let polling = true;
    const poller = (async () => {
      while (polling) {
        highest = Math.max(highest, await system.maxTerm().catch(() => highest));
        await sleep(TERM_POLL_MS);
      }
    })();
    const leader = await system.leader();
    const client = system.client(leader, Math.min(SATURATION_WRITERS, MAX_CONNECTIONS));
    let result: LoopResult;
    try {
      result = await runClosedLoop(client, SATURATION_WRITERS, { warmupSeconds: 0, runSeconds: seconds }, system.pids(), tag);
    } finally {
      await client.close();
      polling = false;
      await poller;
    }
    highest = Math.max(highest, await system.maxTerm());
    return { termChanges: highest - termBefore, result };
  } finally {
    if (burner.exitCode === null) {
      const exited = new Promise<void>((r) => burner.once('exit', () => r()));
      burner.kill('SIGKILL');
      await exited;
    }
  }
}

interface LevelPair {
  writers: number;
  stackraft: LoopResult[];
  etcd: LoopResult[];
}

interface SizeComparison {
  sites: number;
  levels: LevelPair[];
  failoverMs: { stackraft: number[]; etcd: number[] };
  saturation: { stackraft?: SaturationResult; etcd?: SaturationResult };
}

async function compareSize(sites: number, opts: CompareOptions, say: (line: string) => void): Promise<SizeComparison> {
  say(`${sites} members: starting stackraft agents and etcd members on 127.0.0.1...`);
  const timing = { tickMs: CONFIG_DEFAULTS.tickMs, electionTimeoutTicks: CONFIG_DEFAULTS.electionTimeoutTicks, heartbeatTicks: CONFIG_DEFAULTS.heartbeatTicks };
  const systems: System[] = [];
  try {
    systems.push(stackraftSystem(await AgentCluster.start({ sites, ...timing, logLevel: 'warn', prefix: 'stackraft-bench-' })));
    systems.push(etcdSystem(await EtcdCluster.start(sites)));
    const [stackraft, etcd] = systems;
    const levels: LevelPair[] = [];
    for (const writers of opts.levels) {
      const pair: LevelPair = { writers, stackraft: [], etcd: [] };
      for (let round = 0; round < opts.rounds; round++) {
        const order = round % 2 === 0 ? [stackraft, etcd] : [etcd, stackraft];
        for (const system of order) {
          const r = await runLevel(system, writers, opts, `${system.label}-${sites}s-${writers}w-r${round}`);
          pair[system.label].push(r);
          say(
            `${sites} members, ${writers} writer(s), round ${round + 1}, ${system.label}: ${fmt(r.writesPerSecond, 0)} writes/s, ` +
              `p50 ${fmt(r.p50Ms, 2)} ms, p99 ${fmt(r.p99Ms, 2)} ms, ${fmt(r.serverCpuMsPerWrite, 2)} CPU ms/write, ${r.failed} failed`,
          );
        }
      }
      levels.push(pair);
    }
    const failoverMs = { stackraft: [] as number[], etcd: [] as number[] };
    for (let rep = 0; rep < opts.kills; rep++) {
      const order = rep % 2 === 0 ? [stackraft, etcd] : [etcd, stackraft];
      for (const system of order) {
        const ms = await timeFailover(system, rep);
        failoverMs[system.label].push(ms);
        say(`${sites} members, ${system.label}: kill -9 of the leader -> next write in ${fmt(ms, 0)} ms`);
      }
    }
    const saturation: SizeComparison['saturation'] = {};
    if (opts.saturateSeconds > 0) {
      for (const system of [stackraft, etcd]) {
        say(`${sites} members, ${system.label}: ${SATURATION_WRITERS} writers and a CPU-burning neighbour for ${opts.saturateSeconds} s...`);
        const r = await saturate(system, opts.saturateSeconds, `${system.label}-${sites}s-saturate`);
        saturation[system.label] = r;
        say(`  ${r.termChanges} election(s); ${fmt(r.result.writesPerSecond, 0)} writes/s, p99 ${fmt(r.result.p99Ms, 1)} ms, ${r.result.failed} failed`);
      }
    }
    return { sites, levels, failoverMs, saturation };
  } finally {
    for (const system of systems) await system.destroy().catch(() => undefined);
  }
}

function fmt(n: number, digits: number): string {
  return Number.isFinite(n) ? n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits }) : '-';
}

/** Median of stackraft / etcd for `pick`, taken round by round (the two ran back to back). */
function roundRatio(pair: LevelPair, pick: (r: LoopResult) => number): number {
  return median(pair.stackraft.map((s, i) => pick(s) / pick(pair.etcd[i])));
}

function printComparison(results: SizeComparison[], opts: CompareOptions): void {
  const table = new Table({
    head: ['members', 'writers', 'writes/s etcd', 'writes/s stackraft', 'ratio', 'p50 ms etcd / stackraft', 'p99 ms etcd / stackraft', 'p99 ratio', 'server CPU ms/write etcd / stackraft', 'CPU ratio'],
    style: { head: [], border: [] },
  });
  for (const r of results) {
    for (const pair of r.levels) {
      const m = (side: 'etcd' | 'stackraft', pick: (x: LoopResult) => number): number => median(pair[side].map(pick));
      const failed = pair.stackraft.reduce((s, x) => s + x.failed, 0);
      const failedEtcd = pair.etcd.reduce((s, x) => s + x.failed, 0);
      table.push([
        r.sites,
        pair.writers,
        fmt(m('etcd', (x) => x.writesPerSecond), 0) + (failedEtcd ? ` (${failedEtcd} failed)` : ''),
        fmt(m('stackraft', (x) => x.writesPerSecond), 0) + (failed ? ` (${failed} failed)` : ''),
        fmt(roundRatio(pair, (x) => x.writesPerSecond), 2),
        `${fmt(m('etcd', (x) => x.p50Ms), 2)} / ${fmt(m('stackraft', (x) => x.p50Ms), 2)}`,
        `${fmt(m('etcd', (x) => x.p99Ms), 1)} / ${fmt(m('stackraft', (x) => x.p99Ms), 1)}`,
        fmt(roundRatio(pair, (x) => x.p99Ms), 2),
        `${fmt(m('etcd', (x) => x.serverCpuMsPerWrite), 2)} / ${fmt(m('stackraft', (x) => x.serverCpuMsPerWrite), 2)}`,
        fmt(roundRatio(pair, (x) => x.serverCpuMsPerWrite), 2),
      ]);
    }
    if (r.failoverMs.etcd.length > 0) {
      const e = r.failoverMs.etcd;
      const s = r.failoverMs.stackraft;
      table.push([
        r.sites,
        'kill -9 leader -> next write (ms)',
        `${fmt(median(e), 0)} (${e.map((x) => fmt(x, 0)).join(', ')})`,
        `${fmt(median(s), 0)} (${s.map((x) => fmt(x, 0)).join(', ')})`,
        fmt(median(s) / median(e), 2),
        '',
        '',
        '',
        '',
        '',
      ]);
    }
    const sat = r.saturation;
    if (sat.etcd && sat.stackraft) {
      const cell = (x: SaturationResult): string => `${x.termChanges} elections, ${fmt(x.result.writesPerSecond, 0)} w/s, ${x.result.failed} failed`;
      table.push([r.sites, `${SATURATION_WRITERS} writers + CPU burner, ${opts.saturateSeconds} s`, cell(sat.etcd), cell(sat.stackraft), '', '', '', '', '', '']);
    }
  }
  const [l1, l5] = loadavg();
  process.stdout.write(
    `\nstackraft vs etcd 3.4 on 127.0.0.1, fsync on; heartbeat ${ETCD_HEARTBEAT_MS} ms and election timeout ${ETCD_ELECTION_TIMEOUT_MS} ms on both ` +
      `(stackraft: tick ${CONFIG_DEFAULTS.tickMs} ms x ${CONFIG_DEFAULTS.heartbeatTicks} / x ${CONFIG_DEFAULTS.electionTimeoutTicks}); ` +
      `closed-loop writers at the leader, ${opts.warmupSeconds} s warm-up + ${opts.runSeconds} s measured per run, ${opts.rounds} alternating rounds, medians; ` +
      `ratio = median over rounds of stackraft / etcd (writes/s: higher is better for stackraft; p99 and CPU: lower is better); ` +
      `${cpus().length} CPUs, load average ${l1.toFixed(1)} / ${l5.toFixed(1)} (shared machine: expect noise)\n${table.toString()}\n`,
  );
}

export async function compareWithEtcd(opts: CompareOptions, say: (line: string) => void): Promise<void> {
  ensureEtcdInstalled(say);
  const results: SizeComparison[] = [];
  const failures: string[] = [];
  for (const sites of opts.sites) {
    // A size that fails (a cluster that does not start on a loaded machine) is reported; the others still count.
    try {
      results.push(await compareSize(sites, opts, say));
      printComparison(results.slice(-1), opts);
    } catch (err) {
      failures.push(`${sites} members: ${(err as Error).message.split('\n')[0]}`);
      say(`${sites} members: the comparison failed: ${(err as Error).message}`);
    }
    if (opts.jsonFile) await writeFile(opts.jsonFile, `${JSON.stringify({ options: opts, results, failures }, null, 2)}\n`);
  }
  if (results.length > 1) printComparison(results, opts);
  if (failures.length > 0) throw new Error(`the comparison did not run for ${failures.join('; ')}`);
}

