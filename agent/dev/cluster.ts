// `stackraft dev-cluster --sites N [--dir DIR]` (and `npm start`): N real agent processes on
// 127.0.0.1 with real libp2p and LevelDB, each managing its own mock cloud (served from this
// process). The first site founds the cluster; the others are added through its admin socket and
// promoted by the leader up to the voter count. Ctrl-C or SIGTERM stops everything.
import '../runtime/promise-shim.js';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, openSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { stringify } from 'yaml';
import { startMockCloud, type MockCloud } from '../../drivers/index.js';
import { AdminClient } from '../cli/client.js';
import { initSite } from '../daemon/init.js';
import { AGENT_NODE_FLAGS } from '../ops/memory.js';
import { DEV_CLOUDS_FILE, devCloudsYaml } from './clouds-yaml.js';

/** The cluster id of every dev cluster (its sites' clouds carry it in their markers). */
export const DEV_CLUSTER_ID = 'stackraft-dev';

const USAGE = `usage: stackraft dev-cluster [--sites N] [--dir DIR]

Starts N agents (default 3) on 127.0.0.1, each with its own mock OpenStack cloud, writes
DIR/cluster.json and DIR/clouds.yaml (one cloud per site, for the openstack CLI) and waits; Ctrl-C
stops them all. DIR defaults to ./.stackraft-dev and is wiped
at start (a dev cluster keeps no data between runs).
`;

export const MAX_DEV_SITES = 9;
const READY_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 10_000;
const REGIONS = [
  ['us-east', 'US'],
  ['eu-west', 'IE'],
  ['ap-northeast', 'JP'],
  ['ca', 'CA'],
  ['eu-central', 'DE'],
  ['us-west', 'US'],
  ['sa', 'BR'],
  ['oc', 'AU'],
  ['ap-south', 'IN'],
] as const;

interface DevSite {
  name: string;
  dir: string;
  port: number;
  peerId: string;
  socket: string;
  config: string;
  cloud: MockCloud;
  child?: ChildProcess;
}

export interface DevClusterOptions {
  /** The `stackraft` program (its compiled entry point) the sites' agents are started with. */
  program: string;
}

