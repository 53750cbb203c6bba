// A site set up from a join token redeems it through the log once it has the catalog: a
// compare-and-set of its own `site` record writing `join.redeemedBy` = its nonce. The log decides
// who redeemed first; a site that finds the token redeemed by another nonce, or expired, stops with
// a message saying which (a reused or expired token), and members stop admitting an expired one.
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
    const record = this.p.catalog.get('site', state.site);
    const join = record?.spec.join;
    if (record && join?.redeemedBy === state.nonce) return this.done('join: the token is redeemed; this site is a member');
    if (record && join === undefined) return this.done('join: the site record carries no token to redeem');
    if (join?.redeemedBy !== undefined) {
      return this.refuse(`this join token was already used by another site (redeemed through the log as ${join.redeemedBy}); ask for a new one with \`stackraft site add ${state.site} --token\` after \`stackraft site remove ${state.site}\``);
    }
    const expiresAt = join?.expiresAt ?? state.expiresAt;
    if (this.p.now() >= expiresAt) {
      return this.refuse(`the join token expired at ${new Date(expiresAt).toISOString()} before this site redeemed it; members no longer admit it: ask for a new one`);
    }
    if (!record) return; // Not caught up yet.
    const outcome = await this.p.service.write(
      [{ op: 'patch', kind: 'site', id: state.site, patch: { join: { expiresAt, redeemedBy: state.nonce } }, expectedRevision: record.revision }],
      { force: false, clientId: this.clientId, seq: ++this.seq },
    );
    // A CONFLICT means someone else wrote the record first: the next look says whether it redeemed.
    this.p.logger.info({ outcome: outcome.status }, 'join: redeeming the token through the log');
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
