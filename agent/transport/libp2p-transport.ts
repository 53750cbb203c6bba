// The Transport port (consensus/ports.ts) over libp2p: Raft and forwarding messages between the
// agents of real sites. Members are site names; the member map gives each its peer id and
// addresses. Outbound: one PeerLink per member (one stream, bounded queue, backoff). Inbound:
// every stream on RAFT_PROTOCOL is read and checked frame by frame (inbound.ts).
import '../runtime/promise-shim.js';
import type { Libp2p, PeerId, PrivateKey, Stream } from '@libp2p/interface';
import type { Multiaddr } from '@multiformats/multiaddr';
import { peerIdFromString } from '@libp2p/peer-id';
import type { Logger, Transport, WireMessage } from '../../consensus/ports.js';
import { silentLogger } from '../../consensus/ports.js';
import type { MemberId } from '../../consensus/types.js';
import { createCounters, type TransportCounters } from './counters.js';
import { DEFAULT_MAX_FRAME_BYTES, FrameDecoder, FrameEncoder, FrameError, MAX_CLUSTER_ID_LENGTH } from './frames.js';
import { FirstSeen, MAX_REFUSED_PEERS_REMEMBERED } from './first-seen.js';
import { JoinGuests } from './join-guests.js';
import { createSiteHost, DEFAULT_DIAL_TIMEOUT_MS, MemberGater } from './host.js';
import { peerIdFromKey } from './identity.js';
import { serveInboundStream } from './inbound.js';
import { returnWindowAtHalf } from './window-updates.js';
import { PeerLink, type PeerLinkSettings, type PeerLinkStatus } from './peer-link.js';
import { checkName, parseMembers, peerIdsOf, TransportConfigError, type MemberRecord, type TransportMember } from './members.js';
import { MAX_MEMBER_ID_LENGTH } from './validate.js';
import { MinRttWindow } from './min-rtt.js';

export { TransportConfigError, type TransportMember } from './members.js';

export const RAFT_PROTOCOL = '/stackraft/raft/1.0.0';

export const TRANSPORT_DEFAULTS = {
  maxFrameBytes: DEFAULT_MAX_FRAME_BYTES,
  /** Per member: ~ a few hundred heartbeats or a full pipeline of appends. */
  maxQueuedFramesPerPeer: 1024,
  /** Per member; at least maxFrameBytes so the largest frame fits. */
  maxQueuedBytesPerPeer: 16 * 1024 * 1024,
  maxWriteBatchBytes: 256 * 1024,
  redialBaseMs: 100,
  redialMaxMs: 10_000,
  dialTimeoutMs: DEFAULT_DIAL_TIMEOUT_MS,
  stableStreamMs: 5_000,
  /** At most one onUnreachable call per member per interval. */
  unreachableReportIntervalMs: 1_000,
  /** Bound of stop(): queued bytes get this long to leave. */
  shutdownFlushMs: 1_000,
} as const;

/** Streams on RAFT_PROTOCOL one connection may carry at once (a member needs one). */
const MAX_RAFT_STREAMS_PER_CONNECTION = 4;
/** How often guests past their time are looked for. */
const GUEST_SWEEP_MS = 1_000;

export interface Libp2pTransportOptions {
  clusterId: string;
  /** The cluster incarnation of this site's disk ('' for the original): frames of another are refused. */
  incarnation?: string;
  /** This site's name. */
  localMember: MemberId;
  privateKey: PrivateKey;
  listenAddrs: string[];
  announceAddrs?: string[];
  /** Initial member map (see setMembers). */
  members?: TransportMember[];
  logger?: Logger;
  maxFrameBytes?: number;
  maxQueuedFramesPerPeer?: number;
  maxQueuedBytesPerPeer?: number;
  maxWriteBatchBytes?: number;
  redialBaseMs?: number;
  redialMaxMs?: number;
  dialTimeoutMs?: number;
  stableStreamMs?: number;
  unreachableReportIntervalMs?: number;
  shutdownFlushMs?: number;
  /** See SiteHostOptions.inboundConnectionsPerHostPerSecond (default: libp2p's, 5). */
  inboundConnectionsPerHostPerSecond?: number;
  /** Jitter source for redial backoff (default Math.random). */
  random?: () => number;
  /** Milliseconds clock (default Date.now). */
  now?: () => number;
}

