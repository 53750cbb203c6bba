// Proposals: a write on the leader waits for its entry to commit and apply here; a write on a
// follower is forwarded to the leader (one more hop only when that leader answers that it has just
// lost leadership, which is definite); the leader serves forwarded writes and answers network
// duplicates of them again instead of proposing twice. Every outcome is committed, refused
// (definite: not in the log) or unknown.
import { decodeConfChange, encodeConfChange } from './confchange.js';
import { invariant } from './invariant.js';
import { RecentRequests, Waiter } from './pending.js';
import type { ProposalOutcome, WireMessage } from './ports.js';
import { REPLICA_LIMITS, type ProposeOptions } from './replica-api.js';
import type { ReplicaContext } from './replica-context.js';
import type { LeaderWatch } from './replica-leader.js';
import { refusalFromCore, refused, type Refusals } from './replica-refusals.js';
import type { Entry, MemberId } from './types.js';

interface PendingProposal {
  term: number;
  waiter: Waiter<ProposalOutcome>;
}

interface ForwardedProposal {
  waiter: Waiter<ProposalOutcome>;
  leader: MemberId;
  retried: boolean;
  msg: Extract<WireMessage, { kind: 'propose' }>;
}

export class Proposals {
  /** On the leader: by log index. */
  private readonly pending = new Map<number, PendingProposal>();
  /** On a follower: by request id. */
  private readonly forwarded = new Map<string, ForwardedProposal>();
  private readonly recentForwards = new RecentRequests<ProposalOutcome>(REPLICA_LIMITS.recentForwardIds);

  constructor(
    private readonly ctx: ReplicaContext,
    private readonly refusals: Refusals,
    private readonly leaders: LeaderWatch,
  ) {}

  async submit(data: Uint8Array, confChange: boolean, options: ProposeOptions): Promise<ProposalOutcome> {
    const { ctx } = this;
    const requireLive = options.requireLive ?? [];
    const requireUnreachable = options.requireUnreachable ?? [];
    const timeoutMs = options.timeoutMs ?? ctx.settings.proposalTimeoutMs;
    if (ctx.stopped) return refused('NO_LEADER', `site ${ctx.id} is stopping; retry on another site`);
    if (ctx.core.summary().role === 'leader') return this.proposeAsLeader(data, confChange, requireLive, timeoutMs, requireUnreachable);
    const quorumLost = this.refusals.recentlyLostQuorum();
    if (quorumLost) return quorumLost;
    const leader = await this.leaders.reachable();
    if (!leader) return this.refusals.noLeader();
    if (leader === ctx.id) return this.proposeAsLeader(data, confChange, requireLive, timeoutMs, requireUnreachable);
    return this.forward(leader, data, confChange, requireLive, timeoutMs, requireUnreachable);
  }

  private proposeAsLeader(
    data: Uint8Array,
    confChange: boolean,
    requireLive: MemberId[],
    timeoutMs: number,
    requireUnreachable: readonly MemberId[] = [],
  ): Promise<ProposalOutcome> {
    const { ctx } = this;
    const refusal = this.refusals.beforeLeaderProposes(requireLive) ?? this.refusals.unlessUnreachable(requireUnreachable);
    if (refusal) return Promise.resolve(refusal);
    if (this.pending.size >= ctx.settings.maxPendingProposals) {
      return Promise.resolve(refused('BUSY', `leader ${ctx.id} has ${this.pending.size} writes in flight; retry shortly`, ctx.id));
    }
    const result = confChange ? ctx.core.proposeConfChange(decodeConfChange(data)) : ctx.core.propose(data);
    if (!result.ok) return Promise.resolve(refusalFromCore(result.reason, result.leader, result.detail));
    invariant(!this.pending.has(result.index), () => `the core handed out index ${result.index} twice to proposals`);
    const waiter = new Waiter<ProposalOutcome>();
    waiter.armTimer(
      ctx.deps.clock.setTimer(timeoutMs, () => {
        this.pending.delete(result.index);
        waiter.settle({
          status: 'unknown',
          message: `the write was proposed at index ${result.index} but not committed within ${timeoutMs} ms; it may still commit: query it again later`,
        });
      }),
    );
    this.pending.set(result.index, { term: result.term, waiter });
    ctx.kick();
    return waiter.promise;
  }

