// Each checker of a run, shown to catch a bug planted in the real code's surroundings: a site
// that grants every vote, a link that corrupts an entry, a leader that lies about outcomes, reads
// that skip the barrier, writes that skip the liveness requirement, a state machine that loses
// writes, a partition that never heals. The bug lives only here, in a hook; the same run without it
// passes (the control), so the failure is the planted bug's.
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

function options(seed: number, faults: FaultKind[]): SimOptions {
  return { ...DEFAULT_SIM_OPTIONS, sites: 5, voters: 5, durationMs: 30_000, faults, seed };
}

/** Runs with and without the hook: the control passes, the planted run fails `check` (among others). */
async function caughtBy(check: string, seed: number, faults: FaultKind[], hooks: SimHooks): Promise<SimResult> {
  const control = await runSimulation(options(seed, faults));
  assert.equal(control.verdict, 'pass', `control run fails: ${control.failures.map((f) => `[${f.check}] ${f.message}`).join('\n')}`);
  const planted = await runSimulation(options(seed, faults), { hooks });
  assert.equal(planted.verdict, 'fail');
  const row = planted.report.checkers.find((c) => c.name === check);
  assert.equal(row?.verdict, 'fail', `${check} did not catch it; failing: ${planted.report.checkers.filter((c) => c.verdict === 'fail').map((c) => c.name).join(', ')}`);
  const f = planted.failures.find((x) => x.check === check)!;
  assert.equal(f.seed, String(seed));
  assert.ok(Number.isFinite(f.atMs) && f.atMs >= 0 && f.atMs <= 30_000, `failure time ${f.atMs}`);
  return planted;
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
  const r = await caughtBy('election-safety', 5, ['leader-kill', 'partition-halves', 'crash-restart'], { wrapTransport: (_site, t) => tamper(t, { outgoing: grantAll }) });
  assert.match(r.failures.find((f) => f.check === 'election-safety')!.message, /two leaders in term \d+/);
});

test('state machine safety: a link corrupts one entry on its way to one site', { timeout: 60_000 }, async () => {
  const corrupt = (m: WireMessage): WireMessage => {
    if (m.kind !== 'raft' || m.msg.type !== 'append' || !m.msg.entries?.some((e) => e.index === 60 && e.data.length > 0)) return m;
    const entries = m.msg.entries.map((e) => (e.index === 60 ? { ...e, data: Uint8Array.from(e.data, (b, i) => (i === e.data.length - 2 ? b ^ 1 : b)) } : e));
    return { kind: 'raft', msg: { ...m.msg, entries } };
  };
  const r = await caughtBy('state-machine-safety', 1, [], { wrapTransport: (site, t) => (site === VICTIM ? tamper(t, { incoming: corrupt }) : t) });
  assert.ok(r.failures.find((f) => f.check === 'state-machine-safety')!.sites.includes(VICTIM));
});

test('refused-absent: the leader reports committed writes to followers as refused', { timeout: 60_000 }, async () => {
  const lie = (m: WireMessage): WireMessage =>
    m.kind === 'proposeResult' && m.outcome.status === 'committed' ? { ...m, outcome: { status: 'refused', code: 'NO_LEADER', message: 'planted lie' } } : m;
  await caughtBy('refused-absent', 1, [], { wrapTransport: (_site, t) => tamper(t, { incoming: lie }) });
});

test('no lost write: the leader acknowledges forwarded writes at the wrong index', { timeout: 60_000 }, async () => {
  const shift = (m: WireMessage): WireMessage =>
    m.kind === 'proposeResult' && m.outcome.status === 'committed' ? { ...m, outcome: { ...m.outcome, index: m.outcome.index + 1 } } : m;
  await caughtBy('no-lost-write', 1, [], { wrapTransport: (_site, t) => tamper(t, { incoming: shift }) });
});

test('linearizability: linearizable reads skip the ReadIndex barrier (stale reads from lagging sites)', { timeout: 60_000 }, async () => {
  const r = await caughtBy('linearizability', 1, ALL, { readBarrier: async () => ({ ok: true, index: 0 }) });
  assert.match(r.failures.find((f) => f.check === 'linearizability')!.message, /no linearization/);
});

test('peer-unreachable: protection-group writes are forced past the liveness of the sites they name', { timeout: 60_000 }, async () => {
  const r = await caughtBy('peer-unreachable', 1, ALL, { writeOptions: (_site, ops) => (ops.some((o) => o.kind === 'protection-group') ? { force: true } : undefined) });
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
  const r = await caughtBy('local-reads', 2, [], { wrapStateMachine: (site, sm) => (site === VICTIM ? losing(sm) : sm) });
  for (const check of ['final-state-agreement', 'state-convergence']) {
    assert.equal(r.report.checkers.find((c) => c.name === check)?.verdict, 'fail', check);
  }
});

test('liveness: a partition that never heals', { timeout: 60_000 }, async () => {
  const r = await caughtBy('liveness', 1, [], {
    atHeal: (c) => {
      const [cut, ...rest] = c.siteNames().slice(1);
      c.partition({ from: [cut], to: [c.siteNames()[0], ...rest], bothWays: true });
    },
  });
  assert.equal(r.report.checkers.find((c) => c.name === 'state-convergence')?.verdict, 'fail');
});