type RunState = 'new' | 'starting' | 'running' | 'stopped';

export class Libp2pTransport implements Transport {
  readonly counters: TransportCounters = createCounters();
  private readonly logger: Logger;
  private readonly settings: PeerLinkSettings;
  private readonly maxFrameBytes: number;
  private readonly unreachableReportIntervalMs: number;
  private readonly shutdownFlushMs: number;
  private readonly now: () => number;
  private readonly random: () => number;
  private readonly encoder: FrameEncoder;
  private readonly decoder: FrameDecoder;
  private readonly gater: MemberGater;
  private readonly refusedPeers = new FirstSeen(MAX_REFUSED_PEERS_REMEMBERED);
  /** Peer ids a member stopped using (a key rotation), to name them when they knock; oldest forgotten first. */
  private readonly retiredPeers = new Map<string, MemberId>();
  private localPeerId: string;
  private privateKey: PrivateKey;
  /** Warned once that inbound streams could not get the half-window updates (window-updates.ts). */
  private windowWarned = false;
  private node: Libp2p | null = null;
  private runState: RunState = 'new';
  private members = new Map<MemberId, MemberRecord>();
  private memberByPeer = new Map<string, MemberId>();
  private readonly links = new Map<MemberId, PeerLink>();
  /** One per member of the current map (setMembers drops the others). */
  private readonly rttWindows = new Map<MemberId, MinRttWindow>();
  private readonly lastUnreachableReport = new Map<MemberId, number>();
  private messageHandler: ((from: MemberId, message: WireMessage) => void) | null = null;
  private unreachableHandler: ((member: MemberId) => void) | null = null;
  /** Protocols other parts serve on this node (the blob protocol), registered at start. */
  private readonly extraProtocols: Array<{ protocol: string; maxStreams: number; handler: (stream: Stream, peerId: string) => void; guests: boolean }> = [];
  /** Strangers admitted for a join, and the sweep that closes their connections when their time is up. */
  readonly guests: JoinGuests;
  private guestSweep: NodeJS.Timeout | null = null;