  private forward(
    leader: MemberId,
    data: Uint8Array,
    confChange: boolean,
    requireLive: MemberId[],
    timeoutMs: number,
    requireUnreachable: MemberId[],
  ): Promise<ProposalOutcome> {
    const { ctx } = this;
    if (this.forwarded.size >= ctx.settings.maxPendingProposals) {
      return Promise.resolve(refused('BUSY', `site ${ctx.id} has ${this.forwarded.size} forwarded writes in flight; retry shortly`));
    }
    const id = ctx.nextRequestId();
    const msg: ForwardedProposal['msg'] = {
      kind: 'propose',
      id,
      data,
      requireLive,
      ...(requireUnreachable.length > 0 ? { requireUnreachable } : {}),
      ...(confChange ? { confChange: true } : {}),
    };
    const waiter = new Waiter<ProposalOutcome>();
    // A little longer than the leader's own timeout, so the leader's verdict usually arrives first.
    const waitMs = timeoutMs + ctx.settings.electionTimeoutMs;
    waiter.armTimer(
      ctx.deps.clock.setTimer(waitMs, () => {
        this.forwarded.delete(id);
        waiter.settle({
          status: 'unknown',
          message: `the write was forwarded to leader ${leader} but no answer came within ${waitMs} ms; it may or may not have been applied: query it again later`,
        });
      }),
    );
    this.forwarded.set(id, { waiter, leader, retried: false, msg });
    ctx.deps.transport.send(leader, msg);
    return waiter.promise;
  }

  /** The leader's side of a forwarded write. */
  serveForwarded(from: MemberId, message: Extract<WireMessage, { kind: 'propose' }>): void {
    const { ctx } = this;
    const key = `${from}/${message.id}`;
    const earlier = this.recentForwards.begin(key);
    const reply = (outcome: ProposalOutcome): void => {
      this.recentForwards.finish(key, outcome);
      ctx.deps.transport.send(from, { kind: 'proposeResult', id: message.id, outcome });
    };
    if (earlier !== undefined) {
      // A copy of a request already served: proposing it again could apply it twice. Answer it
      // the same way now, or (still pending) let the first copy's answer reach the same waiter.
      if (earlier !== null) reply(earlier);
      return;
    }
    const { role, leader } = ctx.core.summary();
    if (role !== 'leader') {
      reply(this.refusals.recentlyLostQuorum() ?? refused('NO_LEADER', `site ${ctx.id} is no longer the leader${leader ? ` (leader is ${leader})` : ''}; the write was not applied`, leader));
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
    void this.proposeAsLeader(data, message.confChange === true, message.requireLive, ctx.settings.proposalTimeoutMs, message.requireUnreachable ?? []).then(reply);
  }

  /** The leader answered a write this member forwarded. */
  onForwardedResult(from: MemberId, id: string, outcome: ProposalOutcome): void {
    const entry = this.forwarded.get(id);
    if (!entry) return; // timed out or abandoned already: the caller has its answer
    // Only the leader the write is with now can say what became of it. A copy of an earlier hop's
    // answer (the network duplicates) would settle a write that the next leader may still commit:
    // a NO_LEADER refusal for an applied write (simulator, 20 sites, seed 16, all faults).
    if (from !== entry.leader) return;
    // The leader we asked had just lost leadership and named another: one more hop is safe,
    // because a refusal is definite (nothing was proposed).
    if (outcome.status === 'refused' && outcome.code === 'NO_LEADER' && outcome.leader && outcome.leader !== entry.leader && !entry.retried && outcome.leader !== this.ctx.id) {
      entry.retried = true;
      entry.leader = outcome.leader;
      this.ctx.deps.transport.send(outcome.leader, entry.msg);
      return;
    }
    this.forwarded.delete(id);
    entry.waiter.settle(outcome);
  }

  /** An entry was applied here: the proposal waiting at its index learns its fate. */
  onApplied(entry: Entry, result: unknown): void {
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

  /** Proposals whose index a received snapshot covers: we cannot tell whether ours is the entry there. */
  onSnapshotInstalled(index: number): void {
    for (const [i, p] of this.pending) {
      if (i > index) continue;
      this.pending.delete(i);
      p.waiter.settle({ status: 'unknown', message: `a snapshot replaced the log up to ${index} before the write's outcome was seen here; query it again` });
    }
  }

  /**
   * A deposed leader cannot tell whether its uncommitted entries will survive under the next leader:
   * answer `unknown` now rather than at each proposal's timeout.
   */
  onSteppedDown(): void {
    for (const [index, p] of this.pending) {
      p.waiter.settle({
        status: 'unknown',
        message: `site ${this.ctx.id} lost the leadership before the write at index ${index} committed; it may still commit under the next leader: query it again`,
      });
    }
    this.pending.clear();
  }

  /**
   * Writes forwarded to a leader that is gone will get no answer: say `unknown` now (the write may
   * have been proposed before it went) instead of at the timeout. A retry with the same client id
   * and sequence is still applied at most once.
   */
  abandonForwardsTo(leader: MemberId, why: string): void {
    for (const [id, f] of this.forwarded) {
      if (f.leader !== leader) continue;
      this.forwarded.delete(id);
      f.waiter.settle({ status: 'unknown', message: `${why} before it answered; the write may or may not have been applied: query it again` });
    }
  }

  /** The replica stops: every write still waiting learns `unknown`. */
  settleAll(reason: string): void {
    const message = `${reason}; the write's outcome is unknown: query it again`;
    for (const p of this.pending.values()) p.waiter.settle({ status: 'unknown', message });
    this.pending.clear();
    for (const f of this.forwarded.values()) f.waiter.settle({ status: 'unknown', message });
    this.forwarded.clear();
  }
}
