// Benchmark of real agent processes on loopback (libp2p TCP + Noise + yamux, write-ahead log with fsync on),
// with the default timing (100 ms tick, 10-tick election timeout) so the figures compare with
// etcd 3.4's defaults (100 ms heartbeat, 1 s election timeout):
//  - writes per second and latency p50/p99 for 1, 16, 64 and 256 concurrent writers, each writer a
//    loop of flavor PUTs (its own flavor, its own client id, increasing seq) through the admin
//    socket with keep-alive undici pools; each level runs --warmup s, then is measured for --seconds s;
//  - time from `kill -9` of the leader to the next successful write: probes sent every 20 ms (open
//    loop) through a surviving follower, the first one sent after the kill that commits; --kills
//    times, median. Also the stall of a closed-loop writer (one write at a time) at that follower;
//  - resident memory (VmRSS) of the leader idle and at its peak while the levels run;
//  - per level, the leader's fsyncs per write and their mean time, and the CPU used (in cores).
// A shared machine is noisy: compare figures from one run, and read the fsync row before the rest.
// Run: npm run bench [-- --sites 3,5 --levels 1,16,64,256 --seconds 5 --warmup 1 --kills 5
//                      --target leader|spread --cpu-prof DIR --node-args "FLAGS" --json FILE]
import '../agent/runtime/promise-shim.js';
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, loadavg } from 'node:os';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import Table from 'cli-table3';
import { metricTotal } from '../test/agent/admin-http.js';
import { AgentCluster } from '../test/agent/cluster.js';
import { CONFIG_DEFAULTS } from '../agent/config/schema.js';
import { RETRY_PAUSE_MS, cpuSeconds, median, runClosedLoop, sleep } from './closed-loop.js';
import { adminSocketClient } from './stackraft-client.js';
import { compareWithEtcd } from './compare-etcd.js';

// ------------------------------------------------------------------ settings

/** What ships: the config defaults (a 1 s election timeout, like etcd's default). */
const DEFAULT_TIMING = {
  tickMs: CONFIG_DEFAULTS.tickMs,
  electionTimeoutTicks: CONFIG_DEFAULTS.electionTimeoutTicks,
  heartbeatTicks: CONFIG_DEFAULTS.heartbeatTicks,
};
/**
 * Keep-alive connections per agent socket. The agent admits 64 (agent/admin/server.ts
 * MAX_ADMIN_CONNECTIONS) and the bench's own status and metrics polls need a few. node:http
 * answers the pipelined requests of one connection one at a time, so this is also the most
 * writes one agent can have in flight: writers beyond it wait in the client's pool.
 */
const MAX_CONNECTIONS_PER_SOCKET = 60;
/** Bound of the wait for the first write after a leader kill. */
const FAILOVER_BOUND_MS = 30_000;
/** RSS is sampled this often while a level runs. */
const RSS_SAMPLE_MS = 250;
/** Quiet time before the idle RSS sample. */
const IDLE_SETTLE_MS = 2_000;

/** etcd 3.4 on the same 2-core machines, fsync on, default timing, 3 members (from the issue). */
const ETCD_3_MEMBERS = {
  writesPerSecond: { 1: 737, 64: 2_280, 256: 3_220 } as Record<number, number>,
  p50Ms: { 1: 1.25 } as Record<number, number>,
  failoverMs: 1_400,
};

interface Options {
  compare: 'etcd' | null;
  rounds: number;
  saturateSeconds: number;
  sites: number[];
  levels: number[];
  runSeconds: number;
  warmupSeconds: number;
  kills: number;
  target: 'leader' | 'spread';
  cpuProfDir: string | null;
  /** Extra node flags for every agent process (after AGENT_NODE_FLAGS, so a V8 flag given here wins). */
  nodeArgs: string[];
  jsonFile: string | null;
}

const USAGE = `usage: npm run bench -- [--sites 3,5] [--levels 1,16,64,256] [--seconds 5] [--warmup 1]
                        [--kills 5] [--target leader|spread] [--cpu-prof DIR] [--node-args "FLAGS"] [--json FILE]
       npm run bench -- --compare etcd [--rounds 3] [--sites 3,5] [--levels 1,16,64,256] [--seconds 5]
                        [--warmup 1] [--kills 5] [--saturate SECONDS] [--json FILE]

Starts real agents on 127.0.0.1 (fsync on, the config's default timing) and measures writes per second
and latency per number of concurrent writers, kill -9 of the leader to the next successful write, and
the leader's memory; prints them beside etcd 3.4's figures on the same kind of machine.

--compare etcd starts an etcd 3.4 cluster of the same size on 127.0.0.1 beside the agents (Debian's
etcd-server, installed with apt-get when missing), drives both with the same closed-loop client,
alternating runs, and prints one table: writes/s, p50/p99, server CPU per committed write, and kill -9
of the leader to the next write, with stackraft/etcd ratios. --saturate N then runs 256 writers
beside a CPU-burning process for N seconds on each system and counts the elections it caused.
`;

