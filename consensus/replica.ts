// The replica runtime: the one loop that drives the Raft core. It ticks the core on a Clock,
// persists each Ready through a LogStore before sending what depends on it, applies committed
// entries to a StateMachine, tracks proposals to a definite or "unknown" outcome, answers
// ReadIndex reads, and forwards requests that reach a follower to the leader. The daemon and
// the simulator run this same code with different Clock / LogStore / Transport implementations.
import { DEFAULT_RAFT_CONFIG, type RaftBootState, type RaftConfig, type RefusalReason } from './api.js';
import { bootstrapState, emptyBootState } from './bootstrap.js';
import { decodeConfChange, encodeConfChange } from './confchange.js';
import { AppliedWaiters, RecentRequests, Waiter } from './pending.js';
import type {
  Clock,
  Logger,
  LogStore,
  ProposalOutcome,
  RecordOp,
  RefusalCode,
  StateMachine,
  StoreBatch,
  Transport,
  WireMessage,
} from './ports.js';
import { Raft } from './raft.js';
import {
  EntryType,
  type ConfChange,
  type ConfState,
  type Entry,
  type MemberId,
  type Ready,
  type RaftStatus,
  type Role,
} from './types.js';

export interface ReplicaConfig {
  id: MemberId;
  /** Real or virtual milliseconds per Raft tick. */
  tickMs: number;
  /** Core settings; unset fields take DEFAULT_RAFT_CONFIG. */
  raft?: Partial<Omit<RaftConfig, 'id' | 'random'>>;
  /** Seeded PRNG handed to the core (election jitter). */
  random: () => number;
  /** A write not committed within this time is reported `unknown`. */
  proposalTimeoutMs?: number;
  /** Take a snapshot and compact the log every this many applied entries. */
  snapshotEveryEntries?: number;
  /** Entries kept below a snapshot so slightly lagging followers need no snapshot. */
  retainEntries?: number;
  /** Bound on proposals waiting for commit on this member (leader) and on forwarded ones. */
  maxPendingProposals?: number;
  /** Only when the store is empty: found a new cluster with these members. */
  bootstrap?: { voters: MemberId[]; learners?: MemberId[] };
}

export interface ReplicaHooks {
  /** A Normal entry was applied (after the batch holding its effects was made durable). */
  onApplied?(entry: Entry, result: unknown): void;
  /** A ConfChange entry was committed and applied (`entry` carries its index and term). */
  onConfChangeApplied?(change: ConfChange, entry: Entry, conf: ConfState): void;
  /** Role, term or known leader changed. */
  onRoleChange?(role: Role, term: number, leader: MemberId): void;
  /** Membership in force changed (ConfChange appended, truncated, or from a snapshot). */
  onConfChange?(conf: ConfState): void;
  /** Duration of one store write (the fsync of a Ready). */
  onPersist?(durationMs: number, entries: number): void;
  /** The replica stopped on a broken invariant or a failed disk write. */
  onFatal?(error: Error): void;
}

export interface ReplicaDeps {
  clock: Clock;
  store: LogStore;
  transport: Transport;
  stateMachine: StateMachine;
  logger: Logger;
  hooks?: ReplicaHooks;
}

export interface ProposeOptions {
  /** Members that must have answered the leader within the election timeout. */
  requireLive?: MemberId[];
  timeoutMs?: number;
}

export type ReadOutcome =
  | { ok: true; index: number }
  | { ok: false; code: RefusalCode | 'UNKNOWN'; message: string; leader?: MemberId };

const DEFAULTS = {
  snapshotEveryEntries: 10_000,
  retainEntries: 1_000,
  maxPendingProposals: 10_000,
  /** Forwarded ids remembered to drop duplicates the network made. */
  recentForwardIds: 16_384,
};

interface PendingProposal {
  term: number;
  waiter: Waiter<ProposalOutcome>;
}

interface PendingRead {
  /** Set when the read was forwarded to us by a follower. */
  remote?: { member: MemberId; id: string };
  waiter?: Waiter<ReadOutcome>;
}

