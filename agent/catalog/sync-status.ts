// Per-site, per-resource convergence state reported by the reconcilers, kept compact: per site one
// digest ("every flavor, image and quota placed here whose revision, and the site record's, is at most
// `through` is in sync") plus the exceptions, one entry per resource that is not plainly in sync
// there (pending, failing, unreachable, in sync with a note, a removal to do). The per-site,
// per-resource view every site shows is computed from the two, so the log and the state grow with
// sites + exceptions, not sites x resources. A report that changes nothing writes nothing.
import type { RecordOp } from '../../consensus/ports.js';
import { deepFreeze } from './codec.js';
import { MAX_SYNC_MESSAGE_CHARS, MAX_SYNC_REPORTS_PER_COMMAND } from './limits.js';
import { SITE_NAME, checkResourceId } from './names.js';
import { syncDigestKey, syncDigestPut, syncKey, syncPut } from './records.js';
import {
  SpecError,
  checkEnum,
  checkInt,
  checkString,
  expectObject,
  rejectUnknownFields,
} from './spec-reader.js';
import {
  PLACED_KINDS,
  RESOURCE_KINDS,
  SYNC_STATES,
  type Resource,
  type ResourceKind,
  type ResourceOf,
  type SiteSyncDigest,
  type SyncDigestReport,
  type SyncMatrix,
  type SyncReport,
  type SyncStatusEntry,
} from './types.js';

const REPORT_FIELDS = ['site', 'kind', 'id', 'state', 'message', 'revision'] as const;
const DIGEST_FIELDS = ['site', 'through'] as const;

export const DELETION_PENDING_MESSAGE = 'deleted from the catalog; removal from this site pending';
export const UNPLACED_PENDING_MESSAGE = 'no longer placed on this site; removal from it pending';

export interface SyncStatusFilter {
  site?: string;
  kind?: ResourceKind;
  id?: string;
}

/** What the table reads of the catalog to compute the per-resource view. */
export interface SyncWorld {
  resource(kind: ResourceKind, id: string): Resource | undefined;
  site(name: string): ResourceOf<'site'> | undefined;
  isDesiredOn(resource: Resource, site: ResourceOf<'site'>): boolean;
  /** Resources of the placed kinds (what a digest covers), any order. */
  placedResources(): Resource[];
}

/** What the catalog looked like before a write, for the removals the write leaves to do. */
export interface SyncBefore {
  /** Placed resource ref -> the sites it was desired on (or had an entry on) before. */
  resourceSites: Map<string, string[]>;
  /** Site -> the placed resources desired on it before. */
  siteResources: Map<string, Resource[]>;
}

function isPlaced(kind: ResourceKind): boolean {
  return (PLACED_KINDS as readonly string[]).includes(kind);
}

export class SyncStatusTable {
  /** `kind/id` -> site -> exception. */
  private readonly byResource = new Map<string, Map<string, SyncStatusEntry>>();
  private readonly digests = new Map<string, SiteSyncDigest>();

  constructor(private readonly world: SyncWorld) {}

  /** Stored exception entries. */
  get size(): number {
    let count = 0;
    for (const sites of this.byResource.values()) count += sites.size;
    return count;
  }

  /** Stored digests (one per site that reported one). */
  get digestCount(): number {
    return this.digests.size;
  }

  digest(site: string): Readonly<SiteSyncDigest> | undefined {
    return this.digests.get(site);
  }

  /** The entry shown for (resource, site): its exception, else in sync when the digest covers it. */
  get(kind: ResourceKind, id: string, site: string): SyncStatusEntry | undefined {
    const exception = this.exception(kind, id, site);
    if (exception !== undefined || !isPlaced(kind)) return exception;
    const resource = this.world.resource(kind, id);
    const siteRecord = this.world.site(site);
    if (resource === undefined || siteRecord === undefined || !this.world.isDesiredOn(resource, siteRecord)) return undefined;
    return this.derived(resource, siteRecord);
  }

  exception(kind: ResourceKind, id: string, site: string): SyncStatusEntry | undefined {
    return this.byResource.get(resourceRef(kind, id))?.get(site);
  }

  /** Loads a stored exception. */
  set(entry: SyncStatusEntry): void {
    const ref = resourceRef(entry.kind, entry.id);
    let sites = this.byResource.get(ref);
    if (sites === undefined) this.byResource.set(ref, (sites = new Map()));
    sites.set(entry.site, deepFreeze(entry));
  }

