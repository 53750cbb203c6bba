// The simulated network: one Transport per site over the WAN model, delivering through the
// scheduler. Nothing here throws at a sender (the Transport contract is best effort).
//
// Message ownership: by default a message object is handed to the receiver as is (no copy: copying
// every message would dominate the run time). That is safe only if replicas never mutate a message
// after sending it or after receiving it — the runtime treats messages as immutable plain data.
// messageIsolation 'isolate' (debug) clones each message at send time and deep-freezes the clone,
// so a receiver that writes to a message throws (ES modules are strict) and a sender that reuses
// its object cannot change what is in flight. Byte arrays cannot be frozen; they are copied.
//
// Crashes: a down site sends nothing and receives nothing; messages in flight to it are lost, even
// if it restarts before they arrive (a new process has new connections). Messages it sent before
// crashing are already on the wire and still arrive. A cut also drops messages in flight on the
// links it blocks when they arrive.
import type { MemberId, MessageType } from '../consensus/types.js';
import type { Transport, WireMessage } from '../consensus/ports.js';
import type { Scheduler } from './scheduler.js';
import type { LinkCut, LinkFaultKind, WanModel } from './wan.js';
import type { TraceHash } from './stats.js';

export type NetworkDropReason = 'partition' | 'loss' | 'senderDown' | 'receiverDown' | 'unknownSite' | 'cutInFlight';

export interface SimNetworkOptions {
  /** 'shared' (default, fast) or 'isolate' (debug: clone and deep-freeze every message). */
  messageIsolation?: 'shared' | 'isolate';
  /**
   * A send that hits a cut link or a down site is reported to the sender's onUnreachable handler
   * this long afterwards (a connection timing out), at most once per link per window; 0 = never.
   */
  unreachableAfterMs?: number;
  /** Every delivery is mixed into this hash as (time, from, to, message type). */
  trace?: TraceHash;
}

export const DEFAULT_UNREACHABLE_AFTER_MS = 500;

export interface TypeCount {
  count: number;
  bytes: number;
}

export interface NetworkStats {
  sent: number;
  delivered: number;
  duplicated: number;
  bytesSent: number;
  bytesDelivered: number;
  dropped: Record<NetworkDropReason, number>;
  /** Sent messages per type: raft message type ('append', 'vote', …) or wire kind ('propose', …). */
  byType: Record<string, TypeCount>;
}

/** A network that fault injection can cut and degrade (FaultTarget's network half). */
export interface NetworkFaultTarget {
  /** Applies a cut; returns its id. */
  partition(cut: LinkCut): number;
  /** Heals one cut, or every cut when no id is given (fault probabilities are not touched). */
  heal(cutId?: number): void;
  /** Sets a per-message fault probability; null restores the WAN's configured baseline. */
  setLinkFault(kind: LinkFaultKind, probability: number | null): void;
}

type MessageHandler = (from: MemberId, message: WireMessage) => void;
type UnreachableHandler = (member: MemberId) => void;

/** Weight of the newest delivery in a link's measured delay (a moving average over ~10 messages). */
export const MEASURED_DELAY_WEIGHT = 0.1;

class InFlight {
  constructor(
    readonly fromIdx: number,
    readonly toIdx: number,
    readonly toIncarnation: number,
    readonly message: WireMessage,
    readonly bytes: number,
    readonly sentAtMs: number,
  ) {}
}

class UnreachableReport {
  constructor(
    readonly fromIdx: number,
    readonly toIdx: number,
    readonly fromIncarnation: number,
  ) {}
}

const RAFT_TYPE_CODES: Record<MessageType, number> = {
  preVote: 1,
  preVoteResp: 2,
  vote: 3,
  voteResp: 4,
  append: 5,
  appendResp: 6,
  heartbeat: 7,
  heartbeatResp: 8,
  snapshot: 9,
  snapshotResp: 10,
  timeoutNow: 11,
};
const WIRE_KIND_CODES: Record<Exclude<WireMessage['kind'], 'raft'>, number> = {
  propose: 20,
  proposeResult: 21,
  readIndex: 22,
  readIndexResult: 23,
};

