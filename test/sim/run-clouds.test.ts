// Reconcilers in every simulated site: each converges an in-memory cloud that survives the site's
// crashes, through cloud API faults, and the cloud-convergence checker compares every running
// site's cloud with its desired state after the heal. A driver that silently drops creates on one
// site is caught and named; without it the same run passes. The last tests reproduce, without a
// random schedule, the reconciler bugs the checker found (C1, C2), now fixed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { desiredCloudState } from '../../agent/reconciler/index.js';
import type { Resource } from '../../agent/catalog/index.js';
import { CloudModel, type CloudDriver, type CloudFlavor, type CloudQuota } from '../../drivers/index.js';
import { CloudConvergenceChecker, diffSiteCloud, type ObservedCloud } from '../../sim/checkers/cloud-convergence.js';
import { FailureLog } from '../../sim/checkers/failure.js';
import { FAULT_KINDS, FaultExecutor, generateFaultSchedule, type CloudApiFault, type FaultTarget } from '../../sim/faults.js';
import { CLOUD_FLAVOR, CLOUD_IMAGE_ALL, CLOUD_IMAGE_REGIONAL, CLOUD_QUOTA_ALL, CLOUD_QUOTA_WIDENED } from '../../sim/harness/cloud-catalog.js';
import type { SimClouds } from '../../sim/harness/clouds.js';
import { DEFAULT_SIM_OPTIONS, parseSimArgs, replayCommand, SimArgsError, type SimOptions } from '../../sim/harness/options.js';
import { runSimulation, type SimResult } from '../../sim/harness/simulation.js';
import type { World } from '../../sim/harness/world.js';
import { sitesAt } from '../../sim/cities.js';
import { Prng } from '../../sim/prng.js';
import { Scheduler } from '../../sim/scheduler.js';
import { Fixture, OTHER_SITE, PROJECT, quotaSpec } from '../reconciler/fixture.js';
import { NOT_PLACED_MESSAGE, QUOTA_INTENT_MESSAGE } from '../../agent/reconciler/index.js';

const RUN: SimOptions = { ...DEFAULT_SIM_OPTIONS, sites: 5, voters: 5, durationMs: 60_000, faults: [...FAULT_KINDS], seed: 1 };
const VICTIM = 'toronto';

function cloudsOf(world: World): SimClouds {
  const clouds = world.observers.find((o): o is SimClouds => 'cloudOf' in o);
  assert.ok(clouds, 'the world has no clouds');
  return clouds;
}

function row(r: SimResult, name: string) {
  return r.report.checkers.find((c) => c.name === name);
}

test('every site reconciles its cloud through cloud API faults and crashes; the clouds converge after the heal', { timeout: 60_000 }, async () => {
  interface SiteView {
    flavors: string[];
    images: string[];
    region: string;
    cores: [number, number];
  }
  let seen: { perSite: Map<string, SiteView>; faults: number; incarnations: number } | undefined;
  const r = await runSimulation(RUN, {
    inspect: (world) => {
      const clouds = cloudsOf(world);
      const perSite = new Map<string, SiteView>();
      for (const c of clouds.all()) {
        perSite.set(c.site, {
          flavors: c.model.listFlavors().map((f) => (f.id === CLOUD_FLAVOR ? `${f.id}:${f.vcpus}` : f.id)),
          images: c.model.listImages().map((i) => `${i.id}:${i.status}:${i.tags.sort().join('/')}`),
          region: world.site(c.site).location.region,
          cores: [c.model.computeQuotas.get(CLOUD_QUOTA_ALL).cores, c.model.computeQuotas.get(CLOUD_QUOTA_WIDENED).cores],
        });
      }
      seen = { perSite, faults: clouds.stats().faultsInjected, incarnations: clouds.all().reduce((n, c) => n + c.incarnations, 0) };
    },
  });
  assert.equal(r.verdict, 'pass', r.failures.map((f) => `[${f.check}] ${f.message}`).join('\n'));
  assert.equal(row(r, 'cloud-convergence')?.verdict, 'pass');
  const after = r.report.convergence.cloudsConvergedAfterMs;
  assert.ok(typeof after === 'number' && after >= 0 && after <= RUN.durationMs - r.report.convergence.healedAtMs!, `converged after ${after}`);
  assert.ok(r.report.run.faults.includes('cloud-api'));
  assert.ok(seen, 'inspect ran');
  assert.ok(seen.faults > 0, 'cloud API faults were injected');
  assert.ok(seen.incarnations > RUN.sites, 'some site restarted: a later incarnation took over the same cloud');
  // Every resource landed where its placement says, revised: the first two regions of the run's sites.
  const [r0, r1] = [...new Set([...seen.perSite.values()].map((s) => s.region))];
  for (const [site, s] of seen.perSite) {
    assert.ok(s.images.includes(`${CLOUD_IMAGE_ALL}:active:lts/v2`), `${site}: the revised image`);
    assert.equal(s.images.includes(`${CLOUD_IMAGE_REGIONAL}:active:lts`), s.region === r0, `${site}: the ${r0} image`);
    assert.deepEqual(s.cores, [96, 8], `${site}: both quotas, revised and widened`);
    assert.equal(s.flavors.includes(`${CLOUD_FLAVOR}:8`), s.region === r1, `${site}: the flavor replaced and moved to ${r1}`);
    assert.equal(s.flavors.filter((f) => f.startsWith(CLOUD_FLAVOR)).length, s.region === r1 ? 1 : 0);
    assert.ok(s.flavors.filter((f) => f.startsWith('wf-')).length > 0, `${site} holds the workload's flavors`);
  }
});

