// `npm run test:partitions`: real agents, each in its own network namespace, under a write and read
// load from several clients while links are cut, healed and flapped. Checks: the history is
// linearizable (sim/checkers/linearizability.ts: nothing acknowledged lost, every read consistent),
// no refused write's value is ever seen, no two sites lead in one term, linearizable reads on the
// minority side are refused, an isolated leader refuses writes within two election timeouts, and
// the cluster converges after every heal. Skips (exit 0, with the reason) where namespaces cannot
// be made.
//
//   npm run test:partitions -- [--sites 3,5] [--runs N] [--cut-ms MS] [--short] [--seed S] [--strict-timing]
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { Prng } from '../../sim/prng.js';
import type { HistoryOp } from '../../sim/checkers/linearizability.js';
import { CONVERGE_LIMIT_MS, checkHistory, finalValues, waitConverged } from './checks.js';
import { AgentCluster } from '../agent/cluster.js';
import { sleep } from '../agent/agent-process.js';
import { NetLab, netnsUnavailableReason } from './netns.js';
import { SCENARIOS, type Scenario } from './scenarios.js';
import { History, HistoryClock, KEYS, LoadClient, SiteClient, StatusSampler, emptyStats, type OpStats } from './workload.js';

const TICK_MS = 50;
const ELECTION_TICKS = 10;
const ELECTION_TIMEOUT_MS = TICK_MS * ELECTION_TICKS;
const CLIENTS_PER_SITE = 2;
const FLAP_MIN_MS = 150;
const FLAP_MAX_MS = 600;

interface Args {
  sites: number[];
  runs: number;
  cutMs: number;
  short: boolean;
  seed: string;
  /** A refusal slower than two election timeouts is a violation (default: reported, since a loaded machine delays every timer). */
  strictTiming: boolean;
}

interface ScenarioResult {
  sites: number;
  run: number;
  scenario: string;
  leaderIsolated: boolean;
  timeToRefuseMs?: number;
  isolatedWritesAcked: number;
  minorityReadsOk: number;
  minorityReadsRefused: number;
  timeToConvergeMs: number;
}

interface RunReport {
  sites: number;
  run: number;
  stats: OpStats;
  scenarios: ScenarioResult[];
  violations: string[];
  /** Refusals slower than two election timeouts (violations only with --strict-timing). */
  lateRefusals: string[];
  linearizability: string;
}

function parseArgs(argv: string[]): Args {
  const args: Args = { sites: [3, 5], runs: 1, cutMs: 4_000, short: false, seed: String(Date.now() % 100_000), strictTiming: false };
  for (let i = 0; i < argv.length; i++) {
    const value = () => argv[++i] ?? '';
    switch (argv[i]) {
      case '--sites':
        args.sites = value().split(',').map(Number);
        break;
      case '--runs':
        args.runs = Number(value());
        break;
      case '--cut-ms':
        args.cutMs = Number(value());
        break;
      case '--seed':
        args.seed = value();
        break;
      case '--short':
        args.short = true;
        break;
      case '--strict-timing':
        args.strictTiming = true;
        break;
      default:
        throw new Error(`unknown option ${argv[i]} (usage: --sites 3,5 --runs N --cut-ms MS --short --seed S --strict-timing)`);
    }
  }
  if (args.short) {
    args.sites = [3];
    args.cutMs = Math.min(args.cutMs, 2_500);
  }
  return args;
}

/** The index of the site every running site agrees leads. */
async function leaderIndex(cluster: AgentCluster): Promise<number> {
  const { leader } = await cluster.waitForLeader({ timeoutMs: CONVERGE_LIMIT_MS });
  return cluster.sites.findIndex((s) => s.name === leader);
}


/** Writes to the isolated leader until one is refused; returns when, and how many were acknowledged. */
async function probeIsolatedLeader(client: SiteClient, cutAt: number, untilMs: number, history: History): Promise<{ refusedAfterMs?: number; acked: number }> {
  let acked = 0;
  let refusedAfterMs: number | undefined;
  let seq = 0;
  const clientId = `probe-${process.pid}-${Math.floor(cutAt)}`;
  while (performance.now() < untilMs) {
    seq++;
    const value = `probe-${Math.floor(cutAt)}-${seq}`;
    const op: HistoryOp = { id: history.id(), key: KEYS[0], kind: 'write', value, invokeMs: history.clock.nowMs(), outcome: 'unknown', site: client.site, client: clientId };
    history.ops.push(op);
    try {
      const answer = await client.request('PUT', `/v1/resources/flavor/${KEYS[0]}`, { spec: { name: KEYS[0], vcpus: 1, ram: 64, disk: 0, description: value }, clientId, seq, timeoutMs: 3_000 });
      if (answer.status === 200) {
        acked++;
        op.outcome = 'ok';
        op.completeMs = history.clock.nowMs();
        history.ackedValues.add(value);
      } else if (answer.code === 'NO_QUORUM' || answer.code === 'NO_LEADER' || answer.code === 'PEER_UNREACHABLE') {
        op.outcome = 'refused';
        op.completeMs = history.clock.nowMs();
        history.refusedValues.add(value);
        refusedAfterMs ??= performance.now() - cutAt;
      }
    } catch {
      // unknown
    }
    await sleep(50);
  }
  return { refusedAfterMs, acked };
}

