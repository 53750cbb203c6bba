// A randomised schedule over a Cluster: faulty bus, crashes at random points of a Ready, restarts,
// partitions, slow disks, compaction, leadership transfers, membership steps, reads and proposals,
// all drawn from one seed. The cluster's own invariant checks run on every input; this file adds
// the read check (a served ReadIndex is at or past every write committed before the read was
// issued) and, at the end, a liveness phase: faults heal and the cluster must commit and converge.
import type { ConfChange, ConfState, MemberId } from '../../consensus/types.js';
import { type BusFaults } from './bus.js';
import { Cluster, type CoreConfig, type CrashPoint, HarnessError, InvariantViolation } from './harness.js';
import { Rng } from './rng.js';

export interface ChaosRates {
  propose: number;
  crash: number;
  restart: number;
  partition: number;
  heal: number;
  compact: number;
  read: number;
  transfer: number;
  slowDisk: number;
  /** Demote a voter / promote a learner (keeps at least 3 voters). */
  confChange: number;
}

export const DEFAULT_CHAOS_RATES: ChaosRates = {
  propose: 0.3,
  crash: 0.004,
  restart: 0.05,
  partition: 0.004,
  heal: 0.03,
  compact: 0.01,
  read: 0.05,
  transfer: 0.005,
  slowDisk: 0.005,
  confChange: 0.01,
};

export interface ChaosOptions {
  seed: number;
  members: number;
  steps: number;
  faults: BusFaults;
  rates?: Partial<ChaosRates>;
  config?: Partial<CoreConfig>;
  /** Ticks allowed for the final heal-and-converge phase. */
  livenessTicks?: number;
  /** The command that replays this run, printed with a failure. */
  replay?: string;
}

export interface ChaosReport {
  seed: number;
  steps: number;
  proposalsAccepted: number;
  proposalsCommitted: number;
  leadersElected: number;
  /** New leaders checked for completeness while something was already committed. */
  leaderCompletenessChecks: number;
  crashes: number;
  partitions: number;
  compactions: number;
  snapshotsInstalled: number;
  readsServed: number;
  confChanges: number;
  maxCommitted: number;
  traceHash: number;
}

/** Bound on payload size of a random proposal. */
const MAX_PROPOSAL_BYTES = 200;
/** Bound on members (voters + learners) the membership steps may grow the cluster to. */
const MAX_CHAOS_MEMBERS = 7;
const CRASH_POINTS: Array<CrashPoint | 'now'> = ['now', 'beforePersist', 'afterPersist'];

export function runChaos(opts: ChaosOptions): ChaosReport {
  try {
    return new ChaosRun(opts).run();
  } catch (err) {
    const e = err as Error;
    const where = `chaos seed=${opts.seed} members=${opts.members} steps=${opts.steps}`;
    const wrapped = new (e instanceof InvariantViolation ? InvariantViolation : HarnessError)(
      `${where}: ${e.message}\n  replay: ${opts.replay ?? `CHAOS_SEED=${opts.seed} node --test <the test file>`}`,
    );
    wrapped.stack = `${wrapped.message}\n${e.stack ?? ''}`;
    throw wrapped;
  }
}

class ChaosRun {
  private readonly rng: Rng;
  private readonly cluster: Cluster;
  private readonly rates: ChaosRates;
  private readonly ids: MemberId[];
  private readonly report: ChaosReport;
  private readonly proposals: Array<{ index: number; term: number }> = [];
  /** ReadIndex ctx -> highest index committed anywhere when the read was issued. */
  private readonly readBounds = new Map<string, number>();
  private readonly readStatesChecked = new Map<MemberId, number>();
  private proposalSeq = 0;
  /** Members removed for good (never restarted). */
  private readonly retired = new Set<MemberId>();
  /** Per-member clock rate (ticks per step), drawn once: clocks drift apart. */
  private readonly tickRates = new Map<MemberId, number>();
  private joined = 0;

  constructor(private readonly opts: ChaosOptions) {
    this.rng = new Rng(opts.seed);
    this.ids = Array.from({ length: opts.members }, (_, i) => `m${i + 1}`);
    this.rates = { ...DEFAULT_CHAOS_RATES, ...opts.rates };
    this.cluster = new Cluster({ voters: this.ids, seed: opts.seed, faults: opts.faults, config: opts.config });
    this.report = {
      seed: opts.seed,
      steps: 0,
      proposalsAccepted: 0,
      proposalsCommitted: 0,
      leadersElected: 0,
      leaderCompletenessChecks: 0,
      crashes: 0,
      partitions: 0,
      compactions: 0,
      snapshotsInstalled: 0,
      readsServed: 0,
      confChanges: 0,
      maxCommitted: 0,
      traceHash: 0,
    };
    this.cluster.checker.onNewLeader = () => {
      if (this.cluster.checker.maxCommitted > 0) this.report.leaderCompletenessChecks++;
    };
    this.cluster.onReady = (_id, rd) => {
      if (rd.snapshot) this.report.snapshotsInstalled++;
    };
  }

