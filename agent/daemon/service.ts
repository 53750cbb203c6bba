// The AgentService (what the admin socket calls) over the replica, the catalog and the write path.
import type { Clock } from '../../consensus/ports.js';
import type { Replica } from '../../consensus/replica.js';
import type { ConfChange } from '../../consensus/types.js';
import {
  parseWriteId,
  type AgentService,
  type BackupView,
  type KeyRotationView,
  type AuditQuery,
  type AuditView,
  type JsonObject,
  type LeaderTransferOutcome,
  type BlobStateView,
  type MemberView,
  type ReadOptions,
  type ReadOutcome,
  type ResourceKind,
  type ResourceView,
  type SiteAddRequest,
  type StatusView,
  type SyncStatusView,
  type WriteOp,
  type WriteOptions,
  type WriteOutcome,
  type WriteStatusView,
  type WatchSink,
  type WatchStartView,
} from '../admin/service.js';
import { formatPlacement, type Catalog, type ResourceOf, type WriteOp as CatalogOp } from '../catalog/index.js';
import type { AgentMetrics } from '../ops/metrics.js';
import type { CatalogWriteOutcome, CatalogWriter } from '../write/catalog-writer.js';
import { takeBackup } from '../recovery/take-backup.js';
import type { ChangeFeed } from '../watch/change-feed.js';
import type { SiteBlobs } from '../blobs/site-blobs.js';
import { BlobUploads } from '../blobs/uploads.js';
import { canIngest } from '../blobs/ports.js';
import { GlanceAdoptions } from '../blobs/glance-adopt.js';
import { setHealthGauges } from './health-gauges.js';
import type { CloudDriver } from '../../drivers/index.js';
import type { ImportOutcome, ImportRequest } from '../admin/service.js';
import { runImport } from '../import/importer.js';
import { toAuditView } from './audit-view.js';
import { toSyncStatusView } from './sync-view.js';

export interface ServiceParts {
  clusterId: string;
  site: string;
  peerId: string;
  version: string;
  replica: Replica;
  catalog: Catalog;
  writer: CatalogWriter;
  metrics: AgentMetrics;
  rttMs(member: string): number | undefined;
  /** Frames the transport refused so far, by reason (monotonic counts). */
  badFrames(): Record<string, number>;
  /** Connections the member gater refused so far (monotonic). */
  gaterRefusals(): number;
  linkUp(member: string): boolean;
  /** The peer id the transport runs under now (a key rotation changes it); absent: `peerId`. */
  localPeerId?(): string;
  /** Times write latencies and polls a leader transfer (real time in the daemon, virtual in the simulator). */
  clock: Clock;
  /** This site's cloud (import reads it); undefined for a site without one. */
  cloud?: CloudDriver;
  /** The cluster incarnation of this site's disk ('' for the original). */
  incarnation?: string;
  /** Wall time, for the time a backup was taken. */
  epochMs?: () => number;
  /** Committed resource changes, for watch. */
  changes: ChangeFeed;
  /** The site's blob part (agent/blobs/site-blobs.ts), when it has one: guards blob-sourced image writes. */
  blobs?: SiteBlobs;
}

/** How often a leader transfer checks whether the target has taken over. */
const LEADER_TRANSFER_POLL_MS = 20;

function sleep(clock: Clock, ms: number): Promise<void> {
  return new Promise((resolve) => void clock.setTimer(ms, resolve));
}

export class DaemonService implements AgentService {
  private readonly badFramesExported = new Map<string, number>();
  private gaterRefusalsExported = 0;

  readonly blobUploads?: BlobUploads;
  readonly glanceAdoptions?: GlanceAdoptions;

  /** The daemon's key rotation (agent/recovery/key-rotation.ts), attached once the transport runs. */
  private rotation: { begin(): Promise<KeyRotationView>; view(): KeyRotationView } | null = null;

