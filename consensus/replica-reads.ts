// Reads: a linearizable read barrier (ReadIndex) on the leader, or forwarded to it from a follower,
// then a wait until this member has applied up to the index the leader confirmed.
import { AppliedWaiters, Waiter } from './pending.js';
import type { WireMessage } from './ports.js';
import { REPLICA_LIMITS, type ReadOutcome } from './replica-api.js';
import type { ReplicaContext } from './replica-context.js';
import type { LeaderWatch } from './replica-leader.js';
import { refusalFromCore } from './replica-refusals.js';
import type { MemberId, Ready } from './types.js';

interface PendingRead {
  /** Set when the read was forwarded to us by a follower. */
  remote?: { member: MemberId; id: string };
  waiter: Waiter<ReadOutcome>;
}

export class Reads {
  /** On the leader: by ReadIndex context. */
  private readonly pending = new Map<string, PendingRead>();
  /** On a follower: by request id. */
  private readonly forwarded = new Map<string, Waiter<ReadOutcome>>();
  private readonly appliedWaiters = new AppliedWaiters(REPLICA_LIMITS.appliedWaiters);

  constructor(
    private readonly ctx: ReplicaContext,
    private readonly leaders: LeaderWatch,
  ) {}

  /** Linearizable read barrier: resolves once this member has applied everything committed before the call. */
  async readIndex(timeoutMs: number): Promise<ReadOutcome> {
    const { ctx } = this;
    if (ctx.stopped) return { ok: false, code: 'NO_LEADER', message: `site ${ctx.id} is stopping` };
    let outcome: ReadOutcome;
    if (ctx.core.status().role === 'leader') {
      outcome = await this.readAsLeader(undefined, timeoutMs);
    } else {
      const leader = await this.leaders.known();
      if (!leader) return { ok: false, code: 'NO_LEADER', message: `no leader is known to site ${ctx.id} within the election timeout` };
      outcome = leader === ctx.id ? await this.readAsLeader(undefined, timeoutMs) : await this.forwardRead(leader, timeoutMs);
    }
    if (!outcome.ok) return outcome;
    if (!(await this.waitApplied(outcome.index, timeoutMs))) return busy(ctx.id, 'reads waiting to apply');
    if (ctx.applied < outcome.index) {
      return { ok: false, code: 'UNKNOWN', message: `site ${ctx.id} did not apply up to ${outcome.index} within ${timeoutMs} ms` };
    }
    return outcome;
  }

  private readAsLeader(remote: { member: MemberId; id: string } | undefined, timeoutMs: number): Promise<ReadOutcome> {
    const { ctx } = this;
    if (!ctx.core.quorumActive()) {
      return Promise.resolve({ ok: false, code: 'NO_QUORUM', message: `leader ${ctx.id} has not heard from a quorum of voters within the election timeout` });
    }
    if (this.pending.size >= REPLICA_LIMITS.pendingReads) return Promise.resolve(busy(ctx.id, 'read barriers in flight'));
    const readCtx = remote ? `${remote.member}/${remote.id}` : ctx.nextRequestId();
    // A network duplicate of a forwarded read: the barrier under way answers both.
    const underWay = this.pending.get(readCtx);
    if (underWay) return underWay.waiter.promise;
    const started = ctx.core.readIndex(readCtx);
    if (!started.ok) {
      const r = refusalFromCore(started.reason, started.leader);
      return Promise.resolve(r.status === 'refused' ? { ok: false, code: r.code, message: r.message, leader: r.leader } : { ok: false, code: 'UNKNOWN', message: 'read refused' });
    }
    const waiter = new Waiter<ReadOutcome>();
    waiter.armTimer(
      ctx.deps.clock.setTimer(timeoutMs, () => {
        this.pending.delete(readCtx);
        waiter.settle({ ok: false, code: 'NO_QUORUM', message: `leader ${ctx.id} could not confirm its leadership with a quorum within ${timeoutMs} ms` });
      }),
    );
    this.pending.set(readCtx, { remote, waiter });
    ctx.kick();
    return waiter.promise;
  }

