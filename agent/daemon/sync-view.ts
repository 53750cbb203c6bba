// The site × resource sync matrix as the admin API shows it: for every site, every resource it
// should have, with what its reconciler last reported (pending when it has not reported on the
// current revision yet).
import type { ResourceSyncView, SiteSyncView, SyncStatusView } from '../admin/service.js';
import type { Catalog } from '../catalog/index.js';

export function toSyncStatusView(catalog: Catalog): SyncStatusView {
  const matrix = catalog.syncMatrix();
  const cells = new Map(matrix.rows.map((row) => [`${row.kind}/${row.id}`, row.cells]));
  const sites: SiteSyncView[] = matrix.sites.map((site) => {
    let lastReport = 0;
    const resources: ResourceSyncView[] = catalog
      .desiredResourcesFor(site)
      .filter((r) => r.kind !== 'protection-group')
      .map((r) => {
        const cell = cells.get(`${r.kind}/${r.id}`)?.[site];
        if (cell) lastReport = Math.max(lastReport, cell.updatedAt);
        const current = cell !== undefined && cell.revision >= r.revision;
        const view: ResourceSyncView = {
          kind: r.kind,
          id: r.id,
          desiredRevision: r.revision,
          syncedRevision: cell && cell.state === 'in-sync' ? cell.revision : null,
          state: !cell ? 'pending' : cell.state === 'in-sync' && !current ? 'pending' : cell.state,
        };
        if (cell?.message) view.message = cell.message;
        return view;
      });
    return { site, reportedAt: lastReport > 0 ? new Date(lastReport).toISOString() : null, resources };
  });
  return { sites };
}
