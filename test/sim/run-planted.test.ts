// Each checker of a run, shown to catch a bug planted in the real code's surroundings: a site
// that grants every vote, a link that corrupts an entry, a leader that lies about outcomes, reads
// that skip the barrier, writes that skip the liveness requirement, a state machine that loses
// writes, a partition that never heals. The bug lives only here, in a hook; the same run without it
// passes (the control), so the failure is the planted bug's. Bugs that need an unlucky schedule
// (two candidates in one term) are tried on a few seeds until one shows them: the code under test
// keeps changing, and a test tied to one seed's schedule would go blind without saying so.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeCommand } from '../../agent/catalog/index.js';
import type { StateMachine, Transport, WireMessage } from '../../consensus/ports.js';
import { FAULT_KINDS, type FaultKind } from '../../sim/faults.js';
import type { SimHooks } from '../../sim/harness/hooks.js';
import { DEFAULT_SIM_OPTIONS, type SimOptions } from '../../sim/harness/options.js';
import { runSimulation, type SimResult } from '../../sim/harness/simulation.js';

const ALL = [...FAULT_KINDS];
/** The site the site-local bugs are planted on (one of the first five cities). */
const VICTIM = 'toronto';

interface Scenario {
  faults: FaultKind[];
  sites?: number;
  durationMs?: number;
  /** Seeds tried in turn until the planted run fails `check` (default: just seed 1). */
  seeds?: number[];
}

function options(seed: number, s: Scenario): SimOptions {
  const sites = s.sites ?? 5;
  return { ...DEFAULT_SIM_OPTIONS, sites, voters: sites, durationMs: s.durationMs ?? 30_000, faults: s.faults, seed };
}

/**
 * The planted run fails `check` (among others) on one of the scenario's seeds, and the same run
 * without the hook (the control) passes.
 */
async function caughtBy(check: string, scenario: Scenario, hooks: SimHooks): Promise<SimResult> {
  const tried: string[] = [];
  for (const seed of scenario.seeds ?? [1]) {
    const planted = await runSimulation(options(seed, scenario), { hooks });
    if (planted.report.checkers.find((c) => c.name === check)?.verdict !== 'fail') {
      tried.push(`seed ${seed}: ${planted.report.checkers.filter((c) => c.verdict === 'fail').map((c) => c.name).join(', ') || 'all pass'}`);
      continue;
    }
    const control = await runSimulation(options(seed, scenario));
    assert.equal(control.verdict, 'pass', `control run of seed ${seed} fails: ${control.failures.map((f) => `[${f.check}] ${f.message}`).join('\n')}`);
    assert.equal(planted.verdict, 'fail');
    const f = planted.failures.find((x) => x.check === check)!;
    assert.equal(f.seed, String(seed));
    assert.ok(Number.isFinite(f.atMs) && f.atMs >= 0 && f.atMs <= options(seed, scenario).durationMs, `failure time ${f.atMs}`);
    return planted;
  }
  assert.fail(`${check} never caught the planted bug (${tried.join('; ')})`);
}

/** Wraps a transport; `incoming` may rewrite what the site receives, `outgoing` what it sends. */
function tamper(t: Transport, change: { incoming?: (m: WireMessage) => WireMessage; outgoing?: (m: WireMessage) => WireMessage }): Transport {
  return {
    send: (to, m) => t.send(to, change.outgoing ? change.outgoing(m) : m),
    onMessage: (h) => t.onMessage((from, m) => h(from, change.incoming ? change.incoming(m) : m)),
    onUnreachable: (h) => t.onUnreachable(h),
  };
}

test('election safety: every site grants every vote and pre-vote it is asked for', { timeout: 60_000 }, async () => {
  const grantAll = (m: WireMessage): WireMessage =>
    m.kind === 'raft' && (m.msg.type === 'voteResp' || m.msg.type === 'preVoteResp') && m.msg.reject === true ? { kind: 'raft', msg: { ...m.msg, reject: false } } : m;
  const scenario: Scenario = {
    faults: ['leader-kill', 'partition-halves', 'partition-site', 'crash-restart', 'one-way'],
    sites: 9,
    durationMs: 60_000,
    seeds: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12],
  };
  const r = await caughtBy('election-safety', scenario, { wrapTransport: (_site, t) => tamper(t, { outgoing: grantAll }) });
  assert.match(r.failures.find((f) => f.check === 'election-safety')!.message, /two leaders in term \d+/);
});

test('state machine safety: a link corrupts one entry on its way to one site', { timeout: 60_000 }, async () => {
  const corrupt = (m: WireMessage): WireMessage => {
    if (m.kind !== 'raft' || m.msg.type !== 'append' || !m.msg.entries?.some((e) => e.index === 60 && e.data.length > 0)) return m;
    const entries = m.msg.entries.map((e) => (e.index === 60 ? { ...e, data: Uint8Array.from(e.data, (b, i) => (i === e.data.length - 2 ? b ^ 1 : b)) } : e));
    return { kind: 'raft', msg: { ...m.msg, entries } };
  };
  const r = await caughtBy('state-machine-safety', { faults: [] }, { wrapTransport: (site, t) => (site === VICTIM ? tamper(t, { incoming: corrupt }) : t) });
  assert.ok(r.failures.find((f) => f.check === 'state-machine-safety')!.sites.includes(VICTIM));
});

