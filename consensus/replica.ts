// The replica runtime: the one loop that drives the Raft core. It ticks the core on a Clock,
// persists each Ready through a LogStore before sending what depends on it, applies committed
// entries to a StateMachine, tracks proposals to a definite or "unknown" outcome, answers
// ReadIndex reads, and forwards requests that reach a follower to the leader. The daemon and
// the simulator run this same code with different Clock / LogStore / Transport implementations.
//
// This file is the runtime's face and its message dispatch; the parts live beside it, one concern
// each: replica-loop.ts (the Ready loop and persistence), replica-proposals.ts (proposals and
// forwarding), replica-reads.ts (ReadIndex reads), replica-refusals.ts (refusals), replica-leader.ts
// (waiting for a leader). The core is seen only through the RaftCore interface.
import { DEFAULT_RAFT_CONFIG, type RaftBootState, type RaftConfig, type RaftCore } from './api.js';
import { bootstrapState, emptyBootState } from './bootstrap.js';
import { decodeConfChange, encodeConfChange } from './confchange.js';
import type { ProposalOutcome, RefusalCode, WireMessage } from './ports.js';
import { Raft } from './raft.js';
import { REPLICA_LIMITS, type ProposeOptions, type ReadOutcome, type ReplicaConfig, type ReplicaDeps, type ReplicaHooks } from './replica-api.js';
import type { ReplicaContext, ReplicaSettings } from './replica-context.js';
import { LeaderWatch } from './replica-leader.js';
import { ReadyLoop } from './replica-loop.js';
import { Proposals } from './replica-proposals.js';
import { Reads } from './replica-reads.js';
import { Refusals, refusalFromCore } from './replica-refusals.js';
import { EntryType, type ConfChange, type ConfState, type Entry, type MemberId, type RaftStatus, type Role } from './types.js';

export { REPLICA_LIMITS, type ProposeOptions, type ReadOutcome, type ReplicaConfig, type ReplicaDeps, type ReplicaHooks } from './replica-api.js';

const DEFAULTS = {
  snapshotEveryEntries: 10_000,
  snapshotEveryBytes: 64 * 1024 * 1024,
  retainEntries: 1_000,
  retainBytes: 8 * 1024 * 1024,
};

export class Replica {
  readonly id: MemberId;
  private readonly core: RaftCore;
  private readonly deps: ReplicaDeps;
  private readonly hooks: ReplicaHooks;
  private readonly settings: ReplicaSettings;
  private readonly loop: ReadyLoop;
  private readonly refusals: Refusals;
  private readonly leaders: LeaderWatch;
  private readonly proposals: Proposals;
  private readonly reads: Reads;
  private stoppedFlag = false;
  private fatal: Error | null = null;
  /**
   * `<site>:<incarnation>:` with an incarnation drawn at each start: the leader remembers forwarded
   * ids across a follower's restart, so ids counted from 1 again would be taken for duplicates.
   */
  private readonly requestIdPrefix: string;
  private requestSeq = 0;
  private lastRole: Role = 'follower';
  private lastTerm = 0;
  private lastLeader: MemberId = '';
  private lastConfKey = '';
  private lastConf: ConfState | null = null;
  /** Clock time of the last append/heartbeat/snapshot from a leader, or null if never. */
  private lastLeaderContactMs: number | null = null;
  /** Ticks before the next feedRtts hands round trips to the core. */
  private ticksUntilRtts = 0;

  private constructor(config: ReplicaConfig, deps: ReplicaDeps, boot: RaftBootState) {
    this.id = config.id;
    this.deps = deps;
    this.hooks = deps.hooks ?? {};
    const raftConfig: RaftConfig = { ...DEFAULT_RAFT_CONFIG, ...config.raft, id: config.id, random: config.random };
    const electionTimeoutMs = raftConfig.electionTimeoutTicks * config.tickMs;
    this.settings = {
      tickMs: config.tickMs,
      proposalTimeoutMs: config.proposalTimeoutMs ?? Math.max(5 * electionTimeoutMs, 2000),
      snapshotEveryEntries: config.snapshotEveryEntries ?? DEFAULTS.snapshotEveryEntries,
      snapshotEveryBytes: config.snapshotEveryBytes ?? DEFAULTS.snapshotEveryBytes,
      retainEntries: config.retainEntries ?? DEFAULTS.retainEntries,
      retainBytes: config.retainBytes ?? DEFAULTS.retainBytes,
      maxPendingProposals: config.maxPendingProposals ?? REPLICA_LIMITS.pendingProposals,
      electionTimeoutTicks: raftConfig.electionTimeoutTicks,
      electionTimeoutMs,
    };
    this.core = deps.createCore?.(raftConfig, boot) ?? new Raft(raftConfig, boot);
    this.requestIdPrefix = `${config.id}:${drawIncarnation(config.random)}:`;
    const snapshotIndex = boot.snapshot?.meta.index ?? 0;
    const lastIndex = boot.entries.length > 0 ? boot.entries[boot.entries.length - 1].index : snapshotIndex;
    const ctx = this.context();
    this.loop = new ReadyLoop(ctx, this.loopEvents(), { applied: boot.applied, snapshotIndex, lastIndex });
    this.refusals = new Refusals(ctx);
    this.leaders = new LeaderWatch(ctx);
    this.proposals = new Proposals(ctx, this.refusals, this.leaders);
    this.reads = new Reads(ctx, this.leaders);
  }

