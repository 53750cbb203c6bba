// End to end on virtual time: three real replica runtimes with the real catalog, three MemoryClouds
// and three reconcilers whose sync reports travel through the log. A flavor written on one site
// appears in all three clouds, and every site's sync matrix shows it in sync everywhere.
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { seededRandom } from '../../consensus/prng.js';
import { Catalog, deleteOp, patchOp, putOp, type WriteOp } from '../../agent/catalog/index.js';
import { toSyncStatusView } from '../../agent/daemon/sync-view.js';
import { Reconciler, reconcilerClientId, replicaReportSink } from '../../agent/reconciler/index.js';
import { CatalogWriter } from '../../agent/write/catalog-writer.js';
import { MemoryCloud } from '../../drivers/index.js';
import { siteSpec } from '../catalog/helpers.js';
import { TestCluster } from '../replica/harness.js';
import { flavorSpec } from './fixture.js';

const SITES = ['s1', 's2', 's3'];
const EPOCH = 1_700_000_000_000;

class ReconciledCluster {
  readonly c = new TestCluster<Catalog>({ voters: SITES, makeStateMachine: () => new Catalog(), seed: 5 });
  readonly clouds = new Map<string, MemoryCloud>();
  readonly reconcilers = new Map<string, Reconciler>();
  private seq = 0;

  async start(): Promise<void> {
    await this.c.start();
    await this.c.waitForLeader();
    await this.write('s1', SITES.map((name, i) => putOp('site', name, siteSpec(name, i + 1))));
    for (const [i, name] of SITES.entries()) {
      const site = this.c.site(name);
      const cloud = new MemoryCloud({ clock: this.c.clock, random: seededRandom(100 + i) });
      const reconciler = new Reconciler({
        site: name,
        driver: cloud,
        catalog: site.sm,
        clock: this.c.clock,
        random: seededRandom(200 + i),
        catalogReady: () => {
          const status = site.replica.status();
          return status.leader !== '' && site.replica.appliedIndex >= status.commit;
        },
        report: replicaReportSink({ site: name, replica: site.replica, catalog: site.sm, epochMs: () => EPOCH + this.c.clock.now() }),
      });
      this.clouds.set(name, cloud);
      this.reconcilers.set(name, reconciler);
      reconciler.start();
    }
  }

  async write(site: string, ops: WriteOp[]): Promise<number[]> {
    const writer = new CatalogWriter(this.c.site(site).replica, this.c.site(site).sm, () => EPOCH + this.c.clock.now());
    const outcome = await this.c.run(writer.write(ops, { clientId: 'operator', seq: ++this.seq }));
    assert.equal(outcome.status, 'committed', JSON.stringify(outcome));
    return outcome.status === 'committed' ? outcome.revisions.map((r) => r.revision) : [];
  }

  /** Advances virtual time, telling every reconciler about applied entries as the daemon's hook does. */
  async runUntil(done: () => boolean | Promise<boolean>, limitMs: number): Promise<number> {
    const started = this.c.clock.now();
    while (!(await done())) {
      if (this.c.clock.now() - started > limitMs) throw new Error(`not done within ${limitMs} virtual ms`);
      await this.c.clock.advance(100);
      for (const r of this.reconcilers.values()) r.notifyCatalogChanged();
    }
    return this.c.clock.now() - started;
  }

  async stop(): Promise<void> {
    for (const r of this.reconcilers.values()) await r.stop();
    await this.c.stopAll();
  }
}

function inSyncEverywhere(catalog: Catalog, id: string, revision: number): boolean {
  const view = toSyncStatusView(catalog);
  return SITES.every((site) => {
    const cell = view.sites.find((s) => s.site === site)?.resources.find((r) => r.kind === 'flavor' && r.id === id);
    return cell?.state === 'in-sync' && cell.syncedRevision === revision;
  });
}

describe('reconciler: three sites through the log', () => {
  it('a flavor written on one site appears in all three clouds and is in sync everywhere on every site\'s matrix; a delete clears it', async (t) => {
    const rc = new ReconciledCluster();
    await rc.start();
    const follower = SITES.find((s) => s !== rc.c.leader()!.name)!;
    const [revision] = await rc.write(follower, [putOp('flavor', 'm1.shared', flavorSpec({ name: 'm1.shared', vcpus: 2 }))]);

    const convergedMs = await rc.runUntil(async () => {
      for (const cloud of rc.clouds.values()) if ((await cloud.getFlavor('m1.shared')) === undefined) return false;
      return true;
    }, 10_000);
    const reportedMs = await rc.runUntil(() => SITES.every((s) => inSyncEverywhere(rc.c.site(s).sm, 'm1.shared', revision!)), 10_000);
    for (const cloud of rc.clouds.values()) {
      const flavor = await cloud.getFlavor('m1.shared');
      assert.equal(flavor?.vcpus, 2);
      assert.equal(flavor?.managed, true);
    }
    // Each site wrote as its own client, through the leader, exactly once per change.
    for (const site of SITES) assert.ok(rc.c.site(site).sm.session(reconcilerClientId(site)), `${site} reported through the log`);
    t.diagnostic(`virtual time: all three clouds converged ${convergedMs} ms after the commit; every matrix in sync ${reportedMs} ms later`);
    assert.ok(convergedMs + reportedMs < 5_000, `converged in ${convergedMs} ms, reported ${reportedMs} ms later (virtual)`);

    await rc.write(SITES[0]!, [deleteOp('flavor', 'm1.shared')]);
    await rc.runUntil(async () => {
      for (const cloud of rc.clouds.values()) if ((await cloud.getFlavor('m1.shared')) !== undefined) return false;
      return SITES.every((s) => rc.c.site(s).sm.syncStatus({ kind: 'flavor', id: 'm1.shared' }).length === 0);
    }, 10_000);
    await rc.stop();
  });

  it('a private flavor\'s project access is replicated and reconciled on every site, and changed in place', async () => {
    const rc = new ReconciledCluster();
    await rc.start();
    const spec = flavorSpec({ name: 'm1.private', isPublic: false, accessProjects: ['project-b', 'project-a'] });
    const [created] = await rc.write(SITES[1]!, [putOp('flavor', 'm1.private', spec)]);
    await rc.runUntil(() => SITES.every((s) => inSyncEverywhere(rc.c.site(s).sm, 'm1.private', created!)), 10_000);
    for (const cloud of rc.clouds.values()) assert.deepEqual((await cloud.getFlavor('m1.private'))?.accessProjects, ['project-a', 'project-b']);

    const [changed] = await rc.write(SITES[2]!, [patchOp('flavor', 'm1.private', { accessProjects: ['project-c', 'project-b'] })]);
    await rc.runUntil(() => SITES.every((s) => inSyncEverywhere(rc.c.site(s).sm, 'm1.private', changed!)), 10_000);
    for (const [name, cloud] of rc.clouds) {
      assert.deepEqual((await cloud.getFlavor('m1.private'))?.accessProjects, ['project-b', 'project-c'], name);
      const entry = rc.c.site(name).sm.syncStatus({ site: name, kind: 'flavor', id: 'm1.private' })[0];
      assert.equal(entry?.message, '', `${name}: changed in place, not replaced`);
    }
    await rc.stop();
  });
});