  attachKeyRotation(rotation: { begin(): Promise<KeyRotationView>; view(): KeyRotationView }): void {
    this.rotation = rotation;
  }

  rotateKey(): Promise<KeyRotationView> {
    if (this.rotation === null) return Promise.resolve({ site: this.p.site, stage: 'refused', peerId: this.p.peerId, message: 'this agent has no key rotation' });
    return this.rotation.begin();
  }

  keyRotation(): KeyRotationView {
    return this.rotation?.view() ?? { site: this.p.site, stage: 'idle', peerId: this.p.peerId, message: '' };
  }

  constructor(private readonly p: ServiceParts) {
    const blobs = p.blobs;
    if (blobs !== undefined && canIngest(blobs.store)) this.blobUploads = new BlobUploads(blobs.store, p.clock, (root) => blobs.uploaded(root));
    if (blobs !== undefined && canIngest(blobs.store) && p.cloud !== undefined) {
      this.glanceAdoptions = new GlanceAdoptions({ site: p.site, cloud: p.cloud, store: blobs.store, onStored: (root) => blobs.uploaded(root), logger: blobs.logger });
    }
  }

  blobState(root: string): BlobStateView {
    const store = this.p.blobs?.store;
    return {
      root,
      site: this.p.site,
      heldBytes: store?.heldBytes(root) ?? 0,
      totalBytes: store?.manifest(root)?.size ?? null,
      fetch: this.p.blobs?.progress(root) ?? null,
    };
  }

  async status(): Promise<StatusView> {
    const st = this.p.replica.status();
    const progress = new Map((st.progress ?? []).map((pr) => [pr.member, pr]));
    const isLeader = st.role === 'leader';
    const member = (site: string, role: 'voter' | 'learner'): MemberView => ({
      site,
      role,
      live: site === this.p.site ? true : isLeader ? this.p.replica.isLive(site) : this.p.linkUp(site),
      matchIndex: progress.get(site)?.match ?? null,
      ...(progress.get(site)?.relay ? { relay: progress.get(site)!.relay } : {}),
      rttMs: site === this.p.site ? 0 : (this.p.rttMs(site) ?? null),
      ...(this.peerIdOf(site) ? { peerId: this.peerIdOf(site)! } : {}),
    });
    const voters = st.conf.voters.map((s) => member(s, 'voter'));
    const learners = st.conf.learners.map((s) => member(s, 'learner'));
    return {
      clusterId: this.p.clusterId,
      site: this.p.site,
      peerId: this.p.localPeerId?.() ?? this.p.peerId,
      role: st.role,
      membership: st.conf.voters.includes(this.p.site) ? 'voter' : st.conf.learners.includes(this.p.site) ? 'learner' : 'none',
      term: st.term,
      leader: st.leader || null,
      commitIndex: st.commit,
      appliedIndex: this.p.replica.appliedIndex,
      members: [...voters, ...learners],
      version: this.p.version,
      incarnation: this.p.incarnation ?? '',
    };
  }

  async snapshotSave(options: ReadOptions): Promise<ReadOutcome<BackupView>> {
    const outcome = await takeBackup(
      { clusterId: this.p.clusterId, incarnation: this.p.incarnation ?? '', site: this.p.site, replica: this.p.replica, catalog: this.p.catalog, epochMs: this.p.epochMs ?? Date.now },
      options.linearizable,
    );
    if (outcome.status !== 'ok') return outcome;
    const view: BackupView = { backup: Buffer.from(outcome.file).toString('base64'), index: outcome.index, term: outcome.term, linearizable: outcome.linearizable, bytes: outcome.file.length };
    return { status: 'ok', value: view, meta: this.readMeta(options) };
  }