  /** What the parts share (the core and the ports stay private to the runtime). */
  private context(): ReplicaContext {
    const replica = this;
    return {
      id: this.id,
      core: this.core,
      deps: this.deps,
      hooks: this.hooks,
      settings: this.settings,
      get stopped() {
        return replica.stoppedFlag;
      },
      get applied() {
        return replica.loop.applied;
      },
      kick: () => this.loop.kick(),
      nextRequestId: () => this.nextRequestId(),
      linkDown: (member) => this.linkDown(member),
      isLive: (member) => this.isLive(member),
      beforeTick: () => this.feedRtts(),
    };
  }

  /** Every election timeout, the voters' measured round trips go to the core, in ticks. */
  private feedRtts(): void {
    const rttMs = this.deps.rttMs;
    if (rttMs === undefined || this.ticksUntilRtts-- > 0) return;
    this.ticksUntilRtts = this.settings.electionTimeoutTicks - 1;
    const rtts = new Map<MemberId, number>();
    for (const voter of this.core.conf().voters) {
      const rtt = voter === this.id ? undefined : rttMs(voter);
      if (rtt !== undefined) rtts.set(voter, rtt / this.settings.tickMs);
    }
    this.core.setLinkRtts(rtts);
  }

  /**
   * Opens a replica from what its store holds: the state machine is rebuilt from the stored
   * records, the core from the hard state, snapshot and log. An empty store with `bootstrap`
   * set founds a cluster; an empty store without it waits to be added by a leader.
   */
  static async open(config: ReplicaConfig, deps: ReplicaDeps): Promise<Replica> {
    const meta = await deps.store.open();
    const storeIsEmpty = meta.lastIndex === 0 && meta.snapshot === null && meta.hardState.term === 0;
    let boot: RaftBootState;
    if (storeIsEmpty) {
      boot = config.bootstrap ? bootstrapState(config.bootstrap.voters, config.bootstrap.learners) : emptyBootState();
      if (boot.entries.length > 0) {
        await deps.store.write({ hardState: boot.hardState, entries: boot.entries });
      }
    } else {
      deps.stateMachine.load(await deps.store.records());
      const entries = meta.lastIndex >= meta.firstIndex ? await deps.store.entries(meta.firstIndex, meta.lastIndex + 1) : [];
      boot = { hardState: meta.hardState, snapshot: meta.snapshot, entries, applied: meta.appliedIndex };
    }
    return new Replica(config, deps, boot);
  }

  /** Starts ticking and taking messages. */
  start(): void {
    this.deps.transport.onMessage((from, message) => this.receive(from, message));
    this.deps.transport.onUnreachable((member) => {
      if (this.stoppedFlag) return;
      this.core.reportUnreachable(member);
      if (this.linkDown(member)) this.proposals.abandonForwardsTo(member, `the link to ${member} went down`);
      this.kick();
    });
    this.loop.start();
    this.notifyChanges();
    this.kick();
  }

  /** Stops ticking, lets an in-flight write finish, and settles every waiter. Does not close the store. */
  async stop(): Promise<void> {
    if (this.stoppedFlag) return;
    this.stoppedFlag = true;
    this.loop.stop();
    await this.loop.idle;
    this.settleEverything('replica stopped');
  }

  get isStopped(): boolean {
    return this.stoppedFlag;
  }

  get fatalError(): Error | null {
    return this.fatal;
  }

  get appliedIndex(): number {
    return this.loop.applied;
  }

  get electionTimeoutMs(): number {
    return this.settings.electionTimeoutMs;
  }

  status(): RaftStatus {
    return this.core.status();
  }

  /**
   * How stale a local read may be: 0 on a leader with a quorum; otherwise milliseconds since a
   * leader last reached this member (null if none ever did).
   */
  stalenessMs(): number | null {
    if (this.core.status().role === 'leader' && this.core.quorumActive()) return 0;
    return this.lastLeaderContactMs === null ? null : this.deps.clock.now() - this.lastLeaderContactMs;
  }

  conf(): ConfState {
    return this.core.conf();
  }

  /** Leader only: whether `member` answered within the election timeout. */
  isLive(member: MemberId): boolean {
    if (member === this.id) return true;
    return this.core.ticksSinceHeard(member) < this.settings.electionTimeoutTicks;
  }

  ticksSinceHeard(member: MemberId): number {
    return this.core.ticksSinceHeard(member);
  }

  private linkDown(member: MemberId): boolean {
    return member !== this.id && this.deps.transport.linkDown?.(member) === true;
  }

  private kick(): void {
    this.loop.kick();
  }

  private nextRequestId(): string {
    this.requestSeq += 1;
    return `${this.requestIdPrefix}${this.requestSeq}`;
  }

  // ------------------------------------------------------------------ requests