export class Replica {
  readonly id: MemberId;
  private readonly core: Raft;
  private readonly cfg: Required<Omit<ReplicaConfig, 'bootstrap' | 'raft'>> & { electionTimeoutTicks: number };
  private readonly deps: ReplicaDeps;
  private readonly hooks: ReplicaHooks;
  private tickTimer: { cancel(): void } | null = null;
  private driving = false;
  private kickQueued = false;
  private stopped = false;
  private fatal: Error | null = null;
  private applied: number;
  private snapshotIndex: number;
  private readonly pending = new Map<number, PendingProposal>();
  private readonly forwarded = new Map<string, { waiter: Waiter<ProposalOutcome>; leader: MemberId; retried: boolean; msg: WireMessage }>();
  private readonly forwardedReads = new Map<string, Waiter<ReadOutcome>>();
  private readonly reads = new Map<string, PendingRead>();
  private readonly appliedWaiters = new AppliedWaiters();
  private readonly leaderWaiters = new Set<() => void>();
  private readonly recentForwards = new RecentRequests<ProposalOutcome>(DEFAULTS.recentForwardIds);
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
  /** Clock time at which this member stopped leading for lack of a quorum (CheckQuorum), or null. */
  private lostQuorumAtMs: number | null = null;
  /** Clock time of the last append/heartbeat/snapshot from a leader, or null if never. */
  private lastLeaderContactMs: number | null = null;
  private driveDone: Promise<void> = Promise.resolve();

