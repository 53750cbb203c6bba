// Per-site, per-resource convergence state reported by the reconcilers, kept in the catalog so every
// site can show the whole site x resource matrix. One entry per (resource, site): a later report
// replaces the earlier one, and a report that changes nothing writes nothing.
import type { RecordOp } from '../../consensus/ports.js';
import { deepFreeze } from './codec.js';
import { MAX_SYNC_MESSAGE_CHARS, MAX_SYNC_REPORTS_PER_COMMAND } from './limits.js';
import { SITE_NAME, checkResourceId } from './names.js';
import { syncKey, syncPut } from './records.js';
import type { ResourceView } from './resource-store.js';
import {
  SpecError,
  checkEnum,
  checkInt,
  checkString,
  expectObject,
  rejectUnknownFields,
} from './spec-reader.js';
import {
  RESOURCE_KINDS,
  SYNC_STATES,
  type ResourceKind,
  type SyncMatrix,
  type SyncReport,
  type SyncStatusEntry,
} from './types.js';

const REPORT_FIELDS = ['site', 'kind', 'id', 'state', 'message', 'revision'] as const;

export const DELETION_PENDING_MESSAGE = 'deleted from the catalog; removal from this site pending';

export interface SyncStatusFilter {
  site?: string;
  kind?: ResourceKind;
  id?: string;
}

export class SyncStatusTable {
  /** `kind/id` -> site -> entry. */
  private readonly byResource = new Map<string, Map<string, SyncStatusEntry>>();

  get size(): number {
    let count = 0;
    for (const sites of this.byResource.values()) count += sites.size;
    return count;
  }

  get(kind: ResourceKind, id: string, site: string): SyncStatusEntry | undefined {
    return this.byResource.get(resourceRef(kind, id))?.get(site);
  }

  set(entry: SyncStatusEntry): void {
    const ref = resourceRef(entry.kind, entry.id);
    let sites = this.byResource.get(ref);
    if (sites === undefined) this.byResource.set(ref, (sites = new Map()));
    sites.set(entry.site, deepFreeze(entry));
  }

  clear(): void {
    this.byResource.clear();
  }

  /** Applies validated reports; `resources` tells whether the reported resource still exists. */
  applyReports(reports: SyncReport[], resources: ResourceView, time: number): RecordOp[] {
    const ops: RecordOp[] = [];
    for (const report of reports) {
      const current = this.get(report.kind, report.id, report.site);
      const exists = resources.get(report.kind, report.id) !== undefined;
      if (!exists && report.state === 'in-sync') {
        // The site has removed a deleted resource: nothing left to show.
        if (current !== undefined) ops.push(this.remove(report.kind, report.id, report.site));
        continue;
      }
      const message = report.message ?? '';
      const revision = report.revision ?? 0;
      if (current && current.state === report.state && current.message === message && current.revision === revision) continue;
      const entry: SyncStatusEntry = {
        site: report.site,
        kind: report.kind,
        id: report.id,
        state: report.state,
        message,
        revision,
        since: current && current.state === report.state ? current.since : time,
        updatedAt: time,
      };
      this.set(entry);
      ops.push(syncPut(entry));
    }
    return ops;
  }

  /** A resource left the catalog: every site that knew it now has a removal to do. */
  markDeleted(kind: ResourceKind, id: string, revision: number, time: number): RecordOp[] {
    const sites = this.byResource.get(resourceRef(kind, id));
    if (sites === undefined) return [];
    const ops: RecordOp[] = [];
    for (const site of [...sites.keys()].sort()) {
      const entry: SyncStatusEntry = { site, kind, id, state: 'pending', message: DELETION_PENDING_MESSAGE, revision, since: time, updatedAt: time };
      this.set(entry);
      ops.push(syncPut(entry));
    }
    return ops;
  }

  /** A site left the catalog: its entries go with it. */
  dropSite(site: string): RecordOp[] {
    const ops: RecordOp[] = [];
    for (const ref of [...this.byResource.keys()].sort()) {
      const entry = this.byResource.get(ref)?.get(site);
      if (entry !== undefined) ops.push(this.remove(entry.kind, entry.id, site));
    }
    return ops;
  }

