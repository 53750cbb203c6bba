// `npm run test:powerloss`: real agents in the power-loss test mode (STACKRAFT_TEST_POWER_LOSS=1,
// agent/daemon/power-loss.ts) under a write and read load, and power cuts one after another: a
// site (the leader four times in ten, sometimes two sites at once) loses what it wrote but never
// synced, dies, and is started again from what was left. Checks, as for partitions: the history is
// linearizable (an acknowledged write that disappears is a violation), no refused write is seen,
// one leader per term, every site starts again after a cut (a refusal to open is a violation), and
// the cluster converges with the sites agreeing.
//
//   npm run test:powerloss -- [--sites 3,5] [--crashes N] [--short] [--seed S]
import { cp, readFile, unlink } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Prng } from '../../sim/prng.js';
import { AgentCluster } from '../agent/cluster.js';
import { sleep } from '../agent/agent-process.js';
import { CONVERGE_LIMIT_MS, checkHistory, finalValues, waitConverged } from '../partitions/checks.js';
import { History, HistoryClock, LoadClient, SiteClient, StatusSampler, emptyStats, type OpStats } from '../partitions/workload.js';

const CLIENTS_PER_SITE = 2;
/** Load between two cuts. */
const MIN_GAP_MS = 300;
const MAX_GAP_MS = 1_500;
/** Extra time a restarting agent gets after the cluster helper's own wait, before it counts as stuck. */
const SLOW_START_LIMIT_MS = 120_000;
let slowStarts = 0;

interface Args {
  sites: number[];
  crashes: number;
  seed: string;
}

interface RunReport {
  sites: number;
  crashes: number;
  stats: OpStats;
  violations: string[];
  linearizability: string;
  cutLines: string[];
}

function parseArgs(argv: string[]): Args {
  const args: Args = { sites: [3, 5], crashes: 60, seed: String(Date.now() % 100_000) };
  for (let i = 0; i < argv.length; i++) {
    const value = () => argv[++i] ?? '';
    if (argv[i] === '--sites') args.sites = value().split(',').map(Number);
    else if (argv[i] === '--crashes') args.crashes = Number(value());
    else if (argv[i] === '--seed') args.seed = value();
    else if (argv[i] === '--short') {
      args.sites = [3];
      args.crashes = 10;
    } else throw new Error(`unknown option ${argv[i]} (usage: --sites 3,5 --crashes N --short --seed S)`);
  }
  return args;
}

/** Cuts the power of `name`, waits for it to die, and starts it again. Returns the agent's power-loss line. */
async function powerCycle(cluster: AgentCluster, name: string): Promise<string> {
  const site = cluster.site(name);
  const before = (await readFile(site.logPath, 'utf8').catch(() => '')).length;
  await site.kill('SIGUSR2');
  const after = await readFile(site.logPath, 'utf8').catch(() => '');
  const line = after.slice(before).split('\n').find((l) => l.startsWith('power loss:')) ?? 'power loss: (no report: the agent died before writing it)';
  // The socket file of the dead agent is still there; the new one must be waited for.
  await unlink(site.socketPath).catch(() => undefined);
  try {
    await cluster.restart(name);
  } catch (error) {
    // Slow is not stuck: on this shared machine a start can take long. Only a process that died, or
    // one that has not opened its socket after SLOW_START_LIMIT_MS more, is a failure to start.
    if (!site.running) throw error;
    const deadline = Date.now() + SLOW_START_LIMIT_MS;
    while (!existsSync(site.socketPath)) {
      if (!site.running || Date.now() > deadline) throw error;
      await sleep(100);
    }
    slowStarts++;
  }
  return line;
}

async function keepForPostMortem(dir: string): Promise<string> {
  const target = join(tmpdir(), `stackraft-powerloss-failure-${process.pid}-${Date.now()}`);
  await cp(dir, target, { recursive: true, filter: (src) => !src.endsWith('.sock') }).catch(() => undefined);
  return target;
}