test('a planted bug: one site\'s driver drops creates; the checker fails and names that site', { timeout: 60_000 }, async () => {
  const dropped: string[] = [];
  const dropCreates = (driver: CloudDriver): CloudDriver =>
    new Proxy(driver, {
      get(target, prop) {
        const value = Reflect.get(target, prop, target) as unknown;
        if (prop === 'createFlavor') {
          return async (spec: { id: string }) => {
            dropped.push(spec.id);
            return { resource: { ...spec, accessProjects: [], managed: true } as unknown as CloudFlavor, replaced: false, warnings: [] };
          };
        }
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
  const r = await runSimulation(RUN, { hooks: { wrapCloudDriver: (site, driver) => (site === VICTIM ? dropCreates(driver) : driver) } });
  assert.ok(dropped.length > 0, 'the victim tried to create flavors');
  assert.equal(r.verdict, 'fail');
  assert.equal(row(r, 'cloud-convergence')?.verdict, 'fail');
  assert.equal(r.report.convergence.cloudsConvergedAfterMs, null);
  const failures = r.failures.filter((f) => f.check === 'cloud-convergence');
  assert.ok(failures.length > 0);
  assert.deepEqual([...new Set(failures.flatMap((f) => f.sites))], [VICTIM], 'only the victim is named');
  assert.match(failures[0].message, new RegExp(`^${VICTIM}'s cloud differs from its desired state .* flavor wf-\\d+ missing`));
  assert.equal(failures[0].seed, String(RUN.seed));
  // The rest of the run is unaffected: the bug is in the cloud, not in the log.
  for (const check of ['state-convergence', 'linearizability', 'no-lost-write']) assert.equal(row(r, check)?.verdict, 'pass', check);
});

test('--clouds off: no reconcilers, the check is skipped, the replay command says so', { timeout: 30_000 }, async () => {
  const r = await runSimulation({ ...RUN, faults: ['crash-restart', 'cloud-api'], durationMs: 20_000, clouds: false }, { inspect: (w) => assert.equal(w.observers.length, 0) });
  assert.equal(r.verdict, 'pass', r.failures.map((f) => `[${f.check}] ${f.message}`).join('\n'));
  assert.equal(row(r, 'cloud-convergence')?.verdict, 'skipped');
  assert.equal(r.report.convergence.cloudsConvergedAfterMs, undefined);
  assert.match(r.report.run.replayCommand, /--clouds off/);
  const parsed = parseSimArgs(r.report.run.replayCommand.split(' ').slice(6));
  assert.equal(parsed.options.clouds, false);
  assert.equal(parseSimArgs([]).options.clouds, true);
  assert.equal(parseSimArgs(['--clouds=on']).options.clouds, true);
  assert.doesNotMatch(replayCommand(DEFAULT_SIM_OPTIONS), /--clouds/);
  assert.throws(() => parseSimArgs(['--clouds', 'maybe']), (e: unknown) => e instanceof SimArgsError && /--clouds expects on or off/.test(e.message));
});

test('cloud-api episodes: drawn per site, sent to the clouds, ended by the heal; skipped when the run has no clouds', () => {
  const sites = sitesAt(['London', 'Tokyo', 'Toronto']);
  const schedule = generateFaultSchedule({ prng: new Prng(4), durationMs: 300_000, sites, kinds: ['cloud-api'] });
  assert.ok(schedule.episodes.length > 3, `${schedule.episodes.length} episodes`);
  for (const e of schedule.episodes) {
    const spec = e.spec;
    assert.equal(spec.kind, 'cloud-api');
    if (spec.kind !== 'cloud-api') continue;
    assert.ok(sites.some((s) => s.name === spec.site));
    const f = spec.fault;
    assert.ok(f.errorRate === 1 || (f.errorRate >= 0.05 && f.errorRate <= 0.5), `error rate ${f.errorRate}`);
    assert.ok(f.timeoutRate >= 0.01 && f.timeoutRate <= 0.1 && f.extraLatencyMs >= 0 && f.extraLatencyMs <= 500);
  }
  const calls: string[] = [];
  const scheduler = new Scheduler();
  const nodes: Omit<FaultTarget, 'setCloudFaults'> = {
    partition: () => 0,
    heal: () => undefined,
    setLinkFault: () => undefined,
    crashSite: () => undefined,
    restartSite: () => undefined,
    leaderOf: () => undefined,
    setDiskDelay: () => undefined,
    setDiskFailing: () => undefined,
    setClockRate: () => undefined,
    removeSite: () => undefined,
    addSite: () => undefined,
  };
  const withClouds: FaultTarget = { ...nodes, setCloudFaults: (site: string, fault: CloudApiFault | null) => void calls.push(`${scheduler.now()} ${site} ${fault === null ? 'healthy' : fault.errorRate}`) };
  new FaultExecutor(scheduler, schedule, withClouds).start();
  scheduler.runUntil(300_000);
  assert.equal(calls.length, 2 * schedule.episodes.length);
  assert.match(calls.at(-1)!, / healthy$/);

  const skipped: string[] = [];
  const s2 = new Scheduler();
  new FaultExecutor(s2, schedule, nodes, (f) => f.skipped && skipped.push(f.skipped)).start();
  s2.runUntil(300_000);
  assert.equal(skipped.length, schedule.episodes.length);
  assert.equal(skipped[0], 'the run has no clouds');
});

// ------------------------------------------------------------------ the comparison itself

const PROJECT_A = '0a1b2c3d4e5f60718293a4b5c6d7e8f1';

function flavorResource(id: string, revision: number, description: string): Resource {
  return {
    kind: 'flavor',
    id,
    revision,
    spec: { name: id, vcpus: 1, ram: 512, disk: 1, ephemeral: 0, swap: 0, rxtxFactor: 1, isPublic: true, extraSpecs: {}, description },
    placement: { type: 'all' },
  } as unknown as Resource;
}

function quotaResource(project: string, cores: number): Resource {
  return { kind: 'quota', id: project, revision: 3, spec: { project, compute: { cores } }, placement: { type: 'all' } } as unknown as Resource;
}

function cloudFlavor(id: string, description: string): CloudFlavor {
  return { id, name: id, vcpus: 1, ram: 512, disk: 1, ephemeral: 0, swap: 0, rxtxFactor: 1, isPublic: true, extraSpecs: {}, description, accessProjects: [], managed: true };
}

function quota(project: string, cores: number): CloudQuota {
  return { project, compute: { cores, instances: 10, ram: 51200, keyPairs: 100, serverGroups: 10 } };
}

test('diffSiteCloud names what is missing, extra, different and not reset', () => {
  const desired = desiredCloudState([flavorResource('a', 5, 'v5'), flavorResource('b', 6, 'v6'), quotaResource(PROJECT_A, 64)]);
  const other = '0a1b2c3d4e5f60718293a4b5c6d7e8f2';
  const equal: ObservedCloud = {
    flavors: [cloudFlavor('a', 'v5'), cloudFlavor('b', 'v6')],
    images: [],
    quotas: new Map([[PROJECT_A, quota(PROJECT_A, 64)], [other, quota(other, 20)]]),
    defaultQuotas: new Map([[PROJECT_A, quota(PROJECT_A, 20)], [other, quota(other, 20)]]),
  };
  assert.deepEqual(diffSiteCloud('paris', desired, equal), []);

  const drifted: ObservedCloud = {
    ...equal,
    flavors: [cloudFlavor('a', 'v4'), cloudFlavor('zombie', 'x')],
    quotas: new Map([[PROJECT_A, quota(PROJECT_A, 32)], [other, quota(other, 99)]]),
  };
  const diffs = diffSiteCloud('paris', desired, drifted).map((d) => `${d.site} ${d.kind}/${d.id} ${d.problem}: ${d.detail}`);
  assert.deepEqual(diffs, [
    'paris flavor/a differs: description: cloud "v4" ≠ catalog "v5" (catalog revision 5)',
    'paris flavor/b missing: not in the cloud (catalog revision 6)',
    `paris quota/${PROJECT_A} differs: compute.cores: cloud 32 ≠ catalog 64`,
    'paris flavor/zombie extra: managed flavor the catalog does not place here',
    `paris quota/${other} not-reset: the catalog no longer places this quota here, but its limits are not the defaults`,
  ]);
});

test('the checker times convergence from the last clean streak and fails on differences left at the end', () => {
  const diff = { site: 'paris', kind: 'flavor' as const, id: 'a', problem: 'missing' as const, detail: 'not in the cloud' };
  const healed = 10_000;
  const ok = new CloudConvergenceChecker(healed);
  ok.onProbe({ atMs: 10_000, sitesChecked: 2, differences: [diff], behind: [] });
  ok.onProbe({ atMs: 10_250, sitesChecked: 2, differences: [], behind: [] });
  ok.onProbe({ atMs: 10_500, sitesChecked: 2, differences: [diff], behind: [] });
  ok.onProbe({ atMs: 10_750, sitesChecked: 2, differences: [], behind: [] });
  ok.onProbe({ atMs: 11_000, sitesChecked: 2, differences: [], behind: [] });
  const okLog = new FailureLog('7');
  assert.deepEqual(ok.finish(okLog, 11_000), { verdict: 'pass', convergedAfterMs: 750, probes: 5, remaining: 0, behind: [] });
  assert.equal(okLog.failures().length, 0);

  const bad = new CloudConvergenceChecker(healed);
  bad.onProbe({ atMs: 10_000, sitesChecked: 2, differences: [], behind: [] });
  bad.onProbe({ atMs: 12_000, sitesChecked: 2, differences: [diff, { ...diff, id: 'b' }, { ...diff, site: 'tokyo' }], behind: [] });
  const badLog = new FailureLog('7');
  const result = bad.finish(badLog, 12_000);
  assert.deepEqual(result, { verdict: 'fail', convergedAfterMs: null, probes: 2, remaining: 3, behind: [] });
  const failures = badLog.failures();
  assert.deepEqual(failures.map((f) => f.sites), [['paris'], ['tokyo']]);
  assert.equal(failures[0].message, "paris's cloud differs from its desired state 2.0 s after the heal: flavor a missing: not in the cloud; flavor b missing: not in the cloud");
  assert.equal(failures[0].seed, '7');

  // A site whose catalog never caught up is not judged: inconclusive, no failure, no time.
  const stuck = new CloudConvergenceChecker(healed);
  stuck.onProbe({ atMs: 10_000, sitesChecked: 2, differences: [], behind: [] });
  stuck.onProbe({ atMs: 12_000, sitesChecked: 2, differences: [], behind: ['tokyo'] });
  const stuckLog = new FailureLog('7');
  assert.deepEqual(stuck.finish(stuckLog, 12_000), { verdict: 'inconclusive', convergedAfterMs: null, probes: 2, remaining: 0, behind: ['tokyo'] });
  assert.equal(stuckLog.failures().length, 0);

  const never = new CloudConvergenceChecker(healed);
  const neverLog = new FailureLog('7');
  assert.equal(never.finish(neverLog, 12_000).verdict, 'fail');
  assert.match(neverLog.failures()[0].message, /never compared/);
});

// ------------------------------------------------------------------ findings

// C1: quota sets carry no marker, so a site finds the quotas it must reset through its own sync
// entries; the reconciler records its intent in the log before it first sets a quota, so even a
// crash between setting and reporting leaves an entry behind.
async function firstLifeSetsQuotaThenCrashes(): Promise<{ model: CloudModel; first: Fixture }> {
  const model = new CloudModel();
  // The sink works until the quota is set in the cloud, then fails: the agent dies before its in-sync report.
  const first = new Fixture({ cloud: { model }, sinkDown: () => model.computeQuotas.get(PROJECT).cores === 64 });
  first.write({ op: 'put', kind: 'quota', id: PROJECT, spec: quotaSpec(), placement: 'all' });
  await first.start(5_000);
  assert.equal(model.computeQuotas.get(PROJECT).cores, 64, 'the first life set the quota');
  assert.equal(first.entry('quota', PROJECT)?.message, QUOTA_INTENT_MESSAGE, 'its intent reached the log, its in-sync report did not');
  await first.stop();
  return { model, first };
}

test('C1: a quota set by an agent that crashed before reporting it is reset when the catalog no longer places it there', { timeout: 10_000 }, async () => {
  const { model, first } = await firstLifeSetsQuotaThenCrashes();
  const second = new Fixture({ cloud: { model }, catalogHarness: first.catalogHarness });
  second.write({ op: 'patch', kind: 'quota', id: PROJECT, spec: {}, placement: [OTHER_SITE] });
  await second.start();
  await second.reconciler.audit();
  await second.stop();
  assert.equal(model.computeQuotas.get(PROJECT).cores, 20, 'the quota the catalog moved away is back at the default');
  assert.ok(second.reportsAbout('quota', PROJECT).some((r) => r.state === 'in-sync' && r.message === NOT_PLACED_MESSAGE), 'the removal was reported');
  assert.equal(second.entry('quota', PROJECT), undefined, 'a finished removal leaves no entry');
});

test('C1: ... and when the catalog deletes it', { timeout: 10_000 }, async () => {
  const { model, first } = await firstLifeSetsQuotaThenCrashes();
  const second = new Fixture({ cloud: { model }, catalogHarness: first.catalogHarness });
  second.write({ op: 'delete', kind: 'quota', id: PROJECT });
  await second.start();
  await second.stop();
  assert.equal(model.computeQuotas.get(PROJECT).cores, 20, 'the deleted quota is back at the default');
  assert.equal(second.entry('quota', PROJECT), undefined, 'the removal cleared the entry');
});

test('C1: a site whose intent cannot reach the log does not set the quota', { timeout: 10_000 }, async () => {
  const model = new CloudModel();
  const f = new Fixture({ cloud: { model }, sinkDown: () => true });
  f.write({ op: 'put', kind: 'quota', id: PROJECT, spec: quotaSpec(), placement: 'all' });
  await f.start(10_000);
  await f.stop();
  assert.equal(model.computeQuotas.get(PROJECT).cores, 20, 'untouched');
  assert.equal(f.counted.writes().length, 0);
});

test(
  'C2: a resource whose retry came due while a pass was still running is retried then, not at the next audit',
  { timeout: 10_000 },
  async () => {
    // Calls take 50 ms and one operation runs at a time. In one change pass, flavor a fails at once
    // (a 503) and is due again 50-100 ms later; flavor b's create then takes ~200 ms, so the pass
    // ends after a's retry came due. Nothing else happens until the next audit (60 s).
    const f = new Fixture({ faults: { latencyMs: 50 }, reconciler: { maxConcurrentOperations: 1, retry: { baseDelayMs: 100, maxDelayMs: 100 } } });
    await f.start();
    f.cloud.faults.failNext('error');
    f.write(
      { op: 'put', kind: 'flavor', id: 'a', spec: { name: 'a', vcpus: 1, ram: 512, disk: 1 } },
      { op: 'put', kind: 'flavor', id: 'b', spec: { name: 'b', vcpus: 1, ram: 512, disk: 1 } },
    );
    await f.advance(5_000);
    await f.stop();
    assert.ok(f.cloud.model.listFlavors().some((x) => x.id === 'b'), 'flavor b was created');
    assert.equal(f.cloud.faults.counts.error, 1, 'the injected 503 happened');
    assert.ok(f.cloud.model.listFlavors().some((x) => x.id === 'a'), 'flavor a is created by its retry within 5 s');
  },
);
