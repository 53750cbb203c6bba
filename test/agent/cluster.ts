// A cluster of real agent processes on 127.0.0.1, built the way an operator builds one (and the
// way agent/dev/cluster.ts does): keys from `initSite`, the first site founds the cluster with
// --bootstrap, the others are added through its admin socket (POST /v1/sites) and promoted by the
// leader's housekeeping. Every process is killed by PID in destroy(), and on process exit.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { initSite } from '../../agent/daemon/init.js';
import { startMockCloud, type MockCloud } from '../../drivers/index.js';
import { AdminHttp, type StatusView } from './admin-http.js';
import { AgentProcess, sleep } from './agent-process.js';

export const CLUSTER_ID = 'stackraft-e2e';
/** Bound of every cluster-level wait (start, election, catch-up) unless the caller says otherwise. */
export const CLUSTER_WAIT_MS = 30_000;
const POLL_MS = 50;
/** Regions and countries given to sites in order (site records need both). */
const PLACES = [
  ['us-east', 'US'],
  ['eu-west', 'IE'],
  ['ap-northeast', 'JP'],
  ['ca', 'CA'],
  ['eu-central', 'DE'],
] as const;

export interface ClusterOptions {
  sites: number;
  /** Raft timing (config `timing`); tests use short ticks, the benchmark the defaults. */
  tickMs?: number;
  electionTimeoutTicks?: number;
  heartbeatTicks?: number;
  logLevel?: 'debug' | 'info' | 'warn' | 'error';
  /** Extra node flags for every agent process (e.g. --cpu-prof). */
  nodeArgs?: string[];
  /** Prefix of the temporary directory. */
  prefix?: string;
  /** Give each site a mock OpenStack cloud served from this process (else `cloud: none`), so reconcilers run. */
  mockClouds?: boolean;
  /** Where each site runs: its address and the command that starts it there (default 127.0.0.1, directly). */
  placement?: (index: number) => { host: string; launcher: string[] };
  /** Extra environment for every agent. */
  env?: Record<string, string>;
  /** Config `voters` (default 5): with fewer voters than sites the rest stay learners. */
  voters?: number;
  /** The cluster id (default CLUSTER_ID). */
  clusterId?: string;
  /** Every site manages this (already running) mock cloud, e.g. one shared with another cluster. */
  sharedCloudUrl?: string;
  /** Config fields of one site that replace the generated ones (e.g. `cloud`, `dr`). */
  siteConfig?: (name: string, index: number) => Record<string, unknown>;
}

export class AgentCluster {
  private readonly admins = new Map<string, AdminHttp>();
  /** Each site's mock cloud, when the cluster was started with mockClouds. */
  readonly clouds = new Map<string, MockCloud>();

  private sharedCloudUrl: string | undefined;

  private constructor(
    readonly dir: string,
    readonly sites: AgentProcess[],
    readonly timing: { tickMs: number; electionTimeoutTicks: number; heartbeatTicks: number },
    readonly voters = 5,
    readonly clusterId: string = CLUSTER_ID,
    private readonly siteConfig?: (name: string, index: number) => Record<string, unknown>,
  ) {}

  /** Election timeout in milliseconds (the lower bound of the randomised one). */
  get electionTimeoutMs(): number {
    return this.timing.tickMs * this.timing.electionTimeoutTicks;
  }