  /** Sorted by kind, id, site. */
  entries(filter: SyncStatusFilter = {}): SyncStatusEntry[] {
    const result: SyncStatusEntry[] = [];
    for (const sites of this.byResource.values()) {
      for (const entry of sites.values()) {
        if (filter.site !== undefined && entry.site !== filter.site) continue;
        if (filter.kind !== undefined && entry.kind !== filter.kind) continue;
        if (filter.id !== undefined && entry.id !== filter.id) continue;
        result.push(entry);
      }
    }
    return result.sort(compareEntries);
  }

  matrix(catalogSites: string[]): SyncMatrix {
    const sites = new Set(catalogSites);
    const rows = new Map<string, SyncMatrix['rows'][number]>();
    for (const entry of this.entries()) {
      sites.add(entry.site);
      const ref = resourceRef(entry.kind, entry.id);
      let row = rows.get(ref);
      if (row === undefined) rows.set(ref, (row = { kind: entry.kind, id: entry.id, cells: {} }));
      Object.defineProperty(row.cells, entry.site, { value: entry, enumerable: true, writable: true, configurable: true });
    }
    return { sites: [...sites].sort(), rows: [...rows.values()] };
  }

  private remove(kind: ResourceKind, id: string, site: string): RecordOp {
    const ref = resourceRef(kind, id);
    const sites = this.byResource.get(ref);
    sites?.delete(site);
    if (sites?.size === 0) this.byResource.delete(ref);
    return { type: 'del', key: syncKey(kind, id, site) };
  }
}

function resourceRef(kind: ResourceKind, id: string): string {
  return `${kind}/${id}`;
}

function compareEntries(a: SyncStatusEntry, b: SyncStatusEntry): number {
  return compareText(a.kind, b.kind) || compareText(a.id, b.id) || compareText(a.site, b.site);
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Checks a syncStatus command's reports (all or none). Throws SpecError with the report index. */
export function parseSyncReports(raw: unknown): SyncReport[] {
  if (!Array.isArray(raw) || raw.length === 0 || raw.length > MAX_SYNC_REPORTS_PER_COMMAND) {
    throw new ReportError(-1, new SpecError('reports', `reports must list 1-${MAX_SYNC_REPORTS_PER_COMMAND} sync reports`));
  }
  return raw.map((item, index) => {
    try {
      return parseSyncReport(item);
    } catch (error) {
      if (error instanceof SpecError) throw new ReportError(index, error);
      throw error;
    }
  });
}

export class ReportError extends Error {
  constructor(
    readonly index: number,
    readonly specError: SpecError,
  ) {
    super(specError.message);
    this.name = 'ReportError';
  }
}

function parseSyncReport(item: unknown): SyncReport {
  const raw = expectObject(item, 'report');
  rejectUnknownFields(raw, REPORT_FIELDS, '');
  const kind = checkEnum(raw.kind, 'kind', RESOURCE_KINDS);
  const report: SyncReport = {
    site: checkString(raw.site, 'site', SITE_NAME),
    kind,
    id: checkResourceId(kind, raw.id),
    state: checkEnum(raw.state, 'state', SYNC_STATES),
  };
  if (raw.message !== undefined && raw.message !== null) {
    if (typeof raw.message !== 'string') throw new SpecError('message', 'message must be a string');
    report.message = cleanMessage(raw.message);
  }
  if (raw.revision !== undefined && raw.revision !== null) {
    report.revision = checkInt(raw.revision, 'revision', { min: 0, max: Number.MAX_SAFE_INTEGER });
  }
  return report;
}

/** Error texts from clouds are shown, not parsed: control characters become spaces, length is capped. */
function cleanMessage(message: string): string {
  const chars = [...message.replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/g, ' ')];
  return chars.length <= MAX_SYNC_MESSAGE_CHARS ? chars.join('') : chars.slice(0, MAX_SYNC_MESSAGE_CHARS).join('');
}