  async write(ops: WriteOp[], options: WriteOptions): Promise<WriteOutcome> {
    const blobRefusal = (await this.p.blobs?.refuseWrite(ops)) ?? null;
    if (blobRefusal !== null) return { status: 'refused', code: 'INVALID', message: blobRefusal };
    const started = this.p.clock.now();
    const outcome = await this.p.writer.write(ops.map(toCatalogOp), {
      clientId: options.clientId,
      seq: options.seq,
      timeoutMs: options.timeoutMs,
      force: options.force,
      reason: options.reason,
      audit: { operator: options.operator, host: options.host, site: this.p.site },
    });
    this.countOutcome(outcome, started);
    return outcome as WriteOutcome;
  }

  watch(filter: { fromIndex?: number; kind?: ResourceKind }, sink: WatchSink): WatchStartView {
    return this.p.changes.watch(filter, {
      onEvent: (event) => sink.onEvent({ ...event, resource: event.resource === null ? null : toResourceView(event.resource) }),
      onEnd: (end) => sink.onEnd(end),
    });
  }

  async writeStatus(writeId: string): Promise<WriteStatusView> {
    const ids = parseWriteId(writeId);
    if (ids === null) {
      return { writeId, status: 'not-committed', final: true, asOfIndex: this.p.replica.appliedIndex, message: 'not a write id (CLIENT_ID:SEQ with SEQ a positive integer): no write has it' };
    }
    return (await this.p.writer.status(ids.clientId, ids.seq)) as WriteStatusView;
  }

  async get(kind: ResourceKind, id: string, options: ReadOptions): Promise<ReadOutcome<ResourceView | null>> {
    const barrier = await this.readBarrier(options);
    if (barrier) return barrier;
    const r = this.p.catalog.get(kind, id);
    return { status: 'ok', value: r ? toResourceView(r) : null, meta: this.readMeta(options) };
  }

  async list(kind: ResourceKind, options: ReadOptions): Promise<ReadOutcome<ResourceView[]>> {
    const barrier = await this.readBarrier(options);
    if (barrier) return barrier;
    return { status: 'ok', value: this.p.catalog.list(kind).map(toResourceView), meta: this.readMeta(options) };
  }

  async siteAdd(request: SiteAddRequest, options: WriteOptions): Promise<WriteOutcome> {
    const spec: JsonObject = {
      name: request.name,
      ...(request.peerId === undefined ? {} : { peerId: request.peerId }),
      addresses: request.addrs,
      region: request.region,
      labels: request.labels,
      role: 'learner',
      ...(request.country ? { country: request.country } : {}),
      ...(request.join ? { join: { expiresAt: request.join.expiresAt, secretHash: request.join.secretHash } } : {}),
    };
    const recorded = await this.write([{ op: 'put', kind: 'site', id: request.name, spec }], options);
    if (recorded.status !== 'committed') return recorded;
    // A site waiting for its join token has no key: it becomes a learner when it redeems the token (agent/recovery/join-door.ts).
    if (request.peerId === undefined) return recorded;
    const conf = this.p.replica.conf();
    if (conf.voters.includes(request.name) || conf.learners.includes(request.name)) return recorded;
    return this.membershipStep({ type: 'addLearner', member: request.name }, recorded);
  }

  async siteRemove(site: string, options: WriteOptions): Promise<WriteOutcome> {
    const conf = this.p.replica.conf();
    if (conf.voters.length === 1 && conf.voters[0] === site) {
      return { status: 'rejected', code: 'VALIDATION', field: 'site', message: `${site} is the only voter; add and promote another site before removing it` };
    }
    const unrecorded = await this.write([{ op: 'delete', kind: 'site', id: site }], options);
    const absent = unrecorded.status === 'rejected' && unrecorded.details?.currentRevision === 0;
    if (unrecorded.status !== 'committed' && !absent) return unrecorded;
    if (!conf.voters.includes(site) && !conf.learners.includes(site)) {
      return absent ? { status: 'rejected', code: 'VALIDATION', field: 'site', message: `no site named ${site}` } : unrecorded;
    }
    return this.membershipStep({ type: 'remove', member: site }, unrecorded);
  }

