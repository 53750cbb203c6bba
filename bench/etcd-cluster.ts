// An etcd cluster on 127.0.0.1 for the side-by-side benchmark: Debian's etcd-server (installed with
// apt-get when missing, and said so), one process per member with its own data directory, etcd's
// default timing (100 ms heartbeat, 1 s election timeout, fsync on), driven through its JSON
// gateway (/v3/kv/put, /v3/maintenance/status). Every process is killed by PID in destroy().
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pool } from 'undici';
import { freePort } from '../test/agent/cluster.js';
import { sleep, type WriteClient } from './closed-loop.js';

const ETCD_BINARY = '/usr/bin/etcd';
export const ETCD_HEARTBEAT_MS = 100;
export const ETCD_ELECTION_TIMEOUT_MS = 1000;
const START_BOUND_MS = 30_000;
const POLL_MS = 50;
const REQUEST_TIMEOUT_MS = 10_000;

interface Member {
  name: string;
  clientPort: number;
  peerPort: number;
  dataDir: string;
  proc: ChildProcess | null;
  stderrTail: string;
}

/** Installs etcd-server with apt-get when /usr/bin/etcd is missing; `say` reports what it does. */
export function ensureEtcdInstalled(say: (line: string) => void): void {
  if (existsSync(ETCD_BINARY)) return;
  say(`${ETCD_BINARY} is missing: installing Debian's etcd-server with apt-get...`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const install = (): number | null => spawnSync('apt-get', ['install', '-y', '--no-install-recommends', 'etcd-server'], { stdio: 'inherit', env }).status;
  if (install() !== 0) {
    spawnSync('apt-get', ['update'], { stdio: 'inherit', env });
    if (install() !== 0 || !existsSync(ETCD_BINARY)) throw new Error('apt-get could not install etcd-server; install it and run the benchmark again');
  }
  say(`installed etcd-server (${spawnSync(ETCD_BINARY, ['--version'], { encoding: 'utf8' }).stdout.split('\n')[0]})`);
}

export class EtcdCluster {
  private constructor(
    readonly dir: string,
    private readonly members: Member[],
  ) {}

  static async start(size: number): Promise<EtcdCluster> {
    const dir = await mkdtemp(join(tmpdir(), 'stackraft-bench-etcd-'));
    const members: Member[] = [];
    for (let i = 0; i < size; i++) {
      members.push({ name: `etcd-${i + 1}`, clientPort: await freePort(), peerPort: await freePort(), dataDir: join(dir, `etcd-${i + 1}`), proc: null, stderrTail: '' });
    }
    const cluster = new EtcdCluster(dir, members);
    try {
      for (const m of members) cluster.spawnMember(m, 'new');
      await cluster.leader();
    } catch (err) {
      const tails = members.map((m) => `${m.name}: ${m.stderrTail.slice(-500)}`).join('\n');
      await cluster.destroy();
      throw new Error(`etcd did not start: ${(err as Error).message}\n${tails}`);
    }
    return cluster;
  }

  private spawnMember(m: Member, state: 'new' | 'existing'): void {
    const peers = this.members.map((p) => `${p.name}=http://127.0.0.1:${p.peerPort}`).join(',');
    const args = [
      `--name=${m.name}`,
      `--data-dir=${m.dataDir}`,
      `--listen-client-urls=http://127.0.0.1:${m.clientPort}`,
      `--advertise-client-urls=http://127.0.0.1:${m.clientPort}`,
      `--listen-peer-urls=http://127.0.0.1:${m.peerPort}`,
      `--initial-advertise-peer-urls=http://127.0.0.1:${m.peerPort}`,
      `--initial-cluster=${peers}`,
      `--initial-cluster-token=stackraft-bench-${process.pid}`,
      `--initial-cluster-state=${state}`,
      `--heartbeat-interval=${ETCD_HEARTBEAT_MS}`,
      `--election-timeout=${ETCD_ELECTION_TIMEOUT_MS}`,
      '--logger=zap',
      '--log-level=error',
    ];
    const proc = spawn(ETCD_BINARY, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    proc.stderr!.on('data', (chunk: Buffer) => (m.stderrTail = (m.stderrTail + chunk.toString('utf8')).slice(-4000)));
    m.proc = proc;
  }

  running(): string[] {
    return this.members.filter((m) => m.proc && m.proc.exitCode === null && m.proc.signalCode === null).map((m) => m.name);
  }

  pids(): number[] {
    return this.members.filter((m) => m.proc?.pid !== undefined && m.proc.exitCode === null && m.proc.signalCode === null).map((m) => m.proc!.pid!);
  }

  private member(name: string): Member {
    const m = this.members.find((x) => x.name === name);
    if (!m) throw new Error(`no etcd member ${name}`);
    return m;
  }

  /** The member every running member names as leader (waits for one, up to START_BOUND_MS). */
  async leader(): Promise<string> {
    const deadline = Date.now() + START_BOUND_MS;
    while (Date.now() < deadline) {
      const views = await Promise.all(this.running().map((name) => this.status(name).then((s) => ({ name, ...s }), () => null)));
      const live = views.filter((v) => v !== null);
      const leaders = new Set(live.map((v) => v.leader));
      if (live.length === this.running().length && leaders.size === 1 && !leaders.has('0')) {
        const leaderId = [...leaders][0];
        const leader = live.find((v) => v.memberId === leaderId);
        if (leader) return leader.name;
      }
      await sleep(POLL_MS);
    }
    throw new Error('no etcd leader every member agrees on');
  }

  /** The highest Raft term a running member reports (each election attempt raises it). */
  async maxTerm(): Promise<number> {
    const terms = await Promise.all(this.running().map((name) => this.status(name).then((s) => s.term, () => 0)));
    return Math.max(0, ...terms);
  }

  /**
   * What each running member says now: the member it names as leader (null for none) and its term; a
   * member that does not answer within the status timeout is left out.
   */
  async views(): Promise<Array<{ name: string; leader: string | null; term: number }>> {
    const answers = await Promise.all(this.running().map((name) => this.status(name).then((s) => ({ name, ...s }), () => null)));
    const live = answers.filter((a) => a !== null);
    const nameOf = new Map(live.map((a) => [a.memberId, a.name]));
    return live.map((a) => ({ name: a.name, leader: a.leader === '0' ? null : (nameOf.get(a.leader) ?? `member ${a.leader}`), term: a.term }));
  }

  private async status(name: string): Promise<{ memberId: string; leader: string; term: number }> {
    const pool = new Pool(`http://127.0.0.1:${this.member(name).clientPort}`, { connections: 1 });
    try {
      const res = await pool.request({ method: 'POST', path: '/v3/maintenance/status', body: '{}', headersTimeout: 2000, bodyTimeout: 2000 });
      const body = (await res.body.json()) as { header?: { member_id?: string }; leader?: string; raftTerm?: string };
      return { memberId: String(body.header?.member_id ?? ''), leader: String(body.leader ?? '0'), term: Number(body.raftTerm ?? 0) };
    } finally {
      await pool.close();
    }
  }

  client(name: string, connections: number): WriteClient {
    const pool = new Pool(`http://127.0.0.1:${this.member(name).clientPort}`, {
      connections,
      pipelining: 1,
      keepAliveTimeout: 60_000,
      headersTimeout: REQUEST_TIMEOUT_MS,
      bodyTimeout: REQUEST_TIMEOUT_MS,
    });
    return {
      async put(key, _clientId, seq) {
        const body = JSON.stringify({ key: Buffer.from(key).toString('base64'), value: benchValue(seq).toString('base64') });
        try {
          const res = await pool.request({ method: 'POST', path: '/v3/kv/put', headers: { 'content-type': 'application/json' }, body });
          await res.body.dump();
          return res.statusCode === 200;
        } catch {
          return false;
        }
      },
      close: () => pool.destroy(),
    };
  }

  async kill(name: string): Promise<void> {
    const m = this.member(name);
    const proc = m.proc;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise<void>((r) => proc.once('exit', () => r()));
    proc.kill('SIGKILL');
    await exited;
  }

  /** Starts a killed member again on its data directory and waits until every member agrees on a leader. */
  async restart(name: string): Promise<void> {
    this.spawnMember(this.member(name), 'existing');
    await this.leader();
  }

  async destroy(): Promise<void> {
    for (const m of this.members) await this.kill(m.name).catch(() => undefined);
    await rm(this.dir, { recursive: true, force: true });
  }
}

/** The 256-byte value both systems write (etcd as the value, stackraft as a flavor's description). */
export const BENCH_VALUE_BYTES = 256;

export function benchValue(seq: number): Buffer {
  return Buffer.from(`v${seq}-`.padEnd(BENCH_VALUE_BYTES, 'x'));
}