  /** Loads a stored digest. */
  setDigest(digest: SiteSyncDigest): void {
    this.digests.set(digest.site, deepFreeze({ ...digest }));
  }

  clear(): void {
    this.byResource.clear();
    this.digests.clear();
  }

  /** Applies a validated command: the digest first (reports of the same command may lean on it), then the reports. */
  applyReports(reports: SyncReport[], digest: SyncDigestReport | undefined, time: number): RecordOp[] {
    const ops: RecordOp[] = [];
    if (digest !== undefined) {
      const current = this.digests.get(digest.site);
      if (current === undefined || digest.through > current.through) {
        const next: SiteSyncDigest = { site: digest.site, through: digest.through, throughAt: time };
        this.setDigest(next);
        ops.push(syncDigestPut(this.digests.get(digest.site)!)); // the stored (frozen) copy: its encoding is memoised
      }
    }
    for (const report of reports) {
      const current = this.exception(report.kind, report.id, report.site);
      const message = report.message ?? '';
      const revision = report.revision ?? 0;
      if (report.state === 'in-sync' && (message === '' || !this.desiredNow(report.kind, report.id, report.site))) {
        // A finished removal, or a resource in sync that the digest covers: nothing left to show apart.
        if (!this.desiredNow(report.kind, report.id, report.site) || this.coveredNow(report.kind, report.id, report.site)) {
          if (current !== undefined) ops.push(this.remove(report.kind, report.id, report.site));
          continue;
        }
      }
      if (current && current.state === report.state && current.message === message && current.revision === revision) continue;
      ops.push(this.put({ site: report.site, kind: report.kind, id: report.id, state: report.state, message, revision }, current, time));
    }
    return ops;
  }

  /** Before a write is committed: where each changed placed resource and each changed site stood. */
  before(changes: ReadonlyArray<{ kind: ResourceKind; id: string }>): SyncBefore {
    const before: SyncBefore = { resourceSites: new Map(), siteResources: new Map() };
    for (const { kind, id } of changes) {
      if (kind === 'site') {
        const site = this.world.site(id);
        if (site !== undefined && this.digests.has(id)) before.siteResources.set(id, this.world.placedResources().filter((r) => this.world.isDesiredOn(r, site)));
        continue;
      }
      const old = this.world.resource(kind, id);
      const sites = new Set(this.byResource.get(resourceRef(kind, id))?.keys() ?? []);
      if (old !== undefined && isPlaced(kind)) {
        for (const site of this.digests.keys()) {
          const record = this.world.site(site);
          if (record !== undefined && this.world.isDesiredOn(old, record)) sites.add(site);
        }
      }
      if (sites.size > 0) before.resourceSites.set(resourceRef(kind, id), [...sites].sort());
    }
    return before;
  }

  /**
   * After the write: every site that held (or may hold) a resource the catalog no longer places on it
   * now has a removal to do, shown as pending until its reconciler reports it done; a deleted site's
   * digest and entries go with it.
   */
  after(before: SyncBefore, index: number, time: number): RecordOp[] {
    const ops: RecordOp[] = [];
    for (const [ref, sites] of before.resourceSites) {
      const [kind, id] = splitRef(ref);
      const now = this.world.resource(kind, id);
      for (const site of sites) {
        const record = this.world.site(site);
        if (now !== undefined && record !== undefined && this.world.isDesiredOn(now, record)) continue;
        if (record === undefined) continue;
        ops.push(this.pendingRemoval(kind, id, site, now === undefined ? DELETION_PENDING_MESSAGE : UNPLACED_PENDING_MESSAGE, index, time));
      }
    }
    for (const [site, resources] of before.siteResources) {
      const record = this.world.site(site);
      if (record === undefined) continue;
      for (const old of resources) {
        const now = this.world.resource(old.kind, old.id);
        if (now === undefined || before.resourceSites.has(resourceRef(old.kind, old.id)) || this.world.isDesiredOn(now, record)) continue;
        ops.push(this.pendingRemoval(old.kind, old.id, site, UNPLACED_PENDING_MESSAGE, index, time));
      }
    }
    return ops;
  }

  /** A site left the catalog: its digest and entries go with it. */
  dropSite(site: string): RecordOp[] {
    const ops: RecordOp[] = [];
    if (this.digests.delete(site)) ops.push({ type: 'del', key: syncDigestKey(site) });
    for (const ref of [...this.byResource.keys()].sort()) {
      const entry = this.byResource.get(ref)?.get(site);
      if (entry !== undefined) ops.push(this.remove(entry.kind, entry.id, site));
    }
    return ops;
  }

