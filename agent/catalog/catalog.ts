// The replicated state machine. Pure: no I/O, clock or randomness, so every site that applies the
// same entries reaches the same state and returns the same verdicts. Validation happens here, in
// apply; time comes from the command.
import { EntryType, type Entry } from '../../consensus/types.js';
import type { ApplyResult, RecordOp, StateMachine } from '../../consensus/ports.js';
import type { AuditEntry, AuditFilter } from './audit.js';
import { AuditLog, auditEntryOf, type AuditBounds } from './audit-log.js';
import { deepFreeze } from './codec.js';
import { decodeCommand, decodeOwnCommand, type DecodeCommandResult, type ReceivedCommand } from './command.js';
import { DEFAULT_MAX_SESSIONS } from './limits.js';
import { placementSelects } from './placement.js';
import { decodeRecord, metaPut, resourceKey, resourcePut, sessionKey, sessionPut } from './records.js';
import { Draft, ResourceStore } from './resource-store.js';
import { advancedSession, SessionTable, type SeqFate } from './sessions.js';
import { encodeSnapshotImage, decodeSnapshotImage } from './snapshot-image.js';
import { ReportError, SyncStatusTable, parseSyncDigest, parseSyncReports, type SyncStatusFilter, type SyncWorld } from './sync-status.js';
import { SpecError } from './spec-reader.js';
import { executeWriteOps } from './write-ops.js';
import {
  PLACED_KINDS,
  RESOURCE_KINDS,
  type CommandResult,
  type Resource,
  type ResourceKind,
  type ResourceOf,
  type Session,
  type SiteSyncDigest,
  type SyncMatrix,
  type SyncStatusEntry,
} from './types.js';

export interface CatalogOptions {
  /** Session table bound; part of the replicated protocol, so the same on every site. Default 10,000. */
  maxSessions?: number;
  /** Audit ring bounds (tests use small ones); part of the replicated protocol like maxSessions. */
  auditBounds?: AuditBounds;
  /**
   * 'shared' where every site applies the same entry objects (the simulator hands entries over by
   * reference): one frozen decode serves them all. 'own' (default) where each site has its own
   * bytes (the daemon): a decode nobody else reads is neither remembered nor frozen.
   */
  commandDecode?: 'own' | 'shared';
}

export interface ListFilter {
  /** Only resources this site should hold (see desiredResourcesFor). */
  forSite?: string;
}

export interface CatalogStats {
  appliedIndex: number;
  resources: Record<ResourceKind, number>;
  sessions: number;
  /** Stored sync exceptions (entries not covered by their site's digest). */
  syncEntries: number;
  /** Stored sync digests (one per site that reported one). */
  syncDigests: number;
}

const NOOP_RESULT: CommandResult = deepFreeze({ ok: true, revisions: [], noop: true });

export class Catalog implements StateMachine {
  private readonly resources = new ResourceStore();
  private readonly sessions: SessionTable;
  private readonly sync = new SyncStatusTable(this.syncWorld());
  private readonly audit: AuditLog;
  private applied = 0;
  private readonly decode: (bytes: Uint8Array) => DecodeCommandResult;

  constructor(options: CatalogOptions = {}) {
    this.sessions = new SessionTable(options.maxSessions ?? DEFAULT_MAX_SESSIONS);
    this.audit = new AuditLog(options.auditBounds);
    this.decode = options.commandDecode === 'shared' ? decodeCommand : decodeOwnCommand;
  }

  /** Index of the last entry applied (or restored/loaded). */
  get appliedIndex(): number {
    return this.applied;
  }

  // ------------------------------------------------------------ StateMachine

  apply(entry: Entry): ApplyResult {
    if (entry.index <= this.applied) {
      throw new Error(`catalog: entry ${entry.index} applied after entry ${this.applied} (applied index must increase)`);
    }
    const ops: RecordOp[] = [];
    const result = entry.type === EntryType.Normal && entry.data.length > 0 ? this.applyCommand(entry, ops) : NOOP_RESULT;
    this.applied = entry.index;
    ops.push(metaPut(this.applied));
    return { result, ops };
  }

  snapshot(): Uint8Array {
    return encodeSnapshotImage(this.records());
  }

  restore(image: Uint8Array): Array<[string, Uint8Array]> {
    const records = decodeSnapshotImage(image);
    this.load(records);
    return records;
  }

