// Failures: retries with backoff on 5xx faults, errors reported with the cloud's message, an
// unreachable cloud reported once, coalesced and bounded reports, and the guards that keep the
// reconciler from acting on a catalog it cannot trust.
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { putOp } from '../../agent/catalog/index.js';
import { CLUSTER_SYNC_COMMANDS_PER_SECOND } from '../../agent/reconciler/report-queue.js';
import { siteSpec } from '../catalog/helpers.js';
import { CloudModel } from '../../drivers/index.js';
import { Fixture, IMAGE_ID, PROJECT, SITE, flavorSpec, imageSpec, quotaSpec } from './fixture.js';

/** Looks in the model directly: a driver call would draw a queued fault. */
function hasFlavor(f: Fixture, id: string): boolean {
  return f.cloud.model.listFlavors().some((flavor) => flavor.id === id);
}

describe('reconciler: failures, retries and reports', () => {
  it('retries a resource with exponential backoff on 5xx faults, quietly, then converges', async () => {
    const f = new Fixture({ reconciler: { retry: { baseDelayMs: 1_000, maxDelayMs: 60_000 } } });
    await f.start();
    f.cloud.faults.failNext('error', 'error');
    f.write(putOp('flavor', 'f1', flavorSpec()));
    // Watch in 10 ms steps: when each attempt failed, and when the flavor appeared.
    const failedAt: number[] = [];
    let createdAt = -1;
    for (let t = 0; t < 10_000 && createdAt < 0; t += 10) {
      await f.advance(10);
      if (f.cloud.faults.counts.error > failedAt.length) failedAt.push(f.clock.now());
      if (hasFlavor(f, 'f1')) createdAt = f.clock.now();
    }
    assert.equal(failedAt.length, 2, 'two attempts failed (503)');
    assert.ok(createdAt > 0, 'converged on the third attempt');
    // Equal jitter: the first retry waits 500..1000 ms, the second 1000..2000 ms.
    const first = failedAt[1]! - failedAt[0]!;
    const second = createdAt - failedAt[1]!;
    assert.ok(first >= 500 && first <= 1_010, `first retry after ${first} ms`);
    assert.ok(second >= 1_000 && second <= 2_010, `second retry after ${second} ms`);
    // Below the reporting threshold the transient failures were never reported, and being in sync
    // costs no report of its own: the site's digest covers it.
    await f.advance(2_000);
    assert.deepEqual(f.reportsAbout('flavor', 'f1'), []);
    assert.equal(f.entry('flavor', 'f1')?.state, 'in-sync');
    assert.ok((f.commands.at(-1)?.digest?.through ?? 0) >= f.catalog.get('flavor', 'f1')!.revision);
    await f.stop();
  });

  it('reports an error with the cloud\'s own message, at once for a failure that will not clear by itself', async () => {
    // Nova checks quota projects with Keystone: an unknown project is a 400 with Nova's message.
    const f = new Fixture({ cloud: { model: new CloudModel({ requireKnownProjects: true }), services: { image: false } } });
    f.write(putOp('quota', PROJECT, quotaSpec()), putOp('image', IMAGE_ID, imageSpec()), putOp('flavor', 'f1', flavorSpec()));
    await f.start();
    const quota = f.entry('quota', PROJECT);
    assert.equal(quota?.state, 'error');
    assert.match(quota?.message ?? '', /\(400\): Project ID 0123456789abcdef0123456789abcdef is not a valid project\./);
    const image = f.entry('image', IMAGE_ID);
    assert.equal(image?.state, 'error');
    assert.match(image?.message ?? '', /no image endpoint/);
    assert.equal(f.entry('flavor', 'f1')?.state, 'in-sync', 'the other kinds go on');
    // Known project now: the next audit converges it.
    f.cloud.model.addProject(PROJECT, 'demo');
    await f.advance(61_000);
    assert.equal(f.entry('quota', PROJECT)?.state, 'in-sync');
    // The intent (recorded before the first attempt to set it), the error once, then in-sync once.
    assert.deepEqual(f.reportsAbout('quota', PROJECT).map((r) => r.state), ['pending', 'error', 'in-sync']);
    await f.stop();
  });

  it('reports the driver error message for a change the cloud cannot make (new image bits under the same id)', async () => {
    const f = new Fixture();
    f.write(putOp('image', IMAGE_ID, imageSpec()));
    await f.start();
    // The catalog forbids changing an image source; an operator editing Glance's recorded digest
    // out of band produces the same mismatch the driver must refuse.
    f.cloud.model.patchImage(IMAGE_ID, [{ op: 'replace', path: '/stackraft_source_sha512', value: 'c'.repeat(128) }]);
    await f.advance(61_000);
    const entry = f.entry('image', IMAGE_ID);
    assert.equal(entry?.state, 'error');
    assert.match(entry?.message ?? '', /digest changed, i\.e\. new bits/);
    await f.stop();
  });

  it('an unreachable cloud: every resource reports "unreachable" once (one command), retries go on quietly, and in-sync follows recovery', async () => {
    const f = new Fixture();
    f.write(putOp('flavor', 'f1', flavorSpec()), putOp('flavor', 'f2', flavorSpec({ name: 'm1.two' })), putOp('quota', PROJECT, quotaSpec()));
    await f.start();
    const before = f.commands.length;
    f.cloud.faults.set({ errorRate: 1 });
    // Enough time for many retries and a few audits.
    await f.advance(5 * 60_000);
    const during = f.commands.slice(before);
    assert.equal(during.length, 1, `one command while down, got ${JSON.stringify(during)}`);
    assert.deepEqual(during[0]!.reports.map((r) => [r.id, r.state]), [
      ['f1', 'unreachable'],
      ['f2', 'unreachable'],
      [PROJECT, 'unreachable'],
    ]);
    assert.match(during[0]!.reports[0]!.message ?? '', /^cloud API unreachable: .*503/);
    assert.equal(new Set(during[0]!.reports.map((r) => r.message)).size, 1, 'one message for the whole site');
    assert.ok(f.cloud.faults.counts.error > 5, 'retried meanwhile');
    assert.equal(f.reconciler.status().cloudReachable, false);

    f.cloud.faults.set({ errorRate: 0 });
    await f.advance(62_000);
    assert.equal(f.reconciler.status().cloudReachable, true);
    for (const id of ['f1', 'f2']) assert.equal(f.entry('flavor', id)?.state, 'in-sync', id);
    assert.equal(f.entry('quota', PROJECT)?.state, 'in-sync');
    await f.stop();
  });

  it('coalesces reports: one command per interval, bounded in size, nothing re-sent that the catalog already holds', async () => {
    const f = new Fixture({ reconciler: { reports: { intervalMs: 1_000, maxReportsPerCommand: 20, maxRetryDelayMs: 30_000, gatherMs: 100, digestIntervalMs: 5_000 } } });
    await f.start();
    const started = f.commands.length;
    const ops = Array.from({ length: 50 }, (_, i) => putOp('flavor', `f${i}`, flavorSpec({ name: `m1.n${i}` })));
    const revisions = f.write(...ops);
    await f.advance(10_000);
    assert.equal(f.cloud.model.listFlavors().length, 50);
    // 50 resources in sync: one digest, not 50 reports.
    const created = f.commands.length;
    assert.deepEqual(f.commands.slice(started).map((c) => [c.reports.length, c.digest?.through]), [[0, Math.max(...revisions)]]);
    for (let i = 0; i < 50; i++) assert.equal(f.entry('flavor', `f${i}`)?.state, 'in-sync');
    assert.equal(f.catalog.stats().syncEntries, 0, 'no per-resource entries stored');

    // 50 exceptions: batched, one command per interval.
    f.cloud.faults.set({ errorRate: 1 });
    await f.reconciler.audit();
    await f.advance(10_000);
    const sizes = f.commands.slice(created).map((c) => c.reports.length);
    assert.deepEqual(sizes, [20, 20, 10]);
    for (let i = created + 1; i < f.commands.length; i++) {
      assert.ok(f.commands[i]!.at - f.commands[i - 1]!.at >= 1_000, 'at most one command per interval');
    }
    for (let i = 0; i < 50; i++) assert.equal(f.entry('flavor', `f${i}`)?.state, 'unreachable');
    f.cloud.faults.set({ errorRate: 0 });
    await f.advance(120_000);
    for (let i = 0; i < 50; i++) assert.equal(f.entry('flavor', `f${i}`)?.state, 'in-sync');
    assert.equal(f.catalog.stats().syncEntries, 0, 'recovered: the exceptions are gone again');
    const settled = f.commands.length;
    await f.reconciler.audit();
    await f.advance(5_000);
    assert.equal(f.commands.length, settled, 'a clean audit sends nothing');
    await f.stop();
  });

  it('under a stream of catalog writes, a site commits one digest per digest interval, not one per write', async () => {
    const f = new Fixture({ reconciler: { reports: { intervalMs: 1_000, maxReportsPerCommand: 250, maxRetryDelayMs: 30_000, gatherMs: 100, digestIntervalMs: 5_000 } } });
    await f.start(6_000);
    const before = f.commands.length;
    let last = 0;
    for (let i = 0; i < 20; i++) {
      [last] = f.write(putOp('flavor', `s${i}`, flavorSpec({ name: `m1.s${i}` })));
      await f.advance(1_000);
    }
    await f.advance(6_000);
    const sent = f.commands.slice(before);
    assert.ok(sent.every((c) => c.reports.length === 0 && c.digest !== undefined), JSON.stringify(sent));
    assert.ok(sent.length >= 4 && sent.length <= 6, `${sent.length} digests for 20 writes over 20 s`);
    for (let i = 1; i < sent.length; i++) assert.ok(sent[i]!.at - sent[i - 1]!.at >= 5_000, 'at most one digest per interval');
    assert.equal(sent.at(-1)!.digest!.through, last, 'the last one covers the last write');
    for (let i = 0; i < 20; i++) assert.equal(f.entry('flavor', `s${i}`)?.state, 'in-sync');
    await f.stop();
  });

  it('in a cluster of 100 sites, a site sends at most one sync command per 2 s (the cluster-wide bound), in one of 2 sites one per second', async () => {
    const spacing = async (extraSites: number): Promise<number[]> => {
      const f = new Fixture();
      for (let from = 0; from < extraSites; from += 40) {
        const ops = Array.from({ length: Math.min(40, extraSites - from) }, (_, i) => ({ op: 'put' as const, kind: 'site' as const, id: `extra-${from + i}`, spec: siteSpec(`extra-${from + i}`, 10 + from + i) }));
        f.write(...ops);
      }
      await f.start(6_000);
      const before = f.commands.length;
      for (let i = 0; i < 20; i++) {
        f.write(putOp('flavor', `s${i}`, flavorSpec({ name: `m1.s${i}` })));
        await f.advance(500);
      }
      await f.advance(6_000);
      const sent = f.commands.slice(before);
      for (let i = 0; i < 20; i++) assert.equal(f.entry('flavor', `s${i}`)?.state, 'in-sync', `s${i}`);
      await f.stop();
      return sent.slice(1).map((c, i) => c.at - sent[i]!.at);
    };
    const large = await spacing(98);
    assert.equal(CLUSTER_SYNC_COMMANDS_PER_SECOND, 50);
    assert.ok(large.length >= 3 && large.every((gap) => gap >= 2_000), `100 sites: gaps ${large.join(', ')} ms`);
    const small = await spacing(0);
    assert.ok(small.every((gap) => gap >= 1_000) && small.some((gap) => gap < 2_000), `2 sites: gaps ${small.join(', ')} ms`);
    assert.ok(small.length > large.length, `2 sites sent ${small.length + 1} commands, 100 sites ${large.length + 1}`);
  });

  it('keeps reports while the log refuses them and delivers them once it accepts again', async () => {
    let down = true;
    const f = new Fixture({ sinkDown: () => down });
    f.write(putOp('flavor', 'f1', flavorSpec()));
    await f.start(5_000);
    assert.ok(await f.cloud.getFlavor('f1'));
    assert.equal(f.entry('flavor', 'f1'), undefined);
    assert.ok(f.logs.some((l) => l.level === 'warn' && /not delivered/.test(l.msg)));
    down = false;
    await f.advance(30_000);
    assert.equal(f.entry('flavor', 'f1')?.state, 'in-sync');
    await f.stop();
  });

  it('does nothing while its site is not in the catalog, then converges once it is', async () => {
    const f = new Fixture({ registerSites: false });
    await f.cloud.createFlavor({ id: 'leftover', name: 'm1.left', vcpus: 1, ram: 128, disk: 0, ephemeral: 0, swap: 0, rxtxFactor: 1, isPublic: true, extraSpecs: {} });
    f.write(putOp('flavor', 'f1', flavorSpec()));
    await f.start(5_000);
    assert.ok(await f.cloud.getFlavor('leftover'), 'an empty desired state deletes nothing before the site is known');
    assert.equal(await f.cloud.getFlavor('f1'), undefined);
    assert.equal(f.reconciler.status().lastPass?.skipped, 'site-not-in-catalog');
    f.registerSites();
    await f.advance(3_000);
    assert.ok(await f.cloud.getFlavor('f1'));
    assert.equal(await f.cloud.getFlavor('leftover'), undefined, 'now known: the extra managed flavor goes');
    await f.stop();
  });

  it('does nothing while the catalog is not current (a replica catching up)', async () => {
    let ready = false;
    const f = new Fixture({ catalogReady: () => ready });
    await f.cloud.createFlavor({ id: 'keep', name: 'm1.keep', vcpus: 1, ram: 128, disk: 0, ephemeral: 0, swap: 0, rxtxFactor: 1, isPublic: true, extraSpecs: {} });
    await f.start(5_000);
    assert.ok(await f.cloud.getFlavor('keep'));
    assert.equal(f.counted.calls.length, 0, 'not even a listing');
    assert.equal(f.reconciler.status().lastPass?.skipped, 'catalog-not-current');
    ready = true;
    await f.advance(2_000);
    assert.equal(await f.cloud.getFlavor('keep'), undefined);
    await f.stop();
  });

  it('bounds the cloud operations in flight', async () => {
    const f = new Fixture({ faults: { latencyMs: 100 }, reconciler: { maxConcurrentOperations: 4 } });
    let inFlight = 0;
    let peak = 0;
    const create = f.cloud.createFlavor.bind(f.cloud);
    f.cloud.createFlavor = async (spec) => {
      inFlight++;
      peak = Math.max(peak, inFlight);
      try {
        return await create(spec);
      } finally {
        inFlight--;
      }
    };
    f.write(...Array.from({ length: 12 }, (_, i) => putOp('flavor', `f${i}`, flavorSpec({ name: `m1.n${i}` }))));
    await f.start(20_000);
    assert.equal(f.cloud.model.listFlavors().length, 12);
    assert.equal(peak, 4);
    await f.stop();
  });

  it('stops: no cloud call and no report after stop()', async () => {
    const f = new Fixture();
    await f.start();
    await f.stop();
    const calls = f.counted.calls.length;
    f.write(putOp('flavor', 'f1', flavorSpec()));
    await f.advance(5 * 60_000);
    assert.equal(f.counted.calls.length, calls);
    assert.equal(await f.cloud.getFlavor('f1'), undefined);
    assert.equal(f.reconciler.status().running, false);
  });

  it('refuses bad options with a message naming the option', () => {
    assert.throws(() => new Fixture({ reconciler: { maxConcurrentOperations: 0 } }), /maxConcurrentOperations must be a positive integer/);
    assert.throws(() => new Fixture({ reconciler: { auditIntervalMs: -1 } }), /auditIntervalMs must be a positive number/);
    assert.throws(() => new Fixture({ reconciler: { reports: { intervalMs: 1000, maxReportsPerCommand: 5000, maxRetryDelayMs: 1, gatherMs: 0, digestIntervalMs: 0 } } }), /maxReportsPerCommand must be 1\.\.1000/);
  });

  it('site name in every report is this site', async () => {
    const f = new Fixture();
    f.write(putOp('flavor', 'f1', flavorSpec()));
    await f.start();
    assert.ok(f.commands.length > 0);
    assert.ok(f.commands.every((c) => c.reports.every((r) => r.site === SITE)));
    await f.stop();
  });
});