test('refused-absent: the leader reports committed writes to followers as refused', { timeout: 60_000 }, async () => {
  const lie = (m: WireMessage): WireMessage =>
    m.kind === 'proposeResult' && m.outcome.status === 'committed' ? { ...m, outcome: { status: 'refused', code: 'NO_LEADER', message: 'planted lie' } } : m;
  await caughtBy('refused-absent', { faults: [] }, { wrapTransport: (_site, t) => tamper(t, { incoming: lie }) });
});

test('no lost write: the leader acknowledges forwarded writes at the wrong index', { timeout: 60_000 }, async () => {
  const shift = (m: WireMessage): WireMessage =>
    m.kind === 'proposeResult' && m.outcome.status === 'committed' ? { ...m, outcome: { ...m.outcome, index: m.outcome.index + 1 } } : m;
  await caughtBy('no-lost-write', { faults: [] }, { wrapTransport: (_site, t) => tamper(t, { incoming: shift }) });
});

test('linearizability: linearizable reads skip the ReadIndex barrier (stale reads from lagging sites)', { timeout: 60_000 }, async () => {
  const r = await caughtBy('linearizability', { faults: ALL, seeds: [1, 2, 3, 4] }, { readBarrier: async () => ({ ok: true, index: 0 }) });
  assert.match(r.failures.find((f) => f.check === 'linearizability')!.message, /no linearization/);
});

test('peer-unreachable: protection-group writes are forced past the liveness of the sites they name', { timeout: 60_000 }, async () => {
  const r = await caughtBy('peer-unreachable', { faults: ALL, seeds: [1, 2, 3, 4] }, { writeOptions: (_site, ops) => (ops.some((o) => o.kind === 'protection-group') ? { force: true } : undefined) });
  assert.match(r.failures.find((f) => f.check === 'peer-unreachable')!.message, /could not reach the leader/);
});

test('local reads, final state and convergence: one site loses every write to one key', { timeout: 60_000 }, async () => {
  const losing = (sm: StateMachine): StateMachine => ({
    apply: (entry) => {
      const d = decodeCommand(entry.data);
      const ops = d.ok && Array.isArray((d.command as { ops?: unknown }).ops) ? ((d.command as { ops: Array<{ id?: unknown }> }).ops) : [];
      return ops.some((o) => o.id === 'wf-0') ? { result: { ok: true, revisions: ops.map(() => entry.index) }, ops: [] } : sm.apply(entry);
    },
    snapshot: () => sm.snapshot(),
    restore: (image) => sm.restore(image),
    load: (records) => sm.load(records),
  });
  const r = await caughtBy('local-reads', { faults: [], seeds: [1, 2, 3, 4] }, { wrapStateMachine: (site, sm) => (site === VICTIM ? losing(sm) : sm) });
  for (const check of ['final-state-agreement', 'state-convergence']) {
    assert.equal(r.report.checkers.find((c) => c.name === check)?.verdict, 'fail', check);
  }
});

test('liveness: a partition that never heals', { timeout: 60_000 }, async () => {
  // Liveness counts the first probe after the heal at which every site has the same applied index,
  // so it sees the cut site only when entries keep committing right across the heal; whether they
  // do depends on the schedule (seed 1 stopped showing it when quota intents moved reports earlier).
  const r = await caughtBy('liveness', { faults: [], seeds: [1, 2, 3] }, {
    atHeal: (c) => {
      const [cut, ...rest] = c.siteNames().slice(1);
      c.partition({ from: [cut], to: [c.siteNames()[0], ...rest], bothWays: true });
    },
  });
  assert.equal(r.report.checkers.find((c) => c.name === 'state-convergence')?.verdict, 'fail');
});

test('runaway: two sites bounce every message they get back to each other twice (a storm)', { timeout: 60_000 }, async () => {
  const pair = ['toronto', 'london'];
  const bounce = (site: string, t: Transport): Transport => {
    const other = pair.find((p) => p !== site)!;
    return {
      send: (to, m) => t.send(to, m),
      onUnreachable: (h) => t.onUnreachable(h),
      onMessage: (h) =>
        t.onMessage((from, m) => {
          if (from === other || m.kind === 'raft') {
            for (let i = 0; i < 2; i++) t.send(other, { kind: 'readIndexResult', id: 'planted-echo', ok: false, index: 0 });
          }
          h(from, m);
        }),
    };
  };
  const r = await caughtBy('runaway', { faults: [] }, { wrapTransport: (site, t) => (pair.includes(site) ? bounce(site, t) : t) });
  assert.match(r.failures.find((f) => f.check === 'runaway')!.message, /events within one virtual second .* readIndexResult \d+/);
});
