// Soak benchmark: does an agent's memory stop growing? A real 3-agent cluster on loopback (the
// helpers of test/agent/cluster.ts, as bench/agent-bench.ts uses them), every agent under
// `node --expose-gc`. The catalog is filled with --flavors flavors, then kept at exactly that size
// for --minutes while writers replace flavors (each write one batch: delete some, create as many
// new ones) and one agent is killed with SIGKILL every --kill-every seconds and restarted. Every
// --sample-every seconds each running agent's RSS is read, then the agent runs a full GC
// (POST /v1/debug/gc) and reports its heap, external and ArrayBuffer memory. The report is the
// curves and, per agent, whether they plateau (bench/soak-report.ts).
//
// Writes are retried with the same client id and sequence number until their outcome is definite,
// through another site after a failure, so the catalog stays at its size whatever is killed.
// Run: npm run bench:soak -- --minutes 10 [--flavors 18000 --json FILE ...] (--help lists all)
import '../agent/runtime/promise-shim.js';
import { writeFile } from 'node:fs/promises';
import { cpus, loadavg } from 'node:os';
import Table from 'cli-table3';
import { Pool } from 'undici';
import { CONFIG_DEFAULTS } from '../agent/config/schema.js';
import { MAX_BATCH_OPS } from '../agent/admin/vocabulary.js';
import { AgentCluster } from '../test/agent/cluster.js';
import {
  SOAK_SITES,
  SOAK_USAGE,
  curveRows,
  sampleCell,
  parseSoakOptions,
  verdictText,
  verdicts,
  type MemorySample,
  type SoakOptions,
} from './soak-report.js';

/** A write's own timeout at the agent; beyond it the outcome is unknown and the writer retries. */
const WRITE_TIMEOUT_MS = 6_000;
/** Pause after a failed or refused write before the retry (through the next site). */
const RETRY_PAUSE_MS = 100;
/** Concurrent batches while filling the catalog. */
const FILL_CONCURRENCY = 4;
/** Keep-alive connections per agent socket for the writers. */
const CONNECTIONS_PER_SOCKET = 8;
/** Bound of the wait for a killed agent to be restarted and for the final catch-up. */
const SETTLE_MS = 60_000;

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const log = (line: string): void => void process.stderr.write(`${line}\n`);

// ------------------------------------------------------------------ writes

type Op = { op: 'put'; kind: 'flavor'; id: string; spec: Record<string, unknown> } | { op: 'delete'; kind: 'flavor'; id: string };
type Outcome = 'committed' | 'refused' | 'unknown' | 'rejected';

/** A flavor like an operator's: a few extra specs and a description, a few hundred bytes. */
function flavorSpec(id: string, n: number): Record<string, unknown> {
  return {
    name: id,
    vcpus: 1 + (n % 32),
    ram: 512 * (1 + (n % 64)),
    disk: 10 + (n % 200),
    extraSpecs: { 'hw:cpu_policy': n % 2 === 0 ? 'dedicated' : 'shared', 'hw:mem_page_size': 'large', 'aggregate_instance_extra_specs:tier': `tier-${n % 5}` },
    description: `soak flavor ${id} for the memory benchmark`,
  };
}

function flavorId(slot: number, generation: number): string {
  return `soak-${slot}-g${generation}`;
}

function outcomeOf(status: number): Outcome {
  if (status === 200) return 'committed';
  if (status === 503) return 'refused';
  if (status >= 400 && status < 500) return 'rejected';
  return 'unknown';
}

class Writers {
  readonly counts: Record<Outcome, number> = { committed: 0, refused: 0, unknown: 0, rejected: 0 };
  private readonly pools = new Map<string, Pool>();
  private next = 0;

  constructor(private readonly cluster: AgentCluster) {}

  /** The next running site's pool (round robin), so a retry goes elsewhere. */
  private pool(): Pool {
    const running = this.cluster.running();
    if (running.length === 0) throw new Error('no agent is running');
    const site = running[this.next++ % running.length];
    let pool = this.pools.get(site.name);
    if (!pool) {
      pool = new Pool('http://localhost', { socketPath: site.socketPath, connections: CONNECTIONS_PER_SOCKET, headersTimeout: WRITE_TIMEOUT_MS * 3, bodyTimeout: WRITE_TIMEOUT_MS * 3 });
      this.pools.set(site.name, pool);
    }
    return pool;
  }