  private constructor(config: ReplicaConfig, deps: ReplicaDeps, boot: RaftBootState) {
    this.id = config.id;
    this.deps = deps;
    this.hooks = deps.hooks ?? {};
    const raftConfig: RaftConfig = { ...DEFAULT_RAFT_CONFIG, ...config.raft, id: config.id, random: config.random };
    const electionMs = raftConfig.electionTimeoutTicks * config.tickMs;
    this.cfg = {
      id: config.id,
      tickMs: config.tickMs,
      random: config.random,
      proposalTimeoutMs: config.proposalTimeoutMs ?? Math.max(5 * electionMs, 2000),
      snapshotEveryEntries: config.snapshotEveryEntries ?? DEFAULTS.snapshotEveryEntries,
      retainEntries: config.retainEntries ?? DEFAULTS.retainEntries,
      maxPendingProposals: config.maxPendingProposals ?? DEFAULTS.maxPendingProposals,
      electionTimeoutTicks: raftConfig.electionTimeoutTicks,
    };
    this.core = new Raft(raftConfig, boot);
    this.requestIdPrefix = `${config.id}:${drawIncarnation(config.random)}:`;
    this.applied = boot.applied;
    this.snapshotIndex = boot.snapshot?.meta.index ?? 0;
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
      if (this.stopped) return;
      this.core.reportUnreachable(member);
      if (this.linkDown(member)) this.abandonForwardsTo(member, `the link to ${member} went down`);
      this.kick();
    });
    this.scheduleTick();
    this.notifyChanges();
    this.kick();
  }

  /** Stops ticking, lets an in-flight write finish, and settles every waiter. Does not close the store. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.tickTimer?.cancel();
    await this.driveDone;
    this.settleEverything('replica stopped');
  }

  get isStopped(): boolean {
    return this.stopped;
  }

  get fatalError(): Error | null {
    return this.fatal;
  }

  get appliedIndex(): number {
    return this.applied;
  }

  get electionTimeoutMs(): number {
    return this.cfg.electionTimeoutTicks * this.cfg.tickMs;
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
    return this.core.ticksSinceHeard(member) < this.cfg.electionTimeoutTicks;
  }

  ticksSinceHeard(member: MemberId): number {
    return this.core.ticksSinceHeard(member);
  }

  // ------------------------------------------------------------------ writes

  /** Proposes a state machine command; resolves once it is applied here, refused, or unknown. */
  async propose(data: Uint8Array, options: ProposeOptions = {}): Promise<ProposalOutcome> {
    return this.submit(data, false, options);
  }

  /** Proposes one membership step; resolves once it is committed and applied here. */
  async proposeConfChange(change: ConfChange, options: ProposeOptions = {}): Promise<ProposalOutcome> {
    return this.submit(encodeConfChange(change), true, options);
  }

  private async submit(data: Uint8Array, confChange: boolean, options: ProposeOptions): Promise<ProposalOutcome> {
    const requireLive = options.requireLive ?? [];
    const timeoutMs = options.timeoutMs ?? this.cfg.proposalTimeoutMs;
    if (this.stopped) return refused('NO_LEADER', `site ${this.id} is stopping; retry on another site`);
    if (this.core.status().role === 'leader') return this.proposeAsLeader(data, confChange, requireLive, timeoutMs);
    const quorumLost = this.recentlyLostQuorum();
    if (quorumLost) return quorumLost;
    const leader = await this.reachableLeader();
    if (!leader) {
      return refused(
        'NO_LEADER',
        `no leader is known to site ${this.id} within the election timeout (${this.electionTimeoutMs} ms): ` +
          'a quorum of voters may be unreachable; the write was not applied',
      );
    }
    if (leader === this.id) return this.proposeAsLeader(data, confChange, requireLive, timeoutMs);
    return this.forward(leader, data, confChange, requireLive, timeoutMs);
  }

  private proposeAsLeader(
    data: Uint8Array,
    confChange: boolean,
    requireLive: MemberId[],
    timeoutMs: number,
  ): Promise<ProposalOutcome> {
    if (!this.core.quorumActive()) {
      return Promise.resolve(
        refused('NO_QUORUM', `leader ${this.id} has not heard from a quorum of voters within the election timeout; the write was not applied`, this.id),
      );
    }
    const unreachableVoters = this.votersKnownDown();
    if (unreachableVoters.length > 0 && !this.quorumReachable(unreachableVoters)) {
      return Promise.resolve(
        refused('NO_QUORUM', `leader ${this.id} cannot reach a quorum of voters (${unreachableVoters.join(', ')} unreachable); the write was not applied`, this.id),
      );
    }
    for (const member of requireLive) {
      if (!this.isLive(member) || this.linkDown(member)) {
        return Promise.resolve({
          status: 'refused',
          code: 'PEER_UNREACHABLE',
          message: `site ${member} has not answered the leader within the election timeout (${this.electionTimeoutMs} ms); the write was not applied on any site`,
          leader: this.id,
          member,
        });
      }
    }
    if (this.pending.size >= this.cfg.maxPendingProposals) {
      return Promise.resolve(refused('BUSY', `leader ${this.id} has ${this.pending.size} writes in flight; retry shortly`, this.id));
    }
    const result = confChange ? this.core.proposeConfChange(decodeConfChange(data)) : this.core.propose(data);
    if (!result.ok) return Promise.resolve(refusalFromCore(result.reason, result.leader, result.detail));
    const waiter = new Waiter<ProposalOutcome>();
    waiter.armTimer(
      this.deps.clock.setTimer(timeoutMs, () => {
        this.pending.delete(result.index);
        waiter.settle({
          status: 'unknown',
          message: `the write was proposed at index ${result.index} but not committed within ${timeoutMs} ms; it may still commit: query it again later`,
        });
      }),
    );
    this.pending.set(result.index, { term: result.term, waiter });
    this.kick();
    return waiter.promise;
  }

  private linkDown(member: MemberId): boolean {
    return member !== this.id && this.deps.transport.linkDown?.(member) === true;
  }

  private votersKnownDown(): MemberId[] {
    if (!this.deps.transport.linkDown) return [];
    return this.core.conf().voters.filter((v) => this.linkDown(v));
  }

  private quorumReachable(down: MemberId[]): boolean {
    const voters = this.core.conf().voters;
    return voters.length - down.length >= Math.floor(voters.length / 2) + 1;
  }

  /**
   * The leader this member knows, unless the transport knows it is unreachable: then wait up to an
   * election timeout for a reachable one, so a write after the leader died is refused (or
   * forwarded to its successor) at once instead of timing out.
   */
  private async reachableLeader(): Promise<MemberId> {
    let leader = await this.knownLeader();
    const deadline = this.deps.clock.now() + this.electionTimeoutMs;
    while (leader && this.linkDown(leader) && this.deps.clock.now() < deadline && !this.stopped) {
      await new Promise<void>((resolve) => {
        const wake = (): void => {
          this.leaderWaiters.delete(wake);
          timer.cancel();
          resolve();
        };
        const timer = this.deps.clock.setTimer(Math.min(this.cfg.tickMs, deadline - this.deps.clock.now()), wake);
        this.leaderWaiters.add(wake);
      });
      leader = this.core.status().leader;
    }
    return leader && this.linkDown(leader) ? '' : leader;
  }

  /**
   * The core steps down the moment it has not heard from a quorum for an election timeout, so a
   * leader never answers NO_QUORUM itself. For a while after such a step-down, this member (which
   * was the leader) knows exactly why there is no leader, and says so at once.
   */
  private recentlyLostQuorum(): ProposalOutcome | null {
    if (this.lostQuorumAtMs === null || this.core.status().leader !== '') return null;
    const sinceMs = this.deps.clock.now() - this.lostQuorumAtMs;
    if (sinceMs > 2 * this.electionTimeoutMs) return null;
    return refused(
      'NO_QUORUM',
      `site ${this.id} was the leader until ${Math.round(sinceMs)} ms ago and lost contact with a quorum of voters; the write was not applied`,
    );
  }

  private forward(
    leader: MemberId,
    data: Uint8Array,
    confChange: boolean,
    requireLive: MemberId[],
    timeoutMs: number,
  ): Promise<ProposalOutcome> {
    if (this.forwarded.size >= this.cfg.maxPendingProposals) {
      return Promise.resolve(refused('BUSY', `site ${this.id} has ${this.forwarded.size} forwarded writes in flight; retry shortly`));
    }
    const id = this.nextRequestId();
    const msg: WireMessage = { kind: 'propose', id, data, requireLive, ...(confChange ? { confChange: true } : {}) };
    const waiter = new Waiter<ProposalOutcome>();
    // A little longer than the leader's own timeout, so the leader's verdict usually arrives first.
    const waitMs = timeoutMs + this.electionTimeoutMs;
    waiter.armTimer(
      this.deps.clock.setTimer(waitMs, () => {
        this.forwarded.delete(id);
        waiter.settle({
          status: 'unknown',
          message: `the write was forwarded to leader ${leader} but no answer came within ${waitMs} ms; it may or may not have been applied: query it again later`,
        });
      }),
    );
    this.forwarded.set(id, { waiter, leader, retried: false, msg });
    this.deps.transport.send(leader, msg);
    return waiter.promise;
  }

  // ------------------------------------------------------------------ reads

  /** Linearizable read barrier: resolves once this member has applied everything committed before the call. */
  async readIndex(timeoutMs = this.cfg.proposalTimeoutMs): Promise<ReadOutcome> {
    if (this.stopped) return { ok: false, code: 'NO_LEADER', message: `site ${this.id} is stopping` };
    let outcome: ReadOutcome;
    if (this.core.status().role === 'leader') {
      outcome = await this.readAsLeader(undefined, timeoutMs);
    } else {
      const leader = await this.knownLeader();
      if (!leader) return { ok: false, code: 'NO_LEADER', message: `no leader is known to site ${this.id} within the election timeout` };
      outcome = leader === this.id ? await this.readAsLeader(undefined, timeoutMs) : await this.forwardRead(leader, timeoutMs);
    }
    if (!outcome.ok) return outcome;
    await this.waitApplied(outcome.index, timeoutMs);
    if (this.applied < outcome.index) {
      return { ok: false, code: 'UNKNOWN', message: `site ${this.id} did not apply up to ${outcome.index} within ${timeoutMs} ms` };
    }
    return outcome;
  }

  private readAsLeader(remote: { member: MemberId; id: string } | undefined, timeoutMs: number): Promise<ReadOutcome> {
    if (!this.core.quorumActive()) {
      return Promise.resolve({ ok: false, code: 'NO_QUORUM', message: `leader ${this.id} has not heard from a quorum of voters within the election timeout` });
    }
    const ctx = remote ? `${remote.member}/${remote.id}` : this.nextRequestId();
    const started = this.core.readIndex(ctx);
    if (!started.ok) {
      const r = refusalFromCore(started.reason, started.leader);
      return Promise.resolve(r.status === 'refused' ? { ok: false, code: r.code, message: r.message, leader: r.leader } : { ok: false, code: 'UNKNOWN', message: 'read refused' });
    }
    const waiter = new Waiter<ReadOutcome>();
    waiter.armTimer(
      this.deps.clock.setTimer(timeoutMs, () => {
        this.reads.delete(ctx);
        waiter.settle({ ok: false, code: 'NO_QUORUM', message: `leader ${this.id} could not confirm its leadership with a quorum within ${timeoutMs} ms` });
      }),
    );
    this.reads.set(ctx, { remote, waiter });
    this.kick();
    return waiter.promise;
  }

  private forwardRead(leader: MemberId, timeoutMs: number): Promise<ReadOutcome> {
    const id = this.nextRequestId();
    const waiter = new Waiter<ReadOutcome>();
    waiter.armTimer(
      this.deps.clock.setTimer(timeoutMs, () => {
        this.forwardedReads.delete(id);
        waiter.settle({ ok: false, code: 'UNKNOWN', message: `leader ${leader} did not answer a read barrier within ${timeoutMs} ms` });
      }),
    );
    this.forwardedReads.set(id, waiter);
    this.deps.transport.send(leader, { kind: 'readIndex', id });
    return waiter.promise;
  }

  private waitApplied(index: number, timeoutMs: number): Promise<void> {
    if (this.applied >= index) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = this.deps.clock.setTimer(timeoutMs, resolve);
      this.appliedWaiters.add(index, () => {
        timer.cancel();
        resolve();
      });
    });
  }

  // ------------------------------------------------------------------ leadership

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

  /** The leader this member knows, waiting up to one election timeout for one to be known. */
  private knownLeader(): Promise<MemberId> {
    const now = this.core.status().leader;
    if (now) return Promise.resolve(now);
    return new Promise((resolve) => {
      const wake = (): void => {
        this.leaderWaiters.delete(wake);
        timer.cancel();
        resolve(this.core.status().leader);
      };
      const timer = this.deps.clock.setTimer(this.electionTimeoutMs, wake);
      this.leaderWaiters.add(wake);
    });
  }

  // ------------------------------------------------------------------ messages

  private receive(from: MemberId, message: WireMessage): void {
    if (this.stopped) return;
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
          this.serveForwardedProposal(from, message);
          return;
        case 'proposeResult':
          this.settleForwarded(message.id, message.outcome);
          return;
        case 'readIndex':
          void this.serveForwardedRead(from, message.id);
          return;
        case 'readIndexResult': {
          const waiter = this.forwardedReads.get(message.id);
          if (!waiter) return;
          this.forwardedReads.delete(message.id);
          waiter.settle(
            message.ok
              ? { ok: true, index: message.index }
              : { ok: false, code: message.code ?? 'NO_LEADER', message: message.message ?? 'the leader refused the read' },
          );
          return;
        }
      }
    } catch (err) {
      this.stopOnFatal(err);
    }
  }

  private serveForwardedProposal(from: MemberId, message: Extract<WireMessage, { kind: 'propose' }>): void {
    const key = `${from}/${message.id}`;
    const earlier = this.recentForwards.begin(key);
    const reply = (outcome: ProposalOutcome): void => {
      this.recentForwards.finish(key, outcome);
      this.deps.transport.send(from, { kind: 'proposeResult', id: message.id, outcome });
    };
    if (earlier !== undefined) {
      // A copy of a request already served: proposing it again could apply it twice. Answer it
      // the same way now, or (still pending) let the first copy's answer reach the same waiter.
      if (earlier !== null) reply(earlier);
      return;
    }
    if (this.core.status().role !== 'leader') {
      const quorumLost = this.recentlyLostQuorum();
      if (quorumLost) {
        reply(quorumLost);
        return;
      }
      const leader = this.core.status().leader;
      reply(refused('NO_LEADER', `site ${this.id} is no longer the leader${leader ? ` (leader is ${leader})` : ''}; the write was not applied`, leader));
      return;
    }
    let data = message.data;
    if (message.confChange) {
      try {
        data = encodeConfChange(decodeConfChange(message.data));
      } catch (err) {
        reply(refused('INVALID', `malformed membership change from ${from}: ${(err as Error).message}`));
        return;
      }
    }
    void this.proposeAsLeader(data, message.confChange === true, message.requireLive, this.cfg.proposalTimeoutMs).then(reply);
  }

  private settleForwarded(id: string, outcome: ProposalOutcome): void {
    const entry = this.forwarded.get(id);
    if (!entry) return;
    // The leader we asked had just lost leadership and named another: one more hop is safe,
    // because a refusal is definite (nothing was proposed).
    if (outcome.status === 'refused' && outcome.code === 'NO_LEADER' && outcome.leader && outcome.leader !== entry.leader && !entry.retried && outcome.leader !== this.id) {
      entry.retried = true;
      entry.leader = outcome.leader;
      this.deps.transport.send(outcome.leader, entry.msg);
      return;
    }
    this.forwarded.delete(id);
    entry.waiter.settle(outcome);
  }

  private async serveForwardedRead(from: MemberId, id: string): Promise<void> {
    if (this.core.status().role !== 'leader') {
      this.deps.transport.send(from, { kind: 'readIndexResult', id, ok: false, index: 0, code: 'NO_LEADER', message: `site ${this.id} is not the leader` });
      return;
    }
    const outcome = await this.readAsLeader({ member: from, id }, this.cfg.proposalTimeoutMs);
    // A success is sent from handleReadStates; only a refusal is answered here.
    if (!outcome.ok) {
      this.deps.transport.send(from, { kind: 'readIndexResult', id, ok: false, index: 0, code: outcome.code === 'UNKNOWN' ? 'NO_QUORUM' : outcome.code, message: outcome.message });
    }
  }

  // ------------------------------------------------------------------ the loop

  private scheduleTick(): void {
    this.tickTimer = this.deps.clock.setTimer(this.cfg.tickMs, () => {
      if (this.stopped) return;
      try {
        this.core.tick();
      } catch (err) {
        this.stopOnFatal(err);
        return;
      }
      this.notifyChanges();
      this.kick();
      this.scheduleTick();
    });
  }

  /** Processes Readies soon; steps made in the same turn share one Ready (and one fsync). */
  private kick(): void {
    if (this.kickQueued || this.driving || this.stopped) return;
    this.kickQueued = true;
    queueMicrotask(() => {
      this.kickQueued = false;
      if (this.driving || this.stopped) return;
      this.driving = true;
      this.driveDone = this.drive();
    });
  }

  private async drive(): Promise<void> {
    try {
      while (!this.stopped && this.core.hasReady()) {
        await this.handleReady(this.core.ready());
      }
    } catch (err) {
      this.stopOnFatal(err);
    } finally {
      this.driving = false;
    }
  }

  private async handleReady(rd: Ready): Promise<void> {
    const { transport, store, clock, stateMachine } = this.deps;
    for (const msg of rd.messagesEarly) transport.send(msg.to, { kind: 'raft', msg });

    const batch: StoreBatch = {};
    if (rd.hardState) batch.hardState = rd.hardState;
    if (rd.entries.length > 0) batch.entries = rd.entries;

    let appliedIndex = this.applied;
    let replaceAll = false;
    const ops: RecordOp[] = [];
    if (rd.snapshot) {
      batch.snapshot = rd.snapshot;
      for (const [key, value] of stateMachine.restore(rd.snapshot.data)) ops.push({ type: 'put', key, value });
      replaceAll = true;
      appliedIndex = rd.snapshot.meta.index;
      this.snapshotIndex = appliedIndex;
      this.abandonProposalsUpTo(appliedIndex);
    }
    const applied: Array<{ entry: Entry; result: unknown }> = [];
    for (const entry of rd.committedEntries) {
      if (entry.index <= appliedIndex) continue;
      if (entry.type === EntryType.Normal) {
        const r = stateMachine.apply(entry);
        for (const op of r.ops) ops.push(op);
        applied.push({ entry, result: r.result });
      } else {
        applied.push({ entry, result: null });
      }
      appliedIndex = entry.index;
    }
    if (appliedIndex > this.applied || replaceAll) batch.applied = { index: appliedIndex, replaceAll, ops };

    if (batch.hardState || batch.entries || batch.snapshot || batch.applied) {
      // Only term, vote, entries and a received snapshot need an fsync before anything is sent;
      // the commit index and applied state can be rebuilt from the synced log after a crash.
      if (!rd.mustSync) batch.sync = false;
      const started = clock.now();
      await store.write(batch);
      if (rd.mustSync) this.hooks.onPersist?.(clock.now() - started, rd.entries.length);
    }
    if (this.stopped) return;
    for (const msg of rd.messages) transport.send(msg.to, { kind: 'raft', msg });

    this.applied = appliedIndex;
    for (const { entry, result } of applied) this.finishApplied(entry, result);
    this.handleReadStates(rd);
    this.core.advance(rd);
    this.appliedWaiters.release(this.applied);
    this.notifyChanges();
    await this.compactIfDue();
  }

  private finishApplied(entry: Entry, result: unknown): void {
    if (entry.type === EntryType.ConfChange) {
      try {
        this.hooks.onConfChangeApplied?.(decodeConfChange(entry.data), entry, this.core.conf());
      } catch (err) {
        this.deps.logger.warn({ index: entry.index, err: (err as Error).message }, 'undecodable membership entry');
      }
    } else {
      this.hooks.onApplied?.(entry, result);
    }
    const waiting = this.pending.get(entry.index);
    if (!waiting) return;
    this.pending.delete(entry.index);
    if (waiting.term === entry.term) {
      waiting.waiter.settle({ status: 'committed', index: entry.index, result });
    } else {
      // Another leader's entry took this index: ours was discarded and can never commit.
      waiting.waiter.settle(refused('NO_LEADER', `leadership changed before the write committed; it was not applied (index ${entry.index} holds another entry)`));
    }
  }

  private handleReadStates(rd: Ready): void {
    for (const rs of rd.readStates) {
      const read = this.reads.get(rs.ctx);
      if (!read) continue;
      this.reads.delete(rs.ctx);
      read.waiter?.settle({ ok: true, index: rs.index });
      if (read.remote) this.deps.transport.send(read.remote.member, { kind: 'readIndexResult', id: read.remote.id, ok: true, index: rs.index });
    }
  }

  /** Proposals whose index a received snapshot covers: we cannot tell whether ours is the entry there. */
  private abandonProposalsUpTo(index: number): void {
    for (const [i, p] of this.pending) {
      if (i > index) continue;
      this.pending.delete(i);
      p.waiter.settle({ status: 'unknown', message: `a snapshot replaced the log up to ${index} before the write's outcome was seen here; query it again` });
    }
  }

  private async compactIfDue(): Promise<void> {
    if (this.applied - this.snapshotIndex < this.cfg.snapshotEveryEntries) return;
    const index = this.applied;
    const data = this.deps.stateMachine.snapshot();
    const meta = this.core.compact(index, data, this.cfg.retainEntries);
    this.snapshotIndex = index;
    const compactTo = Math.max(1, index - this.cfg.retainEntries + 1);
    await this.deps.store.write({ snapshot: { meta, data }, compactTo, sync: false });
  }

  private notifyChanges(): void {
    const st = this.core.status();
    if (st.role !== this.lastRole || st.term !== this.lastTerm || st.leader !== this.lastLeader) {
      // Leader -> follower within the same term, with no leader known: a CheckQuorum step-down.
      if (this.lastRole === 'leader' && st.role !== 'leader' && st.term === this.lastTerm && st.leader === '') {
        this.lostQuorumAtMs = this.deps.clock.now();
      }
      if (this.lastRole === 'leader' && st.role !== 'leader') this.settlePendingOnStepDown();
      if (st.leader !== '') this.lostQuorumAtMs = null;
      if (this.lastLeader !== '' && st.leader !== this.lastLeader) this.abandonForwardsTo(this.lastLeader, `the leadership moved from ${this.lastLeader}`);
      this.lastRole = st.role;
      this.lastTerm = st.term;
      this.lastLeader = st.leader;
      this.hooks.onRoleChange?.(st.role, st.term, st.leader);
      if (st.leader) for (const wake of [...this.leaderWaiters]) wake();
    }
    if (st.conf === this.lastConf) return;
    this.lastConf = st.conf;
    const confKey = `${st.conf.voters.join(',')}|${st.conf.learners.join(',')}`;
    if (confKey !== this.lastConfKey) {
      this.lastConfKey = confKey;
      this.hooks.onConfChange?.(st.conf);
    }
  }

  /**
   * Writes forwarded to a leader that is gone will get no answer: say `unknown` now (the write may
   * have been proposed before it went) instead of at the timeout. A retry with the same client id
   * and sequence is still applied at most once.
   */
  private abandonForwardsTo(leader: MemberId, why: string): void {
    for (const [id, f] of this.forwarded) {
      if (f.leader !== leader) continue;
      this.forwarded.delete(id);
      f.waiter.settle({ status: 'unknown', message: `${why} before it answered; the write may or may not have been applied: query it again` });
    }
  }

  /**
   * A deposed leader cannot tell whether its uncommitted entries will survive under the next leader:
   * answer `unknown` now rather than at each proposal's timeout.
   */
  private settlePendingOnStepDown(): void {
    for (const [index, p] of this.pending) {
      p.waiter.settle({
        status: 'unknown',
        message: `site ${this.id} lost the leadership before the write at index ${index} committed; it may still commit under the next leader: query it again`,
      });
    }
    this.pending.clear();
  }

  private stopOnFatal(err: unknown): void {
    const error = err instanceof Error ? err : new Error(String(err));
    if (this.fatal) return;
    this.fatal = error;
    this.deps.logger.error({ err: error.message, stack: error.stack }, `replica ${this.id} stopped: ${error.message}`);
    this.stopped = true;
    this.tickTimer?.cancel();
    this.settleEverything(`replica stopped: ${error.message}`);
    this.hooks.onFatal?.(error);
  }

  private settleEverything(reason: string): void {
    for (const p of this.pending.values()) p.waiter.settle({ status: 'unknown', message: `${reason}; the write's outcome is unknown: query it again` });
    this.pending.clear();
    for (const f of this.forwarded.values()) f.waiter.settle({ status: 'unknown', message: `${reason}; the write's outcome is unknown: query it again` });
    this.forwarded.clear();
    for (const r of this.reads.values()) r.waiter?.settle({ ok: false, code: 'NO_LEADER', message: reason });
    this.reads.clear();
    for (const w of this.forwardedReads.values()) w.settle({ ok: false, code: 'NO_LEADER', message: reason });
    this.forwardedReads.clear();
    this.appliedWaiters.release(Number.MAX_SAFE_INTEGER);
    for (const wake of [...this.leaderWaiters]) wake();
  }

  private nextRequestId(): string {
    this.requestSeq += 1;
    return `${this.requestIdPrefix}${this.requestSeq}`;
  }
}