  /** Throws CatalogFormatError (and keeps the previous state) when a record cannot be read. */
  load(records: Array<[string, Uint8Array]>): void {
    const decoded = records.map(([key, value]) => decodeRecord(key, value));
    this.resources.clear();
    this.sync.clear();
    this.audit.clear();
    this.applied = 0;
    const sessions: Session[] = [];
    for (const record of decoded) {
      if (record.type === 'resource') this.resources.set(deepFreeze(record.resource));
      else if (record.type === 'session') sessions.push(deepFreeze(record.session));
      else if (record.type === 'sync') this.sync.set(record.entry);
      else if (record.type === 'syncDigest') this.sync.setDigest(record.digest);
      else if (record.type === 'audit') this.audit.set(deepFreeze(record.entry));
      else if (record.type === 'audit-meta') this.audit.setDroppedThrough(record.droppedThrough);
      else this.applied = record.appliedIndex;
    }
    this.sessions.replaceAll(sessions);
    this.audit.trim();
  }

  // ------------------------------------------------------------ reads

  get<K extends ResourceKind>(kind: K, id: string): ResourceOf<K> | undefined {
    return this.resources.get(kind, id);
  }

  /** Sorted by id. */
  list<K extends ResourceKind>(kind: K, filter: ListFilter = {}): ResourceOf<K>[] {
    let items = this.resources.list(kind);
    if (filter.forSite !== undefined) {
      const site = this.get('site', filter.forSite);
      items = site === undefined ? [] : items.filter((resource) => this.isDesiredOn(resource as Resource, site));
    }
    return items.sort(byId);
  }

  sites(): ResourceOf<'site'>[] {
    return this.list('site');
  }

  /**
   * A number that is different after any apply, load or restore that changed a resource of `kind`
   * (the same number means nothing of that kind changed). Local to this catalog object.
   */
  changeCount(kind: ResourceKind): number {
    return this.resources.changeCount(kind);
  }

  /** How many resources of a kind the catalog holds (no list built). */
  count(kind: ResourceKind): number {
    return this.resources.count(kind);
  }

  /**
   * What `siteName` should hold: every flavor, image and quota whose placement selects it, plus the
   * protection groups that name it as primary or secondary. Empty for a site not in the catalog
   * (a site joins the catalog before it is given anything). Sorted by kind, then id.
   */
  desiredResourcesFor(siteName: string): Resource[] {
    const site = this.get('site', siteName);
    if (site === undefined) return [];
    const desired: Resource[] = [];
    for (const kind of [...PLACED_KINDS, 'protection-group'] as const) {
      const resources = this.list(kind) as Resource[];
      desired.push(...resources.filter((resource) => this.isDesiredOn(resource, site)));
    }
    return desired;
  }

  /** Sorted by kind, id, site. */
  syncStatus(filter: SyncStatusFilter = {}): SyncStatusEntry[] {
    return this.sync.entries(filter);
  }

  /** A site's sync digest: the revision up to which it reported everything placed on it in sync. */
  syncDigest(site: string): Readonly<SiteSyncDigest> | undefined {
    return this.sync.digest(site);
  }

  syncMatrix(): SyncMatrix {
    return this.sync.matrix(this.sites().map((site) => site.id));
  }

  /** The exactly-once session of a client (its last sequence number and result). */
  session(clientId: string): Readonly<Session> | undefined {
    return this.sessions.get(clientId);
  }

  /** The session table's bound (part of the replicated protocol). */
  get maxSessions(): number {
    return this.sessions.maxSessions;
  }

  /** What became of sequence `seq` of a client, as far as the entries applied here say. */
  writeFate(clientId: string, seq: number): SeqFate {
    return this.sessions.fateOf(clientId, seq);
  }

  /** Applied writes the audit ring holds, oldest first. */
  auditEntries(filter: AuditFilter = {}): AuditEntry[] {
    return this.audit.list(filter);
  }

  /** The ring's bounds and the oldest index it still holds (older history was dropped). */
  auditRange(): { maxEntries: number; maxTargets: number; entries: number; oldestIndex: number | null; droppedThrough: number } {
    return { ...this.audit.bounds, entries: this.audit.size, oldestIndex: this.audit.oldestIndex(), droppedThrough: this.audit.droppedThrough };
  }

  stats(): CatalogStats {
    const resources = Object.fromEntries(RESOURCE_KINDS.map((kind) => [kind, this.resources.count(kind)]));
    return {
      appliedIndex: this.applied,
      resources: resources as Record<ResourceKind, number>,
      sessions: this.sessions.size,
      syncEntries: this.sync.size,
      syncDigests: this.sync.digestCount,
    };
  }

