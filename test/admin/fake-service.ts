// An in-memory AgentService for the admin server and CLI tests: a tiny catalog with revisions,
// expectedRevision checks and merge patches, every call recorded, and scripted outcomes to force
// refusals, rejections, unknown outcomes and crashes.
import type {
  AgentService,
  JsonObject,
  LeaderTransferOutcome,
  ReadOptions,
  ReadOutcome,
  ResourceKind,
  ResourceView,
  SiteAddRequest,
  StatusView,
  SyncStatusView,
  WriteOp,
  WriteOptions,
  WriteOutcome,
  WriteStatusView,
  WatchSink,
  WatchStartView,
} from '../../agent/admin/service.js';
import { writeIdFor } from '../../agent/admin/service.js';
import type { Resource } from '../../agent/catalog/index.js';
import { ChangeFeed } from '../../agent/watch/change-feed.js';

export interface RecordedCall {
  method: keyof AgentService;
  args: unknown[];
}

export function baseStatus(): StatusView {
  return {
    clusterId: 'test-cluster',
    site: 'eu-west-1',
    peerId: '12D3KooWAbc',
    role: 'leader',
    membership: 'voter',
    term: 7,
    leader: 'eu-west-1',
    commitIndex: 40,
    appliedIndex: 40,
    members: [
      { site: 'eu-west-1', role: 'voter', live: true, matchIndex: 40, rttMs: 0 },
      { site: 'us-east-1', role: 'voter', live: true, matchIndex: 39, rttMs: 82 },
      { site: 'ap-south-1', role: 'learner', live: false, matchIndex: 12, rttMs: null },
    ],
    version: '0.1.0-test',
  };
}

/** The catalog's patch, a JSON merge patch (RFC 7386): objects merge at every depth, null removes. */
function mergePatch(target: JsonObject, patch: JsonObject): JsonObject {
  const out: JsonObject = { ...target };
  for (const [key, value] of Object.entries(patch)) {
    const current = out[key];
    if (value === null) delete out[key];
    else if (isObject(value)) out[key] = mergePatch(isObject(current) ? current : {}, value);
    else out[key] = value;
  }
  return out;
}

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Placed kinds go to every site unless told otherwise; sites and protection groups have no placement. */
function placementOfNew(kind: ResourceKind): string | null {
  return kind === 'flavor' || kind === 'image' || kind === 'quota' ? 'all' : null;
}

export class FakeAgentService implements AgentService {
  readonly calls: RecordedCall[] = [];
  readonly resources = new Map<string, ResourceView>();
  index = 40;
  statusView: StatusView = baseStatus();
  syncView: SyncStatusView = { sites: [] };
  /** Outcomes returned (in order) by the next writes instead of applying them. */
  readonly scriptedWrites: WriteOutcome[] = [];
  /** Refusal returned by linearizable reads when set. */
  linearizableRefusal: { code: 'NO_LEADER' | 'NO_QUORUM'; message: string } | undefined;
  transferOutcome: LeaderTransferOutcome | undefined;
  /** Makes every call throw (an agent bug). */
  crash = false;
  readonly writeStatuses = new Map<string, WriteStatusView>();
  metricsText = '# HELP stackraft_raft_term Current Raft term.\n# TYPE stackraft_raft_term gauge\nstackraft_raft_term 7\n';

  private record(method: keyof AgentService, ...args: unknown[]): void {
    this.calls.push({ method, args: structuredClone(args) });
    if (this.crash) throw new Error('simulated agent bug');
  }

  callsOf(method: keyof AgentService): unknown[][] {
    return this.calls.filter((c) => c.method === method).map((c) => c.args);
  }

  seed(kind: ResourceKind, id: string, spec: JsonObject, placement: string | null = null): ResourceView {
    this.index += 1;
    const view: ResourceView = { kind, id, spec, placement, revision: this.index };
    this.resources.set(`${kind}/${id}`, view);
    return view;
  }

  private meta(linearizable: boolean) {
    return { appliedIndex: this.index, commitIndex: this.index, linearizable, stalenessMs: linearizable ? 0 : 15 };
  }

  async status(): Promise<StatusView> {
    this.record('status');
    return structuredClone(this.statusView);
  }

  async write(ops: WriteOp[], options: WriteOptions): Promise<WriteOutcome> {
    this.record('write', ops, options);
    const scripted = this.scriptedWrites.shift();
    if (scripted) return scripted;
    return this.applyOps(ops, options);
  }

