// The audit ring as the admin API shows it (agent/admin/service.ts AuditView).
import type { AuditEntryView, AuditQuery, AuditView } from '../admin/service.js';
import type { AuditEntry, Catalog } from '../catalog/index.js';
import { writeIdOf } from '../catalog/write-id.js';

export function toAuditView(catalog: Catalog, query: AuditQuery): AuditView {
  return { entries: catalog.auditEntries(query).map(toEntryView), ring: catalog.auditRange() };
}

function toEntryView(entry: AuditEntry): AuditEntryView {
  return {
    index: entry.index,
    time: new Date(entry.time).toISOString(),
    writeId: writeIdOf(entry.clientId, entry.seq),
    ...(entry.operator !== undefined ? { operator: entry.operator } : {}),
    ...(entry.host !== undefined ? { host: entry.host } : {}),
    ...(entry.site !== undefined ? { site: entry.site } : {}),
    ...(entry.reason !== undefined ? { reason: entry.reason } : {}),
    forced: entry.forced === true,
    outcome: entry.outcome,
    targets: entry.targets.map((t) => ({ ...t })),
  };
}