  async memberPromote(site: string, options: WriteOptions): Promise<WriteOutcome> {
    return this.changeRole(site, 'voter', options);
  }

  async memberDemote(site: string, options: WriteOptions): Promise<WriteOutcome> {
    return this.changeRole(site, 'learner', options);
  }

  async leaderTransfer(site: string, options: { timeoutMs?: number }): Promise<LeaderTransferOutcome> {
    const r = this.p.replica.transferLeader(site);
    if (!r.ok) {
      if (r.code === 'INVALID') return { status: 'rejected', code: 'VALIDATION', message: r.message };
      return { status: 'refused', code: r.code, message: r.leader ? `${r.message}; run it on the leader, ${r.leader}` : r.message, ...(r.leader ? { leader: r.leader } : {}) };
    }
    const deadline = this.p.clock.now() + (options.timeoutMs ?? 2 * this.p.replica.electionTimeoutMs);
    while (this.p.clock.now() < deadline) {
      const st = this.p.replica.status();
      if (st.leader === site) return { status: 'transferred', leader: site, term: st.term };
      await sleep(this.p.clock, LEADER_TRANSFER_POLL_MS);
    }
    return { status: 'unknown', message: `${site} did not take over within the timeout; the transfer was aborted or is still under way: check \`stackraft status\`` };
  }

  async audit(query: AuditQuery, options: ReadOptions): Promise<ReadOutcome<AuditView>> {
    const barrier = await this.readBarrier(options);
    if (barrier) return barrier;
    return { status: 'ok', value: toAuditView(this.p.catalog, query), meta: this.readMeta(options) };
  }

  async importResources(request: ImportRequest, options: WriteOptions): Promise<ImportOutcome> {
    return runImport({ site: this.p.site, catalog: this.p.catalog, cloud: this.p.cloud, write: (ops, o) => this.write(ops, o) }, request, options);
  }

  async syncStatus(): Promise<SyncStatusView> {
    return toSyncStatusView(this.p.catalog);
  }

  async metrics(): Promise<string> {
    const st = this.p.replica.status();
    const m = this.p.metrics;
    m.term.set(st.term);
    m.commitIndex.set(st.commit);
    m.appliedIndex.set(this.p.replica.appliedIndex);
    m.applyLagEntries.set(Math.max(0, st.commit - this.p.replica.appliedIndex));
    for (const pr of st.progress ?? []) if (pr.member !== this.p.site) m.peerMatchIndex.set({ peer: pr.member }, pr.match);
    for (const [reason, count] of Object.entries(this.p.badFrames())) {
      const delta = count - (this.badFramesExported.get(reason) ?? 0);
      if (delta > 0) m.badFrames.inc({ reason }, delta);
      this.badFramesExported.set(reason, count);
    }
    const refusals = this.p.gaterRefusals();
    if (refusals > this.gaterRefusalsExported) m.gaterRefusals.inc(refusals - this.gaterRefusalsExported);
    this.gaterRefusalsExported = refusals;
    for (const member of [...st.conf.voters, ...st.conf.learners]) {
      const rtt = this.p.rttMs(member);
      if (rtt !== undefined) m.peerRttSeconds.set({ peer: member }, rtt / 1000);
    }
    setHealthGauges(m, { site: this.p.site, status: st, linkUp: (member) => this.p.linkUp(member), catalog: this.p.catalog });
    return m.registry.metrics();
  }

  // ---------------------------------------------------------------- helpers

  private async changeRole(site: string, role: 'voter' | 'learner', options: WriteOptions): Promise<WriteOutcome> {
    const conf = this.p.replica.conf();
    const isVoter = conf.voters.includes(site);
    if (!isVoter && !conf.learners.includes(site)) return { status: 'rejected', code: 'VALIDATION', field: 'site', message: `${site} is not a member` };
    if (isVoter !== (role === 'voter')) {
      const step = await this.membershipStep({ type: role === 'voter' ? 'promote' : 'demote', member: site }, null);
      if (step.status !== 'committed') return step;
    }
    if (!this.p.catalog.get('site', site)) return { status: 'committed', writeId: '', index: this.p.replica.appliedIndex, revisions: [] };
    return this.write([{ op: 'patch', kind: 'site', id: site, patch: { role } }], options);
  }