  constructor(private readonly options: Libp2pTransportOptions) {
    checkName('clusterId', options.clusterId, MAX_CLUSTER_ID_LENGTH);
    checkName('localMember', options.localMember, MAX_MEMBER_ID_LENGTH);
    if (options.listenAddrs.length === 0) throw new TransportConfigError('listenAddrs: at least one address is needed');
    this.logger = options.logger ?? silentLogger;
    this.maxFrameBytes = positive('maxFrameBytes', options.maxFrameBytes ?? TRANSPORT_DEFAULTS.maxFrameBytes);
    this.settings = {
      maxQueuedFrames: positive('maxQueuedFramesPerPeer', options.maxQueuedFramesPerPeer ?? TRANSPORT_DEFAULTS.maxQueuedFramesPerPeer),
      maxQueuedBytes: positive('maxQueuedBytesPerPeer', options.maxQueuedBytesPerPeer ?? TRANSPORT_DEFAULTS.maxQueuedBytesPerPeer),
      maxWriteBatchBytes: positive('maxWriteBatchBytes', options.maxWriteBatchBytes ?? TRANSPORT_DEFAULTS.maxWriteBatchBytes),
      redialBaseMs: positive('redialBaseMs', options.redialBaseMs ?? TRANSPORT_DEFAULTS.redialBaseMs),
      redialMaxMs: positive('redialMaxMs', options.redialMaxMs ?? TRANSPORT_DEFAULTS.redialMaxMs),
      dialTimeoutMs: positive('dialTimeoutMs', options.dialTimeoutMs ?? TRANSPORT_DEFAULTS.dialTimeoutMs),
      stableStreamMs: positive('stableStreamMs', options.stableStreamMs ?? TRANSPORT_DEFAULTS.stableStreamMs),
    };
    if (this.settings.maxQueuedBytes < this.maxFrameBytes + 4) {
      throw new TransportConfigError(
        `maxQueuedBytesPerPeer (${this.settings.maxQueuedBytes}) must hold at least one frame of maxFrameBytes (${this.maxFrameBytes})`,
      );
    }
    this.unreachableReportIntervalMs = nonNegative(
      'unreachableReportIntervalMs',
      options.unreachableReportIntervalMs ?? TRANSPORT_DEFAULTS.unreachableReportIntervalMs,
    );
    this.shutdownFlushMs = positive('shutdownFlushMs', options.shutdownFlushMs ?? TRANSPORT_DEFAULTS.shutdownFlushMs);
    this.now = options.now ?? Date.now;
    this.random = options.random ?? Math.random;
    this.encoder = new FrameEncoder(options.clusterId, options.localMember, this.maxFrameBytes, options.incarnation ?? '');
    this.decoder = new FrameDecoder(options.clusterId, options.incarnation ?? '');
    this.privateKey = options.privateKey;
    this.localPeerId = peerIdFromKey(options.privateKey).toString();
    this.gater = new MemberGater((peerId, direction, remoteAddr) => {
      this.counters.gaterRefusals++;
      // Loud once per peer (an operator must see a stranger knocking), quiet on its redials.
      const level = this.refusedPeers.firstTime(peerId) ? 'warn' : 'debug';
      const retiredOf = this.retiredPeers.get(peerId);
      if (retiredOf !== undefined) this.logger[level]({ peerId, direction, remoteAddr, site: retiredOf }, `connection refused: peer id is the retired key of site ${retiredOf} (its key was rotated)`);
      else this.logger[level]({ peerId, direction, remoteAddr }, 'connection refused: peer is not a member of this cluster');
    });
    this.guests = new JoinGuests(this.now);
    this.gater.admitGuest = (peerId) => this.guests.admit(peerId);
    this.setMembers(options.members ?? []);
  }

  /**
   * Opens or closes the door to strangers for a join (agent/transport/join-guests.ts): open while the
   * catalog holds a join token still within its life. Guests already in keep their time.
   */
  setJoinDoorOpen(open: boolean): void {
    this.guests.setOpen(open);
  }

  /** Closes the connections of guests whose time is up (their join exchange is over or stalled). */
  private sweepGuests(): void {
    for (const peerId of this.guests.takeExpired()) if (!this.memberByPeer.has(peerId)) this.hangUp(peerId);
  }

  // ------------------------------------------------------------------ lifecycle

  async start(): Promise<void> {
    if (this.runState !== 'new') throw new Error(`transport cannot start: it is ${this.runState}`);
    this.runState = 'starting';
    await this.openNode();
  }

  /**
   * A key rotation's switch (agent/recovery/key-rotation.ts): the node closes and opens again on the
   * same listen addresses under `privateKey`'s peer id; links close and redial on their next send.
   * Members admit the new id once the rotation's first entry is applied; frames sent meanwhile are dropped.
   */
  async switchKey(privateKey: PrivateKey): Promise<void> {
    if (this.runState !== 'running') throw new Error(`transport cannot switch keys: it is ${this.runState}`);
    this.runState = 'starting';
    const links = [...this.links.values()];
    this.links.clear();
    await Promise.all(links.map((link) => link.shutdown(this.shutdownFlushMs)));
    const old = this.node;
    this.node = null;
    await old?.stop();
    this.privateKey = privateKey;
    this.localPeerId = peerIdFromKey(privateKey).toString();
    await this.openNode();
  }