describe('reconciler: stopping mid-pass', () => {
  it('stop() during a pass lets the cloud call in flight finish and starts no other', async () => {
    const f = new Fixture({ faults: { latencyMs: 1_000 }, reconciler: { maxConcurrentOperations: 1 } });
    f.write(...Array.from({ length: 5 }, (_, i) => putOp('flavor', `f${i}`, flavorSpec({ name: `m1.n${i}` }))));
    f.reconciler.start();
    // The audit lists flavors (1 s) and images (1 s), then creates f0: stop during that create.
    await f.advance(2_500);
    const stopping = f.reconciler.stop();
    const callsAtStop = f.counted.calls.length;
    await f.advance(60_000);
    await stopping;
    assert.equal(f.counted.calls.length, callsAtStop, `no call after stop: ${f.counted.calls.slice(callsAtStop).join(',')}`);
    assert.ok(f.cloud.model.listFlavors().length <= 1, 'at most the create in flight completed');
  });
});

describe('reconciler: removing what never got in', () => {
  it('a quota for a project the cloud does not know: error while desired, and its removal completes (nothing was set there)', async () => {
    const f = new Fixture({ cloud: { model: new CloudModel({ requireKnownProjects: true }) } });
    f.write(putOp('quota', PROJECT, quotaSpec()));
    await f.start();
    assert.equal(f.entry('quota', PROJECT)?.state, 'error');
    f.write({ op: 'delete', kind: 'quota', id: PROJECT });
    await f.advance(2_000);
    assert.equal(f.entry('quota', PROJECT), undefined, 'entry cleared: the removal is done');
    assert.ok(!f.counted.calls.includes('deleteQuota'), 'no reset attempted on a project the cloud refuses');
    await f.stop();
  });
});
