// The site × resource sync matrix as the admin API shows it: for every site, every resource it
// should have, with what its reconciler last reported (pending when it has not reported on the
// current revision yet), and every removal it has not finished (a deleted resource, or one no
// longer placed there), so a removal that keeps failing is as visible as a failing create.
import type { ResourceSyncView, SiteSyncView, SyncStatusView } from '../admin/service.js';
import type { Catalog, SyncStatusEntry } from '../catalog/index.js';

export function toSyncStatusView(catalog: Catalog): SyncStatusView {
  const matrix = catalog.syncMatrix();
  const cells = new Map(matrix.rows.map((row) => [`${row.kind}/${row.id}`, row.cells]));
  const sites: SiteSyncView[] = matrix.sites.map((site) => {
    let lastReport = 0;
    const desired = catalog.desiredResourcesFor(site).filter((r) => r.kind !== 'protection-group');
    const present: ResourceSyncView[] = desired.map((r) => {
      const cell = cells.get(`${r.kind}/${r.id}`)?.[site];
      if (cell) lastReport = Math.max(lastReport, cell.updatedAt);
      const current = cell !== undefined && cell.revision >= r.revision;
      const view: ResourceSyncView = {
        kind: r.kind,
        id: r.id,
        wanted: 'present',
        desiredRevision: r.revision,
        syncedRevision: cell && cell.state === 'in-sync' ? cell.revision : null,
        state: !cell ? 'pending' : cell.state === 'in-sync' && !current ? 'pending' : cell.state,
      };
      if (cell?.message) view.message = cell.message;
      return view;
    });
    const desiredKeys = new Set(desired.map((r) => `${r.kind}/${r.id}`));
    const absent = catalog
      .syncStatus({ site })
      .filter((entry) => !desiredKeys.has(`${entry.kind}/${entry.id}`) && entry.state !== 'in-sync')
      .map((entry) => {
        lastReport = Math.max(lastReport, entry.updatedAt);
        return removalView(entry);
      });
    return { site, reportedAt: lastReport > 0 ? new Date(lastReport).toISOString() : null, resources: [...present, ...absent] };
  });
  return { sites };
}

/**
 * An entry of a site for a resource it should not hold: the removal is pending or failing. (A
 * finished removal's in-sync report drops the entry; one an older agent left in sync is skipped.)
 */
function removalView(entry: SyncStatusEntry): ResourceSyncView {
  const view: ResourceSyncView = { kind: entry.kind, id: entry.id, wanted: 'absent', desiredRevision: null, syncedRevision: null, state: entry.state };
  if (entry.message) view.message = entry.message;
  return view;
}