  private async openNode(): Promise<void> {
    let node: Libp2p | null = null;
    try {
      node = await createSiteHost({
        privateKey: this.privateKey,
        listenAddrs: this.options.listenAddrs,
        announceAddrs: this.options.announceAddrs,
        gater: this.gater,
        dialTimeoutMs: this.settings.dialTimeoutMs,
        inboundConnectionsPerHostPerSecond: this.options.inboundConnectionsPerHostPerSecond,
      });
      await node.handle(RAFT_PROTOCOL, (stream, connection) => this.acceptStream(stream, connection.remotePeer.toString()), {
        maxInboundStreams: MAX_RAFT_STREAMS_PER_CONNECTION,
        maxOutboundStreams: MAX_RAFT_STREAMS_PER_CONNECTION,
      });
      for (const extra of this.extraProtocols) await this.registerProtocol(node, extra);
    } catch (err) {
      this.runState = 'stopped';
      await Promise.resolve(node?.stop()).catch(() => undefined);
      throw new Error(`raft transport could not start on ${this.options.listenAddrs.join(', ')}: ${(err as Error).message}`, {
        cause: err,
      });
    }
    if (this.runState !== 'starting') {
      await node.stop(); // stop() was called while starting
      return;
    }
    this.node = node;
    this.runState = 'running';
    if (this.guestSweep === null) {
      this.guestSweep = setInterval(() => this.sweepGuests(), GUEST_SWEEP_MS);
      this.guestSweep.unref();
    }
    this.logger.info({ peerId: this.localPeerId, addrs: this.multiaddrs() }, 'raft transport listening');
  }

  /** Lets queued frames leave for up to shutdownFlushMs, then closes every connection. */
  async stop(): Promise<void> {
    if (this.runState === 'stopped') return;
    this.runState = 'stopped';
    if (this.guestSweep !== null) clearInterval(this.guestSweep);
    this.guestSweep = null;
    const links = [...this.links.values()];
    this.links.clear();
    await Promise.all(links.map((link) => link.shutdown(this.shutdownFlushMs)));
    const node = this.node;
    this.node = null;
    if (node !== null) await node.stop();
  }

  // ------------------------------------------------------------------ Transport port

  send(to: MemberId, message: WireMessage): void {
    if (this.runState !== 'running') {
      this.counters.dropsNotRunning++;
      return;
    }
    const link = this.linkFor(to);
    if (link === null) {
      this.counters.dropsUnknownMember++;
      this.reportUnreachable(to);
      return;
    }
    if (link.dropsNow()) return;
    let frame: Uint8Array;
    try {
      frame = this.encoder.encode(message);
    } catch (err) {
      this.counters.dropsUnencodable++;
      const fault = err instanceof FrameError ? err.fault : 'unencodable';
      this.logger.warn({ member: to, kind: message.kind, fault, reason: (err as Error).message }, 'message dropped: cannot be framed');
      return;
    }
    link.send(frame);
  }

  onMessage(handler: (from: MemberId, message: WireMessage) => void): void {
    this.messageHandler = handler;
  }

  onUnreachable(handler: (member: MemberId) => void): void {
    this.unreachableHandler = handler;
  }

  // ------------------------------------------------------------------ membership

  /**
   * Replaces the member map: every site that may talk to this one (voters, learners, and sites an
   * operator approved that have not joined yet). Peers not listed are refused by the gater and
   * their connections closed. Throws TransportConfigError (changing nothing) on a bad entry.
   */
  setMembers(members: TransportMember[]): void {
    const next = parseMembers(members);
    const nextByPeer = new Map<string, MemberId>();
    for (const [name, record] of next) for (const id of peerIdsOf(record)) nextByPeer.set(id, name);
    const local = next.get(this.options.localMember);
    if (local !== undefined && !peerIdsOf(local).includes(this.localPeerId)) {
      this.logger.error(
        { member: this.options.localMember, listed: local.peerId, ours: this.localPeerId },
        'the member map gives this site a peer id that is not its key',
      );
    }
    const previous = this.members;
    this.members = next;
    for (const name of this.rttWindows.keys()) if (!next.has(name)) this.rttWindows.delete(name);
    this.memberByPeer = nextByPeer;
    this.gater.setAllowedPeers(nextByPeer.keys());
    for (const peerId of nextByPeer.keys()) this.guests?.forget(peerId);
    for (const [name, before] of previous) {
      const after = next.get(name);
      // A rotation announcing a next id keeps the link; retiring an id closes what used it.
      const kept = after !== undefined && peerIdsOf(before).every((id) => peerIdsOf(after).includes(id));
      if (kept) continue;
      this.links.get(name)?.close();
      this.links.delete(name);
      for (const id of peerIdsOf(before)) {
        if (nextByPeer.has(id)) continue;
        if (after !== undefined) this.rememberRetired(id, name);
        this.guests?.revoke(id);
        this.hangUp(id);
      }
    }
    for (const name of this.lastUnreachableReport.keys()) {
      if (!next.has(name)) this.lastUnreachableReport.delete(name);
    }
  }