function typeOf(m: WireMessage): string {
  return m.kind === 'raft' ? m.msg.type : m.kind;
}

function typeCode(m: WireMessage): number {
  return m.kind === 'raft' ? RAFT_TYPE_CODES[m.msg.type] ?? 0 : WIRE_KIND_CODES[m.kind] ?? 0;
}

/** Header and field overhead assumed per message and per entry (a msgpack-ish estimate, not exact). */
const MESSAGE_OVERHEAD_BYTES = 64;
const ENTRY_OVERHEAD_BYTES = 24;

/** Approximate encoded size, cheap enough to compute for every message. */
export function estimateWireBytes(m: WireMessage): number {
  switch (m.kind) {
    case 'raft': {
      let bytes = MESSAGE_OVERHEAD_BYTES;
      const entries = m.msg.entries;
      if (entries) for (const e of entries) bytes += ENTRY_OVERHEAD_BYTES + e.data.byteLength;
      if (m.msg.snapshot) bytes += ENTRY_OVERHEAD_BYTES + m.msg.snapshot.data.byteLength;
      // Relay lists and reports: a site name (~16 bytes) per learner, plus two numbers in a report.
      if (m.msg.relayTo) bytes += 16 * m.msg.relayTo.length;
      if (m.msg.relayed) bytes += 24 * m.msg.relayed.length;
      return bytes;
    }
    case 'propose':
      return MESSAGE_OVERHEAD_BYTES + m.data.byteLength + 16 * (m.requireLive.length + (m.requireUnreachable?.length ?? 0));
    default:
      return MESSAGE_OVERHEAD_BYTES;
  }
}

/** structuredClone, then freeze every object and array (byte arrays are fresh copies instead). */
export function isolateMessage<T>(message: T): T {
  const copy = structuredClone(message);
  deepFreeze(copy);
  return copy;
}

function deepFreeze(value: unknown): void {
  if (value === null || typeof value !== 'object' || ArrayBuffer.isView(value) || Object.isFrozen(value)) return;
  for (const key of Object.keys(value)) deepFreeze((value as Record<string, unknown>)[key]);
  Object.freeze(value);
}

class SiteTransport implements Transport {
  constructor(
    private readonly network: SimNetwork,
    private readonly siteIdx: number,
    private readonly incarnation: number,
  ) {}

  send(to: MemberId, message: WireMessage): void {
    this.network.sendFrom(this.siteIdx, this.incarnation, to, message);
  }

  onMessage(handler: MessageHandler): void {
    this.network.setHandler(this.siteIdx, this.incarnation, handler);
  }

  onUnreachable(handler: UnreachableHandler): void {
    this.network.setUnreachableHandler(this.siteIdx, this.incarnation, handler);
  }
}

export class SimNetwork implements NetworkFaultTarget {
  private readonly n: number;
  private readonly names: string[];
  private readonly up: Uint8Array;
  private readonly incarnation: Uint32Array;
  private readonly handlers: Array<MessageHandler | null>;
  private readonly unreachableHandlers: Array<UnreachableHandler | null>;
  private readonly reportPending: Uint8Array;
  /**
   * Delivery delay of each directed link as measured on the messages it delivered (a moving
   * average; NaN before the first): what a site's transport would measure, as libp2p's connection
   * monitor does for the daemon.
   */
  private readonly measuredOneWayMs: Float32Array;
  /** Bytes each site sent (its egress), counted at send like bytesSent. */
  private readonly bytesSentBySite: Float64Array;
  private readonly isolate: boolean;
  private readonly unreachableAfterMs: number;
  private readonly trace: TraceHash | undefined;
  private readonly deliverBound = (rec: InFlight): void => this.deliver(rec);
  private readonly reportBound = (rec: UnreachableReport): void => this.report(rec);
  private readonly counters: NetworkStats = {
    sent: 0,
    delivered: 0,
    duplicated: 0,
    bytesSent: 0,
    bytesDelivered: 0,
    dropped: { partition: 0, loss: 0, senderDown: 0, receiverDown: 0, unknownSite: 0, cutInFlight: 0 },
    byType: {},
  };