  private async sendOnce(ops: Op[], clientId: string, seq: number): Promise<{ outcome: Outcome; text: string }> {
    const body = JSON.stringify({ ops, clientId, seq, timeoutMs: WRITE_TIMEOUT_MS });
    try {
      const response = await this.pool().request({ method: 'POST', path: '/v1/batch', headers: { 'content-type': 'application/json' }, body });
      const text = await response.body.text();
      return { outcome: outcomeOf(response.statusCode), text };
    } catch (err) {
      return { outcome: 'unknown', text: (err as Error).message };
    }
  }

  /** Sends one batch until its outcome is definite (same client id and seq: applied at most once). */
  async write(ops: Op[], clientId: string, seq: number, stop: () => boolean): Promise<{ outcome: Outcome; text: string }> {
    for (;;) {
      const reply = await this.sendOnce(ops, clientId, seq);
      this.counts[reply.outcome]++;
      if (reply.outcome === 'committed' || reply.outcome === 'rejected' || stop()) return reply;
      await sleep(RETRY_PAUSE_MS);
    }
  }

  async close(): Promise<void> {
    await Promise.all([...this.pools.values()].map((p) => p.destroy()));
  }
}

async function fillCatalog(writers: Writers, flavors: number): Promise<void> {
  const batches: Op[][] = [];
  for (let lo = 0; lo < flavors; lo += MAX_BATCH_OPS) {
    const slots = Array.from({ length: Math.min(MAX_BATCH_OPS, flavors - lo) }, (_, i) => lo + i);
    batches.push(slots.map((slot) => ({ op: 'put', kind: 'flavor', id: flavorId(slot, 0), spec: flavorSpec(flavorId(slot, 0), slot) })));
  }
  let nextBatch = 0;
  const clientId = `soak-fill-${process.pid}`;
  const lanes = Array.from({ length: FILL_CONCURRENCY }, async (_, lane) => {
    for (let seq = 1; nextBatch < batches.length; seq++) {
      const batch = batches[nextBatch++];
      const reply = await writers.write(batch, `${clientId}-${lane}`, seq, () => false);
      if (reply.outcome !== 'committed') throw new Error(`filling the catalog: a batch was ${reply.outcome}: ${reply.text}`);
    }
  });
  await Promise.all(lanes);
}

/**
 * Writer `w` owns slots w, w + writers, ...; each write replaces the next `replacePerWrite` of them.
 * A rejected batch means the catalog no longer holds what the writer expects (a bug somewhere): the
 * writer records it and stops, and the final flavor count shows the damage.
 */
async function churn(writers: Writers, opts: SoakOptions, w: number, generations: number[], stop: () => boolean, errors: string[]): Promise<void> {
  const slots: number[] = [];
  for (let slot = w; slot < opts.flavors; slot += opts.writers) slots.push(slot);
  const clientId = `soak-churn-${process.pid}-${w}`;
  let cursor = 0;
  for (let seq = 1; !stop(); seq++) {
    const mine = Array.from({ length: opts.replacePerWrite }, (_, i) => slots[(cursor + i) % slots.length]);
    const ops: Op[] = [];
    for (const slot of mine) {
      const next = flavorId(slot, generations[slot] + 1);
      ops.push({ op: 'delete', kind: 'flavor', id: flavorId(slot, generations[slot]) });
      ops.push({ op: 'put', kind: 'flavor', id: next, spec: flavorSpec(next, slot + generations[slot]) });
    }
    const reply = await writers.write(ops, clientId, seq, stop);
    if (reply.outcome === 'committed') {
      for (const slot of mine) generations[slot]++;
      cursor = (cursor + opts.replacePerWrite) % slots.length;
    } else if (reply.outcome === 'rejected') {
      errors.push(`churn writer ${w}, seq ${seq}: rejected: ${reply.text}`);
      log(errors[errors.length - 1]);
      return;
    }
  }
}