  // ------------------------------------------------------------------ introspection

  get peerId(): string {
    return this.localPeerId;
  }

  /** Listening addresses with /p2p/<peerId> (empty before start). */
  multiaddrs(): string[] {
    return this.node?.getMultiaddrs().map((ma) => ma.toString()) ?? [];
  }

  /**
   * Round trip to a member: the lowest that libp2p's connection monitor (every 10 s) measured within
   * the last RTT_WINDOW_MS, so a sample taken while either process was busy does not count as
   * distance (min-rtt.ts). Undefined until a sample arrives.
   */
  rttMs(member: MemberId): number | undefined {
    const record = this.members.get(member);
    if (record === undefined || this.node === null) return undefined;
    const now = this.now();
    let window = this.rttWindows.get(member);
    for (const id of peerIdsOf(record)) {
      for (const connection of this.node.getConnections(peerIdFromString(id))) {
        if (connection.rtt === undefined) continue;
        if (window === undefined) {
          window = new MinRttWindow();
          this.rttWindows.set(member, window);
        }
        window.observe(now, connection.rtt);
        return window.value(now);
      }
    }
    return window?.value(now);
  }

  /** Per-member outbound state, for status output and metrics. */
  /** A member whose last dial or stream failed and that has not been reached since. */
  linkDown(member: MemberId): boolean {
    return this.links.get(member)?.isDown() === true;
  }

  peerStatus(): PeerLinkStatus[] {
    return [...this.links.values()].map((link) => link.status());
  }

  // ------------------------------------------------------------------ other protocols (blobs)

  /**
   * Serves `protocol` for members only (a stranger's stream is aborted), or with `guests` also for
   * peers admitted for a join; replaces an earlier handler; registered now or at start.
   */
  async handleProtocol(protocol: string, maxStreams: number, handler: (stream: Stream, peerId: string) => void, options: { guests?: boolean } = {}): Promise<void> {
    const extra = { protocol, maxStreams, handler, guests: options.guests === true };
    const earlier = this.extraProtocols.findIndex((p) => p.protocol === protocol);
    if (earlier >= 0) this.extraProtocols.splice(earlier, 1);
    this.extraProtocols.push(extra);
    if (this.node === null) return;
    if (earlier >= 0) await this.node.unhandle(protocol);
    await this.registerProtocol(this.node, extra);
  }

  /** A new stream to a member on `protocol` (over its existing connection when there is one). */
  async dialMember(member: MemberId, protocol: string, signal: AbortSignal): Promise<Stream> {
    const node = this.node;
    const record = this.members.get(member);
    if (node === null) throw new Error('transport is not running');
    if (record === undefined) throw new Error(`site ${member} is no longer a member`);
    // A rotating member answers under one of its two ids: an open connection tells which, else the
    // new key is tried first (the member is about to switch to it), then the old one.
    const connected = peerIdsOf(record).find((id) => node.getConnections(peerIdFromString(id)).length > 0);
    if (connected !== undefined) return node.dialProtocol(peerIdFromString(connected), protocol, { signal });
    if (record.next !== undefined) {
      try {
        return await node.dialProtocol(dialTarget(record.next), protocol, { signal });
      } catch (err) {
        if (signal.aborted) throw err;
      }
    }
    return node.dialProtocol(dialTarget(record), protocol, { signal });
  }

  memberForPeer(peerId: string): MemberId | undefined {
    return this.memberByPeer.get(peerId);
  }

