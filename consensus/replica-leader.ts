// Waiting to learn who the leader is: a request that reaches a member with no known leader waits
// up to one election timeout for one (bounded by REPLICA_LIMITS.leaderWaiters; past it, the
// request does not wait and is answered as if no leader were known).
import { REPLICA_LIMITS } from './replica-api.js';
import type { ReplicaContext } from './replica-context.js';
import type { MemberId } from './types.js';

export class LeaderWatch {
  private readonly waiters = new Set<() => void>();

  constructor(private readonly ctx: ReplicaContext) {}

  get size(): number {
    return this.waiters.size;
  }

  /** The leader this member knows, waiting up to one election timeout for one to be known. */
  known(): Promise<MemberId> {
    const now = this.ctx.core.status().leader;
    if (now) return Promise.resolve(now);
    if (this.waiters.size >= REPLICA_LIMITS.leaderWaiters) return Promise.resolve('');
    return new Promise((resolve) => {
      const wake = (): void => {
        this.waiters.delete(wake);
        timer.cancel();
        resolve(this.ctx.core.status().leader);
      };
      const timer = this.ctx.deps.clock.setTimer(this.ctx.settings.electionTimeoutMs, wake);
      this.waiters.add(wake);
    });
  }

  /**
   * The leader this member knows, unless the transport knows it is unreachable: then wait up to an
   * election timeout for a reachable one, so a write after the leader died is refused (or
   * forwarded to its successor) at once instead of timing out.
   */
  async reachable(): Promise<MemberId> {
    const { ctx } = this;
    const clock = ctx.deps.clock;
    let leader = await this.known();
    const deadline = clock.now() + ctx.settings.electionTimeoutMs;
    while (leader && ctx.linkDown(leader) && clock.now() < deadline && !ctx.stopped && this.waiters.size < REPLICA_LIMITS.leaderWaiters) {
      await new Promise<void>((resolve) => {
        const wake = (): void => {
          this.waiters.delete(wake);
          timer.cancel();
          resolve();
        };
        const timer = clock.setTimer(Math.min(ctx.settings.tickMs, deadline - clock.now()), wake);
        this.waiters.add(wake);
      });
      leader = ctx.core.status().leader;
    }
    return leader && ctx.linkDown(leader) ? '' : leader;
  }

  /** A leader became known (or the replica stops): everyone waiting looks again. */
  wakeAll(): void {
    for (const wake of [...this.waiters]) wake();
  }
}
