// Compact sync state: one digest per site ("everything placed here up to revision N is in sync")
// plus exceptions, from which the per-site, per-resource view is computed.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Catalog } from '../../agent/catalog/catalog.js';
import { DELETION_PENDING_MESSAGE, UNPLACED_PENDING_MESSAGE } from '../../agent/catalog/sync-status.js';
import { Harness, expectOk, flavorSpec, siteSpec } from './helpers.js';

function syncKeys(harness: Harness): string[] {
  return [...harness.store.keys()].filter((k) => k.startsWith('y/') || k.startsWith('d/')).sort();
}

function states(harness: Harness, site: string): Array<[string, string, number, string]> {
  return harness.catalog.syncStatus({ site }).map((e) => [e.id, e.state, e.revision, e.message]);
}

describe('sync digests', () => {
  it('a digest covers every placed resource up to its revision: one record per site, none per resource', () => {
    const harness = new Harness(undefined, 'reconciler/paris');
    harness.addTwoSites();
    const [a, b] = expectOk(harness.write({ op: 'put', kind: 'flavor', id: 'a', spec: flavorSpec() }, { op: 'put', kind: 'flavor', id: 'b', spec: flavorSpec({ name: 'b' }), placement: ['montreal'] }).result);
    const { ops } = harness.reportWithDigest({ site: 'paris', through: a });
    assert.deepEqual(ops.filter((op) => op.key.startsWith('d/') || op.key.startsWith('y/')).map((op) => op.key), ['d/paris']);
    assert.deepEqual(states(harness, 'paris'), [['a', 'in-sync', a, '']], 'b is not placed on paris');
    assert.deepEqual(states(harness, 'montreal'), [], 'montreal has not reported');
    harness.reportWithDigest({ site: 'montreal', through: b });
    assert.deepEqual(syncKeys(harness), ['d/montreal', 'd/paris']);
    assert.equal(harness.catalog.stats().syncEntries, 0);
    assert.equal(harness.catalog.stats().syncDigests, 2);
    const matrix = harness.catalog.syncMatrix();
    assert.deepEqual(matrix.rows.map((r) => [r.id, Object.keys(r.cells).sort()]), [['a', ['montreal', 'paris']], ['b', ['montreal']]]);
  });

  it('a newer revision is not covered until the digest moves; a digest never goes back; a repeat writes nothing', () => {
    const harness = new Harness(undefined, 'reconciler/paris');
    harness.addTwoSites();
    const [a] = expectOk(harness.write({ op: 'put', kind: 'flavor', id: 'a', spec: flavorSpec() }).result);
    harness.reportWithDigest({ site: 'paris', through: a });
    const [a2] = expectOk(harness.write({ op: 'patch', kind: 'flavor', id: 'a', spec: { description: 'new' } }).result);
    assert.deepEqual(states(harness, 'paris'), [], 'revision a2 not reported yet');
    assert.equal(harness.reportWithDigest({ site: 'paris', through: a }).ops.filter((op) => op.key.startsWith('d/')).length, 0, 'the same digest again writes nothing');
    harness.reportWithDigest({ site: 'paris', through: a2 });
    assert.deepEqual(states(harness, 'paris'), [['a', 'in-sync', a2, '']]);
    assert.equal(harness.reportWithDigest({ site: 'paris', through: a }).ops.filter((op) => op.key.startsWith('d/')).length, 0, 'an older digest writes nothing');
    assert.deepEqual(states(harness, 'paris'), [['a', 'in-sync', a2, '']]);
    assert.equal(harness.catalog.syncDigest('paris')?.through, a2);
  });

  it('the site record moving (new labels) needs a newer digest, and what it no longer selects becomes a pending removal', () => {
    const harness = new Harness(undefined, 'reconciler/paris');
    harness.addTwoSites();
    const [fr] = expectOk(harness.write({ op: 'put', kind: 'flavor', id: 'fr', spec: flavorSpec(), placement: 'country in (FR)' }).result);
    const [all] = expectOk(harness.write({ op: 'put', kind: 'flavor', id: 'all', spec: flavorSpec({ name: 'all' }) }).result);
    harness.reportWithDigest({ site: 'paris', through: all });
    assert.deepEqual(states(harness, 'paris').map((s) => s[0]), ['all', 'fr']);
    const [moved] = expectOk(harness.write({ op: 'put', kind: 'site', id: 'paris', spec: siteSpec('paris', 1, { region: 'eu-west', country: 'DE' }) }).result);
    assert.deepEqual(states(harness, 'paris'), [['fr', 'pending', moved, UNPLACED_PENDING_MESSAGE]], 'the site record moved: nothing covered; fr is to be removed');
    harness.reportWithDigest({ site: 'paris', through: moved }, { site: 'paris', kind: 'flavor', id: 'fr', state: 'in-sync', revision: fr });
    assert.deepEqual(states(harness, 'paris'), [['all', 'in-sync', all, '']], 'removal done, the rest covered again');
    assert.deepEqual(syncKeys(harness), ['d/paris']);
  });

  it('exceptions override the digest; an in-sync report the digest covers removes the exception', () => {
    const harness = new Harness(undefined, 'reconciler/paris');
    harness.addTwoSites();
    const [a] = expectOk(harness.write({ op: 'put', kind: 'flavor', id: 'a', spec: flavorSpec() }).result);
    harness.reportWithDigest({ site: 'paris', through: a }, { site: 'paris', kind: 'flavor', id: 'a', state: 'error', message: 'HTTP 403', revision: a });
    assert.deepEqual(states(harness, 'paris'), [['a', 'error', a, 'HTTP 403']]);
    assert.deepEqual(syncKeys(harness), ['d/paris', 'y/flavor/a/paris']);
    const { ops } = harness.reportWithDigest(undefined, { site: 'paris', kind: 'flavor', id: 'a', state: 'in-sync', revision: a });
    assert.deepEqual(ops.filter((op) => op.key.startsWith('y/')).map((op) => [op.type, op.key]), [['del', 'y/flavor/a/paris']]);
    assert.deepEqual(states(harness, 'paris'), [['a', 'in-sync', a, '']]);
    // An in-sync report the digest does not cover stays an entry of its own (as from an older agent).
    const [a2] = expectOk(harness.write({ op: 'patch', kind: 'flavor', id: 'a', spec: { description: 'x' } }).result);
    harness.report({ site: 'paris', kind: 'flavor', id: 'a', state: 'in-sync', revision: a2 });
    assert.deepEqual(syncKeys(harness), ['d/paris', 'y/flavor/a/paris']);
    assert.deepEqual(states(harness, 'paris'), [['a', 'in-sync', a2, '']]);
  });

  it('a deleted resource becomes a pending removal on every site that had it; a deleted site takes its digest along', () => {
    const harness = new Harness(undefined, 'reconciler/paris');
    harness.addTwoSites();
    const [a] = expectOk(harness.write({ op: 'put', kind: 'flavor', id: 'a', spec: flavorSpec() }).result);
    harness.reportWithDigest({ site: 'paris', through: a });
    harness.reportWithDigest({ site: 'montreal', through: a });
    const { index } = harness.write({ op: 'delete', kind: 'flavor', id: 'a' });
    assert.deepEqual(harness.catalog.syncStatus({ id: 'a' }).map((e) => [e.site, e.state, e.message, e.revision]), [
      ['montreal', 'pending', DELETION_PENDING_MESSAGE, index],
      ['paris', 'pending', DELETION_PENDING_MESSAGE, index],
    ]);
    harness.report({ site: 'paris', kind: 'flavor', id: 'a', state: 'in-sync', revision: a });
    assert.deepEqual(harness.catalog.syncStatus({ id: 'a' }).map((e) => e.site), ['montreal']);
    expectOk(harness.write({ op: 'delete', kind: 'site', id: 'montreal' }).result);
    assert.deepEqual(syncKeys(harness), ['d/paris']);
  });

  it('digests and exceptions survive a snapshot and a reload byte for byte', () => {
    const harness = new Harness(undefined, 'reconciler/paris');
    harness.addTwoSites();
    const [a] = expectOk(harness.write({ op: 'put', kind: 'flavor', id: 'a', spec: flavorSpec() }, { op: 'put', kind: 'flavor', id: 'b', spec: flavorSpec({ name: 'b' }) }).result);
    harness.reportWithDigest({ site: 'paris', through: a + 0 }, { site: 'paris', kind: 'flavor', id: 'b', state: 'unreachable', message: 'down', revision: a });
    const restored = new Catalog();
    restored.restore(harness.catalog.snapshot());
    assert.deepEqual(restored.syncStatus(), harness.catalog.syncStatus());
    assert.deepEqual(restored.syncDigest('paris'), harness.catalog.syncDigest('paris'));
    assert.deepEqual(restored.snapshot(), harness.catalog.snapshot());
    const loaded = new Catalog();
    loaded.load([...harness.store.entries()]);
    assert.deepEqual(loaded.syncStatus(), harness.catalog.syncStatus());
  });

  it('refuses a bad digest by field, and reports without one must not be empty', () => {
    const harness = new Harness(undefined, 'reconciler/paris');
    harness.addTwoSites();
    const field = (r: ReturnType<Harness['report']>): string | undefined => (!r.result.ok && r.result.code === 'VALIDATION' ? r.result.field : undefined);
    assert.equal(field(harness.reportWithDigest({ site: 'paris', through: -1 })), 'digest.through');
    assert.equal(field(harness.reportWithDigest({ site: 'no such/site', through: 1 })), 'digest.site');
    assert.equal(field(harness.reportWithDigest({ site: 'paris', through: 1, extra: 1 } as never)), 'digest.extra');
    assert.equal(field(harness.report()), 'reports');
    expectOk(harness.reportWithDigest({ site: 'paris', through: 1 }).result);
  });

  it('100 sites x 50 flavors in sync: 100 digests stored, no per-resource record, and each report is one small command', () => {
    const harness = new Harness(undefined, 'reconciler/x');
    const sites = Array.from({ length: 100 }, (_, i) => `s${i}`);
    expectOk(harness.write(...sites.map((s, i) => ({ op: 'put' as const, kind: 'site' as const, id: s, spec: siteSpec(s, i + 1) }))).result);
    const revisions = expectOk(harness.write(...Array.from({ length: 50 }, (_, i) => ({ op: 'put' as const, kind: 'flavor' as const, id: `f${i}`, spec: flavorSpec({ name: `f${i}` }) }))).result);
    const through = Math.max(...revisions);
    for (const site of sites) {
      const { ops } = harness.reportWithDigest({ site, through });
      assert.deepEqual(ops.filter((op) => op.key.startsWith('d/') || op.key.startsWith('y/')).length, 1);
    }
    assert.equal(syncKeys(harness).length, 100);
    assert.equal(harness.catalog.syncStatus().length, 100 * 50, 'the view is still per site and resource');
    assert.ok(harness.catalog.syncStatus().every((e) => e.state === 'in-sync'));
  });
});
