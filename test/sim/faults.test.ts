import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  FAULT_KINDS,
  FaultExecutor,
  FaultSpecError,
  composeFaultTarget,
  describeFault,
  generateFaultSchedule,
  parseFaultKinds,
  type FaultEpisode,
  type FaultKind,
  type FaultSchedule,
  type FaultScheduleOptions,
  type NodeFaultTarget,
} from '../../sim/faults.js';
import { selectSites, sitesAt } from '../../sim/cities.js';
import { Prng } from '../../sim/prng.js';
import { Scheduler } from '../../sim/scheduler.js';
import { SimNetwork } from '../../sim/network.js';
import { WanModel, cutOff } from '../../sim/wan.js';

const SITES = selectSites(20);
const NAMES = SITES.map((s) => s.name);

function schedule(seed: number, kinds: readonly FaultKind[], extra: Partial<FaultScheduleOptions> = {}): FaultSchedule {
  return generateFaultSchedule({ prng: new Prng(seed), durationMs: 600_000, sites: SITES, kinds, ...extra });
}

test('--faults parsing: all, none, lists, and clear errors', () => {
  assert.deepEqual(parseFaultKinds('all'), [...FAULT_KINDS]);
  assert.deepEqual(parseFaultKinds(' none '), []);
  assert.deepEqual(parseFaultKinds('loss, crash-restart,loss'), ['loss', 'crash-restart']);
  assert.throws(() => parseFaultKinds('lose'), /unknown fault kind: lose \(known: partition-halves, /);
  assert.throws(() => parseFaultKinds('loss,lose,crash'), /unknown fault kinds: lose, crash/);
  assert.throws(() => parseFaultKinds(''), /needs a value/);
  assert.throws(() => parseFaultKinds('loss,,duplication'), /empty name/);
  assert.throws(() => parseFaultKinds('all,loss'), /cannot be combined/);
  assert.throws(() => parseFaultKinds('nope'), FaultSpecError);
});

test('a schedule is a pure function of the seed', () => {
  assert.deepEqual(schedule(42, FAULT_KINDS), schedule(42, FAULT_KINDS));
  assert.notDeepEqual(schedule(42, FAULT_KINDS).episodes, schedule(43, FAULT_KINDS).episodes);
  assert.equal(schedule(42, []).episodes.length, 0);
});

test('episodes fall between warm-up and the quiet period; events are ordered', () => {
  const s = schedule(7, FAULT_KINDS);
  assert.equal(s.quietFromMs, 600_000 - 60_000);
  assert.ok(s.episodes.length > 50, `${s.episodes.length} episodes`);
  for (const kind of FAULT_KINDS) assert.ok(s.episodes.some((e) => e.kind === kind), `no ${kind} episode in 10 minutes`);
  for (const e of s.episodes) {
    assert.ok(e.startMs >= 5_000, `episode ${e.id} starts in the warm-up`);
    assert.ok(e.endMs > e.startMs && e.endMs <= s.quietFromMs, `episode ${e.id} runs into the quiet period`);
  }
  assert.deepEqual(s.episodes.map((e) => e.id), s.episodes.map((_, i) => i + 1));
  for (let i = 1; i < s.events.length; i++) assert.ok(s.events[i].atMs >= s.events[i - 1].atMs);
  assert.equal(s.events.length, 2 * s.episodes.length);
  // Episodes of one kind never overlap each other.
  for (const kind of FAULT_KINDS) {
    const mine = s.episodes.filter((e) => e.kind === kind);
    for (let i = 1; i < mine.length; i++) assert.ok(mine[i].startMs >= mine[i - 1].endMs, kind);
  }
});

test('enabling another kind does not change the episodes of the others', () => {
  const strip = (eps: FaultEpisode[], kind: FaultKind) => eps.filter((e) => e.kind === kind).map(({ id: _id, ...rest }) => rest);
  const lossOnly = schedule(5, ['loss']);
  const everything = schedule(5, FAULT_KINDS);
  assert.ok(lossOnly.episodes.length > 0);
  assert.deepEqual(strip(lossOnly.episodes, 'loss'), strip(everything.episodes, 'loss'));
  assert.deepEqual(strip(schedule(5, ['crash-restart', 'loss']).episodes, 'crash-restart'), strip(everything.episodes, 'crash-restart'));
});

test('drawn parameters are sane and name real sites', () => {
  const s = schedule(9, FAULT_KINDS);
  for (const e of s.episodes) {
    const spec = e.spec;
    assert.equal(spec.kind, e.kind);
    if ('site' in spec) assert.ok(NAMES.includes(spec.site), spec.site);
    if ('cut' in spec) {
      for (const n of [...spec.cut.from, ...spec.cut.to]) assert.ok(NAMES.includes(n));
      assert.ok(spec.cut.from.length > 0 && spec.cut.to.length > 0);
    }
    if (spec.kind === 'partition-halves') {
      assert.equal(spec.cut.from.length + spec.cut.to.length, NAMES.length);
      assert.ok(spec.cut.from.length >= 8 && spec.cut.from.length <= 12);
    }
    if ('probability' in spec) assert.ok(spec.probability > 0 && spec.probability <= 0.3);
    if (spec.kind === 'clock-drift') assert.ok(Math.abs(spec.rate - 1) >= 0.01 && Math.abs(spec.rate - 1) <= 0.1);
    if (spec.kind === 'flapping') assert.ok(spec.cut.flapPeriodMs! >= 100 && spec.cut.flapPeriodMs! <= 2000);
    assert.ok(describeFault(spec).startsWith(spec.kind));
  }
  const focused = schedule(9, ['crash-restart', 'slow-disk'], { focusSites: ['tokyo', 'london'], focusProbability: 1 });
  for (const e of focused.episodes) assert.ok('site' in e.spec && ['tokyo', 'london'].includes(e.spec.site));
});

test('schedule options are validated; a run shorter than warm-up plus quiet gets no faults', () => {
  assert.throws(() => schedule(1, ['loss'], { durationMs: 0 }), /durationMs must be > 0/);
  assert.throws(() => schedule(1, ['loss'], { focusSites: ['gotham'] }), /unknown site\(s\) gotham/);
  assert.throws(() => schedule(1, ['loss'], { tuning: { loss: { minDurationMs: 0 } } }), /fault tuning for loss/);
  assert.equal(schedule(1, FAULT_KINDS, { durationMs: 10_000, warmupMs: 5_000, quietMs: 5_000 }).episodes.length, 0);
  assert.ok(schedule(1, FAULT_KINDS, { durationMs: 60_000 }).episodes.length > 0);
  const oneRegion = generateFaultSchedule({ prng: new Prng(1), durationMs: 600_000, sites: SITES.filter((s) => s.region === 'eu-west'), kinds: ['partition-region'] });
  assert.equal(oneRegion.episodes.length, 0, 'a single region cannot be cut from the others');
});

interface Call {
  at: number;
  call: string;
}

function recordingNodes(scheduler: Scheduler, calls: Call[], leader: () => string | undefined): NodeFaultTarget {
  const rec = (call: string): void => {
    calls.push({ at: scheduler.now(), call });
  };
  return {
    crashSite: (s) => rec(`crash ${s}`),
    restartSite: (s) => rec(`restart ${s}`),
    leaderOf: leader,
    setDiskDelay: (s, ms) => rec(`disk-delay ${s} ${ms}`),
    setDiskFailing: (s, f) => rec(`disk-failing ${s} ${f}`),
    setClockRate: (s, r) => rec(`clock ${s} ${r}`),
    removeSite: (s) => rec(`remove ${s}`),
    addSite: (s) => rec(`add ${s}`),
  };
}

function handMade(episodes: Array<Omit<FaultEpisode, 'id'>>, quietFromMs: number): FaultSchedule {
  const eps = episodes.map((e, i) => ({ id: i + 1, ...e }));
  const events = eps
    .flatMap((e) => [
      { atMs: e.startMs, action: 'start' as const, episode: e },
      { atMs: e.endMs, action: 'end' as const, episode: e },
    ])
    .sort((a, b) => a.atMs - b.atMs);
  return { seedPath: 'test', durationMs: quietFromMs + 1000, quietFromMs, kinds: [...new Set(eps.map((e) => e.kind))], episodes: eps, events };
}

test('the executor applies starts and ends, resolves the leader, skips a down site, heals at quiet', () => {
  const sites = sitesAt(['London', 'Tokyo', 'Toronto', 'New York', 'Sydney']);
  const names = sites.map((s) => s.name);
  const scheduler = new Scheduler();
  const network = new SimNetwork(scheduler, new WanModel(sites, new Prng(1)));
  const calls: Call[] = [];
  let leader: string | undefined = 'london';
  const target = composeFaultTarget(network, recordingNodes(scheduler, calls, () => leader));
  const plan = handMade(
    [
      { kind: 'crash-restart', startMs: 10, endMs: 100, spec: { kind: 'crash-restart', site: 'london' } },
      { kind: 'leader-kill', startMs: 20, endMs: 60, spec: { kind: 'leader-kill' } }, // leader is london: already down
      { kind: 'partition-site', startMs: 30, endMs: 500, spec: { kind: 'partition-site', site: 'tokyo', cut: cutOff(['tokyo'], names) } },
      { kind: 'loss', startMs: 40, endMs: 50, spec: { kind: 'loss', probability: 0.5 } },
      { kind: 'clock-drift', startMs: 40, endMs: 300, spec: { kind: 'clock-drift', site: 'toronto', rate: 1.05 } },
      { kind: 'membership-churn', startMs: 110, endMs: 130, spec: { kind: 'membership-churn', site: 'london' } },
      { kind: 'slow-disk', startMs: 120, endMs: 140, spec: { kind: 'slow-disk', site: 'new-york', delayMs: 30 } },
    ],
    200,
  );
  const applied: string[] = [];
  const exec = new FaultExecutor(scheduler, plan, target, (f) => applied.push(`${f.atMs} ${f.action} ${f.detail}${f.skipped ? ' SKIPPED' : ''}${f.byHeal ? ' (heal)' : ''}`));
  exec.start();
  scheduler.runUntil(45);
  assert.equal(network.wan.isBlocked('tokyo', 'london', 45), true);
  assert.equal(network.wan.linkFault('loss'), 0.5);
  scheduler.runUntil(1000);
  assert.equal(network.wan.isBlocked('tokyo', 'london', 1000), false);
  assert.equal(network.wan.linkFault('loss'), 0);
  assert.deepEqual(
    calls.map((c) => `${c.at} ${c.call}`),
    ['10 crash london', '40 clock toronto 1.05', '100 restart london', '110 remove london', '120 disk-delay new-york 30', '130 add london', '140 disk-delay new-york 0', '200 clock toronto 1'],
  );
  assert.ok(applied.includes('20 start leader-kill SKIPPED'));
  assert.ok(applied.includes('200 end partition-site tokyo (heal)'));
  assert.equal(exec.log.find((f) => f.kind === 'leader-kill')?.skipped, 'london is already down (episode 1)');
  assert.deepEqual(exec.activeEpisodes(), []);
  assert.equal(exec.healedAll, true);

  leader = 'tokyo';
  const calls2: Call[] = [];
  const s2 = new Scheduler();
  const t2 = composeFaultTarget(new SimNetwork(s2, new WanModel(sites, new Prng(1))), recordingNodes(s2, calls2, () => leader));
  new FaultExecutor(s2, handMade([{ kind: 'leader-kill', startMs: 5, endMs: 9, spec: { kind: 'leader-kill' } }], 50), t2).start();
  s2.runUntil(100);
  assert.deepEqual(calls2.map((c) => `${c.at} ${c.call}`), ['5 crash tokyo', '9 restart tokyo']);
  assert.throws(() => new FaultExecutor(s2, handMade([{ kind: 'loss', startMs: 5, endMs: 9, spec: { kind: 'loss', probability: 0.1 } }], 50), t2).start(), /already 100 ms/);
});

test('a generated schedule runs end to end on the network and leaves it healed', () => {
  const scheduler = new Scheduler();
  const network = new SimNetwork(scheduler, new WanModel(SITES, new Prng(3)));
  const calls: Call[] = [];
  const plan = schedule(3, FAULT_KINDS, { durationMs: 120_000 });
  const exec = new FaultExecutor(scheduler, plan, composeFaultTarget(network, recordingNodes(scheduler, calls, () => 'london')));
  exec.start();
  let sawCut = false;
  for (let t = 0; t <= 120_000; t += 500) {
    scheduler.runUntil(t);
    if (network.wan.activeCutCount() > 0) sawCut = true;
  }
  assert.ok(sawCut);
  assert.equal(network.wan.activeCutCount(), 0);
  assert.deepEqual(exec.activeEpisodes(), []);
  const crashes = calls.filter((c) => c.call.startsWith('crash')).length;
  const restarts = calls.filter((c) => c.call.startsWith('restart')).length;
  assert.equal(crashes, restarts, 'every crash is followed by a restart');
  assert.ok(calls.every((c) => c.at <= plan.quietFromMs));
});