function parseOptions(argv: string[]): Options {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(USAGE);
    process.exit(0);
  }
  const { values } = parseArgs({
    args: argv,
    options: {
      sites: { type: 'string', default: '3,5' },
      levels: { type: 'string', default: '1,16,64,256' },
      seconds: { type: 'string', default: '5' },
      warmup: { type: 'string', default: '1' },
      kills: { type: 'string', default: '5' },
      target: { type: 'string', default: 'leader' },
      compare: { type: 'string' },
      saturate: { type: 'string', default: '0' },
      rounds: { type: 'string', default: '3' },
      'cpu-prof': { type: 'string' },
      'node-args': { type: 'string', default: '' },
      json: { type: 'string' },
    },
  });
  const list = (name: string, text: string, min: number, max: number): number[] =>
    text.split(',').map((part) => {
      const n = Number(part.trim());
      if (!Number.isInteger(n) || n < min || n > max) throw new Error(`--${name}: expected integers from ${min} to ${max}, got ${JSON.stringify(text)}`);
      return n;
    });
  const target = values.target;
  if (target !== 'leader' && target !== 'spread') throw new Error(`--target: expected leader or spread, got ${JSON.stringify(target)}`);
  if (values.compare !== undefined && values.compare !== 'etcd') throw new Error(`--compare: only etcd is supported, got ${JSON.stringify(values.compare)}`);
  return {
    compare: values.compare === 'etcd' ? 'etcd' : null,
    rounds: list('rounds', values.rounds!, 1, 50)[0],
    saturateSeconds: list('saturate', values.saturate!, 0, 3600)[0],
    sites: list('sites', values.sites!, 1, 9),
    levels: list('levels', values.levels!, 1, 1024),
    runSeconds: list('seconds', values.seconds!, 1, 600)[0],
    warmupSeconds: list('warmup', values.warmup!, 0, 600)[0],
    kills: list('kills', values.kills!, 0, 50)[0],
    target,
    cpuProfDir: values['cpu-prof'] ? resolve(values['cpu-prof']) : null,
    nodeArgs: values['node-args']!.split(' ').filter((arg) => arg !== ''),
    jsonFile: values.json ?? null,
  };
}

// ------------------------------------------------------------------ load generation

interface LevelResult {
  writers: number;
  writesPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  failed: number;
  /** Highest VmRSS of the leader while the level ran, KiB. */
  leaderPeakRssKiB: number;
  /** CPU used during the measured window, in cores: the leader, the busiest follower, this bench process. */
  leaderCpuCores: number;
  followerCpuCores: number;
  clientCpuCores: number;
  /** Leader's synced storage batches per committed write, and their mean duration (from its metrics). */
  leaderFsyncsPerWrite: number;
  leaderFsyncMeanMs: number;
  /** The leader's time in GC pauses per committed write (node's gc metrics, every kind), ms. */
  leaderGcMsPerWrite: number;
}


interface FsyncTotals {
  count: number;
  sumSeconds: number;
  gcSeconds: number;
}

async function fsyncTotals(cluster: AgentCluster, site: string): Promise<FsyncTotals> {
  const text = await cluster.admin(site).metrics();
  return {
    count: metricTotal(text, 'stackraft_storage_fsync_seconds_count'),
    sumSeconds: metricTotal(text, 'stackraft_storage_fsync_seconds_sum'),
    gcSeconds: metricTotal(text, 'stackraft_nodejs_gc_duration_seconds_sum'),
  };
}