/** Linearizable reads on minority sites while the cut lasts: each answer that is not a refusal is counted. */
async function probeMinorityReads(clients: SiteClient[], untilMs: number): Promise<{ ok: number; refused: number }> {
  let ok = 0;
  let refused = 0;
  while (performance.now() < untilMs) {
    await Promise.all(
      clients.map(async (c) => {
        try {
          const answer = await c.request('GET', `/v1/resources/flavor/${KEYS[1]}?linearizable=true`);
          if (answer.status === 200 || answer.code === 'NOT_FOUND') ok++;
          else refused++;
        } catch {
          refused++;
        }
      }),
    );
    await sleep(50);
  }
  return { ok, refused };
}

async function flap(lab: NetLab, leader: number, scenario: Scenario, untilMs: number, prng: Prng): Promise<void> {
  let cut = true;
  while (performance.now() < untilMs) {
    await sleep(FLAP_MIN_MS + prng.int(FLAP_MAX_MS - FLAP_MIN_MS));
    if (cut) lab.healAll();
    else scenario.cut(lab, leader);
    cut = !cut;
  }
}

async function runScenario(ctx: RunContext, scenario: Scenario): Promise<ScenarioResult> {
  const { cluster, lab, clients, history, args } = ctx;
  const leader = await leaderIndex(cluster);
  const cutAt = performance.now();
  const plan = scenario.cut(lab, leader);
  const until = cutAt + args.cutMs;
  // The minority probes start after a grace of one round trip: packets already in flight at the cut may still land.
  await sleep(20);
  const [probe, reads] = await Promise.all([
    plan.isolatedLeader !== undefined ? probeIsolatedLeader(clients[plan.isolatedLeader], cutAt, until, history) : Promise.resolve(undefined),
    plan.minority.length > 0 ? probeMinorityReads(plan.minority.map((i) => clients[i]), until) : Promise.resolve({ ok: 0, refused: 0 }),
    scenario.flap ? flap(lab, leader, scenario, until, ctx.prng) : sleep(Math.max(0, until - performance.now())),
  ]);
  lab.healAll();
  const healedAt = performance.now();
  await waitConverged(cluster, clients);
  return {
    sites: lab.sites,
    run: ctx.run,
    scenario: scenario.name,
    leaderIsolated: plan.isolatedLeader !== undefined,
    ...(probe?.refusedAfterMs !== undefined ? { timeToRefuseMs: Math.round(probe.refusedAfterMs) } : {}),
    isolatedWritesAcked: probe?.acked ?? 0,
    minorityReadsOk: reads.ok,
    minorityReadsRefused: reads.refused,
    timeToConvergeMs: Math.round(performance.now() - healedAt),
  };
}

interface RunContext {
  cluster: AgentCluster;
  lab: NetLab;
  clients: SiteClient[];
  history: History;
  args: Args;
  run: number;
  prng: Prng;
}