  run(): ChaosReport {
    const c = this.cluster;
    for (let step = 0; step < this.opts.steps; step++) {
      this.report.steps = step + 1;
      c.deliverDue();
      this.injectEvents();
      for (const m of c.live()) if (this.rng.chance(this.tickRate(m.id))) c.tick(m.id);
      c.handleReadies();
      this.checkReads();
      c.bus.now++;
    }
    this.convergeAfterHealing();
    this.report.proposalsCommitted = this.proposals.filter((p) => c.isCommitted(p.index, p.term)).length;
    this.report.leadersElected = c.checker.leadersElected;
    this.report.maxCommitted = c.checker.maxCommitted;
    this.report.traceHash = c.bus.traceHash;
    return this.report;
  }

  private injectEvents(): void {
    const { rng, rates } = this;
    if (rng.chance(rates.propose)) this.proposeAtLeader();
    if (rng.chance(rates.read)) this.readAtLeader();
    if (rng.chance(rates.crash)) this.crashOne();
    if (rng.chance(rates.partition)) this.partitionRandomly();
    if (rng.chance(rates.heal)) this.cluster.bus.heal();
    if (rng.chance(rates.compact)) this.compactOne();
    if (rng.chance(rates.transfer)) this.transferLeadership();
    if (rng.chance(rates.confChange)) this.changeMembership();
    for (const m of this.cluster.members.values()) {
      if (!m.raft && !this.retired.has(m.id) && rng.chance(rates.restart)) this.cluster.restart(m.id);
      // A slow disk: writes take a few steps, and the member keeps stepping meanwhile.
      if (m.diskDelaySteps > 0 ? rng.chance(0.05) : rng.chance(rates.slowDisk)) m.diskDelaySteps = m.diskDelaySteps > 0 ? 0 : 1 + rng.int(4);
    }
  }

  private tickRate(id: MemberId): number {
    let rate = this.tickRates.get(id);
    if (rate === undefined) {
      rate = 0.7 + 0.3 * this.rng.float();
      this.tickRates.set(id, rate);
    }
    return rate;
  }

  /** Mostly at the newest leader; sometimes at any member that believes it leads (a deposed one). */
  private proposeAtLeader(): void {
    const leaders = this.cluster.live().filter((m) => m.raft!.status().role === 'leader');
    if (leaders.length === 0) return;
    const leader = this.rng.chance(0.8) ? this.cluster.leader()! : this.rng.pick(leaders).id;
    const size = 8 + this.rng.int(MAX_PROPOSAL_BYTES - 8);
    const payload = `p${this.opts.seed}.${this.proposalSeq++}.`.padEnd(size, 'x');
    const result = this.cluster.propose(payload, leader);
    if (result.ok) {
      this.report.proposalsAccepted++;
      this.proposals.push({ index: result.index, term: result.term });
    }
  }

  /** Reads go to any member that believes it leads, deposed leaders included: those must not answer. */
  private readAtLeader(): void {
    const leaders = this.cluster.live().filter((m) => m.raft!.status().role === 'leader');
    if (leaders.length === 0) return;
    const leader = this.rng.pick(leaders).id;
    const ctx = `r${this.opts.seed}.${this.readBounds.size}`;
    const bound = this.cluster.checker.maxCommitted;
    if (this.cluster.raft(leader).readIndex(ctx).ok) this.readBounds.set(ctx, bound);
  }

  private checkReads(): void {
    for (const m of this.cluster.members.values()) {
      const from = this.readStatesChecked.get(m.id) ?? 0;
      for (const rs of m.readStates.slice(from)) {
        const bound = this.readBounds.get(rs.ctx);
        if (bound === undefined) throw new InvariantViolation(`${m.id} served read ${rs.ctx} that nobody issued there`);
        if (rs.index < bound) {
          throw new InvariantViolation(`${m.id} served read ${rs.ctx} at ${rs.index}, but ${bound} was committed before it was issued`);
        }
        this.report.readsServed++;
      }
      this.readStatesChecked.set(m.id, m.readStates.length);
    }
  }

  /** Keeps a quorum of members alive so the run can make progress between crashes. */
  /** Crashes a member only while a quorum of the current voters stays up, so the run can progress. */
  private crashOne(): void {
    const up = this.cluster.live().filter((m) => m.crashPoint === null && !this.retired.has(m.id));
    if (up.length === 0) return;
    const voters = this.currentConf().voters;
    const upVoters = voters.filter((v) => up.some((m) => m.id === v)).length;
    const victim = this.rng.pick(up).id;
    if (voters.includes(victim) && upVoters - 1 < Math.floor(voters.length / 2) + 1) return;
    this.cluster.crash(victim, this.rng.pick(CRASH_POINTS));
    this.report.crashes++;
  }

  /** The membership as the newest leader (else any live member) sees it. */
  private currentConf(): ConfState {
    const leader = this.cluster.leader();
    const viewer = leader ?? this.cluster.live()[0]?.id;
    return viewer === undefined ? { voters: this.ids, learners: [] } : this.cluster.raft(viewer).conf();
  }