// ------------------------------------------------------------------ kills

interface KillEvent {
  atSeconds: number;
  site: string;
  wasLeader: boolean;
}

async function currentLeader(cluster: AgentCluster): Promise<string | null> {
  for (const site of cluster.running()) {
    try {
      const st = await cluster.admin(site.name).status();
      if (st.leader) return st.leader;
    } catch {
      // Try the next one.
    }
  }
  return null;
}

async function killLoop(cluster: AgentCluster, opts: SoakOptions, startedAt: number, stop: () => boolean, events: KillEvent[]): Promise<void> {
  if (opts.killEverySeconds <= 0) return;
  for (let n = 0; ; n++) {
    // Half a sampling interval off the sampling rounds, so the victim is up at the forced-GC rounds.
    const due = startedAt + ((n + 1) * opts.killEverySeconds + opts.sampleEverySeconds / 2) * 1000;
    while (!stop() && performance.now() < due) await sleep(Math.min(500, due - performance.now()));
    if (stop()) return;
    const leader = await currentLeader(cluster);
    const victim = opts.victim === 'leader' ? leader : opts.victim === 'rotate' ? `site-${(n % SOAK_SITES) + 1}` : opts.victim;
    if (!victim) continue;
    const atSeconds = (performance.now() - startedAt) / 1000;
    await cluster.kill(victim, 'SIGKILL');
    events.push({ atSeconds, site: victim, wasLeader: victim === leader });
    log(`${atSeconds.toFixed(0)} s: kill -9 ${victim}${victim === leader ? ' (the leader)' : ''}`);
    await sleep(opts.downSeconds * 1000);
    await cluster.site(victim).start(false, SETTLE_MS);
  }
}

// ------------------------------------------------------------------ samples

interface MemoryReply {
  rssBytes: number;
  heapTotalBytes: number;
  heapUsedBytes: number;
  externalBytes: number;
  arrayBuffersBytes: number;
}

async function adminJson(cluster: AgentCluster, site: string, method: string, path: string): Promise<unknown> {
  const reply = await cluster.admin(site).request(method, path);
  if (reply.status !== 200) throw new Error(`${method} ${path} on ${site}: HTTP ${reply.status} ${reply.text}`);
  return reply.json;
}

/** One agent's sample (after a forced GC when `withGc`), or null when it is down or was killed meanwhile. */
async function sampleSite(cluster: AgentCluster, site: string, atSeconds: number, withGc: boolean): Promise<MemorySample | null> {
  const pid = cluster.site(site).pid;
  if (pid === undefined) return null;
  try {
    if (!withGc) {
      const now = (await adminJson(cluster, site, 'GET', '/v1/debug/memory')) as MemoryReply;
      return { atSeconds, site, pid, rssBytes: now.rssBytes, heapTotalBytes: now.heapTotalBytes, afterGc: null };
    }
    const gc = (await adminJson(cluster, site, 'POST', '/v1/debug/gc')) as { before: MemoryReply; after: MemoryReply };
    const { after } = gc;
    return {
      atSeconds,
      site,
      pid,
      rssBytes: gc.before.rssBytes,
      heapTotalBytes: gc.before.heapTotalBytes,
      afterGc: { heapUsedBytes: after.heapUsedBytes, heapTotalBytes: after.heapTotalBytes, externalBytes: after.externalBytes, arrayBuffersBytes: after.arrayBuffersBytes, rssBytes: after.rssBytes },
    };
  } catch (err) {
    // Killed (or restarting: the socket file of a killed agent stays until the new one claims it).
    if (cluster.site(site).pid !== pid || /ECONNREFUSED|ENOENT|ECONNRESET|closed/.test((err as Error).message)) return null;
    throw err;
  }
}

