// The clients: operations arrive as a Poisson process at the configured rate; each goes to an idle
// client (one operation in flight per client, so a client's sequence numbers apply in order) and
// is sent to a random running site. Writes: put, patch, delete, compare-and-set by revision, atomic
// batches and protection-group writes naming two random sites. Reads: local (the site's applied
// state) and linearizable (ReadIndex, then the local catalog). A write whose outcome is unknown is
// retried once, half the time, at another site with the same client id and sequence number:
// exactly-once must make the two attempts one write. Otherwise the client abandons it and moves on,
// and asks a random site later what became of it (the agent's write-status answer, which the
// write-status checker compares with the log); so it does for writes refused, for sequence numbers
// it gave up before sending, and for some settled writes at once (a follower may not have applied
// them yet).
import { writeIdOf } from '../../agent/catalog/write-id.js';
import { deleteOp, drOp, patchOp, putOp, type WriteOp } from '../../agent/catalog/index.js';
import type { CatalogWriteOutcome } from '../../agent/write/catalog-writer.js';
import type { RegisterValue } from '../checkers/linearizability.js';
import type { WriteStatusAnswer } from '../checkers/write-status.js';
import type { Prng } from '../prng.js';
import type { Scheduler } from '../scheduler.js';
import type { TraceHash } from '../stats.js';
import type { History, KeyEffect, WriteRecord } from './history.js';
import type { SimHooks } from './hooks.js';
import { flavorSpec, groupSpec, valueOfSpec, type RegisterKey } from './keys.js';
import type { SimSite } from './site.js';

export type OpType = 'put' | 'patch' | 'delete' | 'cas' | 'batch' | 'group' | 'readLinear' | 'readLocal';

/** Relative weights of the operation mix. */
export const OP_MIX: ReadonlyArray<readonly [OpType, number]> = [
  ['put', 16],
  ['patch', 10],
  ['delete', 5],
  ['cas', 12],
  ['batch', 8],
  ['group', 14],
  ['readLinear', 20],
  ['readLocal', 15],
];
/** Keys written together by one atomic batch. */
const BATCH_KEYS = 3;
/** Probability that a client retries a write whose outcome it does not know. */
const RETRY_UNKNOWN_PROBABILITY = 0.5;
/** Probability that a client gives up a sequence number before sending it (and asks about it later). */
const SKIP_SEQ_PROBABILITY = 0.03;
/** Probability of asking at once about a write whose outcome the client knows. */
const ASK_SETTLED_PROBABILITY = 0.1;
/** Write-status answers kept for the checker (the rest are only counted). */
export const MAX_STATUS_ANSWERS_KEPT = 100_000;

export interface WorkloadWorld {
  upSites(): SimSite[];
  siteNames(): string[];
  /** A client learnt its write committed at `index` (told by `site`). */
  onWriteCommitted(rec: WriteRecord, index: number, site: string): void;
  /** Every attempt of the write was refused: it must never apply anywhere. */
  onWriteRefused(rec: WriteRecord, site: string): void;
}

export interface WorkloadOptions {
  /** DR operations (failover, forced failover, failback, drills) on the protection groups, per second; 0 = none. */
  drOpsPerSec?: number;
  ratePerSec: number;
  clients: number;
  /** No operation starts at or after this time (the quiet period). */
  stopAtMs: number;
  proposalTimeoutMs: number;
}

export interface WorkloadStats {
  arrivals: number;
  /** Arrivals dropped because every client had an operation in flight. */
  skippedBusy: number;
  /** Arrivals dropped because no site was running. */
  skippedNoSite: number;
  writes: number;
  linearizableReads: number;
  localReads: number;
  readsFailed: number;
  retries: number;
  /** Write-status questions asked, and those whose site went down before answering. */
  statusQueries: number;
  statusQueriesLost: number;
}

interface Client {
  name: string;
  seq: number;
  busy: boolean;
}

const STATUS_CODES = ['committed', 'rejected', 'pending', 'not-committed', 'unknown'] as const;

