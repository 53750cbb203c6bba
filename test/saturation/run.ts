// Leadership under saturation: real agent processes on 127.0.0.1 with the shipped timing, a
// closed-loop write load that keeps the leader busy (every writer one flavor PUT at a time through
// an admin socket), and CPU-burning neighbour processes (one busy loop per core) for a while. What
// must hold: no leadership change. It is read three ways, so a short step-down cannot hide between
// samples: the highest term any site reports (before, polled during, after), every site's
// "role …" log lines written during the window (the daemon logs each change of role, term or
// leader), and the leader every site names while polled. Used by `npm run test:saturation`
// (test/saturation/main.ts) and by the short variant in `npm test`.
import { spawn, type ChildProcess } from 'node:child_process';
import { stat, open } from 'node:fs/promises';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { Pool } from 'undici';
import { CONFIG_DEFAULTS } from '../../agent/config/schema.js';
import { AgentCluster } from '../agent/cluster.js';
import { sleep } from '../agent/agent-process.js';

export interface SaturationOptions {
  sites: number;
  writers: number;
  seconds: number;
  /** CPU-burning neighbour processes (default: one per core). */
  burners: number;
  /** Where writers send: all to the leader, or spread over every site (followers forward). */
  target: 'leader' | 'spread';
  /** Disk-burning neighbour processes: each writes 256 KiB and fdatasyncs it, in a loop (default 0). */
  diskBurners?: number;
  log?: (line: string) => void;
}

export interface SaturationReport {
  sites: number;
  writers: number;
  seconds: number;
  burners: number;
  leaderBefore: string;
  termBefore: number;
  /** Highest term any site reported during or after the window. */
  highestTerm: number;
  /** Leaders named by any site while polled (null: a site knew none). */
  leadersSeen: Array<string | null>;
  /** "role …" log lines each site wrote during the window. */
  roleChanges: Record<string, string[]>;
  statusPolls: number;
  statusPollFailures: number;
  /** Write answers by outcome: committed, or the error code (NO_QUORUM, UNKNOWN, NO_LEADER, …), or 'transport'. */
  outcomes: Record<string, number>;
  writesPerSecond: number;
  loadBefore: number;
  loadAfter: number;
}

/** Keep-alive connections per admin socket (the agent admits 64; the status polls need one). */
const MAX_CONNECTIONS_PER_SOCKET = 60;
/** A write's own timeout at the agent. */
const WRITE_TIMEOUT_MS = 10_000;
/** Pause of a writer after an answer that is not "committed", so a refusal loop does not spin. */
const RETRY_PAUSE_MS = 10;
const STATUS_POLL_MS = 200;
/** A neighbour that keeps the disk busy: 256 KiB written and fdatasynced, over and over, in one file. */
const DISK_BURNER = `const fs = require('node:fs'); const fd = fs.openSync(process.argv[1], 'w'); const b = Buffer.alloc(262144, 7);
for (let i = 0; ; i = (i + 1) % 64) { fs.writeSync(fd, b, 0, b.length, i * b.length); fs.fdatasyncSync(fd); }`;
/** A role log line, as agent/daemon/site-agent.ts writes it. */
const ROLE_LINE = /"msg":"(role [^"]*)"/g;

/** The answers counted as leadership trouble (the symptom). */
export const TROUBLE_CODES = ['NO_QUORUM', 'NO_LEADER', 'UNKNOWN'] as const;

/** What went wrong, one line each; empty when leadership held. */
export function leadershipViolations(r: SaturationReport): string[] {
  const out: string[] = [];
  if (r.highestTerm !== r.termBefore) out.push(`the term moved from ${r.termBefore} to ${r.highestTerm} (${r.highestTerm - r.termBefore} election(s))`);
  for (const [site, lines] of Object.entries(r.roleChanges)) {
    if (lines.length > 0) out.push(`${site} changed role ${lines.length} time(s): ${lines.slice(0, 4).join('; ')}${lines.length > 4 ? '; …' : ''}`);
  }
  const others = r.leadersSeen.filter((l) => l !== r.leaderBefore);
  if (others.length > 0) out.push(`sites named another leader (or none) ${others.length} time(s): ${[...new Set(others.map(String))].join(', ')}`);
  return out;
}

export async function runSaturation(opts: SaturationOptions): Promise<SaturationReport> {
  const say = opts.log ?? (() => undefined);
  const cluster = await AgentCluster.start({
    sites: opts.sites,
    tickMs: CONFIG_DEFAULTS.tickMs,
    electionTimeoutTicks: CONFIG_DEFAULTS.electionTimeoutTicks,
    heartbeatTicks: CONFIG_DEFAULTS.heartbeatTicks,
    logLevel: 'info',
    prefix: 'stackraft-saturation-',
  });
  const burners: ChildProcess[] = [];
  try {
    const { leader, term } = await cluster.waitForLeader();
    say(`cluster of ${opts.sites} up, leader ${leader} at term ${term}; ${opts.writers} writers (${opts.target}) and ${opts.burners} CPU burner(s), ${opts.diskBurners ?? 0} disk burner(s) for ${opts.seconds} s`);
    const logOffsets = new Map<string, number>();
    for (const s of cluster.sites) logOffsets.set(s.name, (await stat(s.logPath)).size);
    const loadBefore = loadavg()[0];
    burners.push(...startBurners(opts, cluster.dir));

    const sockets = opts.target === 'leader' ? [cluster.site(leader).socketPath] : cluster.sites.map((s) => s.socketPath);
    const load = startWriters(sockets, opts.writers);
    const poll = startStatusPolls(cluster);
    const started = performance.now();
    await sleep(opts.seconds * 1000);
    const elapsedMs = performance.now() - started;
    await load.stop();
    await poll.stop();
    await stopBurners(burners);
    const loadAfter = loadavg()[0];

    let highestTerm = poll.highestTerm;
    for (const s of cluster.sites) highestTerm = Math.max(highestTerm, (await cluster.admin(s.name).status()).term);
    const roleChanges: Record<string, string[]> = {};
    for (const s of cluster.sites) roleChanges[s.name] = await roleLinesSince(s.logPath, logOffsets.get(s.name)!);
    return {
      sites: opts.sites,
      writers: opts.writers,
      seconds: opts.seconds,
      burners: opts.burners,
      leaderBefore: leader,
      termBefore: term,
      highestTerm,
      leadersSeen: poll.leadersSeen,
      roleChanges,
      statusPolls: poll.polls,
      statusPollFailures: poll.failures,
      outcomes: load.outcomes,
      writesPerSecond: (load.outcomes.committed ?? 0) / (elapsedMs / 1000),
      loadBefore,
      loadAfter,
    };
  } finally {
    await stopBurners(burners);
    await cluster.destroy();
  }
}