  /** Creates the sites, starts them all, and waits until every site is a voter (up to 5) and agrees on a leader. */
  static async start(options: ClusterOptions): Promise<AgentCluster> {
    const dir = await mkdtemp(join(tmpdir(), options.prefix ?? 'stackraft-e2e-'));
    const timing = { tickMs: options.tickMs ?? 50, electionTimeoutTicks: options.electionTimeoutTicks ?? 10, heartbeatTicks: options.heartbeatTicks ?? 1 };
    const sites: AgentProcess[] = [];
    const cluster = new AgentCluster(dir, sites, timing, options.voters ?? 5, options.clusterId, options.siteConfig);
    cluster.sharedCloudUrl = options.sharedCloudUrl;
    try {
      for (let i = 0; i < options.sites; i++) {
        const name = `site-${i + 1}`;
        const siteDir = join(dir, name);
        const { peerId } = await initSite(join(siteDir, 'data'));
        const where = options.placement?.(i);
        // A site in a namespace of its own has the whole port range to itself.
        const port = where ? 7420 : await freePort();
        sites.push(new AgentProcess({ name, dir: siteDir, port, peerId, nodeArgs: options.nodeArgs, host: where?.host, launcher: where?.launcher, env: options.env }));
      }
      if (options.mockClouds) for (const site of sites) cluster.clouds.set(site.name, await startMockCloud());
      for (const [i, site] of sites.entries()) await cluster.writeConfig(site, i, options.logLevel ?? 'info');
      await cluster.form();
    } catch (err) {
      const logs = await cluster.logTails();
      await cluster.destroy();
      throw new Error(`the cluster did not start: ${(err as Error).message}\n${logs}`);
    }
    return cluster;
  }

  site(name: string): AgentProcess {
    const site = this.sites.find((s) => s.name === name);
    if (!site) throw new Error(`no site ${name}`);
    return site;
  }

  running(): AgentProcess[] {
    return this.sites.filter((s) => s.running);
  }

  /** The admin client of a site (one keep-alive connection, reused across restarts). */
  admin(name: string): AdminHttp {
    let client = this.admins.get(name);
    if (!client) {
      client = new AdminHttp(this.site(name).socketPath);
      this.admins.set(name, client);
    }
    return client;
  }

  /**
   * Waits until every running site (or those in `among`) reports the same leader and term, the
   * leader being one of them, saying it leads, and not `notLeader`. Returns its name and term.
   */
  async waitForLeader(options: { among?: string[]; notLeader?: string; timeoutMs?: number } = {}): Promise<{ leader: string; term: number }> {
    let found: { leader: string; term: number } | null = null;
    await this.waitFor('a leader every site agrees on', async () => {
      const names = options.among ?? this.running().map((s) => s.name);
      const views = await Promise.all(names.map((n) => this.admin(n).status()));
      const leader = views[0]?.leader;
      if (!leader || leader === options.notLeader || !names.includes(leader)) return false;
      if (!views.every((v) => v.leader === leader && v.term === views[0].term)) return false;
      const own = views.find((v) => v.site === leader);
      if (own?.role !== 'leader') return false;
      found = { leader, term: own.term };
      return true;
    }, options.timeoutMs);
    return found!;
  }

  /** Waits until `name` has applied at least `index`. */
  async waitForApplied(name: string, index: number, timeoutMs?: number): Promise<StatusView> {
    let view: StatusView | null = null;
    await this.waitFor(`${name} to apply index ${index}`, async () => {
      view = await this.admin(name).status();
      return view.appliedIndex >= index;
    }, timeoutMs);
    return view!;
  }