async function runOnce(args: Args, sites: number, run: number): Promise<RunReport> {
  const lab = new NetLab(sites, run % 200);
  let cluster: AgentCluster | undefined;
  const violations: string[] = [];
  const siteClients: SiteClient[] = [];
  const loadClients: LoadClient[] = [];
  try {
    cluster = await AgentCluster.start({
      sites,
      tickMs: TICK_MS,
      electionTimeoutTicks: ELECTION_TICKS,
      heartbeatTicks: 1,
      logLevel: 'warn',
      prefix: 'stackraft-partitions-',
      placement: (i) => ({ host: lab.addresses[i], launcher: lab.launcher(i) }),
    });
    const history = new History(new HistoryClock());
    const prng = new Prng(`${args.seed}/${sites}/${run}`);
    for (const site of cluster.sites) siteClients.push(new SiteClient(site.name, site.socketPath));
    const sampler = new StatusSampler(cluster.sites.map((s) => new SiteClient(s.name, s.socketPath)));
    sampler.start();
    for (const [i, site] of cluster.sites.entries()) {
      for (let c = 0; c < CLIENTS_PER_SITE; c++) {
        const rng = prng.fork(`client-${i}-${c}`);
        const client = new LoadClient(`s${i + 1}c${c}`, new SiteClient(site.name, site.socketPath), history, () => rng.float());
        loadClients.push(client);
        client.start();
      }
    }
    const ctx: RunContext = { cluster, lab, clients: siteClients, history, args, run, prng };
    const chosen = SCENARIOS.filter((s) => s.minSites <= sites).filter((s, i) => !args.short || i % 2 === 0 || s.name.startsWith('leader isolated'));
    const scenarios: ScenarioResult[] = [];
    const lateRefusals: string[] = [];
    for (const scenario of chosen) {
      const result = await runScenario(ctx, scenario);
      scenarios.push(result);
      console.log(`  ${sites} sites, run ${run}: ${scenario.name}: ${describeScenario(result)}`);
      if (result.isolatedWritesAcked > 0) violations.push(`${scenario.name}: the isolated leader acknowledged ${result.isolatedWritesAcked} writes`);
      if (result.minorityReadsOk > 0) violations.push(`${scenario.name}: ${result.minorityReadsOk} linearizable reads answered on the minority side`);
      if (result.leaderIsolated && result.timeToRefuseMs === undefined) violations.push(`${scenario.name}: the isolated leader never refused a write`);
      if (result.timeToRefuseMs !== undefined && result.timeToRefuseMs > 2 * ELECTION_TIMEOUT_MS) {
        const late = `${scenario.name}: the isolated leader took ${result.timeToRefuseMs} ms to refuse (more than two election timeouts, ${2 * ELECTION_TIMEOUT_MS} ms; load average ${loadavg()[0].toFixed(1)})`;
        if (args.strictTiming) violations.push(late);
        else lateRefusals.push(late);
      }
    }
    await Promise.all(loadClients.map((c) => c.stop()));
    await sampler.stop();
    await waitConverged(cluster, siteClients);
    for (const { term, sites: leaders } of sampler.termsWithTwoLeaders()) violations.push(`term ${term} had two leaders: ${leaders.join(', ')}`);
    const finals = await finalValues(siteClients, violations);
    const linearizability = checkHistory(history, finals, violations);
    return { sites, run, stats: history.stats, scenarios, violations, lateRefusals, linearizability };
  } finally {
    await Promise.all(loadClients.map((c) => c.stop().catch(() => undefined)));
    await Promise.all(siteClients.map((c) => c.close()));
    await cluster?.destroy();
    lab.destroy();
  }
}

function describeScenario(r: ScenarioResult): string {
  const parts = [`converged ${r.timeToConvergeMs} ms after heal`];
  if (r.timeToRefuseMs !== undefined) parts.push(`isolated leader refused after ${r.timeToRefuseMs} ms`);
  if (r.minorityReadsOk + r.minorityReadsRefused > 0) parts.push(`minority linearizable reads: ${r.minorityReadsRefused} refused, ${r.minorityReadsOk} answered`);
  return parts.join('; ');
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const reason = netnsUnavailableReason();
  if (reason !== null) {
    console.log(`test:partitions SKIPPED: ${reason}`);
    return;
  }
  console.log(`partitions: sites ${args.sites.join(',')}, ${args.runs} run(s) each, cuts of ${args.cutMs} ms, election timeout ${ELECTION_TIMEOUT_MS} ms, seed ${args.seed}, load average ${loadavg()[0].toFixed(1)}`);
  const reports: RunReport[] = [];
  for (const sites of args.sites) {
    for (let run = 1; run <= args.runs; run++) {
      const report = await runOnce(args, sites, run);
      reports.push(report);
      const s = report.stats;
      console.log(
        `${sites} sites, run ${run}: writes acked ${s.writesAcked}, refused ${s.writesRefused}, rejected ${s.writesRejected}, unknown ${s.writesUnknown}; ` +
          `reads ok ${s.readsOk}, refused ${s.readsRefused}, other ${s.readsOther}; linearizability ${report.linearizability}; violations ${report.violations.length}`,
      );
      for (const v of report.violations) console.log(`  VIOLATION: ${v}`);
      for (const late of report.lateRefusals) console.log(`  LATE: ${late}`);
    }
  }
  const total = reports.reduce((acc, r) => {
    for (const k of Object.keys(acc) as Array<keyof OpStats>) acc[k] += r.stats[k];
    return acc;
  }, emptyStats());
  const scenarios = reports.flatMap((r) => r.scenarios);
  const refuse = scenarios.map((s) => s.timeToRefuseMs).filter((t): t is number => t !== undefined);
  const converge = scenarios.map((s) => s.timeToConvergeMs);
  const violations = reports.reduce((n, r) => n + r.violations.length, 0);
  console.log(
    `total: ${scenarios.length} scenario runs; writes acked ${total.writesAcked}, refused ${total.writesRefused + total.writesRejected}, unknown ${total.writesUnknown}; ` +
      `time to refuse (isolated leader) ${range(refuse)} ms (${reports.reduce((n, r) => n + r.lateRefusals.length, 0)} over two election timeouts); ` +
      `time to converge after heal ${range(converge)} ms; violations ${violations}`,
  );
  process.exitCode = violations === 0 ? 0 : 1;
}

function range(values: number[]): string {
  if (values.length === 0) return 'n/a';
  const sorted = [...values].sort((a, b) => a - b);
  return `median ${sorted[Math.floor(sorted.length / 2)]}, max ${sorted[sorted.length - 1]}`;
}

await main();
