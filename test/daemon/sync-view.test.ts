// The sync matrix the admin API serves (and `stackraft sync status` prints): resources each site
// should hold, and the removals it has not finished, failing ones included.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DELETION_PENDING_MESSAGE, UNPLACED_PENDING_MESSAGE } from '../../agent/catalog/index.js';
import { toSyncStatusView } from '../../agent/daemon/sync-view.js';
import { NOT_PLACED_MESSAGE } from '../../agent/reconciler/index.js';
import { Harness, expectOk, flavorSpec } from '../catalog/helpers.js';

function rowsOf(harness: Harness, site: string): Array<[string, string, number | null, string, string | undefined]> {
  const view = toSyncStatusView(harness.catalog).sites.find((s) => s.site === site);
  return (view?.resources ?? []).map((r) => [r.id, r.wanted, r.desiredRevision, r.state, r.message]);
}

describe('sync status view', () => {
  it('shows a removal that fails, for a deleted resource and for one no longer placed on the site', () => {
    const harness = new Harness(undefined, 'reconciler/paris');
    harness.addTwoSites();
    const [gone] = expectOk(harness.write({ op: 'put', kind: 'flavor', id: 'gone', spec: flavorSpec() }).result);
    const [moved] = expectOk(harness.write({ op: 'put', kind: 'flavor', id: 'moved', spec: flavorSpec({ name: 'm2' }) }).result);
    harness.report(
      { site: 'paris', kind: 'flavor', id: 'gone', state: 'in-sync', revision: gone },
      { site: 'paris', kind: 'flavor', id: 'moved', state: 'in-sync', revision: moved },
    );
    assert.deepEqual(rowsOf(harness, 'paris'), [
      ['gone', 'present', gone, 'in-sync', undefined],
      ['moved', 'present', moved, 'in-sync', undefined],
    ]);

    expectOk(harness.write({ op: 'delete', kind: 'flavor', id: 'gone' }).result);
    const [narrowed] = expectOk(harness.write({ op: 'patch', kind: 'flavor', id: 'moved', spec: {}, placement: ['montreal'] }).result);
    assert.deepEqual(
      rowsOf(harness, 'paris'),
      [
        ['gone', 'absent', null, 'pending', DELETION_PENDING_MESSAGE],
        ['moved', 'absent', null, 'pending', UNPLACED_PENDING_MESSAGE],
      ],
      'a pending deletion and a pending removal (placement narrowed) show',
    );

    harness.report(
      { site: 'paris', kind: 'flavor', id: 'gone', state: 'error', message: 'removal from this site failed: Nova said 403', revision: gone },
      { site: 'paris', kind: 'flavor', id: 'moved', state: 'unreachable', message: 'cloud API unreachable: connection refused', revision: narrowed },
    );
    assert.deepEqual(rowsOf(harness, 'paris'), [
      ['gone', 'absent', null, 'error', 'removal from this site failed: Nova said 403'],
      ['moved', 'absent', null, 'unreachable', 'cloud API unreachable: connection refused'],
    ]);
    assert.deepEqual(rowsOf(harness, 'montreal').map((r) => [r[0], r[1], r[3]]), [['moved', 'present', 'pending']]);

    // Finished removals leave the view, and their entries the catalog.
    harness.report(
      { site: 'paris', kind: 'flavor', id: 'gone', state: 'in-sync', revision: gone },
      { site: 'paris', kind: 'flavor', id: 'moved', state: 'in-sync', message: NOT_PLACED_MESSAGE, revision: narrowed },
    );
    assert.deepEqual(rowsOf(harness, 'paris'), []);
  });
});