/** 32 random bits from the injected PRNG, short in base 36. */
function drawIncarnation(random: () => number): string {
  return Math.floor(random() * 2 ** 32).toString(36);
}

function refused(code: RefusalCode, message: string, leader?: MemberId): ProposalOutcome {
  return leader ? { status: 'refused', code, message, leader } : { status: 'refused', code, message };
}

function refusalFromCore(reason: RefusalReason, leader: MemberId, detail?: string): ProposalOutcome {
  const suffix = detail ? ` (${detail})` : '';
  switch (reason) {
    case 'notLeader':
      return refused('NO_LEADER', `this site is not the leader${leader ? `; the leader is ${leader}` : ''}; the write was not applied${suffix}`, leader);
    case 'noQuorum':
      return refused('NO_QUORUM', `the leader has not heard from a quorum of voters; the write was not applied${suffix}`, leader);
    case 'transferPending':
      return refused('BUSY', `a leadership transfer is in progress; retry in a moment${suffix}`, leader);
    case 'confChangePending':
      return refused('BUSY', `another membership change is still in progress; retry once it has committed${suffix}`, leader);
    case 'uncommittedLimit':
      return refused('BUSY', `too many uncommitted writes at the leader; retry shortly${suffix}`, leader);
    case 'invalidConfChange':
      return refused('INVALID', `membership change refused${suffix}`, leader);
  }
}