  /** Every shown entry (exceptions and what the digests cover), sorted by kind, id, site. */
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
    if (filter.kind === undefined || isPlaced(filter.kind)) {
      const sites = filter.site !== undefined ? (this.digests.has(filter.site) ? [filter.site] : []) : [...this.digests.keys()];
      const resources = filter.kind !== undefined && filter.id !== undefined ? [this.world.resource(filter.kind, filter.id)].filter((r) => r !== undefined) : this.world.placedResources();
      for (const site of sites) {
        const record = this.world.site(site);
        if (record === undefined) continue;
        for (const resource of resources) {
          if (filter.kind !== undefined && resource.kind !== filter.kind) continue;
          if (filter.id !== undefined && resource.id !== filter.id) continue;
          if (this.exception(resource.kind, resource.id, site) !== undefined || !this.world.isDesiredOn(resource, record)) continue;
          const entry = this.derived(resource, record);
          if (entry !== undefined) result.push(entry);
        }
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

  /** The stored records: every digest and exception. */
  records(): RecordOp[] {
    const puts: RecordOp[] = [];
    for (const digest of this.digests.values()) puts.push(syncDigestPut(digest));
    for (const sites of this.byResource.values()) for (const entry of sites.values()) puts.push(syncPut(entry));
    return puts;
  }

  private derived(resource: Resource, site: ResourceOf<'site'>): SyncStatusEntry | undefined {
    const digest = this.digests.get(site.id);
    if (digest === undefined || digest.through < Math.max(resource.revision, site.revision)) return undefined;
    return { site: site.id, kind: resource.kind, id: resource.id, state: 'in-sync', message: '', revision: resource.revision, since: digest.throughAt, updatedAt: digest.throughAt };
  }

  private desiredNow(kind: ResourceKind, id: string, site: string): boolean {
    const resource = this.world.resource(kind, id);
    const record = this.world.site(site);
    return resource !== undefined && record !== undefined && this.world.isDesiredOn(resource, record);
  }

  private coveredNow(kind: ResourceKind, id: string, site: string): boolean {
    const resource = this.world.resource(kind, id);
    const record = this.world.site(site);
    return resource !== undefined && record !== undefined && isPlaced(kind) && this.derived(resource, record) !== undefined;
  }

  private pendingRemoval(kind: ResourceKind, id: string, site: string, message: string, index: number, time: number): RecordOp {
    const current = this.exception(kind, id, site);
    return this.put({ site, kind, id, state: 'pending', message, revision: index }, current, time);
  }

  private put(fields: Omit<SyncStatusEntry, 'since' | 'updatedAt'>, current: SyncStatusEntry | undefined, time: number): RecordOp {
    const entry: SyncStatusEntry = { ...fields, since: current && current.state === fields.state ? current.since : time, updatedAt: time };
    this.set(entry);
    return syncPut(entry);
  }

  private remove(kind: ResourceKind, id: string, site: string): RecordOp {
    const ref = resourceRef(kind, id);
    const sites = this.byResource.get(ref);
    sites?.delete(site);
    if (sites?.size === 0) this.byResource.delete(ref);
    return { type: 'del', key: syncKey(kind, id, site) };
  }
}

function splitRef(ref: string): [ResourceKind, string] {
  const slash = ref.indexOf('/');
  return [ref.slice(0, slash) as ResourceKind, ref.slice(slash + 1)];
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

/** Checks a syncStatus command's digest (optional): throws SpecError naming the field. */
export function parseSyncDigest(raw: unknown): SyncDigestReport | undefined {
  if (raw === undefined) return undefined;
  const body = expectObject(raw, 'digest');
  rejectUnknownFields(body, DIGEST_FIELDS, 'digest');
  return {
    site: checkString(body.site, 'digest.site', SITE_NAME),
    through: checkInt(body.through, 'digest.through', { min: 0, max: Number.MAX_SAFE_INTEGER }),
  };
}

/** Checks a syncStatus command's reports (all or none; none only beside a digest). Throws SpecError with the report index. */
export function parseSyncReports(raw: unknown, withDigest = false): SyncReport[] {
  if (!Array.isArray(raw) || (raw.length === 0 && !withDigest) || raw.length > MAX_SYNC_REPORTS_PER_COMMAND) {
    throw new ReportError(-1, new SpecError('reports', `reports must list ${withDigest ? 0 : 1}-${MAX_SYNC_REPORTS_PER_COMMAND} sync reports`));
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
