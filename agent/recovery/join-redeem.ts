// A site set up from a join token redeems it before doing anything a member does: it presents the
// token's secret to the members over the join protocol (join-wire.ts), one at a time, going to the
// leader when told who it is. The leader redeems the token through the log under this site's own
// peer id; the log decides the one use and the expiry (join-door.ts, agent/catalog/rules.ts). A site
// told the token is used, expired, foreign or damaged stops with a message saying which.
import type { Logger } from '../../consensus/ports.js';
import type { ByteStream } from '../blobs/ports.js';
import { StreamReader } from '../net/framing.js';
import { withTimeout } from '../blobs/server.js';
import { writeJoinState, type JoinState } from './join-state.js';
import { decodeJoinAnswer, encodeJoinRequest, FINAL_JOIN_REFUSALS, type JoinAnswer } from './join-wire.js';

export const REDEEM_INTERVAL_MS = 1_000;
/**
 * With no answer from any member this long past the token's expiry (by this machine's clock), the
 * agent gives up: members stop letting strangers ask 5 minutes after a token's expiry. Giving up is
 * all this clock decides; whether a redemption is in time, only the log does.
 */
export const GIVE_UP_AFTER_EXPIRY_MS = 10 * 60_000;
/** Bound of one exchange with one member (dial, request, the leader's commit, answer). */
export const REDEEM_EXCHANGE_TIMEOUT_MS = 15_000;

export interface RedeemParts {
  dataDir: string;
  state: JoinState;
  clusterId: string;
  incarnation: string;
  /** The members this site knows (its config's seed peers). */
  members: () => string[];
  /** A join-protocol stream to a member. */
  open(member: string, signal: AbortSignal): Promise<ByteStream>;
  logger: Logger;
  /** The token is redeemed: start what a member does (housekeeping, reconciler). */
  redeemed(): void;
  /** The token cannot be used: the agent must stop. */
  refused(message: string): void;
  now: () => number;
}

export class JoinRedeemer {
  private timer: NodeJS.Timeout | null = null;
  private busy = false;
  private leaderHint: string | null = null;
  private lastProblem = '';

  constructor(private readonly p: RedeemParts) {}

  /** Starts asking, a round every REDEEM_INTERVAL_MS; resolves when the first round is over. */
  start(): Promise<void> {
    const { state } = this.p;
    if (state.secret === undefined) {
      // Set up from a format-1 token (it carried the key) and never redeemed: that protocol is gone.
      this.p.refused(`this site was set up from a join token of format 1, which this stackraft no longer redeems: ask for a new token (stackraft site remove ${state.site}, then stackraft site add ${state.site} --token) and run stackraft init --join in an empty data directory`);
      return Promise.resolve();
    }
    this.timer = setInterval(() => void this.step(), REDEEM_INTERVAL_MS);
    this.timer.unref();
    return this.step();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** One round over the members (the leader first when known); at most one round at a time. */
  async step(): Promise<void> {
    if (this.busy || this.timer === null) return;
    this.busy = true;
    try {
      for (const member of this.order()) {
        if (this.timer === null) return;
        const answer = await this.ask(member);
        if (answer === null) continue;
        if (answer.ok) return await this.done(answer.index);
        if (FINAL_JOIN_REFUSALS.includes(answer.code)) return this.refuse(answer.code, answer.message);
        if (answer.code === 'NOT_LEADER' && answer.leader) {
          this.leaderHint = answer.leader;
          if (answer.leader !== member && this.p.members().includes(answer.leader)) {
            const again = await this.ask(answer.leader);
            if (again?.ok) return await this.done(again.index);
            if (again && !again.ok && FINAL_JOIN_REFUSALS.includes(again.code)) return this.refuse(again.code, again.message);
          }
          return;
        }
        this.problem(`${member} answered ${answer.code}: ${answer.message}`);
      }
      if (this.p.now() > this.p.state.expiresAt + GIVE_UP_AFTER_EXPIRY_MS) {
        this.refuse('EXPIRED', `no member answered before the token's expiry (${new Date(this.p.state.expiresAt).toISOString()}) was long past by this machine's clock: the token was used or expired, the site removed, or the members are unreachable (last: ${this.lastProblem || 'none'})`);
      }
    } finally {
      this.busy = false;
    }
  }

  private order(): string[] {
    const members = this.p.members();
    const hint = this.leaderHint;
    return hint !== null && members.includes(hint) ? [hint, ...members.filter((m) => m !== hint)] : members;
  }

  /** One exchange; null when the member could not be asked (down, cut, too slow). */
  private async ask(member: string): Promise<JoinAnswer | null> {
    const controller = new AbortController();
    const bound = setTimeout(() => controller.abort(), REDEEM_EXCHANGE_TIMEOUT_MS);
    let stream: ByteStream | null = null;
    try {
      stream = await this.p.open(member, controller.signal);
      const { state } = this.p;
      await stream.write(encodeJoinRequest({ cluster: this.p.clusterId, inc: this.p.incarnation, site: state.site, secret: state.secret ?? '' }));
      await stream.end();
      const reader = new StreamReader(stream.incoming);
      return decodeJoinAnswer(await withTimeout(reader.readFrame(), REDEEM_EXCHANGE_TIMEOUT_MS, `no answer from ${member}`));
    } catch (err) {
      stream?.abort(err as Error);
      this.problem(`asking ${member} to redeem the token failed: ${(err as Error).message}`);
      return null;
    } finally {
      clearTimeout(bound);
    }
  }

  private async done(index: number): Promise<void> {
    this.stop();
    const { secret: _secret, ...rest } = this.p.state;
    await writeJoinState(this.p.dataDir, { ...rest, redeemed: true });
    this.p.logger.info({ site: this.p.state.site, index }, 'join: the token is redeemed through the log; this site is a member');
    this.p.redeemed();
  }

  private refuse(code: string, message: string): void {
    this.stop();
    const advice = code === 'USED' || code === 'EXPIRED' ? `; ask for a new one with \`stackraft site add ${this.p.state.site} --token\` after \`stackraft site remove ${this.p.state.site}\`` : '';
    this.p.refused(`${message}${advice}`);
  }

  private problem(message: string): void {
    if (message === this.lastProblem) return;
    this.lastProblem = message;
    this.p.logger.warn({ site: this.p.state.site }, `join: ${message}; will retry`);
  }
}