  private applyOps(ops: WriteOp[], options: WriteOptions): WriteOutcome {
    for (const [opIndex, op] of ops.entries()) {
      const current = this.resources.get(`${op.kind}/${op.id}`);
      if (op.op === 'dr') {
        if (!current) return { status: 'rejected', code: 'VALIDATION', message: `${op.kind} ${op.id} does not exist`, opIndex };
        continue;
      }
      if (op.expectedRevision !== undefined && (current?.revision ?? 0) !== op.expectedRevision) {
        return { status: 'rejected', code: 'CONFLICT', message: `${op.kind} ${op.id} is at revision ${current?.revision ?? 0}, not ${op.expectedRevision}`, opIndex, details: { actualRevision: current?.revision ?? 0 } };
      }
      if ((op.op === 'patch' || op.op === 'delete') && !current) {
        return { status: 'rejected', code: 'VALIDATION', message: `${op.kind} ${op.id} does not exist`, opIndex };
      }
    }
    this.index += 1;
    const revisions = ops.map((op) => {
      const key = `${op.kind}/${op.id}`;
      const current = this.resources.get(key);
      // A dr op only bumps the revision here: its state machine is the catalog's (test/catalog/dr.test.ts).
      if (op.op === 'dr') this.resources.set(key, { ...current!, revision: this.index });
      else if (op.op === 'delete') this.resources.delete(key);
      else if (op.op === 'put') this.resources.set(key, { kind: op.kind, id: op.id, spec: op.spec, placement: op.placement ?? current?.placement ?? placementOfNew(op.kind), revision: this.index });
      else this.resources.set(key, { ...current!, spec: mergePatch(current!.spec, op.patch), ...(op.placement !== undefined ? { placement: op.placement } : {}), revision: this.index });
      return { kind: op.kind, id: op.id, revision: this.index };
    });
    const writeId = writeIdFor(options.clientId, options.seq);
    this.changes.record(
      this.index,
      ops.map((op) => {
        const resource = this.resources.get(`${op.kind}/${op.id}`);
        return { index: this.index, type: resource ? 'put' : 'delete', kind: op.kind, id: op.id, resource: (resource ?? null) as unknown as Resource | null };
      }),
    );
    this.writeStatuses.set(writeId, { writeId, status: 'committed', index: this.index, revisions });
    return { status: 'committed', writeId, index: this.index, revisions };
  }

  /** The real change feed over this fake's writes (resources are views here, passed through as they are). */
  readonly changes = new ChangeFeed(0);

  watch(filter: { fromIndex?: number; kind?: ResourceKind }, sink: WatchSink): WatchStartView {
    this.record('watch', filter);
    return this.changes.watch(filter, {
      onEvent: (event) => sink.onEvent({ ...event, resource: event.resource as unknown as ResourceView | null }),
      onEnd: (end) => sink.onEnd(end),
    });
  }

  async writeStatus(writeId: string): Promise<WriteStatusView> {
    this.record('writeStatus', writeId);
    return this.writeStatuses.get(writeId) ?? { writeId, status: 'not-committed', final: false, asOfIndex: this.index, message: `not committed as of index ${this.index}` };
  }

  async get(kind: ResourceKind, id: string, options: ReadOptions): Promise<ReadOutcome<ResourceView | null>> {
    this.record('get', kind, id, options);
    if (options.linearizable && this.linearizableRefusal) return { status: 'refused', ...this.linearizableRefusal };
    return { status: 'ok', value: structuredClone(this.resources.get(`${kind}/${id}`) ?? null), meta: this.meta(options.linearizable) };
  }

  async list(kind: ResourceKind, options: ReadOptions): Promise<ReadOutcome<ResourceView[]>> {
    this.record('list', kind, options);
    if (options.linearizable && this.linearizableRefusal) return { status: 'refused', ...this.linearizableRefusal };
    const items = [...this.resources.values()].filter((r) => r.kind === kind).sort((a, b) => (a.id < b.id ? -1 : 1));
    return { status: 'ok', value: structuredClone(items), meta: this.meta(options.linearizable) };
  }

  async siteAdd(request: SiteAddRequest, options: WriteOptions): Promise<WriteOutcome> {
    this.record('siteAdd', request, options);
    const scripted = this.scriptedWrites.shift();
    if (scripted) return scripted;
    const { name, addrs, ...rest } = request;
    return this.applyOps([{ op: 'put', kind: 'site', id: name, spec: { name, addresses: addrs, ...rest, role: 'learner' } as JsonObject }], options);
  }

  async siteRemove(site: string, options: WriteOptions): Promise<WriteOutcome> {
    this.record('siteRemove', site, options);
    return this.scriptedWrites.shift() ?? this.applyOps([{ op: 'delete', kind: 'site', id: site }], options);
  }

  async memberPromote(site: string, options: WriteOptions): Promise<WriteOutcome> {
    this.record('memberPromote', site, options);
    return this.scriptedWrites.shift() ?? this.membershipCommitted(options);
  }

  async memberDemote(site: string, options: WriteOptions): Promise<WriteOutcome> {
    this.record('memberDemote', site, options);
    return this.scriptedWrites.shift() ?? this.membershipCommitted(options);
  }

  private membershipCommitted(options: WriteOptions): WriteOutcome {
    this.index += 1;
    return { status: 'committed', writeId: writeIdFor(options.clientId, options.seq), index: this.index, revisions: [] };
  }

  async leaderTransfer(site: string, options: { timeoutMs?: number }): Promise<LeaderTransferOutcome> {
    this.record('leaderTransfer', site, options);
    return this.transferOutcome ?? { status: 'transferred', leader: site, term: this.statusView.term + 1 };
  }

  async syncStatus(): Promise<SyncStatusView> {
    this.record('syncStatus');
    return structuredClone(this.syncView);
  }

  async metrics(): Promise<string> {
    this.record('metrics');
    return this.metricsText;
  }
}