type Attempt = CatalogWriteOutcome | { status: 'unknown'; writeId: string; message: string };

export class Workload {
  private readonly clients: Client[];
  private readonly flavorKeys: RegisterKey[];
  private readonly groupKeys: RegisterKey[];
  private readonly totalWeight: number;
  private stopped = false;
  /** Decides the write-status questions, apart from the main stream so these do not reshuffle it. */
  private readonly askPrng: Prng;
  readonly statusAnswers: WriteStatusAnswer[] = [];
  readonly stats: WorkloadStats = {
    arrivals: 0,
    skippedBusy: 0,
    skippedNoSite: 0,
    writes: 0,
    linearizableReads: 0,
    localReads: 0,
    readsFailed: 0,
    retries: 0,
    statusQueries: 0,
    statusQueriesLost: 0,
  };

  constructor(
    private readonly scheduler: Scheduler,
    private readonly prng: Prng,
    private readonly world: WorkloadWorld,
    private readonly history: History,
    private readonly keys: readonly RegisterKey[],
    private readonly opts: WorkloadOptions,
    private readonly hooks: SimHooks,
    private readonly trace: TraceHash,
  ) {
    this.clients = Array.from({ length: opts.clients }, (_, i) => ({ name: `c${i}`, seq: 0, busy: false }));
    this.flavorKeys = keys.filter((k) => k.kind === 'flavor');
    this.groupKeys = keys.filter((k) => k.kind === 'protection-group');
    this.totalWeight = OP_MIX.reduce((s, [, w]) => s + w, 0);
    this.askPrng = prng.fork('write-status');
  }

  /** Starts the arrivals now. */
  start(): void {
    this.scheduleNextArrival();
    if ((this.opts.drOpsPerSec ?? 0) > 0) this.scheduleNextDrOp();
  }

  /** DR operations have a PRNG and a client of their own, so runs without them are unchanged. */
  private drPrngMade: Prng | null = null;
  private get drPrng(): Prng {
    return (this.drPrngMade ??= this.prng.fork('dr'));
  }
  private readonly drClient: Client = { name: 'dr-ops', seq: 0, busy: false };

  private scheduleNextDrOp(): void {
    const at = this.scheduler.now() + this.drPrng.exponential(1000 / (this.opts.drOpsPerSec ?? 1));
    if (this.stopped || at >= this.opts.stopAtMs) return;
    this.scheduler.at(at, () => {
      if (!this.drClient.busy) {
        this.drClient.busy = true;
        void this.drOperation().finally(() => (this.drClient.busy = false));
      }
      this.scheduleNextDrOp();
    });
  }

  /** A failover (planned or forced), failback or drill step on a group, as the chosen site reads it. */
  private drOperation(): Promise<void> {
    const sites = this.world.upSites();
    if (sites.length === 0 || this.groupKeys.length === 0) return Promise.resolve();
    const site = this.drPrng.pick(sites);
    const key = this.drPrng.pick(this.groupKeys);
    const group = site.catalog?.get('protection-group', key.id);
    if (group === undefined) return Promise.resolve();
    const { primarySite: from, secondarySite: to, failoverEpoch: epoch } = group.spec;
    const r = this.drPrng.float();
    const action = r < 0.3 ? 'failover' : r < 0.6 ? 'forced' : r < 0.8 ? 'failback' : r < 0.9 ? 'test-failover' : 'test-cleanup';
    const op =
      action === 'failover' || action === 'forced' || action === 'failback'
        ? drOp(key.id, action === 'forced' ? 'failover' : action, epoch, { from, to })
        : drOp(key.id, action, epoch, { site: to });
    this.drClient.seq++;
    const force = action === 'forced' ? { force: true as const, reason: 'sim: the primary looks lost' } : undefined;
    return this.write(this.drClient, site, [op], [], [], { action, ...(force ? { forcedFrom: from } : {}) }, force);
  }

  stop(): void {
    this.stopped = true;
  }

  private scheduleNextArrival(): void {
    const gap = this.prng.exponential(1000 / this.opts.ratePerSec);
    const at = this.scheduler.now() + gap;
    if (this.stopped || at >= this.opts.stopAtMs) return;
    this.scheduler.at(at, () => this.arrive());
  }