/** Runs `writers` closed-loop writers for warmup + run seconds; measures the run window only. */
async function runLevel(cluster: AgentCluster, opts: Options, writers: number, tag: string): Promise<LevelResult> {
  const { leader } = await cluster.waitForLeader();
  const targets = opts.target === 'leader' ? [leader] : cluster.running().map((s) => s.name);
  const connections = Math.min(Math.ceil(writers / targets.length), MAX_CONNECTIONS_PER_SOCKET);
  const client = adminSocketClient(targets.map((n) => cluster.site(n).socketPath), connections);
  const pids = cluster.running().map((s) => ({ name: s.name, pid: s.pid! }));
  let peakRss = 0;
  let measuring = false;
  const sampler = setInterval(() => {
    if (measuring) cluster.site(leader).rssKiB().then((kib) => (peakRss = Math.max(peakRss, kib)), () => undefined);
  }, RSS_SAMPLE_MS);
  let fsyncBefore: FsyncTotals = { count: 0, sumSeconds: 0, gcSeconds: 0 };
  let fsyncAfter: FsyncTotals = { count: 0, sumSeconds: 0, gcSeconds: 0 };
  let cpuBefore: number[] = [];
  let cpuAfter: number[] = [];
  let clientBefore = process.cpuUsage();
  let clientUsed = { user: 0, system: 0 };
  const result = await runClosedLoop(client, writers, opts, [], tag, {
    atStart: async () => {
      fsyncBefore = await fsyncTotals(cluster, leader);
      cpuBefore = await Promise.all(pids.map((p) => cpuSeconds(p.pid)));
      clientBefore = process.cpuUsage();
      measuring = true;
    },
    atEnd: async () => {
      measuring = false;
      clientUsed = process.cpuUsage(clientBefore);
      cpuAfter = await Promise.all(pids.map((p) => cpuSeconds(p.pid)));
      fsyncAfter = await fsyncTotals(cluster, leader);
    },
  });
  clearInterval(sampler);
  await client.close();
  const seconds = result.windowMs / 1000;
  const cores = pids.map((p, i) => ({ name: p.name, cores: (cpuAfter[i] - cpuBefore[i]) / seconds }));
  const fsyncs = fsyncAfter.count - fsyncBefore.count;
  return {
    writers,
    writesPerSecond: result.writesPerSecond,
    p50Ms: result.p50Ms,
    p99Ms: result.p99Ms,
    failed: result.failed,
    leaderPeakRssKiB: peakRss,
    leaderCpuCores: cores.find((c) => c.name === leader)?.cores ?? Number.NaN,
    followerCpuCores: Math.max(0, ...cores.filter((c) => c.name !== leader).map((c) => c.cores)),
    clientCpuCores: (clientUsed.user + clientUsed.system) / 1e6 / seconds,
    leaderFsyncsPerWrite: result.committed > 0 ? fsyncs / result.committed : Number.NaN,
    leaderFsyncMeanMs: fsyncs > 0 ? ((fsyncAfter.sumSeconds - fsyncBefore.sumSeconds) * 1000) / fsyncs : Number.NaN,
    leaderGcMsPerWrite: result.committed > 0 ? ((fsyncAfter.gcSeconds - fsyncBefore.gcSeconds) * 1000) / result.committed : Number.NaN,
  };
}

// ------------------------------------------------------------------ failover

/** A failover probe is sent this often, whatever happened to the earlier ones (open loop). */
const PROBE_INTERVAL_MS = 20;
/** Connections for the probes: enough that a few probes lost with the leader do not hold up the next. */
const PROBE_CONNECTIONS = 32;

interface FailoverResult {
  /** Kill to the completion of the first probe sent after the kill that committed. */
  nextWriteMs: number;
  /** Kill to the first success of a closed-loop writer (one write at a time, at a follower). */
  closedLoopStallMs: number;
}

/**
 * Kills the leader with SIGKILL while probes (one every PROBE_INTERVAL_MS, open loop) and a
 * closed-loop writer write through a surviving follower's socket. Then restarts the killed site
 * and waits until it has caught up.
 */