  constructor(
    private readonly scheduler: Scheduler,
    readonly wan: WanModel,
    options: SimNetworkOptions = {},
  ) {
    this.names = wan.siteNames();
    this.n = this.names.length;
    this.up = new Uint8Array(this.n).fill(1);
    this.incarnation = new Uint32Array(this.n);
    this.handlers = new Array(this.n).fill(null);
    this.unreachableHandlers = new Array(this.n).fill(null);
    this.reportPending = new Uint8Array(this.n * this.n);
    this.bytesSentBySite = new Float64Array(this.n);
    this.measuredOneWayMs = new Float32Array(this.n * this.n).fill(NaN);
    this.isolate = options.messageIsolation === 'isolate';
    this.unreachableAfterMs = options.unreachableAfterMs ?? DEFAULT_UNREACHABLE_AFTER_MS;
    if (!(this.unreachableAfterMs >= 0)) throw new RangeError(`unreachableAfterMs must be >= 0, got ${this.unreachableAfterMs}`);
    this.trace = options.trace;
  }

  /**
   * The Transport of the site's current incarnation. After setSiteUp(site, false) that transport
   * goes dead for good (a zombie replica can neither send nor receive); a restarted site asks for a
   * new one.
   */
  transportFor(site: string): Transport {
    const i = this.wan.indexOf(site);
    return new SiteTransport(this, i, this.incarnation[i]);
  }

  /** Crash (false) or restart (true) a site's network presence. */
  setSiteUp(site: string, up: boolean): void {
    const i = this.wan.indexOf(site);
    if ((this.up[i] === 1) === up) return;
    if (!up) {
      this.incarnation[i]++;
      this.handlers[i] = null;
      this.unreachableHandlers[i] = null;
    }
    this.up[i] = up ? 1 : 0;
  }

  /** Round trip between two sites as measured on what their links delivered, if both ways have delivered. */
  measuredRttMs(from: string, to: string): number | undefined {
    if (!this.wan.has(to)) return undefined;
    const a = this.wan.indexOf(from);
    const b = this.wan.indexOf(to);
    const rtt = this.measuredOneWayMs[a * this.n + b] + this.measuredOneWayMs[b * this.n + a];
    return Number.isNaN(rtt) ? undefined : rtt;
  }

  private measure(link: number, delayMs: number): void {
    const before = this.measuredOneWayMs[link];
    this.measuredOneWayMs[link] = Number.isNaN(before) ? delayMs : before + (delayMs - before) * MEASURED_DELAY_WEIGHT;
  }

  isUp(site: string): boolean {
    return this.up[this.wan.indexOf(site)] === 1;
  }

  partition(cut: LinkCut): number {
    return this.wan.cut(cut, this.scheduler.now());
  }

  heal(cutId?: number): void {
    if (cutId === undefined) {
      this.wan.healAllCuts();
      return;
    }
    this.wan.heal(cutId);
  }

  setLinkFault(kind: LinkFaultKind, probability: number | null): void {
    this.wan.setLinkFault(kind, probability);
  }

  /** Bytes `site` has sent so far (its egress; 0 for a site the network does not know). */
  egressBytesOf(site: MemberId): number {
    return this.wan.has(site) ? this.bytesSentBySite[this.wan.indexOf(site)] : 0;
  }

  /** A copy of the counters. */
  stats(): NetworkStats {
    const byType: Record<string, TypeCount> = {};
    for (const [k, v] of Object.entries(this.counters.byType)) byType[k] = { ...v };
    return { ...this.counters, dropped: { ...this.counters.dropped }, byType };
  }

