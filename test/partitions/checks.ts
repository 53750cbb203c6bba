// Checks shared by the partition and power-loss suites: convergence of every site, the converged
// values, and the client history against the linearizability checker.
import { performance } from 'node:perf_hooks';
import { checkLinearizability } from '../../sim/checkers/linearizability.js';
import type { AgentCluster } from '../agent/cluster.js';
import { sleep } from '../agent/agent-process.js';
import { HistoryClock, KEYS, descriptionOf, type History, type SiteClient } from './workload.js';

/** Bound of the wait for convergence (after a heal, a restart, or at the end). */
export const CONVERGE_LIMIT_MS = 30_000;
/** Linearizability search budget per key. */
const CHECK_MS_PER_KEY = 20_000;

export /** Waits until every site agrees on a leader and has applied what that leader had committed when asked. */
async function waitConverged(cluster: AgentCluster, clients: SiteClient[]): Promise<void> {
  const deadline = performance.now() + CONVERGE_LIMIT_MS;
  let target = -1;
  for (;;) {
    const views = await Promise.all(clients.map((c) => c.request('GET', '/v1/status').then((a) => (a.status === 200 ? (a.json as { role: string; term: number; leader: string | null; appliedIndex: number; commitIndex: number }) : null)).catch(() => null)));
    const leader = views.find((v) => v?.role === 'leader');
    if (leader && views.every((v) => v !== null && v.term === leader.term && v.leader === leader.leader)) {
      if (target < 0) target = leader.commitIndex;
      if (views.every((v) => v!.appliedIndex >= target)) return;
    }
    if (performance.now() > deadline) throw new Error(`no convergence within ${CONVERGE_LIMIT_MS} ms of the heal:\n${await cluster.logTails()}`);
    await sleep(25);
  }
}

export /** The converged value of every key on every site (local reads), which must agree. */
async function finalValues(clients: SiteClient[], violations: string[]): Promise<Map<string, string | null>> {
  const values = new Map<string, string | null>();
  for (const key of KEYS) {
    const seen = await Promise.all(clients.map(async (c) => {
      const answer = await c.request('GET', `/v1/resources/flavor/${key}`);
      return answer.status === 200 ? descriptionOf(answer.json) : null;
    }));
    if (new Set(seen).size > 1) violations.push(`sites disagree on ${key} after convergence: ${JSON.stringify(seen)}`);
    values.set(key, seen[0]);
  }
  return values;
}

/** Adds a final read per key (the converged value), checks refused values were never seen, then linearizability. */
export function checkHistory(history: History, finals: Map<string, string | null>, violations: string[]): string {
  const now = history.clock.nowMs();
  for (const [key, value] of finals) {
    history.ops.push({ id: history.id(), key, kind: 'read', observed: value, invokeMs: now, completeMs: now + 1, outcome: 'ok', site: 'final', client: 'final' });
  }
  for (const op of history.ops) {
    if (op.kind === 'read' && op.outcome === 'ok' && typeof op.observed === 'string' && history.refusedValues.has(op.observed)) {
      violations.push(`a refused write's value ${op.observed} was read (${op.site}, ${op.client})`);
    }
  }
  const clock = new HistoryClock();
  const result = checkLinearizability(history.ops, { clock, maxMsPerKey: CHECK_MS_PER_KEY, seed: 'partitions' });
  for (const failure of result.failures) violations.push(`linearizability: ${failure.message}`);
  return `${result.verdict} (${history.ops.length} ops, ${result.keys.length} keys${result.inconclusiveKeys.length > 0 ? `, inconclusive: ${result.inconclusiveKeys.join(' ')}` : ''})`;
}
