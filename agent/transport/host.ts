// The site's libp2p node: TCP, Noise, yamux and nothing else. No identify, no discovery, no
// DHT: members are known from the replicated site registry (their peer id and addresses), so the
// node only needs to dial known addresses and accept authenticated members.
import '../runtime/promise-shim.js';
import { noise } from '@chainsafe/libp2p-noise';
import { yamux } from '@chainsafe/libp2p-yamux';
import type { ConnectionGater, PeerId, PrivateKey } from '@libp2p/interface';
import { tcp } from '@libp2p/tcp';
import { createLibp2p, type Libp2p } from 'libp2p';

/** Admits only peers whose id is in the allow-set; the set is replaced at runtime as membership changes. */
export class MemberGater implements ConnectionGater {
  private allowed: ReadonlySet<string> = new Set();
  /** Connections refused because the remote peer is not allowed. */
  refusals = 0;

  /** Lets an unknown peer connect inbound for a join (agent/transport/join-guests.ts); absent: members only. */
  admitGuest: ((peerId: string) => boolean) | null = null;

  constructor(private readonly onRefusal?: (peerId: string, direction: 'inbound' | 'outbound', remoteAddr?: string) => void) {}

  setAllowedPeers(peerIds: Iterable<string>): void {
    this.allowed = new Set(peerIds);
  }

  isAllowed(peerId: PeerId | string): boolean {
    return this.allowed.has(typeof peerId === 'string' ? peerId : peerId.toString());
  }

  denyDialPeer = (peerId: PeerId): boolean => this.refuse(peerId, 'outbound');
  denyOutboundEncryptedConnection = (peerId: PeerId): boolean => this.refuse(peerId, 'outbound');
  // Checked as soon as Noise has authenticated the remote key, before any muxer or protocol runs.
  denyInboundEncryptedConnection = (peerId: PeerId, conn?: RemoteAddressed): boolean => this.refuse(peerId, 'inbound', conn);
  // Checked again once upgraded: the allow-set may have changed during the upgrade.
  denyInboundUpgradedConnection = (peerId: PeerId, conn?: RemoteAddressed): boolean => this.refuse(peerId, 'inbound', conn);
  denyOutboundUpgradedConnection = (peerId: PeerId): boolean => this.refuse(peerId, 'outbound');

  private refuse(peerId: PeerId, direction: 'inbound' | 'outbound', conn?: RemoteAddressed): boolean {
    if (this.isAllowed(peerId)) return false;
    if (direction === 'inbound' && this.admitGuest?.(peerId.toString())) return false;
    this.refusals++;
    this.onRefusal?.(peerId.toString(), direction, conn?.remoteAddr?.toString());
    return true;
  }
}

/** The part of a libp2p connection the gater reports: where it came from. */
interface RemoteAddressed {
  remoteAddr?: { toString(): string };
}

export interface SiteHostOptions {
  privateKey: PrivateKey;
  /** e.g. ['/ip4/0.0.0.0/tcp/7400']; port 0 picks a free port. */
  listenAddrs: string[];
  /** Addresses to advertise instead of the listen addresses (NAT, public IP). */
  announceAddrs?: string[];
  gater: MemberGater;
  /** Bound of one dial attempt to one peer (all its addresses). */
  dialTimeoutMs?: number;
  /**
   * Inbound connection attempts accepted per second from one IP address (libp2p's default is 5).
   * Guards the Noise handshake against floods; a dev cluster with many sites on one host needs more.
   */
  inboundConnectionsPerHostPerSecond?: number;
}

export const DEFAULT_DIAL_TIMEOUT_MS = 5_000;
/** Connections one site keeps: one or two per member; a 100-site cluster stays far below. */
const MAX_CONNECTIONS = 512;

/** Creates and starts the node. */
export async function createSiteHost(options: SiteHostOptions): Promise<Libp2p> {
  return createLibp2p({
    privateKey: options.privateKey,
    addresses: {
      listen: options.listenAddrs,
      ...(options.announceAddrs !== undefined && options.announceAddrs.length > 0 ? { announce: options.announceAddrs } : {}),
    },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionGater: options.gater,
    connectionManager: {
      maxConnections: MAX_CONNECTIONS,
      dialTimeout: options.dialTimeoutMs ?? DEFAULT_DIAL_TIMEOUT_MS,
      ...(options.inboundConnectionsPerHostPerSecond !== undefined
        ? { inboundConnectionThreshold: options.inboundConnectionsPerHostPerSecond }
        : {}),
    },
    // The connection monitor pings every connection (a peer without the ping protocol still
    // answers the protocol negotiation) and aborts dead ones; it also fills connection.rtt.
    connectionMonitor: { enabled: true },
    nodeInfo: { name: 'stackraft' },
  });
}