  /** Every record that stands for the current state, sorted by key. */
  records(): Array<[string, Uint8Array]> {
    const puts = [metaPut(this.applied)];
    for (const resource of this.resources.all()) puts.push(resourcePut(resource));
    for (const session of this.sessions.values()) puts.push(sessionPut(session));
    for (const put of this.sync.records()) if (put.type === 'put') puts.push(put);
    puts.push(...this.audit.records());
    const records = puts.map((put) => [put.key, put.value] as [string, Uint8Array]);
    return records.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  }

  /** Whether the catalog wants `resource` on the site named `siteName` now. */
  isDesiredOnSite(resource: Resource, siteName: string): boolean {
    const site = this.get('site', siteName);
    return site !== undefined && this.isDesiredOn(resource, site);
  }

  // ------------------------------------------------------------ apply internals

  private syncWorld(): SyncWorld {
    return {
      resource: (kind, id) => this.resources.get(kind, id) as Resource | undefined,
      site: (name) => this.resources.get('site', name),
      isDesiredOn: (resource, site) => this.isDesiredOn(resource, site),
      placedResources: () => PLACED_KINDS.flatMap((kind) => this.resources.list(kind) as Resource[]),
    };
  }

  private isDesiredOn(resource: Resource, site: ResourceOf<'site'>): boolean {
    if (resource.kind === 'protection-group') {
      return resource.spec.primarySite === site.id || resource.spec.secondarySite === site.id;
    }
    return resource.placement !== undefined && placementSelects(resource.placement, site.spec);
  }

  private applyCommand(entry: Entry, ops: RecordOp[]): CommandResult {
    const decoded = this.decode(entry.data);
    if (!decoded.ok) return decoded.failure;
    const { command } = decoded;
    const verdict = this.sessions.check(command.clientId, command.seq);
    if (verdict.type === 'duplicate') return verdict.result;
    if (verdict.type === 'stale') {
      return {
        ok: false,
        code: 'STALE_SEQUENCE',
        clientId: command.clientId,
        seq: command.seq,
        lastSeq: verdict.lastSeq,
        message: `sequence ${command.seq} of client ${command.clientId} is older than its last applied sequence ${verdict.lastSeq}`,
      };
    }
    const result = deepFreeze(this.execute(command, entry.index, ops));
    if (command.type === 'write') ops.push(...this.audit.record(deepFreeze(auditEntryOf(command, entry.index, result))));
    const session: Session = deepFreeze(advancedSession(this.sessions.get(command.clientId), command.clientId, command.seq, entry.index, result));
    ops.push(sessionPut(session));
    for (const evicted of this.sessions.record(session)) ops.push({ type: 'del', key: sessionKey(evicted) });
    return result;
  }

  private execute(command: ReceivedCommand, index: number, ops: RecordOp[]): CommandResult {
    if (command.type === 'syncStatus') return this.executeSyncStatus(command.reports, command.digest, command.time, ops);
    const draft = new Draft(this.resources);
    const result = executeWriteOps(command.ops, draft, { index, time: command.time, ...(command.forced === undefined ? {} : { forced: command.forced }) });
    if (!result.ok) return result;
    const before = this.sync.before(draft.netChanges());
    for (const change of draft.commit()) {
      if (change.resource !== null) {
        ops.push(resourcePut(change.resource));
        continue;
      }
      ops.push({ type: 'del', key: resourceKey(change.kind, change.id) });
      if (change.kind === 'site') ops.push(...this.sync.dropSite(change.id));
    }
    ops.push(...this.sync.after(before, index, command.time));
    return result;
  }

  private executeSyncStatus(rawReports: unknown, rawDigest: unknown, time: number, ops: RecordOp[]): CommandResult {
    try {
      const digest = parseSyncDigest(rawDigest);
      const reports = parseSyncReports(rawReports, digest !== undefined);
      ops.push(...this.sync.applyReports(reports, digest, time));
      return { ok: true, revisions: [] };
    } catch (error) {
      if (error instanceof SpecError) return { ok: false, code: 'VALIDATION', field: error.field, message: error.message };
      if (!(error instanceof ReportError)) throw error;
      const { field, message } = error.specError;
      if (error.index < 0) return { ok: false, code: 'VALIDATION', field, message };
      return { ok: false, code: 'VALIDATION', field: `reports[${error.index}].${field}`, message, opIndex: error.index };
    }
  }
}

function byId(a: { id: string }, b: { id: string }): number {
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}