  /** Proposes a state machine command; resolves once it is applied here, refused, or unknown. */
  propose(data: Uint8Array, options: ProposeOptions = {}): Promise<ProposalOutcome> {
    return this.proposals.submit(data, false, options);
  }

  /** Proposes one membership step; resolves once it is committed and applied here. */
  proposeConfChange(change: ConfChange, options: ProposeOptions = {}): Promise<ProposalOutcome> {
    return this.proposals.submit(encodeConfChange(change), true, options);
  }

  /** Linearizable read barrier: resolves once this member has applied everything committed before the call. */
  readIndex(timeoutMs = this.settings.proposalTimeoutMs): Promise<ReadOutcome> {
    return this.reads.readIndex(timeoutMs);
  }

  transferLeader(to: MemberId): { ok: true } | { ok: false; code: RefusalCode; message: string; leader?: MemberId } {
    const r = this.core.transferLeader(to);
    if (r.ok) {
      this.kick();
      return r;
    }
    if (r.reason === 'unknownMember') return { ok: false, code: 'INVALID', message: `${to} is not a voter of this cluster` };
    const o = refusalFromCore(r.reason, r.leader);
    return o.status === 'refused' ? { ok: false, code: o.code, message: o.message, leader: o.leader } : { ok: false, code: 'BUSY', message: 'refused' };
  }

  // ------------------------------------------------------------------ messages

  private receive(from: MemberId, message: WireMessage): void {
    if (this.stoppedFlag) return;
    try {
      switch (message.kind) {
        case 'raft':
          if (message.msg.type === 'append' || message.msg.type === 'heartbeat' || message.msg.type === 'snapshot') {
            this.lastLeaderContactMs = this.deps.clock.now();
          }
          this.core.step(message.msg);
          this.kick();
          return;
        case 'propose':
          this.proposals.serveForwarded(from, message);
          return;
        case 'proposeResult':
          this.proposals.onForwardedResult(from, message.id, message.outcome);
          return;
        case 'readIndex':
          void this.reads.serveForwarded(from, message.id);
          return;
        case 'readIndexResult':
          this.reads.onForwardedResult(message);
          return;
      }
    } catch (err) {
      this.stopOnFatal(err);
    }
  }

  // ------------------------------------------------------------------ what the loop reports

  private loopEvents(): ConstructorParameters<typeof ReadyLoop>[1] {
    return {
      snapshotInstalled: (index) => this.proposals.onSnapshotInstalled(index),
      entryApplied: (entry, result) => this.entryApplied(entry, result),
      readStates: (rd) => this.reads.onReadStates(rd),
      appliedAdvanced: (applied) => this.reads.onApplied(applied),
      changed: () => this.notifyChanges(),
      fatal: (err) => this.stopOnFatal(err),
    };
  }

  private entryApplied(entry: Entry, result: unknown): void {
    if (entry.type === EntryType.ConfChange) {
      try {
        this.hooks.onConfChangeApplied?.(decodeConfChange(entry.data), entry, this.core.conf());
      } catch (err) {
        this.deps.logger.warn({ index: entry.index, err: (err as Error).message }, 'undecodable membership entry');
      }
    } else {
      this.hooks.onApplied?.(entry, result);
    }
    this.proposals.onApplied(entry, result);
  }

  private notifyChanges(): void {
    const st = this.core.summary();
    if (st.role !== this.lastRole || st.term !== this.lastTerm || st.leader !== this.lastLeader) {
      this.refusals.onStatusChange({ role: this.lastRole, term: this.lastTerm, leader: this.lastLeader }, st);
      if (this.lastRole === 'leader' && st.role !== 'leader') this.proposals.onSteppedDown();
      if (this.lastLeader !== '' && st.leader !== this.lastLeader) this.proposals.abandonForwardsTo(this.lastLeader, `the leadership moved from ${this.lastLeader}`);
      this.lastRole = st.role;
      this.lastTerm = st.term;
      this.lastLeader = st.leader;
      this.hooks.onRoleChange?.(st.role, st.term, st.leader);
      if (st.leader) this.leaders.wakeAll();
    }
    if (st.conf === this.lastConf) return;
    this.lastConf = st.conf;
    const confKey = `${st.conf.voters.join(',')}|${st.conf.learners.join(',')}`;
    if (confKey !== this.lastConfKey) {
      this.lastConfKey = confKey;
      this.hooks.onConfChange?.(st.conf);
    }
  }

  private stopOnFatal(err: unknown): void {
    const error = err instanceof Error ? err : new Error(String(err));
    if (this.fatal) return;
    this.fatal = error;
    this.deps.logger.error({ err: error.message, stack: error.stack }, `replica ${this.id} stopped: ${error.message}`);
    this.stoppedFlag = true;
    this.loop.stop();
    this.settleEverything(`replica stopped: ${error.message}`);
    this.hooks.onFatal?.(error);
  }

  private settleEverything(reason: string): void {
    this.proposals.settleAll(reason);
    this.reads.settleAll(reason);
    this.leaders.wakeAll();
  }
}

/** 32 random bits from the injected PRNG, short in base 36. */
function drawIncarnation(random: () => number): string {
  return Math.floor(random() * 2 ** 32).toString(36);
}