async function sampleAll(cluster: AgentCluster, atSeconds: number, withGc: boolean, into: MemorySample[]): Promise<void> {
  const names = cluster.sites.map((s) => s.name);
  // One at a time: a full GC takes a core for a moment, and the machine has two.
  for (const name of names) {
    const sample = await sampleSite(cluster, name, atSeconds, withGc).catch((err: Error) => {
      log(`sample of ${name} failed: ${err.message}`);
      return null;
    });
    if (sample) into.push(sample);
  }
  const line = names
    .map((n) => {
      const s = into.find((x) => x.site === n && x.atSeconds === atSeconds);
      return s ? `${n} ${sampleCell(s)}` : `${n} down`;
    })
    .join(' | ');
  log(`${atSeconds.toFixed(0)} s: ${line} (MiB: RSS / heap total / heap after GC / external after GC)`);
}

// ------------------------------------------------------------------ run

interface SoakResult {
  options: SoakOptions;
  samples: MemorySample[];
  kills: KillEvent[];
  writes: Record<Outcome, number>;
  flavorsReplaced: number;
  churnSeconds: number;
  /** null when the cluster did not settle at the end (see errors). */
  finalFlavorCount: number | null;
  errors: string[];
  loadAverage: number[];
}

async function soak(opts: SoakOptions): Promise<SoakResult> {
  log(`starting ${SOAK_SITES} agents under node --expose-gc ${opts.agentNodeArgs.join(' ')}${opts.clouds === 'mock' ? ', each with a mock cloud' : ''}...`);
  const cluster = await AgentCluster.start({
    sites: SOAK_SITES,
    tickMs: CONFIG_DEFAULTS.tickMs,
    electionTimeoutTicks: CONFIG_DEFAULTS.electionTimeoutTicks,
    heartbeatTicks: CONFIG_DEFAULTS.heartbeatTicks,
    logLevel: 'warn',
    nodeArgs: ['--expose-gc', ...opts.agentNodeArgs],
    prefix: 'stackraft-soak-',
    mockClouds: opts.clouds === 'mock',
  });
  const writers = new Writers(cluster);
  try {
    const fillStart = performance.now();
    await fillCatalog(writers, opts.flavors);
    log(`filled the catalog with ${opts.flavors} flavors in ${((performance.now() - fillStart) / 1000).toFixed(1)} s`);

    const samples: MemorySample[] = [];
    const kills: KillEvent[] = [];
    const generations = new Array<number>(opts.flavors).fill(0);
    const startedAt = performance.now();
    const endAt = startedAt + opts.minutes * 60_000;
    const stop = () => performance.now() >= endAt;
    await sampleAll(cluster, 0, true, samples);
    const errors: string[] = [];
    const churners = Array.from({ length: opts.writers }, (_, w) => churn(writers, opts, w, generations, stop, errors));
    const killer = killLoop(cluster, opts, startedAt, stop, kills);
    for (let round = 1; ; round++) {
      const due = startedAt + round * opts.sampleEverySeconds * 1000;
      if (due > endAt) break;
      await sleep(Math.max(0, due - performance.now()));
      await sampleAll(cluster, (performance.now() - startedAt) / 1000, round % opts.gcEverySamples === 0, samples);
    }
    await Promise.all([...churners, killer]);
    const churnSeconds = (performance.now() - startedAt) / 1000;
    // A site that cannot come back (it refuses its own data directory, say) is a finding to report
    // with the curves, not a reason to lose them.
    let finalFlavorCount: number | null = null;
    try {
      for (const site of cluster.sites) if (!site.running) await site.start(false, SETTLE_MS);
      finalFlavorCount = await countFlavors(cluster);
    } catch (err) {
      errors.push(`at the end: ${(err as Error).message.split('\n')[0]}`);
      log(`${errors[errors.length - 1]}\n${await cluster.logTails()}`);
    }
    await sampleAll(cluster, churnSeconds, true, samples);
    return {
      options: opts,
      samples,
      kills,
      writes: { ...writers.counts },
      flavorsReplaced: generations.reduce((a, b) => a + b, 0),
      churnSeconds,
      finalFlavorCount,
      errors,
      loadAverage: loadavg(),
    };
  } finally {
    await writers.close();
    await cluster.destroy();
  }
}