async function runOnce(args: Args, sites: number): Promise<RunReport> {
  const violations: string[] = [];
  const cutLines: string[] = [];
  const siteClients: SiteClient[] = [];
  const loadClients: LoadClient[] = [];
  let cluster: AgentCluster | undefined;
  try {
    cluster = await AgentCluster.start({
      sites,
      tickMs: 50,
      electionTimeoutTicks: 10,
      heartbeatTicks: 1,
      logLevel: 'warn',
      prefix: 'stackraft-powerloss-',
      env: { STACKRAFT_TEST_POWER_LOSS: '1' },
    });
    const history = new History(new HistoryClock());
    const prng = new Prng(`${args.seed}/${sites}`);
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
    let crashes = 0;
    while (crashes < args.crashes) {
      await sleep(MIN_GAP_MS + prng.int(MAX_GAP_MS - MIN_GAP_MS));
      const names = cluster.sites.map((s) => s.name);
      let victims: string[];
      if (prng.chance(0.4)) {
        const leader = await cluster.waitForLeader({ timeoutMs: CONVERGE_LIMIT_MS }).then((l) => l.leader).catch(() => prng.pick(names));
        victims = [leader];
      } else victims = [prng.pick(names)];
      if (prng.chance(0.1)) victims.push(prng.pick(names.filter((n) => n !== victims[0])));
      try {
        const lines = await Promise.all(victims.map((v) => powerCycle(cluster!, v)));
        crashes += victims.length;
        for (const [i, line] of lines.entries()) cutLines.push(`${victims[i]}: ${line}`);
      } catch (error) {
        // Keep what the cut left for a post-mortem (the cluster's directory is removed at the end).
        const kept = await keepForPostMortem(cluster.dir);
        violations.push(`a site did not start again after a power cut (its data copied to ${kept}): ${(error as Error).message.slice(0, 3000)}`);
        break;
      }
    }
    await Promise.all(loadClients.map((c) => c.stop()));
    await sampler.stop();
    for (const { term, sites: leaders } of sampler.termsWithTwoLeaders()) violations.push(`term ${term} had two leaders: ${leaders.join(', ')}`);
    // A site that did not start cannot converge: the history is still checked, without final reads.
    const startFailed = violations.some((v) => v.startsWith('a site did not start'));
    if (!startFailed) await waitConverged(cluster, siteClients);
    const finals = startFailed ? new Map<string, string | null>() : await finalValues(siteClients, violations);
    const linearizability = checkHistory(history, finals, violations);
    return { sites, crashes, stats: history.stats, violations, linearizability, cutLines };
  } finally {
    await Promise.all(loadClients.map((c) => c.stop().catch(() => undefined)));
    await Promise.all(siteClients.map((c) => c.close()));
    await cluster?.destroy();
  }
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  console.log(`powerloss: sites ${args.sites.join(',')}, ${args.crashes} power cuts each, seed ${args.seed}`);
  const reports: RunReport[] = [];
  for (const sites of args.sites) {
    const report = await runOnce(args, sites);
    reports.push(report);
    const s = report.stats;
    const lost = report.cutLines.reduce((n, l) => n + Number(/(\d+) lost/.exec(l)?.[1] ?? 0), 0);
    const undone = report.cutLines.reduce((n, l) => n + Number(/writes undone (\d+)/.exec(l)?.[1] ?? 0), 0);
    console.log(
      `${sites} sites: ${report.crashes} power cuts (held batches lost ${lost}, unsynced file writes undone ${undone}); writes acked ${s.writesAcked}, refused ${s.writesRefused + s.writesRejected}, ` +
        `unknown ${s.writesUnknown}; reads ok ${s.readsOk}; linearizability ${report.linearizability}; violations ${report.violations.length}`,
    );
    for (const line of report.cutLines.slice(0, 3)) console.log(`  e.g. ${line}`);
    for (const v of report.violations) console.log(`  VIOLATION: ${v}`);
  }
  const total = reports.reduce((acc, r) => {
    for (const k of Object.keys(acc) as Array<keyof OpStats>) acc[k] += r.stats[k];
    return acc;
  }, emptyStats());
  const violations = reports.reduce((n, r) => n + r.violations.length, 0);
  console.log(`total: ${reports.reduce((n, r) => n + r.crashes, 0)} power cuts; writes acked ${total.writesAcked}; restarts slower than the helper's wait ${slowStarts}; violations ${violations}`);
  process.exitCode = violations === 0 ? 0 : 1;
}

await main();