  private arrive(): void {
    this.scheduleNextArrival();
    this.stats.arrivals++;
    const idle = this.clients.filter((c) => !c.busy);
    if (idle.length === 0) {
      this.stats.skippedBusy++;
      return;
    }
    const sites = this.world.upSites();
    if (sites.length === 0) {
      this.stats.skippedNoSite++;
      return;
    }
    const client = this.prng.pick(idle);
    const site = this.prng.pick(sites);
    client.busy = true;
    void this.runOp(client, site, this.pickOpType()).finally(() => (client.busy = false));
  }

  private pickOpType(): OpType {
    let r = this.prng.float() * this.totalWeight;
    for (const [type, w] of OP_MIX) {
      r -= w;
      if (r < 0) return type;
    }
    return OP_MIX[OP_MIX.length - 1][0];
  }

  private async runOp(client: Client, site: SimSite, type: OpType): Promise<void> {
    switch (type) {
      case 'readLocal':
        this.readLocal(site, this.prng.pick(this.keys));
        return;
      case 'readLinear':
        return this.readLinearizable(client, site, this.prng.pick(this.keys));
      case 'put': {
        const key = this.prng.pick(this.flavorKeys);
        const value = this.nextValue(client);
        return this.write(client, site, [putOp('flavor', key.id, flavorSpec(key.id, value))], [{ key: key.key, mode: 'write', value }], []);
      }
      case 'patch': {
        const key = this.prng.pick(this.flavorKeys);
        const value = this.nextValue(client);
        return this.write(client, site, [patchOp('flavor', key.id, { description: value })], [{ key: key.key, mode: 'update', value }], []);
      }
      case 'delete': {
        const key = this.prng.pick(this.flavorKeys);
        this.nextValue(client);
        return this.write(client, site, [deleteOp('flavor', key.id)], [{ key: key.key, mode: 'update', value: null }], []);
      }
      case 'cas':
        return this.compareAndSet(client, site, this.prng.pick(this.flavorKeys));
      case 'batch':
        return this.batch(client, site);
      case 'group':
        // A protection group needs two distinct sites.
        if (this.world.siteNames().length < 2) return this.runOp(client, site, 'put');
        return this.groupWrite(client, site, this.prng.pick(this.groupKeys));
    }
  }

  /** A fresh register value: the write id of the write about to be issued. */
  private nextValue(client: Client): string {
    if (this.askPrng.chance(SKIP_SEQ_PROBABILITY)) {
      client.seq++;
      this.askLater(client.name, client.seq, false);
    }
    client.seq++;
    return `${client.name}.${client.seq}`;
  }

  private readLocal(site: SimSite, key: RegisterKey): { value: RegisterValue; revision: number } {
    const catalog = site.catalog!;
    const resource = catalog.get(key.kind, key.id);
    const value = resource === undefined ? null : (valueOfSpec(key.kind, resource.spec) ?? null);
    const revision = resource?.revision ?? 0;
    this.stats.localReads++;
    this.history.addLocalRead({ site: site.name, key: key.key, atMs: this.scheduler.now(), appliedIndex: catalog.appliedIndex, value, revision });
    return { value, revision };
  }

  private async readLinearizable(client: Client, site: SimSite, key: RegisterKey): Promise<void> {
    const replica = site.replica!;
    const catalog = site.catalog!;
    const invokeMs = this.scheduler.now();
    this.stats.linearizableReads++;
    const barrier = this.hooks.readBarrier?.(site.name, replica) ?? replica.readIndex(this.opts.proposalTimeoutMs);
    const outcome = await Promise.race([barrier, site.whenDown().then(() => null)]);
    const completeMs = this.scheduler.now();
    const id = this.history.newId();
    if (outcome === null || !outcome.ok) {
      this.stats.readsFailed++;
      this.history.reads.push({ id, client: client.name, site: site.name, key: key.key, invokeMs, completeMs, ok: false });
      this.mixOutcome(id, 0, completeMs);
      return;
    }
    const resource = catalog.get(key.kind, key.id);
    const observed = resource === undefined ? null : (valueOfSpec(key.kind, resource.spec) ?? null);
    this.history.reads.push({ id, client: client.name, site: site.name, key: key.key, invokeMs, completeMs, ok: true, observed });
    this.mixOutcome(id, 1, completeMs);
  }

