// Background duties of a site, once a second:
// - a member whose own `site` record is missing or out of date (the founding site, or a site whose
//   addresses changed) writes it, so every other site can dial it;
// - the leader promotes caught-up, live learners while there are fewer voters than configured.
// Everything comes through ports (clock, address source, wall clock), so the simulator runs this
// same code on virtual time.
import type { Clock, Logger, TimerHandle } from '../../consensus/ports.js';
import type { Replica } from '../../consensus/replica.js';
import type { Catalog, SiteSpec } from '../catalog/index.js';
import type { PatchOp, PutOp } from '../catalog/types.js';
import type { CatalogWriter } from '../write/catalog-writer.js';
import type { SiteProfile } from './ports.js';

export const HOUSEKEEPING_INTERVAL_MS = 1000;
/** A learner this close to the leader's last index counts as caught up. */
export const PROMOTION_MAX_LAG_ENTRIES = 64;

export interface HousekeepingParts {
  profile: SiteProfile;
  peerId: string;
  /** How many voters the cluster should have; the leader promotes learners up to it. */
  voters: number;
  /** The addresses other sites should dial (no `/p2p/` part, no wildcard). */
  addresses: () => string[];
  replica: Replica;
  catalog: Catalog;
  writer: CatalogWriter;
  clock: Clock;
  /** Milliseconds since the Unix epoch (virtual in the simulator): makes this life's client id unique. */
  epochMs: () => number;
  logger: Logger;
}

export class Housekeeping {
  private timer: TimerHandle | null = null;
  private busy = false;
  private seq = 0;
  private readonly clientId: string;
  private warnedNoAddress = false;
  private lastRejection = '';

  constructor(private readonly p: HousekeepingParts) {
    this.clientId = `agent/${p.profile.name}/${Math.floor(p.epochMs()).toString(36)}`;
  }

  start(): void {
    this.schedule();
  }

  stop(): void {
    this.timer?.cancel();
    this.timer = null;
  }

  private schedule(): void {
    this.timer = this.p.clock.setTimer(HOUSEKEEPING_INTERVAL_MS, () => {
      if (this.timer === null) return;
      this.schedule();
      void this.runOnce();
    });
  }

  async runOnce(): Promise<void> {
    if (this.busy || this.p.replica.isStopped) return;
    this.busy = true;
    try {
      const st = this.p.replica.status();
      if (!st.leader) return;
      const isVoter = st.conf.voters.includes(st.id);
      const isMember = isVoter || st.conf.learners.includes(st.id);
      if (isMember && this.ownRecordIsStale(isVoter ? 'voter' : 'learner')) await this.registerSelf(isVoter);
      if (st.role === 'leader') await this.promoteOneLearner();
    } catch (err) {
      this.p.logger.warn({ err: (err as Error).message }, 'housekeeping step failed; will retry');
    } finally {
      this.busy = false;
    }
  }

  private desiredSelf(isVoter: boolean): SiteSpec {
    const { profile } = this.p;
    return {
      name: profile.name,
      // Written only into a new record: a recorded peer id changes by a key rotation
      // (agent/recovery/key-rotation.ts), never by an agent that may hold a retired key.
      peerId: this.p.peerId,
      addresses: this.p.addresses(),
      region: profile.region,
      country: profile.country ?? '',
      labels: profile.labels,
      role: isVoter ? 'voter' : 'learner',
    };
  }

  private ownRecordIsStale(role: 'voter' | 'learner'): boolean {
    const current = this.p.catalog.get('site', this.p.profile.name);
    if (!current) return true;
    const want = this.desiredSelf(role === 'voter');
    return current.spec.addresses.join() !== want.addresses.join() || current.spec.role !== role;
  }

  private async registerSelf(isVoter: boolean): Promise<void> {
    const desired = this.desiredSelf(isVoter);
    if (desired.addresses.length === 0) {
      if (!this.warnedNoAddress) {
        this.p.logger.warn({}, 'this site listens only on wildcard addresses: set `announce` in the config to the addresses other sites should dial, or they cannot reach it');
        this.warnedNoAddress = true;
      }
      return;
    }
    const spec = desired as unknown as Record<string, unknown>;
    if (spec.country === '') delete spec.country;
    // An existing record is patched (addresses, role), merged at apply into what the log holds then:
    // a put from this older view could undo a key rotation or a join redemption applied meanwhile.
    const op: PatchOp | PutOp = this.p.catalog.get('site', this.p.profile.name)
      ? { op: 'patch', kind: 'site', id: this.p.profile.name, spec: { addresses: desired.addresses, role: desired.role } }
      : { op: 'put', kind: 'site', id: this.p.profile.name, spec };
    const out = await this.p.writer.write([op], { clientId: this.clientId, seq: ++this.seq });
    if (out.status === 'rejected') {
      // Retried every second until the config is fixed: say it once per distinct reason.
      if (out.message !== this.lastRejection) this.p.logger.error({ out }, 'the catalog refused this site\'s own record: fix the site section of the config');
      this.lastRejection = out.message;
    } else if (out.status === 'committed') {
      this.lastRejection = '';
      this.p.logger.info({ addresses: spec.addresses }, 'registered this site in the catalog');
    }
  }

  private async promoteOneLearner(): Promise<void> {
    const st = this.p.replica.status();
    if (st.conf.voters.length >= this.p.voters || st.conf.learners.length === 0) return;
    const progress = new Map((st.progress ?? []).map((pr) => [pr.member, pr]));
    const candidate = st.conf.learners
      .filter((m) => this.p.replica.isLive(m) && (progress.get(m)?.match ?? 0) >= st.lastIndex - PROMOTION_MAX_LAG_ENTRIES)
      .sort()[0];
    if (!candidate) return;
    const out = await this.p.replica.proposeConfChange({ type: 'promote', member: candidate });
    this.p.logger.info({ site: candidate, outcome: out.status }, `promoting learner ${candidate} to voter (${st.conf.voters.length} of ${this.p.voters} voters)`);
    if (out.status === 'committed' && this.p.catalog.get('site', candidate)) {
      await this.p.writer.write([{ op: 'patch', kind: 'site', id: candidate, spec: { role: 'voter' } }], { clientId: this.clientId, seq: ++this.seq });
    }
  }
}