  /** Called by SiteTransport. */
  sendFrom(fromIdx: number, fromIncarnation: number, to: MemberId, message: WireMessage): void {
    const c = this.counters;
    c.sent++;
    const bytes = estimateWireBytes(message);
    c.bytesSent += bytes;
    this.bytesSentBySite[fromIdx] += bytes;
    const type = typeOf(message);
    const tc = c.byType[type] ?? (c.byType[type] = { count: 0, bytes: 0 });
    tc.count++;
    tc.bytes += bytes;
    if (this.up[fromIdx] === 0 || this.incarnation[fromIdx] !== fromIncarnation) {
      c.dropped.senderDown++;
      return;
    }
    const toIdx = this.wan.has(to) ? this.wan.indexOf(to) : -1;
    if (toIdx < 0) {
      c.dropped.unknownSite++;
      return;
    }
    const now = this.scheduler.now();
    if (this.up[toIdx] === 0) {
      c.dropped.receiverDown++;
      this.scheduleUnreachable(fromIdx, toIdx);
      return;
    }
    const plan = this.wan.planByIndex(fromIdx, toIdx, now, bytes);
    if (plan.length === 0) {
      const reason = this.wan.lastDropReason ?? 'loss';
      c.dropped[reason]++;
      if (reason === 'partition') this.scheduleUnreachable(fromIdx, toIdx);
      return;
    }
    const payload = this.isolate ? isolateMessage(message) : message;
    const rec = new InFlight(fromIdx, toIdx, this.incarnation[toIdx], payload, bytes, now);
    for (let k = 0; k < plan.length; k++) this.scheduler.atCall(plan[k], this.deliverBound, rec);
    if (plan.length > 1) c.duplicated += plan.length - 1;
  }

  setHandler(siteIdx: number, incarnation: number, handler: MessageHandler): void {
    if (this.incarnation[siteIdx] === incarnation) this.handlers[siteIdx] = handler;
  }

  setUnreachableHandler(siteIdx: number, incarnation: number, handler: UnreachableHandler): void {
    if (this.incarnation[siteIdx] === incarnation) this.unreachableHandlers[siteIdx] = handler;
  }

  private deliver(rec: InFlight): void {
    const c = this.counters;
    const to = rec.toIdx;
    if (this.up[to] === 0 || this.incarnation[to] !== rec.toIncarnation) {
      c.dropped.receiverDown++;
      return;
    }
    const now = this.scheduler.now();
    if (this.wan.isLinkBlocked(rec.fromIdx, to, now)) {
      c.dropped.cutInFlight++;
      return;
    }
    const handler = this.handlers[to];
    if (handler === null) {
      c.dropped.receiverDown++; // up but nothing listening yet (a replica still starting)
      return;
    }
    c.delivered++;
    c.bytesDelivered += rec.bytes;
    this.measure(rec.fromIdx * this.n + to, now - rec.sentAtMs);
    if (this.trace) {
      this.trace.mixNumber(now);
      this.trace.mixU32(rec.fromIdx);
      this.trace.mixU32(to);
      this.trace.mixU32(typeCode(rec.message));
    }
    handler(this.names[rec.fromIdx], rec.message);
  }

  private scheduleUnreachable(fromIdx: number, toIdx: number): void {
    if (this.unreachableAfterMs === 0) return;
    const link = fromIdx * this.n + toIdx;
    if (this.reportPending[link] === 1) return;
    this.reportPending[link] = 1;
    this.scheduler.afterCall(this.unreachableAfterMs, this.reportBound, new UnreachableReport(fromIdx, toIdx, this.incarnation[fromIdx]));
  }

  private report(rec: UnreachableReport): void {
    this.reportPending[rec.fromIdx * this.n + rec.toIdx] = 0;
    if (this.up[rec.fromIdx] === 0 || this.incarnation[rec.fromIdx] !== rec.fromIncarnation) return;
    const handler = this.unreachableHandlers[rec.fromIdx];
    if (handler) handler(this.names[rec.toIdx]);
  }
}
