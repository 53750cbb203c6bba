// Blob transfer between two real agent processes on loopback (libp2p TCP + Noise + yamux, the
// blob protocol, chunks hashed and written with fdatasync at the receiver), beside a plain TCP copy
// of the same file between two processes (read from disk, written to disk, one fsync at the end).
// Each run: a fresh file is uploaded at site-1 (`image create --file`, not timed), site-2 fetches it
// (timed by site-2's fetcher: first request to last verified chunk stored); the TCP copy of the same
// file runs before or after it, alternating, so load from other tenants hits both. Prints every run,
// the medians and the median of the per-run ratios, with the machine's load average.
// Run: npm run bench:blob [-- --mib 128 --runs 5 --json FILE --cpu-prof DIR] (--help prints the options)
// --cpu-prof DIR: both agents run with node's --cpu-prof and write their profiles to DIR when the
// bench stops them (SIGTERM); read them with scripts/cpu-profile-top.js.
import '../agent/runtime/promise-shim.js';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { open, readFile, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { cpus, loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { AgentCluster } from '../test/agent/cluster.js';
import { sleep } from '../test/agent/agent-process.js';
import { runCli } from '../test/agent/run-cli.js';
import { patternBytes } from '../test/blobs/helpers.js';
import { median } from './closed-loop.js';

const USAGE = `usage: node dist/bench/blob-bench.js [--mib N] [--runs N] [--json FILE] [--cpu-prof DIR]
  --mib N         size of the file each run transfers, MiB (default 128)
  --runs N        runs; blob fetch and plain TCP copy alternate which goes first (default 5)
  --json FILE     also write every run and the medians to FILE
  --cpu-prof DIR  run both agents with node --cpu-prof, profiles written to DIR when they stop
                  (read them with node dist/bench/cpu-profile-top.js FILE)
  --help          print this and exit`;

function parseOptions(): { mib?: string; runs?: string; json?: string; 'cpu-prof'?: string; help?: boolean } {
  try {
    return parseArgs({ options: { mib: { type: 'string', default: '128' }, runs: { type: 'string', default: '5' }, json: { type: 'string' }, 'cpu-prof': { type: 'string' }, help: { type: 'boolean', short: 'h' } } }).values;
  } catch (err) {
    console.error(`${(err as Error).message}\n${USAGE}`);
    process.exit(2);
  }
}

const values = parseOptions();
if (values.help === true) {
  console.log(USAGE);
  process.exit(0);
}
const MIB = Number(values.mib);
const RUNS = Number(values.runs);
if (!(Number.isSafeInteger(MIB) && MIB > 0 && Number.isSafeInteger(RUNS) && RUNS > 0)) {
  console.error(`--mib and --runs take whole numbers above 0\n${USAGE}`);
  process.exit(2);
}
const FETCH_WAIT_MS = 10 * 60_000;

interface Run {
  run: number;
  blobMBps: number;
  tcpMBps: number;
  ratio: number;
  /** CPU time of both agents (user + system) per MiB fetched, from the upload's end to the fetch's end. */
  cpuMsPerMiB: number;
  /** The same for the serving agent (site-1) and the fetching agent (site-2) alone. */
  serverCpuMsPerMiB: number;
  fetcherCpuMsPerMiB: number;
}

/** A process's user + system CPU time so far, in ms (Linux /proc; clock ticks of 10 ms). */
async function cpuMs(pid: number | undefined): Promise<number> {
  if (pid === undefined) return 0;
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/** CPU time so far of the serving agent (site-1) and the fetching one (site-2), ms. */
async function agentsCpuMs(cluster: AgentCluster): Promise<{ server: number; fetcher: number }> {
  return { server: await cpuMs(cluster.site('site-1').pid), fetcher: await cpuMs(cluster.site('site-2').pid) };
}

/** A child process serves the file on a loopback port; this process receives it to disk and fsyncs. */
async function tcpCopy(file: string, target: string): Promise<number> {
  const sender = spawn(process.execPath, [
    '-e',
    `const net=require('net'),fs=require('fs');const s=net.createServer(c=>{fs.createReadStream(process.argv[1]).pipe(c);s.close();});s.listen(0,'127.0.0.1',()=>console.log(s.address().port));`,
    file,
  ], { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = once(sender, 'exit');
  const [line] = (await once(sender.stdout, 'data')) as [Buffer];
  const port = Number(line.toString().trim());
  const started = performance.now();
  const socket = connect(port, '127.0.0.1');
  const out = createWriteStream(target);
  socket.pipe(out);
  await once(out, 'finish');
  const handle = await open(target, 'r+');
  await handle.sync();
  await handle.close();
  const ms = performance.now() - started;
  await exited;
  return ms;
}

interface BlobRun {
  ms: number;
  bytes: number;
  serverCpuMs: number;
  fetcherCpuMs: number;
}

async function blobFetch(cluster: AgentCluster, file: string): Promise<BlobRun> {
  const id = randomUUID();
  const upload = await runCli(['image', 'create', `bench-${id.slice(0, 8)}`, '--id', id, '--disk-format', 'raw', '--container-format', 'bare', '--file', file], { socket: cluster.site('site-1').socketPath, timeoutMs: FETCH_WAIT_MS });
  if (upload.code !== 0) throw new Error(`upload failed (exit ${upload.code}): ${upload.stderr}`);
  const cpuBefore = await agentsCpuMs(cluster);
  const resource = await cluster.admin('site-1').request('GET', `/v1/resources/image/${id}`);
  const root = resource.json.resource.spec.source.blob.root as string;
  const deadline = performance.now() + FETCH_WAIT_MS;
  while (performance.now() < deadline) {
    const state = (await cluster.admin('site-2').request('GET', `/v1/blobs/${root}`)).json;
    if (state.fetch?.state === 'failed') throw new Error(`site-2's fetch failed: ${state.fetch.lastError}`);
    if (state.fetch?.state === 'done') {
      const cpuAfter = await agentsCpuMs(cluster);
      return { ms: state.fetch.elapsedMs, bytes: state.fetch.bytesDone, serverCpuMs: cpuAfter.server - cpuBefore.server, fetcherCpuMs: cpuAfter.fetcher - cpuBefore.fetcher };
    }
    await sleep(100);
  }
  throw new Error('site-2 did not fetch the blob in time');
}

async function main(): Promise<void> {
  const profileDir = values['cpu-prof'];
  const nodeArgs = profileDir !== undefined ? ['--cpu-prof', '--cpu-prof-dir', resolve(profileDir)] : undefined;
  const cluster = await AgentCluster.start({ sites: 2, prefix: 'stackraft-blob-bench-', logLevel: 'warn', ...(nodeArgs !== undefined ? { nodeArgs } : {}) });
  console.log(`two agents up (${cluster.dir})`);
  const runs: Run[] = [];
  try {
    for (let run = 1; run <= RUNS; run++) {
      const file = join(cluster.dir, `image-${run}.raw`);
      await writeFile(file, patternBytes(MIB * 1024 * 1024, 100 + run));
      const copy = join(cluster.dir, 'tcp-copy.raw');
      let blob: BlobRun = { ms: 0, bytes: 0, serverCpuMs: 0, fetcherCpuMs: 0 };
      let tcpMs = 0;
      if (run % 2 === 1) {
        tcpMs = await tcpCopy(file, copy);
        blob = await blobFetch(cluster, file);
      } else {
        blob = await blobFetch(cluster, file);
        tcpMs = await tcpCopy(file, copy);
      }
      await rm(copy, { force: true });
      await rm(file, { force: true });
      const blobMBps = blob.bytes / 1e6 / (blob.ms / 1000);
      const tcpMBps = (MIB * 1024 * 1024) / 1e6 / (tcpMs / 1000);
      const mibFetched = blob.bytes / (1024 * 1024);
      const serverCpuMsPerMiB = blob.serverCpuMs / mibFetched;
      const fetcherCpuMsPerMiB = blob.fetcherCpuMs / mibFetched;
      const cpuMsPerMiB = serverCpuMsPerMiB + fetcherCpuMsPerMiB;
      runs.push({ run, blobMBps, tcpMBps, ratio: blobMBps / tcpMBps, cpuMsPerMiB, serverCpuMsPerMiB, fetcherCpuMsPerMiB });
      console.log(
        `run ${run}: blob ${blobMBps.toFixed(1)} MB/s (${(blob.ms / 1000).toFixed(2)} s, agents' CPU ${cpuMsPerMiB.toFixed(1)} ms/MiB: server ${serverCpuMsPerMiB.toFixed(1)}, fetcher ${fetcherCpuMsPerMiB.toFixed(1)}), ` +
          `plain TCP ${tcpMBps.toFixed(1)} MB/s (${(tcpMs / 1000).toFixed(2)} s), ratio ${(blobMBps / tcpMBps).toFixed(2)}`,
      );
    }
  } finally {
    // A clean stop lets each agent write its profile.
    await (profileDir !== undefined ? cluster.shutdown() : cluster.destroy());
  }
  const summary = {
    mib: MIB,
    runs: runs.length,
    blobMBpsMedian: median(runs.map((r) => r.blobMBps)),
    tcpMBpsMedian: median(runs.map((r) => r.tcpMBps)),
    ratioMedian: median(runs.map((r) => r.ratio)),
    cpuMsPerMiBMedian: median(runs.map((r) => r.cpuMsPerMiB)),
    serverCpuMsPerMiBMedian: median(runs.map((r) => r.serverCpuMsPerMiB)),
    fetcherCpuMsPerMiBMedian: median(runs.map((r) => r.fetcherCpuMsPerMiB)),
    loadavg: loadavg(),
    cores: cpus().length,
  };
  console.log(
    `${MIB} MiB, ${runs.length} runs: blob transfer ${summary.blobMBpsMedian.toFixed(1)} MB/s, plain TCP ${summary.tcpMBpsMedian.toFixed(1)} MB/s, ` +
      `median ratio ${summary.ratioMedian.toFixed(2)}, agents' CPU ${summary.cpuMsPerMiBMedian.toFixed(1)} ms/MiB (server ${summary.serverCpuMsPerMiBMedian.toFixed(1)}, fetcher ${summary.fetcherCpuMsPerMiBMedian.toFixed(1)}) (load average ${summary.loadavg.map((l) => l.toFixed(1)).join(' ')} on ${summary.cores} cores)`,
  );
  if (values.json) await writeFile(values.json, JSON.stringify({ summary, runs }, null, 2));
}

await main();
