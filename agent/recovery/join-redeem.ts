// A site set up from a join token redeems it through the log: a patch of its own `site` record
// writing `join.redeemedBy` = its nonce, which the catalog refuses when another nonce is already
// there. The log decides who redeemed first; a site that finds the token redeemed by another nonce,
// or expired, stops with a message saying which, and members stop admitting an expired one.
import type { Logger } from '../../consensus/ports.js';
import type { AgentService } from '../admin/service.js';
import type { Catalog } from '../catalog/index.js';
import { writeJoinState, type JoinState } from './join-state.js';

export const REDEEM_INTERVAL_MS = 500;

export interface RedeemParts {
  dataDir: string;
  state: JoinState;
  catalog: Catalog;
  service: AgentService;
  logger: Logger;
  now: () => number;
  /** The token is this site's: start what a member does (housekeeping, reconciler). */
  redeemed(): void;
  /** The token cannot be used: the agent must stop. */
  refused(message: string): void;
}

export class JoinRedeemer {
  private timer: NodeJS.Timeout | null = null;
  private busy = false;
  private seq = 0;
  private readonly clientId: string;

  constructor(private readonly p: RedeemParts) {
    this.clientId = `join/${p.state.site}/${p.state.nonce.slice(0, 12)}`;
  }

  start(): void {
    this.timer = setInterval(() => void this.step(), REDEEM_INTERVAL_MS);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** One look at the site's record; at most one write in flight. */
  async step(): Promise<void> {
    if (this.busy || this.timer === null) return;
    this.busy = true;
    try {
      await this.redeemOnce();
    } catch (err) {
      this.p.logger.warn({ err: (err as Error).message }, 'join: redeeming the token failed; will retry');
    } finally {
      this.busy = false;
    }
  }

  private async redeemOnce(): Promise<void> {
    const { state } = this.p;
    const join = this.p.catalog.get('site', state.site)?.spec.join;
    if (join?.redeemedBy === state.nonce) return this.done('join: the token is redeemed; this site is a member');
    if (join?.redeemedBy !== undefined) return this.refuse(alreadyUsed(state.site, join.redeemedBy));
    if (this.p.now() >= state.expiresAt) {
      return this.refuse(`the join token expired at ${new Date(state.expiresAt).toISOString()} before this site redeemed it; members no longer admit it: ask for a new one`);
    }
    // Sent through the leader without waiting to catch up: the catalog refuses to replace another
    // site's redemption (agent/catalog/rules.ts), so the log decides the one use even for a site
    // that never receives the log (a copy set up at the address of a site that already joined).
    const outcome = await this.p.service.write(
      [{ op: 'patch', kind: 'site', id: state.site, patch: { join: { expiresAt: state.expiresAt, redeemedBy: state.nonce } } }],
      { force: false, clientId: this.clientId, seq: ++this.seq },
    );
    this.p.logger.info({ outcome: outcome.status }, 'join: redeeming the token through the log');
    if (outcome.status === 'committed') return this.done('join: the token is redeemed; this site is a member');
    if (outcome.status === 'rejected' && outcome.field === 'spec.join.redeemedBy') return this.refuse(`${outcome.message}; ask for a new token with \`stackraft site add ${state.site} --token\` after \`stackraft site remove ${state.site}\``);
    if (outcome.status === 'rejected') this.p.logger.warn({ outcome }, 'join: the catalog refused the redemption; will retry');
  }

  private async done(message: string): Promise<void> {
    this.stop();
    await writeJoinState(this.p.dataDir, { ...this.p.state, redeemed: true });
    this.p.logger.info({ site: this.p.state.site }, message);
    this.p.redeemed();
  }

  private refuse(message: string): void {
    this.stop();
    this.p.refused(message);
  }
}

function alreadyUsed(site: string, by: string): string {
  return `this join token was already used by another site (redeemed through the log as ${by}); ask for a new one with \`stackraft site add ${site} --token\` after \`stackraft site remove ${site}\``;
}