export async function run(argv: string[], options: DevClusterOptions): Promise<number> {
  const { program } = options;
  let values: { sites?: string; dir?: string; help?: boolean };
  try {
    ({ values } = parseArgs({ args: argv, options: { sites: { type: 'string' }, dir: { type: 'string' }, help: { type: 'boolean', short: 'h' } } }));
  } catch (err) {
    process.stderr.write(`stackraft dev-cluster: ${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  const count = Number(values.sites ?? '3');
  if (!Number.isInteger(count) || count < 1 || count > MAX_DEV_SITES) {
    process.stderr.write(`stackraft dev-cluster: --sites must be an integer from 1 to ${MAX_DEV_SITES}, got ${values.sites}\n`);
    return 2;
  }
  const dir = resolve(values.dir ?? '.stackraft-dev');
  const running = await runningCluster(dir);
  if (running) {
    process.stderr.write(`stackraft dev-cluster: a dev cluster is already running from ${dir} (pid ${running}); stop it first (Ctrl-C in its terminal, or kill ${running})\n`);
    return 1;
  }
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  const sites = await prepareSites(dir, count, program);
  const stop = stopper(sites);
  process.once('SIGINT', () => void stop().then(() => process.exit(0)));
  process.once('SIGTERM', () => void stop().then(() => process.exit(0)));
  try {
    await launch(program, sites[0]!, true);
    const admin = new AdminClient(sites[0]!.socket);
    await waitFor(async () => (await admin.get<{ leader: string | null }>('/v1/status')).leader === sites[0]!.name, 'the first site to lead');
    for (const site of sites.slice(1)) {
      await admin.write('POST', '/v1/sites', {
        name: site.name,
        peerId: site.peerId,
        addrs: [`/ip4/127.0.0.1/tcp/${site.port}`],
        region: regionOf(sites.indexOf(site))[0],
        country: regionOf(sites.indexOf(site))[1],
        labels: {},
      });
      await launch(program, site, false);
    }
    await waitFor(async () => {
      const st = await admin.get<{ members: Array<{ role: string }> }>('/v1/status');
      return st.members.filter((m) => m.role === 'voter').length >= Math.min(count, 5);
    }, 'the sites to join and be promoted');
    await admin.close();
  } catch (err) {
    process.stderr.write(`stackraft dev-cluster: could not start: ${(err as Error).message}\nlogs: ${dir}/<site>/agent.log\n`);
    await stop();
    return 1;
  }
  // clouds.yaml first: cluster.json appearing means the cluster, and everything about it, is ready.
  const cloudsYaml = devCloudsYaml(sites);
  await writeFile(join(dir, DEV_CLOUDS_FILE), cloudsYaml);
  await writeClusterFile(dir, sites);
  printUsage(dir, sites, cloudsYaml);
  await new Promise(() => undefined);
  return 0;
}

async function prepareSites(dir: string, count: number, program: string): Promise<DevSite[]> {
  const sites: DevSite[] = [];
  for (let i = 0; i < count; i++) {
    const name = `site-${i + 1}`;
    const siteDir = join(dir, name);
    const { peerId } = await initSite(join(siteDir, 'data'));
    sites.push({ name, dir: siteDir, port: await freePort(), peerId, socket: join(siteDir, 'admin.sock'), config: join(siteDir, 'agent.yaml'), cloud: await startMockCloud() });
  }
  for (const [i, site] of sites.entries()) {
    const [region, country] = regionOf(i);
    const config = {
      site: { name: site.name, region, country, labels: { env: 'dev' } },
      clusterId: DEV_CLUSTER_ID,
      dataDir: join(site.dir, 'data'),
      listen: [`/ip4/127.0.0.1/tcp/${site.port}`],
      peers: sites.filter((s) => s !== site).map((s) => ({ site: s.name, addr: `/ip4/127.0.0.1/tcp/${s.port}/p2p/${s.peerId}` })),
      adminSocket: site.socket,
      cloud: { type: 'mock', url: site.cloud.url },
      // The reference action, so a protection-group failover runs its steps to the end on mock clouds.
      dr: { action: { type: 'exec', command: [process.execPath, program, 'dr-action-mock', '--record', join(site.dir, 'dr-actions.jsonl')] } },
      log: { level: 'info' },
    };
    await writeFile(site.config, stringify(config));
  }
  return sites;
}

function regionOf(i: number): readonly [string, string] {
  return REGIONS[i % REGIONS.length]!;
}

async function launch(program: string, site: DevSite, bootstrap: boolean): Promise<void> {
  const log = openSync(join(site.dir, 'agent.log'), 'a');
  const args = [...AGENT_NODE_FLAGS, program, 'agent', '--config', site.config, ...(bootstrap ? ['--bootstrap'] : [])];
  site.child = spawn(process.execPath, args, { stdio: ['ignore', log, log] });
  site.child.once('exit', (code, signal) => {
    if (site.child) process.stderr.write(`dev-cluster: ${site.name} (pid ${site.child.pid}) exited (${signal ?? `code ${code}`}); log: ${join(site.dir, 'agent.log')}\n`);
  });
  await waitFor(async () => existsSync(site.socket), `${site.name}'s admin socket`);
}

function stopper(sites: DevSite[]): () => Promise<void> {
  let stopping: Promise<void> | null = null;
  return () => {
    stopping ??= (async () => {
      process.stderr.write('\nstopping the dev cluster...\n');
      await Promise.all(sites.map((s) => stopChild(s)));
      await Promise.all(sites.map((s) => s.cloud.close()));
    })();
    return stopping;
  };
}

async function stopChild(site: DevSite): Promise<void> {
  const child = site.child;
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  site.child = undefined;
  const exited = new Promise<void>((resolveExit) => child.once('exit', () => resolveExit()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
  await exited;
  clearTimeout(timer);
}

async function waitFor(check: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  let lastError = '';
  while (Date.now() < deadline) {
    try {
      if (await check()) return;
    } catch (err) {
      lastError = (err as Error).message;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out after ${READY_TIMEOUT_MS / 1000} s waiting for ${what}${lastError ? ` (last error: ${lastError})` : ''}`);
}

function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolvePort(address.port) : reject(new Error('no port'))));
    });
  });
}

async function runningCluster(dir: string): Promise<number | null> {
  try {
    const file = JSON.parse(await readFile(join(dir, 'cluster.json'), 'utf8')) as { pid?: number };
    if (typeof file.pid === 'number' && file.pid !== process.pid) {
      process.kill(file.pid, 0);
      return file.pid;
    }
  } catch {
    // No file, unreadable, or the process is gone: not running.
  }
  return null;
}

async function writeClusterFile(dir: string, sites: DevSite[]): Promise<void> {
  const body = {
    pid: process.pid,
    cloudsYaml: join(dir, DEV_CLOUDS_FILE),
    sites: sites.map((s) => ({ name: s.name, pid: s.child?.pid ?? null, socket: s.socket, peerId: s.peerId, cloud: s.cloud.url })),
  };
  await writeFile(join(dir, 'cluster.json'), `${JSON.stringify(body, null, 2)}\n`);
}

function printUsage(dir: string, sites: DevSite[], cloudsYaml: string): void {
  const first = sites[0]!;
  process.stdout.write(
    `\nstackraft dev cluster is up: ${sites.length} site(s) on 127.0.0.1 (state in ${dir}, described in cluster.json)\n\n` +
      sites.map((s) => `  ${s.name}  pid ${s.child?.pid}  socket ${s.socket}  cloud ${s.cloud.url} (admin/admin)`).join('\n') +
      `\n\n${join(dir, DEV_CLOUDS_FILE)}:\n${cloudsYaml.replace(/^/gm, '  ').trimEnd()}\n` +
      `\nTry, in another terminal:\n` +
      `  export STACKRAFT_SOCKET=${first.socket}\n` +
      `  npm run -s stackraft -- status\n` +
      `  npm run -s stackraft -- flavor create m1.small --vcpus 1 --ram 2048 --disk 20\n` +
      `  npm run -s stackraft -- flavor list --socket ${sites[sites.length - 1]!.socket}\n` +
      `  npm run -s stackraft -- sync status\n` +
      `  export OS_CLIENT_CONFIG_FILE=${join(dir, DEV_CLOUDS_FILE)}   # one cloud per site, for the openstack CLI\n` +
      `  openstack --os-cloud ${first.name} flavor list\n\n` +
      `Logs: ${dir}/<site>/agent.log. Press Ctrl-C to stop every site.\n`,
  );
}