  private async membershipStep(change: ConfChange, recorded: WriteOutcome | null): Promise<WriteOutcome> {
    const outcome = await this.p.replica.proposeConfChange(change);
    if (outcome.status === 'committed') {
      return recorded && recorded.status === 'committed' ? recorded : { status: 'committed', writeId: '', index: outcome.index, revisions: [] };
    }
    if (outcome.status === 'unknown') return { status: 'unknown', writeId: '', message: outcome.message };
    if (outcome.code === 'INVALID') return { status: 'rejected', code: 'VALIDATION', field: 'site', message: outcome.message };
    return { status: 'refused', code: outcome.code, message: outcome.message, ...(outcome.leader ? { leader: outcome.leader } : {}) };
  }

  private async readBarrier(options: ReadOptions): Promise<Extract<ReadOutcome<never>, { status: 'refused' }> | null> {
    if (!options.linearizable) return null;
    const r = await this.p.replica.readIndex();
    if (r.ok) return null;
    const code = r.code === 'UNKNOWN' ? 'NO_QUORUM' : r.code;
    return { status: 'refused', code, message: r.message, ...(r.leader ? { leader: r.leader } : {}) };
  }

  private readMeta(options: ReadOptions): { appliedIndex: number; commitIndex: number; linearizable: boolean; stalenessMs: number | null } {
    return {
      appliedIndex: this.p.replica.appliedIndex,
      commitIndex: this.p.replica.status().commit,
      linearizable: options.linearizable,
      stalenessMs: options.linearizable ? 0 : this.p.replica.stalenessMs(),
    };
  }

  private peerIdOf(site: string): string | undefined {
    return site === this.p.site ? this.p.peerId : this.p.catalog.get('site', site)?.spec.peerId;
  }

  private countOutcome(outcome: CatalogWriteOutcome, startedMs: number): void {
    this.p.metrics.writeSeconds.observe({ outcome: outcome.status }, (this.p.clock.now() - startedMs) / 1000);
    if (outcome.status === 'committed') this.p.metrics.proposalsCommitted.inc();
    if (outcome.status === 'refused') this.p.metrics.proposalsRefused.inc({ reason: outcome.code });
  }
}

function toCatalogOp(op: WriteOp): CatalogOp {
  switch (op.op) {
    case 'put':
      return { op: 'put', kind: op.kind, id: op.id, spec: op.spec, ...placementOf(op.placement), ...revisionOf(op.expectedRevision) };
    case 'patch':
      return { op: 'patch', kind: op.kind, id: op.id, spec: op.patch, ...placementOf(op.placement), ...revisionOf(op.expectedRevision) };
    case 'delete':
      return { op: 'delete', kind: op.kind, id: op.id, ...revisionOf(op.expectedRevision) };
    case 'dr':
      return { ...op };
  }
}

function placementOf(placement: string | null | undefined): { placement?: string } {
  return placement === undefined || placement === null ? {} : { placement };
}

function revisionOf(expectedRevision: number | undefined): { expectedRevision?: number } {
  return expectedRevision === undefined ? {} : { expectedRevision };
}

function toResourceView(r: ResourceOf<ResourceKind>): ResourceView {
  return {
    kind: r.kind,
    id: r.id,
    revision: r.revision,
    spec: r.spec as unknown as JsonObject,
    placement: r.placement ? formatPlacement(r.placement) : null,
    ...(r.forced ? { forced: { ...r.forced } } : {}),
    ...(r.dr ? { dr: r.dr as unknown as JsonObject } : {}),
  };
}
