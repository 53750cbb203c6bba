import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DELETION_PENDING_MESSAGE } from '../../agent/catalog/sync-status.js';
import { Harness, expectOk, flavorSpec, siteSpec } from './helpers.js';

function withFlavor(): Harness {
  const harness = new Harness(undefined, 'reconciler/paris');
  harness.addTwoSites();
  expectOk(harness.write({ op: 'put', kind: 'flavor', id: 'f', spec: flavorSpec() }).result);
  return harness;
}

describe('sync status', () => {
  it('stores reports and shows the site x resource matrix', () => {
    const harness = withFlavor();
    const { time } = harness;
    expectOk(
      harness.report(
        { site: 'paris', kind: 'flavor', id: 'f', state: 'in-sync', revision: 2 },
        { site: 'montreal', kind: 'flavor', id: 'f', state: 'error', message: 'HTTP 503 from nova' },
      ).result,
    );
    const entries = harness.catalog.syncStatus({ kind: 'flavor', id: 'f' });
    assert.deepEqual(entries.map((e) => [e.site, e.state, e.message, e.revision]), [
      ['montreal', 'error', 'HTTP 503 from nova', 0],
      ['paris', 'in-sync', '', 2],
    ]);
    assert.equal(entries[0].since, time + 1000);
    const matrix = harness.catalog.syncMatrix();
    assert.deepEqual(matrix.sites, ['montreal', 'paris']);
    assert.equal(matrix.rows.length, 1);
    assert.equal(matrix.rows[0].cells.paris.state, 'in-sync');
  });

  it('coalesces: a repeated report writes nothing, a new state moves `since`', () => {
    const harness = withFlavor();
    harness.report({ site: 'paris', kind: 'flavor', id: 'f', state: 'pending' });
    const firstSince = harness.catalog.syncStatus({ site: 'paris' })[0].since;
    const repeat = harness.report({ site: 'paris', kind: 'flavor', id: 'f', state: 'pending' });
    assert.ok(!repeat.ops.some((op) => op.key.startsWith('y/')));
    harness.report({ site: 'paris', kind: 'flavor', id: 'f', state: 'pending', message: 'retrying' });
    assert.equal(harness.catalog.syncStatus({ site: 'paris' })[0].since, firstSince, 'same state keeps since');
    harness.report({ site: 'paris', kind: 'flavor', id: 'f', state: 'in-sync' });
    assert.equal(harness.catalog.syncStatus({ site: 'paris' })[0].since, harness.time);
  });

  it('a deleted resource turns pending everywhere; in-sync after removal drops the entry', () => {
    const harness = withFlavor();
    harness.report({ site: 'paris', kind: 'flavor', id: 'f', state: 'in-sync' }, { site: 'montreal', kind: 'flavor', id: 'f', state: 'in-sync' });
    expectOk(harness.write({ op: 'delete', kind: 'flavor', id: 'f' }).result);
    const pending = harness.catalog.syncStatus({ id: 'f' });
    assert.deepEqual(pending.map((e) => [e.site, e.state, e.message]), [
      ['montreal', 'pending', DELETION_PENDING_MESSAGE],
      ['paris', 'pending', DELETION_PENDING_MESSAGE],
    ]);
    harness.report({ site: 'paris', kind: 'flavor', id: 'f', state: 'in-sync' });
    assert.deepEqual(harness.catalog.syncStatus({ id: 'f' }).map((e) => e.site), ['montreal']);
    assert.ok(!harness.store.has('y/flavor/f/paris'));
  });

  it('deleting a site drops its entries', () => {
    const harness = withFlavor();
    expectOk(harness.write({ op: 'put', kind: 'site', id: 'lyon', spec: siteSpec('lyon', 9, { country: 'FR' }) }).result);
    harness.report({ site: 'lyon', kind: 'flavor', id: 'f', state: 'unreachable' });
    assert.equal(harness.catalog.syncStatus({ site: 'lyon' }).length, 1);
    expectOk(harness.write({ op: 'delete', kind: 'site', id: 'lyon' }).result);
    assert.equal(harness.catalog.syncStatus({ site: 'lyon' }).length, 0);
    assert.ok(![...harness.store.keys()].some((key) => key.endsWith('/lyon') && key.startsWith('y/')));
  });

  it('refuses a bad report as a whole, naming it', () => {
    const harness = withFlavor();
    const { result } = harness.report(
      { site: 'paris', kind: 'flavor', id: 'f', state: 'in-sync' },
      { site: 'paris', kind: 'flavor', id: 'f', state: 'done' as never },
    );
    assert.equal(!result.ok && result.code === 'VALIDATION' && result.field, 'reports[1].state');
    assert.equal(harness.catalog.syncStatus().length, 0);
  });

  it("refuses a report about a flavor id that is not a path segment ('..')", () => {
    const harness = withFlavor();
    const { result } = harness.report({ site: 'paris', kind: 'flavor', id: '..', state: 'error' });
    assert.equal(!result.ok && result.code === 'VALIDATION' && result.field, 'reports[0].id');
    assert.equal(harness.catalog.syncStatus().length, 0);
  });

  it('cleans control characters and caps long messages', () => {
    const harness = withFlavor();
    harness.report({ site: 'paris', kind: 'flavor', id: 'f', state: 'error', message: 'bad\u0000thing\n' + 'x'.repeat(5000) });
    const { message } = harness.catalog.syncStatus({ site: 'paris' })[0];
    assert.equal(message.length, 1024);
    assert.ok(message.startsWith('bad thing\n'));
  });
});