/** Flavors in the catalog once every site has applied the leader's commit index (read at the leader). */
async function countFlavors(cluster: AgentCluster): Promise<number> {
  const { leader } = await cluster.waitForLeader({ timeoutMs: SETTLE_MS });
  const commit = (await cluster.admin(leader).status()).commitIndex;
  for (const site of cluster.sites) await cluster.waitForApplied(site.name, commit, SETTLE_MS);
  const reply = await cluster.admin(leader).request('GET', '/v1/resources/flavor');
  if (reply.status !== 200) throw new Error(`GET /v1/resources/flavor: HTTP ${reply.status}`);
  return (reply.json.items as unknown[]).length;
}

function printReport(r: SoakResult): void {
  const sites = Array.from({ length: SOAK_SITES }, (_, i) => `site-${i + 1}`);
  const roundOf = (s: MemorySample) => Math.round(s.atSeconds / r.options.sampleEverySeconds);
  const curves = new Table({ head: ['time', ...sites.map((s) => `${s}: RSS / heap / after GC: heap / ext`)], style: { head: [], border: [] } });
  for (const row of curveRows(r.samples, sites, roundOf)) curves.push(row);
  const verdictTable = new Table({ head: ['site', 'curve', 'verdict'], style: { head: [], border: [] } });
  for (const v of verdicts(r.samples)) verdictTable.push([v.site, v.curve, verdictText(v)]);
  const o = r.options;
  const writesPerSecond = r.writes.committed / r.churnSeconds;
  process.stdout.write(
    `\nstackraft soak: ${SOAK_SITES} agents on 127.0.0.1, ${o.flavors} flavors kept constant for ${(r.churnSeconds / 60).toFixed(1)} min; ` +
      `${o.writers} writers, ${o.replacePerWrite} flavors replaced per write: ${r.writes.committed} writes committed (${writesPerSecond.toFixed(0)}/s), ` +
      `${r.flavorsReplaced} flavors replaced; retries after refused ${r.writes.refused}, unknown ${r.writes.unknown}; rejected ${r.writes.rejected}\n` +
      `agents: ${o.clouds === 'mock' ? 'each reconciling a mock cloud' : 'no cloud'}${o.agentNodeArgs.length > 0 ? `, node ${o.agentNodeArgs.join(' ')}` : ''}; ` +
      `kill -9 every ${o.killEverySeconds} s (${o.victim}, down ${o.downSeconds} s): ${r.kills.length} kills (${r.kills.filter((k) => k.wasLeader).length} of the leader); ` +
      `flavors at the end: ${r.finalFlavorCount ?? 'not counted (see ERROR)'}${r.finalFlavorCount === o.flavors ? '' : ` (EXPECTED ${o.flavors})`}\n` +
      `${cpus().length} CPUs, load average ${r.loadAverage.map((l) => l.toFixed(1)).join(' / ')} (shared machine)\n` +
      `memory in MiB: RSS and V8's heap size as sampled every ${o.sampleEverySeconds} s; every ${o.gcEverySamples}. sample also the heap used and the external memory right after a forced full GC\n` +
      `${curves.toString()}\n${verdictTable.toString()}\n` +
      r.errors.map((e) => `ERROR: ${e}\n`).join(''),
  );
}

async function main(): Promise<void> {
  const opts = parseSoakOptions(process.argv.slice(2));
  if (opts === 'help') {
    process.stdout.write(SOAK_USAGE);
    return;
  }
  const result = await soak(opts);
  printReport(result);
  if (opts.jsonFile) await writeFile(opts.jsonFile, `${JSON.stringify(result, null, 2)}\n`);
  if (result.finalFlavorCount !== opts.flavors || result.errors.length > 0) process.exitCode = 1;
}

main().catch((err: Error & { code?: string }) => {
  const usage = err.code?.startsWith('ERR_PARSE_ARGS') || err.message.startsWith('--');
  process.stderr.write(usage ? `soak-bench: ${err.message}\n${SOAK_USAGE}` : `soak-bench: ${err.stack ?? err.message}\n`);
  process.exitCode = usage ? 2 : 1;
});