  /** Polls `check` until it returns true; a thrown error counts as "not yet" and is reported at timeout. */
  /** Polls `check` until it holds; `what` may be a function, to say in the error what was last seen. */
  async waitFor(what: string | (() => string), check: () => Promise<boolean>, timeoutMs = CLUSTER_WAIT_MS): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let lastError = '';
    for (;;) {
      try {
        if (await check()) return;
      } catch (err) {
        lastError = (err as Error).message;
      }
      if (Date.now() > deadline) {
        throw new Error(`timed out after ${timeoutMs} ms waiting for ${typeof what === 'string' ? what : what()}${lastError ? ` (last error: ${lastError})` : ''}\n${await this.logTails()}`);
      }
      await sleep(POLL_MS);
    }
  }

  /** Kills a site's process by PID (SIGKILL by default) and waits until it is gone. */
  async kill(name: string, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    await this.site(name).kill(signal);
  }

  /** Starts a stopped site again from its data directory (never with --bootstrap). */
  async restart(name: string): Promise<void> {
    await this.site(name).start(false, CLUSTER_WAIT_MS);
  }

  /** SIGTERM to every running site, so each exits cleanly (and writes its --cpu-prof profile), then destroy(). */
  async shutdown(): Promise<void> {
    await Promise.all(this.running().map((s) => s.kill('SIGTERM').catch(() => undefined)));
    await this.destroy();
  }

  /** Kills every process by PID, closes the admin clients and removes the directory. */
  async destroy(): Promise<void> {
    await Promise.all(this.sites.map((s) => s.kill('SIGKILL').catch(() => undefined)));
    await Promise.all([...this.admins.values()].map((a) => a.close()));
    this.admins.clear();
    await Promise.all([...this.clouds.values()].map((c) => c.close()));
    this.clouds.clear();
    await rm(this.dir, { recursive: true, force: true });
  }

  async logTails(): Promise<string> {
    return (await Promise.all(this.sites.map((s) => s.logTail()))).join('\n');
  }

  private async writeConfig(site: AgentProcess, index: number, logLevel: string): Promise<void> {
    const [region, country] = PLACES[index % PLACES.length];
    const config = {
      site: { name: site.name, region, country, labels: { env: 'e2e' } },
      clusterId: this.clusterId,
      dataDir: site.dataDir,
      listen: [`/ip4/${site.host}/tcp/${site.port}`],
      peers: this.sites.filter((s) => s !== site).map((s) => ({ site: s.name, addr: s.addr })),
      adminSocket: site.socketPath,
      cloud: this.sharedCloudUrl !== undefined ? { type: 'mock', url: this.sharedCloudUrl } : this.clouds.has(site.name) ? { type: 'mock', url: this.clouds.get(site.name)!.url } : { type: 'none' },
      timing: this.timing,
      voters: this.voters,
      log: { level: logLevel },
      ...this.siteConfig?.(site.name, index),
    };
    await writeFile(site.configPath, stringify(config));
  }

  /** Bootstrap the first site, add the others through it, start them, wait for their promotion. */
  private async form(): Promise<void> {
    const [first, ...others] = this.sites;
    await first.start(true, CLUSTER_WAIT_MS);
    await this.waitForLeader({ among: [first.name] });
    for (const [i, site] of others.entries()) {
      const [region, country] = PLACES[(i + 1) % PLACES.length];
      const reply = await this.admin(first.name).write('POST', '/v1/sites', {
        name: site.name,
        peerId: site.peerId,
        addrs: [`/ip4/${site.host}/tcp/${site.port}`],
        region,
        country,
        labels: { env: 'e2e' },
      });
      if (reply.status !== 200) throw new Error(`POST /v1/sites ${site.name}: HTTP ${reply.status} ${reply.text}`);
    }
    await Promise.all(others.map((site) => site.start(false, CLUSTER_WAIT_MS)));
    const wantVoters = Math.min(this.sites.length, this.voters);
    await this.waitFor(`${wantVoters} voters`, async () => {
      const st = await this.admin(first.name).status();
      return st.members.filter((m) => m.role === 'voter').length >= wantVoters;
    });
    await this.waitForLeader();
  }
}

/**
 * Ports handed out come from below Linux's ephemeral range (32768-60999 by default): a port the
 * kernel picked for `listen(0)` is also one it may give the next outgoing connection as its local
 * port, and CI once lost an agent's start to that (EADDRINUSE a moment after the port was free).
 */
const PORT_RANGE = { low: 20_000, high: 32_000 };
const PORT_ATTEMPTS = 50;
/** Ports this process handed out: never twice. */
const handedOut = new Set<number>();

/** A TCP port free on 127.0.0.1 right now (the agent binds it a moment later). */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < PORT_ATTEMPTS; attempt++) {
    const port = PORT_RANGE.low + Math.floor(Math.random() * (PORT_RANGE.high - PORT_RANGE.low));
    if (handedOut.has(port)) continue;
    if (await canListen(port)) {
      handedOut.add(port);
      return port;
    }
  }
  throw new Error(`no free port on 127.0.0.1 in ${PORT_RANGE.low}-${PORT_RANGE.high} after ${PORT_ATTEMPTS} attempts`);
}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}