async function timeFailover(cluster: AgentCluster, rep: number): Promise<FailoverResult> {
  const { leader } = await cluster.waitForLeader();
  const writerSite = cluster.running().find((s) => s.name !== leader)!;
  const probes = adminSocketClient([writerSite.socketPath], PROBE_CONNECTIONS);
  const steady = adminSocketClient([writerSite.socketPath], 1);
  const id = `failover-${rep}`;
  const runId = `${process.pid}-${rep}`;
  for (let seq = 1; seq <= 3; seq++) await steady.put(id, `steady-${runId}`, seq); // warm path

  let killedAt = Number.POSITIVE_INFINITY;
  let probeOkAt = 0;
  let steadyOkAt = 0;
  let stop = false;
  const steadyLoop = (async () => {
    for (let seq = 4; !stop && steadyOkAt === 0; seq++) {
      const committed = await steady.put(id, `steady-${runId}`, seq);
      if (committed && performance.now() > killedAt) steadyOkAt = performance.now();
      if (!committed) await sleep(RETRY_PAUSE_MS);
    }
  })();
  const probeLoop = (async () => {
    for (let n = 1; !stop && probeOkAt === 0; n++) {
      const sentAt = performance.now();
      void probes.put(id, `probe-${runId}-${n}`, 1).then((committed) => {
        if (committed && sentAt >= killedAt && probeOkAt === 0) probeOkAt = performance.now();
      });
      await sleep(PROBE_INTERVAL_MS);
    }
  })();
  await sleep(300);
  killedAt = performance.now();
  const killed = cluster.kill(leader);
  const bound = setTimeout(() => (stop = true), FAILOVER_BOUND_MS);
  await probeLoop;
  await steadyLoop;
  clearTimeout(bound);
  await Promise.all([probes.close(), steady.close()]);
  await killed;
  if (probeOkAt === 0) throw new Error(`no write committed within ${FAILOVER_BOUND_MS} ms of killing the leader ${leader}`);

  await cluster.restart(leader);
  const st = await cluster.waitForLeader();
  const commit = (await cluster.admin(st.leader).status()).commitIndex;
  await cluster.waitForApplied(leader, commit);
  await cluster.waitForLeader();
  return { nextWriteMs: probeOkAt - killedAt, closedLoopStallMs: steadyOkAt > 0 ? steadyOkAt - killedAt : Number.NaN };
}


// ------------------------------------------------------------------ one cluster size

interface SizeResult {
  sites: number;
  levels: LevelResult[];
  failovers: FailoverResult[];
  idleLeaderRssKiB: number;
}

async function benchSize(sites: number, opts: Options): Promise<SizeResult> {
  const nodeArgs = [...opts.nodeArgs, ...(opts.cpuProfDir ? ['--cpu-prof', `--cpu-prof-dir=${opts.cpuProfDir}/${sites}-sites`] : [])];
  if (opts.cpuProfDir) await mkdir(`${opts.cpuProfDir}/${sites}-sites`, { recursive: true });
  log(`starting ${sites} agents (tick ${DEFAULT_TIMING.tickMs} ms, election timeout ${DEFAULT_TIMING.electionTimeoutTicks} ticks, fsync on)...`);
  const cluster = await AgentCluster.start({ sites, ...DEFAULT_TIMING, logLevel: 'warn', nodeArgs, prefix: 'stackraft-bench-' });
  try {
    await sleep(IDLE_SETTLE_MS);
    const { leader } = await cluster.waitForLeader();
    const idleLeaderRssKiB = await cluster.site(leader).rssKiB();
    const levels: LevelResult[] = [];
    for (const writers of opts.levels) {
      log(`${sites} sites: ${writers} writer(s), ${opts.warmupSeconds} s warm-up + ${opts.runSeconds} s...`);
      const result = await runLevel(cluster, opts, writers, `${sites}s${writers}w`);
      log(
        `  ${fmt(result.writesPerSecond, 0)} writes/s, p50 ${fmt(result.p50Ms, 2)} ms, p99 ${fmt(result.p99Ms, 2)} ms, ${result.failed} failed; ` +
          `leader: ${fmt(result.leaderFsyncsPerWrite, 2)} fsyncs/write of ${fmt(result.leaderFsyncMeanMs, 2)} ms on average; ` +
          `CPU cores: leader ${fmt(result.leaderCpuCores, 2)}, busiest follower ${fmt(result.followerCpuCores, 2)}, bench client ${fmt(result.clientCpuCores, 2)}; ` +
          `leader GC ${fmt(result.leaderGcMsPerWrite, 3)} ms/write`,
      );
      levels.push(result);
    }
    const failovers: FailoverResult[] = [];
    for (let rep = 0; rep < opts.kills; rep++) {
      const result = await timeFailover(cluster, rep);
      log(`${sites} sites: kill -9 of the leader -> next write in ${fmt(result.nextWriteMs, 0)} ms (closed-loop writer stalled ${fmt(result.closedLoopStallMs, 0)} ms)`);
      failovers.push(result);
    }
    return { sites, levels, failovers, idleLeaderRssKiB };
  } finally {
    if (opts.cpuProfDir) await cluster.shutdown();
    else await cluster.destroy();
  }
}

// ------------------------------------------------------------------ report

function fmt(n: number, digits: number): string {
  return Number.isFinite(n) ? n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits }) : '-';
}

function log(line: string): void {
  process.stderr.write(`${line}\n`);
}