  private async registerProtocol(node: Libp2p, extra: (typeof this.extraProtocols)[number]): Promise<void> {
    await node.handle(
      extra.protocol,
      (stream, connection) => {
        const peerId = connection.remotePeer.toString();
        if (!this.memberByPeer.has(peerId) && !(extra.guests && this.guests.isGuest(peerId))) {
          this.counters.badFrames.nonMember++;
          stream.abort(new Error(`peer ${peerId} is not a member`));
          return;
        }
        extra.handler(stream, peerId);
      },
      { maxInboundStreams: extra.maxStreams, maxOutboundStreams: extra.maxStreams },
    );
  }

  // ------------------------------------------------------------------ internals

  private linkFor(member: MemberId): PeerLink | null {
    const existing = this.links.get(member);
    if (existing !== undefined) return existing;
    const record = this.members.get(member);
    if (record === undefined || member === this.options.localMember) return null;
    const link = new PeerLink(member, {
      openStream: (signal) => this.openStream(member, signal),
      reportUnreachable: () => this.reportUnreachable(member),
      now: this.now,
      random: this.random,
      counters: this.counters,
      logger: this.logger,
      settings: this.settings,
    });
    this.links.set(member, link);
    return link;
  }

  private openStream(member: MemberId, signal: AbortSignal): Promise<Stream> {
    return this.dialMember(member, RAFT_PROTOCOL, signal);
  }

  private acceptStream(stream: Stream, remotePeer: string): void {
    if (!returnWindowAtHalf(stream) && !this.windowWarned) {
      this.windowWarned = true;
      this.logger.warn({ peerId: remotePeer }, 'raft stream is not a yamux stream of the expected shape: window updates left to the library (one per frame)');
    }
    serveInboundStream(stream, remotePeer, {
      localMember: this.options.localMember,
      maxFrameBytes: this.maxFrameBytes,
      decoder: this.decoder,
      memberForPeer: (peerId) => this.memberByPeer.get(peerId),
      deliver: (from, message) => this.deliver(from, message),
      counters: this.counters,
      logger: this.logger,
    });
  }

  private deliver(from: MemberId, message: WireMessage): void {
    const handler = this.messageHandler;
    if (handler === null) {
      this.counters.dropsNoHandler++;
      return;
    }
    try {
      handler(from, message);
    } catch (err) {
      this.counters.handlerErrors++;
      this.logger.error({ member: from, kind: message.kind, err: (err as Error).message }, 'message handler threw');
    }
  }

  private reportUnreachable(member: MemberId): void {
    const now = this.now();
    const last = this.lastUnreachableReport.get(member);
    if (last !== undefined && now - last < this.unreachableReportIntervalMs) return;
    this.lastUnreachableReport.set(member, now);
    const handler = this.unreachableHandler;
    if (handler === null) return;
    this.counters.unreachableReports++;
    try {
      handler(member);
    } catch (err) {
      this.counters.handlerErrors++;
      this.logger.error({ member, err: (err as Error).message }, 'unreachable handler threw');
    }
  }

  private rememberRetired(peerId: string, member: MemberId): void {
    this.retiredPeers.delete(peerId);
    this.retiredPeers.set(peerId, member);
    if (this.retiredPeers.size > MAX_REFUSED_PEERS_REMEMBERED) this.retiredPeers.delete(this.retiredPeers.keys().next().value!);
  }

  private hangUp(peerId: string): void {
    const node = this.node;
    if (node === null) return;
    node.hangUp(peerIdFromString(peerId)).catch((err: Error) => {
      this.logger.debug({ peerId, err: err.message }, 'closing a removed member’s connections failed');
    });
  }
}

// ------------------------------------------------------------------ helpers

function dialTarget(record: { peerId: string; addrs: Multiaddr[] }): Multiaddr[] | PeerId {
  return record.addrs.length > 0 ? record.addrs : peerIdFromString(record.peerId);
}

function positive(field: string, value: number): number {
  if (!Number.isSafeInteger(value) || value <= 0) throw new TransportConfigError(`${field}: must be a positive integer, got ${value}`);
  return value;
}

function nonNegative(field: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 0) throw new TransportConfigError(`${field}: must be a non-negative integer, got ${value}`);
  return value;
}