  private activeIds(): MemberId[] {
    return this.cluster.ids().filter((id) => !this.retired.has(id));
  }

  private partitionRandomly(): void {
    const ids = this.activeIds();
    if (this.rng.chance(0.3)) {
      // One-way cuts: a member keeps hearing others but is not heard (or the reverse).
      const from = this.rng.pick(ids);
      for (const to of ids) if (to !== from && this.rng.chance(0.6)) this.cluster.bus.cut(...(this.rng.chance(0.5) ? [from, to] : [to, from]) as [MemberId, MemberId]);
      this.report.partitions++;
      return;
    }
    const shuffled = [...ids].sort(() => this.rng.float() - 0.5);
    const minoritySize = 1 + this.rng.int(Math.floor(ids.length / 2));
    const leader = this.cluster.leader();
    // Half the time the leader is on the small side: the hardest case for a deposed leader.
    if (leader !== undefined && this.rng.chance(0.5)) {
      shuffled.splice(shuffled.indexOf(leader), 1);
      shuffled.unshift(leader);
    }
    this.cluster.bus.partition(shuffled.slice(0, minoritySize), shuffled.slice(minoritySize));
    this.report.partitions++;
  }

  private compactOne(): void {
    const m = this.rng.pick(this.cluster.live());
    if (m.disk.appliedIndex <= m.disk.snapshotIndex() + 5) return;
    // The core already holds a newer snapshot that is not handed out yet: compacting below it is the
    // race that cluster-snapshot.test.ts reproduces on its own ('compaction right after advance()').
    if (m.raft!.status().firstIndex > m.disk.appliedIndex + 1) return;
    this.cluster.compact(m.id, this.rng.int(4));
    this.report.compactions++;
  }

  private transferLeadership(): void {
    const leader = this.cluster.leader();
    if (leader === undefined) return;
    const voters = this.cluster.raft(leader).conf().voters.filter((v) => v !== leader);
    if (voters.length > 0) this.cluster.raft(leader).transferLeader(this.rng.pick(voters));
  }

  /**
   * One membership step at the leader: promote a learner, demote a voter (keeping at least 3),
   * retire a learner (remove it and stop it for good), or add a brand-new member as a learner
   * (it starts empty and catches up by entries or snapshot).
   */
  private changeMembership(): void {
    const leader = this.cluster.leader();
    if (leader === undefined) return;
    const conf = this.cluster.raft(leader).conf();
    const choices: ConfChange[] = [];
    const promotable = conf.learners.filter((id) => !this.retired.has(id));
    if (promotable.length > 0) choices.push({ type: 'promote', member: this.rng.pick(promotable) });
    if (conf.learners.length > 0) choices.push({ type: 'remove', member: this.rng.pick(conf.learners) });
    if (conf.voters.length > 3) choices.push({ type: 'demote', member: this.rng.pick(conf.voters) });
    if (conf.voters.length + conf.learners.length < MAX_CHAOS_MEMBERS) {
      choices.push({ type: 'addLearner', member: `n${this.opts.seed}.${this.joined + 1}` });
    }
    if (choices.length === 0) return;
    const change = this.rng.pick(choices);
    if (!this.cluster.proposeConfChange(change, leader).ok) return;
    this.report.confChanges++;
    if (change.type === 'addLearner') {
      this.joined++;
      this.cluster.addMember(change.member);
    } else if (change.type === 'remove') {
      // If this entry is lost to a leader change, the member stays a (crashed) learner that is never
      // promoted: no quorum harm.
      this.retired.add(change.member);
      if (this.cluster.member(change.member).raft) this.cluster.crash(change.member);
    }
  }

  /** Liveness: with every fault healed, a leader emerges, a last write commits and all members converge. */
  private convergeAfterHealing(): void {
    const c = this.cluster;
    c.bus.heal();
    c.bus.faults = { dropRate: 0, duplicateRate: 0, maxDelaySteps: 0 };
    for (const m of c.members.values()) {
      m.diskDelaySteps = 0;
      m.crashPoint = null;
      if (!m.raft && !this.retired.has(m.id)) c.restart(m.id);
    }
    const budget = this.opts.livenessTicks ?? 400;
    let final: { index: number; term: number } | undefined;
    c.waitFor('a final write to commit after healing', () => {
      if (final && c.isCommitted(final.index, final.term)) return true;
      const leader = c.leader();
      const current = leader === undefined ? undefined : c.raft(leader).status().term;
      if (leader !== undefined && (!final || final.term !== current)) {
        const result = c.propose(`final.${this.opts.seed}`, leader);
        if (result.ok) final = { index: result.index, term: result.term };
      }
      return false;
    }, budget);
    const conf = c.raft(c.leader() ?? this.activeIds()[0]).conf();
    const inConf = [...conf.voters, ...conf.learners].filter((id) => c.member(id).raft !== null);
    c.waitApplied(final!.index, inConf, budget);
  }
}