  /** Reads the site's local state, then writes only if it is still what was read (by revision). */
  private compareAndSet(client: Client, site: SimSite, key: RegisterKey): Promise<void> {
    const seen = this.readLocal(site, key);
    const value = this.nextValue(client);
    if (seen.value !== null && this.prng.chance(0.25)) {
      return this.write(client, site, [deleteOp('flavor', key.id, seen.revision)], [{ key: key.key, mode: 'cas', value: null, expected: seen.value }], []);
    }
    const op = putOp('flavor', key.id, flavorSpec(key.id, value), { expectedRevision: seen.revision });
    return this.write(client, site, [op], [{ key: key.key, mode: 'cas', value, expected: seen.value }], []);
  }

  /** Puts on several keys in one command; the first may be conditional (then all or none apply). */
  private batch(client: Client, site: SimSite): Promise<void> {
    const keys = this.prng.shuffle([...this.flavorKeys]).slice(0, BATCH_KEYS);
    const value = this.nextValue(client);
    const ops: WriteOp[] = [];
    const effects: KeyEffect[] = [];
    keys.forEach((key, i) => {
      const v = `${value}/${i}`;
      if (i === 0 && this.prng.chance(0.5)) {
        const seen = this.readLocal(site, key);
        ops.push(putOp('flavor', key.id, flavorSpec(key.id, v), { expectedRevision: seen.revision }));
        effects.push({ key: key.key, mode: 'cas', value: v, expected: seen.value });
      } else {
        ops.push(putOp('flavor', key.id, flavorSpec(key.id, v)));
        effects.push({ key: key.key, mode: 'write', value: v });
      }
    });
    return this.write(client, site, ops, effects, []);
  }

  /** A protection-group write naming two random sites: refused unless both answer the leader. */
  private groupWrite(client: Client, site: SimSite, key: RegisterKey): Promise<void> {
    const names = this.world.siteNames();
    const primary = this.prng.pick(names);
    let secondary = this.prng.pick(names);
    while (secondary === primary) secondary = this.prng.pick(names);
    const value = this.nextValue(client);
    const r = this.prng.float();
    if (r < 0.1) {
      return this.write(client, site, [deleteOp('protection-group', key.id)], [{ key: key.key, mode: 'update', value: null }], []);
    }
    const named = [primary, secondary];
    if (r < 0.5) {
      const op = patchOp('protection-group', key.id, { volumeType: value, primarySite: primary, secondarySite: secondary });
      return this.write(client, site, [op], [{ key: key.key, mode: 'update', value }], named);
    }
    return this.write(client, site, [putOp('protection-group', key.id, groupSpec(key.id, value, primary, secondary))], [{ key: key.key, mode: 'write', value }], named);
  }