function printReport(results: SizeResult[], opts: Options): void {
  const table = new Table({ head: ['sites', 'measure', 'stackraft', 'etcd 3.4 (3 members)'], style: { head: [], border: [] } });
  for (const r of results) {
    const etcd = r.sites === 3;
    for (const level of r.levels) {
      const w = level.writers;
      table.push([r.sites, `${w} writer(s): writes/s`, fmt(level.writesPerSecond, 0), etcd && ETCD_3_MEMBERS.writesPerSecond[w] ? fmt(ETCD_3_MEMBERS.writesPerSecond[w], 0) : '']);
      table.push([r.sites, `${w} writer(s): p50 / p99 ms`, `${fmt(level.p50Ms, 2)} / ${fmt(level.p99Ms, 2)}`, etcd && ETCD_3_MEMBERS.p50Ms[w] ? `${fmt(ETCD_3_MEMBERS.p50Ms[w], 2)} / -` : '']);
      table.push([r.sites, `${w} writer(s): leader fsyncs per write, mean fsync ms`, `${fmt(level.leaderFsyncsPerWrite, 2)}, ${fmt(level.leaderFsyncMeanMs, 2)}`, '']);
      table.push([r.sites, `${w} writer(s): CPU cores leader / follower / client`, `${fmt(level.leaderCpuCores, 2)} / ${fmt(level.followerCpuCores, 2)} / ${fmt(level.clientCpuCores, 2)}`, '']);
      table.push([r.sites, `${w} writer(s): leader ms CPU / ms in GC per write`, `${fmt((level.leaderCpuCores * 1000) / level.writesPerSecond, 3)} / ${fmt(level.leaderGcMsPerWrite, 3)}`, '']);
      if (level.failed > 0) table.push([r.sites, `${w} writer(s): failed writes`, String(level.failed), '']);
    }
    if (r.failovers.length > 0) {
      const next = r.failovers.map((f) => f.nextWriteMs);
      const stall = r.failovers.map((f) => f.closedLoopStallMs);
      table.push([r.sites, `kill -9 leader -> next write, median of ${next.length} (ms)`, `${fmt(median(next), 0)} (${next.map((m) => fmt(m, 0)).join(', ')})`, etcd ? fmt(ETCD_3_MEMBERS.failoverMs, 0) : '']);
      table.push([r.sites, 'same, stall of a closed-loop writer (ms)', `${fmt(median(stall), 0)} (${stall.map((m) => fmt(m, 0)).join(', ')})`, '']);
    }
    const peak = Math.max(...r.levels.map((l) => l.leaderPeakRssKiB));
    table.push([r.sites, 'leader RSS idle / peak under load (MiB)', `${fmt(r.idleLeaderRssKiB / 1024, 0)} / ${fmt(peak / 1024, 0)}`, '']);
  }
  const [l1, l5] = loadavg();
  process.stdout.write(
    `\nstackraft agent benchmark: real agents on 127.0.0.1, fsync on, tick ${DEFAULT_TIMING.tickMs} ms, election timeout ${DEFAULT_TIMING.electionTimeoutTicks} ticks\n` +
      `writers ${opts.target === 'leader' ? 'at the leader\'s admin socket' : 'spread round-robin over every site\'s admin socket (followers forward to the leader)'}, ` +
      `at most ${MAX_CONNECTIONS_PER_SOCKET} in flight per agent (it admits 64 admin connections, and serves one request at a time per connection); ` +
      `each level ${opts.warmupSeconds} s warm-up + ${opts.runSeconds} s measured; ${cpus().length} CPUs, load average ${l1.toFixed(1)} / ${l5.toFixed(1)} (shared machine: expect noise)\n` +
      `${table.toString()}\n`,
  );
}

async function main(): Promise<void> {
  const opts = parseOptions(process.argv.slice(2));
  if (opts.compare === 'etcd') {
    await compareWithEtcd(opts, log);
    return;
  }
  const results: SizeResult[] = [];
  for (const sites of opts.sites) results.push(await benchSize(sites, opts));
  printReport(results, opts);
  if (opts.jsonFile) await writeFile(opts.jsonFile, `${JSON.stringify({ options: opts, results }, null, 2)}\n`);
}

main().catch((err: Error & { code?: string }) => {
  // A usage mistake gets its message and the usage; anything else is a bug and keeps its stack.
  const usage = err.code?.startsWith('ERR_PARSE_ARGS') || err.message.startsWith('--');
  process.stderr.write(usage ? `agent-bench: ${err.message}\n${USAGE}` : `agent-bench: ${err.stack ?? err.message}\n`);
  process.exitCode = usage ? 2 : 1;
});
