// The in-test network: a deterministic message bus between Raft members. Time is counted in bus
// steps; each message is delivered at (send step + a random delay), so delays reorder messages.
// Faults (drop, duplicate, delay) and partitions all come from one seed, so a run replays exactly.
import type { MemberId, Message } from '../../consensus/types.js';
import { fnv1a, Rng } from './rng.js';

export interface BusFaults {
  /** Probability that a message is lost. */
  dropRate: number;
  /** Probability that a message is delivered twice (each copy gets its own delay). */
  duplicateRate: number;
  /** Each message waits a uniform 0..maxDelaySteps bus steps (0 = delivered at the next delivery). */
  maxDelaySteps: number;
}

export const NO_FAULTS: BusFaults = { dropRate: 0, duplicateRate: 0, maxDelaySteps: 0 };

/** A test hook's verdict on one message: deliver it, lose it, or deliver this message instead. */
export type Verdict = 'deliver' | 'drop' | { replace: Message };

interface InFlight {
  deliverAt: number;
  seq: number;
  msg: Message;
}

/** Bound on messages in flight: a harness that floods past this has a runaway loop. */
export const MAX_IN_FLIGHT_MESSAGES = 200_000;

export class Bus {
  now = 0;
  faults: BusFaults;
  /** Test hook, consulted at delivery after partitions (see Verdict). */
  intercept: ((msg: Message) => Verdict) | null = null;
  /** Test hook: every message handed to the bus (before any fault), for traffic assertions. */
  onSend: ((msg: Message) => void) | null = null;
  readonly counters = { sent: 0, delivered: 0, dropped: 0, duplicated: 0 };
  /** Hash of every delivery (type, route, term, index): equal hashes = identical runs. */
  traceHash = 0x811c9dc5;

  private readonly rng: Rng;
  private queue: InFlight[] = [];
  private seq = 0;
  private groupOf = new Map<MemberId, number>();
  private cutLinks = new Set<string>();

  constructor(seed: number, faults: BusFaults = NO_FAULTS) {
    this.rng = new Rng(seed);
    this.faults = { ...faults };
  }

  send(msg: Message): void {
    this.counters.sent++;
    this.onSend?.(msg);
    if (!this.canReach(msg.from, msg.to) || this.rng.chance(this.faults.dropRate)) {
      this.counters.dropped++;
      return;
    }
    this.enqueue(msg);
    if (this.rng.chance(this.faults.duplicateRate)) {
      this.counters.duplicated++;
      this.enqueue(msg);
    }
  }

  /** Removes and returns the messages due now, in delivery order, dropping those a partition cut off since. */
  takeDue(): Message[] {
    if (this.queue.length === 0) return [];
    const due: InFlight[] = [];
    const later: InFlight[] = [];
    for (const item of this.queue) (item.deliverAt <= this.now ? due : later).push(item);
    this.queue = later;
    due.sort((a, b) => a.deliverAt - b.deliverAt || a.seq - b.seq);
    const out: Message[] = [];
    for (const item of due) {
      const verdict = this.canReach(item.msg.from, item.msg.to) ? (this.intercept?.(item.msg) ?? 'deliver') : 'drop';
      if (verdict === 'drop') {
        this.counters.dropped++;
        continue;
      }
      const msg = verdict === 'deliver' ? item.msg : verdict.replace;
      this.counters.delivered++;
      this.traceHash = fnv1a(`${msg.type}|${msg.from}|${msg.to}|${msg.term}|${msg.index ?? ''}`, this.traceHash);
      out.push(msg);
    }
    return out;
  }

  pending(): number {
    return this.queue.length;
  }

  /** Drops every message in flight (a test that wants a clean slate). */
  clear(): void {
    this.counters.dropped += this.queue.length;
    this.queue = [];
  }

  /** Members in different groups cannot talk; members named in no group are in group 0 with each other. */
  partition(...groups: MemberId[][]): void {
    this.groupOf.clear();
    groups.forEach((group, i) => group.forEach((id) => this.groupOf.set(id, i + 1)));
  }

  /** Cuts one direction of one link (a one-way partition). */
  cut(from: MemberId, to: MemberId): void {
    this.cutLinks.add(`${from}>${to}`);
  }

  heal(): void {
    this.groupOf.clear();
    this.cutLinks.clear();
  }

  canReach(from: MemberId, to: MemberId): boolean {
    if (this.cutLinks.has(`${from}>${to}`)) return false;
    return (this.groupOf.get(from) ?? 0) === (this.groupOf.get(to) ?? 0);
  }

  isPartitioned(): boolean {
    return this.groupOf.size > 0 || this.cutLinks.size > 0;
  }

  private enqueue(msg: Message): void {
    if (this.queue.length >= MAX_IN_FLIGHT_MESSAGES) {
      throw new Error(`bus: more than ${MAX_IN_FLIGHT_MESSAGES} messages in flight (runaway traffic?)`);
    }
    const delay = this.faults.maxDelaySteps > 0 ? this.rng.int(this.faults.maxDelaySteps + 1) : 0;
    this.queue.push({ deliverAt: this.now + delay, seq: this.seq++, msg });
  }
}