  private async write(
    client: Client,
    site: SimSite,
    ops: WriteOp[],
    effects: KeyEffect[],
    namedSites: string[],
    dr?: WriteRecord['dr'],
    force?: { force: true; reason: string },
  ): Promise<void> {
    const seq = client.seq;
    const extra = { ...(this.hooks.writeOptions?.(site.name, ops) ?? {}), ...force };
    const rec: WriteRecord = {
      id: this.history.newId(),
      client: client.name,
      site: site.name,
      writeId: writeIdOf(client.name, seq),
      invokeMs: this.scheduler.now(),
      effects,
      namedSites,
      forced: extra.force === true,
      attempts: 1,
      ...(dr === undefined ? {} : { dr }),
    };
    this.history.writes.push(rec);
    this.stats.writes++;
    let answeredBy = site.name;
    let outcome = await this.attempt(site, ops, client.name, seq, extra);
    if (outcome.status === 'unknown' && this.scheduler.now() < this.opts.stopAtMs && this.prng.chance(RETRY_UNKNOWN_PROBABILITY)) {
      const others = this.world.upSites().filter((s) => s !== site);
      if (others.length > 0) {
        const other = this.prng.pick(others);
        rec.attempts++;
        this.stats.retries++;
        const second = await this.attempt(other, ops, client.name, seq, extra);
        // A refusal of the retry says nothing of the first attempt, which may still have applied.
        if (second.status === 'committed' || second.status === 'rejected') {
          outcome = second;
          answeredBy = other.name;
        }
      }
    }
    rec.completeMs = this.scheduler.now();
    rec.status = outcome.status;
    if (outcome.status === 'refused' || outcome.status === 'rejected') rec.code = outcome.code;
    if (outcome.status === 'rejected' && outcome.opIndex !== undefined) rec.opIndex = outcome.opIndex;
    // With DR operations on, a change of a group's sites is refused while a drill runs: the workflow's rule, not a bad command.
    if (outcome.status === 'rejected' && outcome.field === 'spec.primarySite' && /a drill is running/.test(outcome.message)) rec.dr ??= { action: 'refused during a drill' };
    if (outcome.status === 'committed') this.world.onWriteCommitted(rec, outcome.index, answeredBy);
    if (outcome.status === 'refused') this.world.onWriteRefused(rec, answeredBy);
    this.mixOutcome(rec.id, ['committed', 'rejected', 'refused', 'unknown'].indexOf(outcome.status) + 2, rec.completeMs);
    const settled = outcome.status === 'committed' || outcome.status === 'rejected';
    if (!settled || this.askPrng.chance(ASK_SETTLED_PROBABILITY)) this.askLater(client.name, seq, settled);
  }

  /**
   * Asks a random running site, later, what became of write `client:seq` (at once when the client
   * knows: to catch a site that has not applied it yet), without waiting for the answer.
   */
  private askLater(clientId: string, seq: number, now: boolean): void {
    const delayMs = now ? 0 : this.askPrng.uniform(0, 2 * this.opts.proposalTimeoutMs);
    const at = this.scheduler.now() + delayMs;
    if (this.stopped || at >= this.opts.stopAtMs) return;
    this.scheduler.at(at, () => void this.askStatus(clientId, seq));
  }

  private async askStatus(clientId: string, seq: number): Promise<void> {
    const sites = this.world.upSites();
    if (sites.length === 0) return;
    const site = this.askPrng.pick(sites);
    const writer = site.writer;
    if (writer === null) return;
    this.stats.statusQueries++;
    const askedMs = this.scheduler.now();
    const answer = await Promise.race([writer.status(clientId, seq, this.opts.proposalTimeoutMs), site.whenDown().then(() => null)]);
    if (answer === null) {
      this.stats.statusQueriesLost++;
      return;
    }
    const answeredMs = this.scheduler.now();
    this.trace.mixNumber(seq);
    this.trace.mixU32(STATUS_CODES.indexOf(answer.status));
    this.trace.mixNumber(answeredMs);
    if (this.statusAnswers.length < MAX_STATUS_ANSWERS_KEPT) this.statusAnswers.push({ writeId: answer.writeId, site: site.name, askedMs, answeredMs, answer });
  }

  private attempt(site: SimSite, ops: WriteOp[], clientId: string, seq: number, extra: object): Promise<Attempt> {
    const writer = site.writer;
    const unknown: Attempt = { status: 'unknown', writeId: writeIdOf(clientId, seq), message: `site ${site.name} went down` };
    if (writer === null) return Promise.resolve(unknown);
    const pending = writer.write(ops, { clientId, seq, timeoutMs: this.opts.proposalTimeoutMs, ...extra });
    return Promise.race([pending, site.whenDown().then(() => unknown)]);
  }

  private mixOutcome(id: number, code: number, atMs: number): void {
    this.trace.mixU32(id);
    this.trace.mixU32(code);
    this.trace.mixNumber(atMs);
  }
}