export function defaultBurners(): number {
  return Math.max(1, cpus().length);
}

/** The CPU (and disk) burning neighbours of a run; the disk burners write their files in `dir`. */
export function startBurners(opts: Pick<SaturationOptions, 'burners' | 'diskBurners'>, dir: string): ChildProcess[] {
  const burners: ChildProcess[] = [];
  for (let i = 0; i < opts.burners; i++) burners.push(spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' }));
  for (let i = 0; i < (opts.diskBurners ?? 0); i++) burners.push(spawn(process.execPath, ['-e', DISK_BURNER, join(dir, `disk-burner-${i}`)], { stdio: 'ignore' }));
  return burners;
}

export async function stopBurners(burners: ChildProcess[]): Promise<void> {
  await Promise.all(
    burners.map(async (b) => {
      if (b.exitCode !== null || b.signalCode !== null) return;
      const exited = new Promise<void>((r) => b.once('exit', () => r()));
      b.kill('SIGKILL');
      await exited;
    }),
  );
}

/** Closed-loop writers, each its own flavor, client id and increasing sequence; answers counted by outcome. */
function startWriters(sockets: string[], writers: number): { outcomes: Record<string, number>; stop(): Promise<void> } {
  const outcomes: Record<string, number> = {};
  const count = (k: string): void => {
    outcomes[k] = (outcomes[k] ?? 0) + 1;
  };
  const pools = sockets.map((socketPath) => new Pool('http://localhost', { socketPath, connections: Math.min(writers, MAX_CONNECTIONS_PER_SOCKET), pipelining: 1, headersTimeout: WRITE_TIMEOUT_MS * 2, bodyTimeout: WRITE_TIMEOUT_MS * 2 }));
  let stopping = false;
  const writer = async (w: number): Promise<void> => {
    const pool = pools[w % pools.length];
    const name = `saturation-w${w}`;
    const clientId = `saturation-${process.pid}-${w}`;
    for (let seq = 1; !stopping; seq++) {
      const spec = { name, vcpus: 1 + (seq % 64), ram: 512, disk: 1, description: 'x'.repeat(256) };
      const ok = await put(pool, `/v1/resources/flavor/${name}`, JSON.stringify({ spec, clientId, seq, timeoutMs: WRITE_TIMEOUT_MS }));
      count(ok);
      if (ok !== 'committed') await sleep(RETRY_PAUSE_MS);
    }
  };
  const loops = Array.from({ length: writers }, (_, w) => writer(w));
  return {
    outcomes,
    async stop() {
      stopping = true;
      await Promise.all(loops);
      await Promise.all(pools.map((p) => p.destroy()));
    },
  };
}

async function put(pool: Pool, path: string, body: string): Promise<string> {
  try {
    const res = await pool.request({ method: 'PUT', path, headers: { 'content-type': 'application/json' }, body });
    const text = await res.body.text();
    if (res.statusCode === 200) return 'committed';
    try {
      const code = (JSON.parse(text) as { error?: { code?: unknown } }).error?.code;
      return typeof code === 'string' ? code : `HTTP ${res.statusCode}`;
    } catch {
      return `HTTP ${res.statusCode}`;
    }
  } catch {
    return 'transport';
  }
}

function startStatusPolls(cluster: AgentCluster): { highestTerm: number; leadersSeen: Array<string | null>; polls: number; failures: number; stop(): Promise<void> } {
  const state = { highestTerm: 0, leadersSeen: [] as Array<string | null>, polls: 0, failures: 0 };
  let polling = true;
  const loop = (async () => {
    while (polling) {
      await Promise.all(
        cluster.sites.map(async (s) => {
          try {
            const v = await cluster.admin(s.name).status();
            state.polls++;
            state.highestTerm = Math.max(state.highestTerm, v.term);
            state.leadersSeen.push(v.leader);
          } catch {
            state.failures++;
          }
        }),
      );
      await sleep(STATUS_POLL_MS);
    }
  })();
  return Object.assign(state, {
    async stop() {
      polling = false;
      await loop;
    },
  });
}

/** The role-change messages an agent logged after byte `offset` of its log. */
async function roleLinesSince(logPath: string, offset: number): Promise<string[]> {
  const file = await open(logPath, 'r');
  try {
    const size = (await file.stat()).size;
    const buf = Buffer.alloc(Math.max(0, size - offset));
    await file.read(buf, 0, buf.length, offset);
    return [...buf.toString('utf8').matchAll(ROLE_LINE)].map((m) => m[1]);
  } finally {
    await file.close();
  }
}
