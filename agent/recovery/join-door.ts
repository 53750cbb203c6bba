// The member side of a join (join-wire.ts): a site that is not a member yet presents its token's
// secret over the one protocol the gater lets a stranger use (agent/transport/join-guests.ts). The
// leader redeems the token through the log under the peer id Noise authenticated: a patch of the
// site's record setting `peerId` and `join.redeemedBy` to that id, which the catalog applies once
// and only while the entry's time is before `join.expiresAt` (agent/catalog/rules.ts), then adds the
// site as a learner. Every answer is counted by outcome.
import { timingSafeEqual } from 'node:crypto';
import type { Logger } from '../../consensus/ports.js';
import type { ConfChange, ConfState } from '../../consensus/types.js';
import type { AgentService, WriteOutcome } from '../admin/service.js';
import { StreamReader } from '../net/framing.js';
import type { ByteStream } from '../blobs/ports.js';
import { withTimeout } from '../blobs/server.js';
import type { Catalog } from '../catalog/index.js';
import { joinSecretHash } from './join-token.js';
import { decodeJoinRequest, encodeJoinAnswer, FINAL_JOIN_REFUSALS, type JoinAnswer, type JoinRefusalCode, type JoinRequest } from './join-wire.js';

/** A joiner has this long to send its request. */
export const JOIN_REQUEST_TIMEOUT_MS = 10_000;
/** Redemptions in flight at once on this member; past it: BUSY. */
export const MAX_REDEMPTIONS_IN_FLIGHT = 4;

export type JoinDoorOutcome = 'redeemed' | Lowercase<JoinRefusalCode>;

export interface JoinDoorParts {
  clusterId: string;
  incarnation: string;
  site: string;
  catalog: Catalog;
  service: AgentService;
  /** The replica: who leads, the membership, and the learner step. */
  replica: {
    status(): { role: string; leader: string };
    conf(): ConfState;
    proposeConfChange(change: ConfChange): Promise<{ status: string; message?: string }>;
  };
  logger: Logger;
  now: () => number;
}

export class JoinDoor {
  readonly counters = new Map<JoinDoorOutcome, number>();
  private inFlight = 0;
  private seq = 0;
  private readonly clientId: string;

  constructor(private readonly p: JoinDoorParts) {
    this.clientId = `join-door/${p.site}/${p.now().toString(36)}`;
  }

  /** One request on `stream` from `peerId` (a member or a guest); always answers unless the stream breaks. */
  async serve(stream: ByteStream, peerId: string): Promise<void> {
    let answer: JoinAnswer;
    try {
      const reader = new StreamReader(stream.incoming);
      const request = decodeJoinRequest(await withTimeout(reader.readFrame(), JOIN_REQUEST_TIMEOUT_MS, 'no join request'));
      answer = await this.decide(request, peerId);
    } catch (err) {
      answer = { ok: false, code: 'BAD_REQUEST', message: (err as Error).message };
    }
    this.count(answer);
    if (!answer.ok && answer.code !== 'NOT_LEADER') this.p.logger.warn({ peerId, code: answer.code, message: answer.message }, 'join: a request was refused');
    try {
      await stream.write(encodeJoinAnswer(answer));
      await stream.end();
    } catch (err) {
      stream.abort(err as Error);
    }
  }

  private async decide(request: JoinRequest, peerId: string): Promise<JoinAnswer> {
    if (request.cluster !== this.p.clusterId || request.inc !== this.p.incarnation) {
      return refuse('WRONG_CLUSTER', `this is cluster ${this.p.clusterId} (incarnation ${this.p.incarnation || 'original'}): a foreign token`);
    }
    const record = this.p.catalog.get('site', request.site);
    const join = record?.spec.join;
    if (record === undefined || join?.secretHash === undefined) {
      return refuse('UNKNOWN_SITE', `no site ${request.site} is waiting to join (it was removed, or the token is not this cluster's)`);
    }
    if (!sameHash(joinSecretHash(request.secret), join.secretHash)) return refuse('BAD_SECRET', 'the token\'s secret does not match: a damaged or foreign token');
    if (join.redeemedBy !== undefined && join.redeemedBy !== peerId) {
      return refuse('USED', `this join token was already used by another site (redeemed through the log by peer ${join.redeemedBy})`);
    }
    const { role, leader } = this.p.replica.status();
    if (role !== 'leader') return leader ? { ok: false, code: 'NOT_LEADER', message: `${leader} leads: ask it`, leader } : refuse('NO_LEADER', 'no leader is known here: ask again later');
    if (this.inFlight >= MAX_REDEMPTIONS_IN_FLIGHT) return refuse('BUSY', `${this.inFlight} redemptions in flight: ask again later`);
    this.inFlight++;
    try {
      return await this.redeem(request.site, peerId, join.redeemedBy === peerId);
    } finally {
      this.inFlight--;
    }
  }

  /** Through the log: the record (unless already this peer's), then the learner step. Both are idempotent. */
  private async redeem(site: string, peerId: string, recorded: boolean): Promise<JoinAnswer> {
    let index = 0;
    if (!recorded) {
      const out = await this.p.service.write(
        [{ op: 'patch', kind: 'site', id: site, patch: { peerId, join: { redeemedBy: peerId } } }],
        { force: false, clientId: this.clientId, seq: ++this.seq, operator: 'join', reason: `join token redeemed by ${peerId}` },
      );
      if (out.status !== 'committed') return refusalOf(out);
      index = out.index;
      this.p.logger.info({ site, peerId, index }, 'join: token redeemed through the log');
    }
    const conf = this.p.replica.conf();
    if (!conf.voters.includes(site) && !conf.learners.includes(site)) {
      const added = await this.p.replica.proposeConfChange({ type: 'addLearner', member: site });
      if (added.status !== 'committed') return refuse('RETRY', `the token is redeemed; adding ${site} as a learner: ${added.status}${added.message ? ` (${added.message})` : ''}`);
    }
    return { ok: true, index };
  }

  private count(answer: JoinAnswer): void {
    const outcome: JoinDoorOutcome = answer.ok ? 'redeemed' : (answer.code.toLowerCase() as JoinDoorOutcome);
    this.counters.set(outcome, (this.counters.get(outcome) ?? 0) + 1);
  }
}

function refuse(code: JoinRefusalCode, message: string): JoinAnswer {
  return { ok: false, code, message };
}

/** The log's verdict on a redemption, as the joiner must read it. */
function refusalOf(out: Exclude<WriteOutcome, { status: 'committed' }>): JoinAnswer {
  if (out.status === 'rejected' && out.field === 'spec.join.expiresAt') return refuse('EXPIRED', out.message);
  if (out.status === 'rejected' && out.field === 'spec.join.redeemedBy') return refuse('USED', out.message);
  return refuse('RETRY', `${out.status}: ${'message' in out ? out.message : ''}`);
}

function sameHash(a: string, b: string): boolean {
  return a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));
}

export { FINAL_JOIN_REFUSALS };