  private forwardRead(leader: MemberId, timeoutMs: number): Promise<ReadOutcome> {
    const { ctx } = this;
    if (this.forwarded.size >= REPLICA_LIMITS.forwardedReads) return Promise.resolve(busy(ctx.id, 'forwarded read barriers in flight'));
    const id = ctx.nextRequestId();
    const waiter = new Waiter<ReadOutcome>();
    waiter.armTimer(
      ctx.deps.clock.setTimer(timeoutMs, () => {
        this.forwarded.delete(id);
        waiter.settle({ ok: false, code: 'UNKNOWN', message: `leader ${leader} did not answer a read barrier within ${timeoutMs} ms` });
      }),
    );
    this.forwarded.set(id, waiter);
    ctx.deps.transport.send(leader, { kind: 'readIndex', id });
    return waiter.promise;
  }

  /** False when too many reads already wait to apply (nothing was waited for). */
  private waitApplied(index: number, timeoutMs: number): Promise<boolean> {
    if (this.ctx.applied >= index) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = this.ctx.deps.clock.setTimer(timeoutMs, () => resolve(true));
      const added = this.appliedWaiters.add(index, () => {
        timer.cancel();
        resolve(true);
      });
      if (!added) {
        timer.cancel();
        resolve(false);
      }
    });
  }

  /** The leader's side of a forwarded read barrier. */
  async serveForwarded(from: MemberId, id: string): Promise<void> {
    const { ctx } = this;
    if (ctx.core.status().role !== 'leader') {
      ctx.deps.transport.send(from, { kind: 'readIndexResult', id, ok: false, index: 0, code: 'NO_LEADER', message: `site ${ctx.id} is not the leader` });
      return;
    }
    const outcome = await this.readAsLeader({ member: from, id }, ctx.settings.proposalTimeoutMs);
    // A success is sent from onReadStates; only a refusal is answered here.
    if (!outcome.ok) {
      ctx.deps.transport.send(from, { kind: 'readIndexResult', id, ok: false, index: 0, code: outcome.code === 'UNKNOWN' ? 'NO_QUORUM' : outcome.code, message: outcome.message });
    }
  }

  /** The leader answered a read barrier this member forwarded. */
  onForwardedResult(message: Extract<WireMessage, { kind: 'readIndexResult' }>): void {
    const waiter = this.forwarded.get(message.id);
    if (!waiter) return; // timed out already: the caller has its answer
    this.forwarded.delete(message.id);
    waiter.settle(
      message.ok ? { ok: true, index: message.index } : { ok: false, code: message.code ?? 'NO_LEADER', message: message.message ?? 'the leader refused the read' },
    );
  }

  /** The core confirmed leadership for these reads. */
  onReadStates(rd: Ready): void {
    for (const rs of rd.readStates) {
      const read = this.pending.get(rs.ctx);
      if (!read) continue;
      this.pending.delete(rs.ctx);
      read.waiter.settle({ ok: true, index: rs.index });
      if (read.remote) this.ctx.deps.transport.send(read.remote.member, { kind: 'readIndexResult', id: read.remote.id, ok: true, index: rs.index });
    }
  }

  /** This member applied up to `applied`: reads waiting for it go on. */
  onApplied(applied: number): void {
    this.appliedWaiters.release(applied);
  }

  /** The replica stops: every read still waiting is refused. */
  settleAll(reason: string): void {
    for (const r of this.pending.values()) r.waiter.settle({ ok: false, code: 'NO_LEADER', message: reason });
    this.pending.clear();
    for (const w of this.forwarded.values()) w.settle({ ok: false, code: 'NO_LEADER', message: reason });
    this.forwarded.clear();
    this.appliedWaiters.release(Number.MAX_SAFE_INTEGER);
  }
}

function busy(id: MemberId, what: string): ReadOutcome {
  return { ok: false, code: 'BUSY', message: `site ${id} has too many ${what}; retry shortly` };
}
