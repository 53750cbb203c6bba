// Shared set-up for the loopback transport tests.
import '../../agent/runtime/promise-shim.js';
import { generateKeyPair } from '@libp2p/crypto/keys';
import type { PrivateKey } from '@libp2p/interface';
import type { WireMessage } from '../../consensus/ports.js';
import type { MemberId } from '../../consensus/types.js';
import { Libp2pTransport, type Libp2pTransportOptions, type TransportMember } from '../../agent/transport/libp2p-transport.js';

export const CLUSTER = 'test-cluster';

export interface Site {
  name: MemberId;
  key: PrivateKey;
  transport: Libp2pTransport;
  received: Array<{ from: MemberId; message: WireMessage }>;
  unreachable: MemberId[];
}

export async function startSite(
  name: MemberId,
  options: Partial<Libp2pTransportOptions> = {},
  key?: PrivateKey,
): Promise<Site> {
  const privateKey = key ?? (await generateKeyPair('Ed25519'));
  const transport = new Libp2pTransport({
    clusterId: CLUSTER,
    localMember: name,
    privateKey,
    listenAddrs: ['/ip4/127.0.0.1/tcp/0'],
    redialBaseMs: 50,
    redialMaxMs: 400,
    dialTimeoutMs: 2000,
    unreachableReportIntervalMs: 200,
    ...options,
  });
  const site: Site = { name, key: privateKey, transport, received: [], unreachable: [] };
  transport.onMessage((from, message) => site.received.push({ from, message }));
  transport.onUnreachable((member) => site.unreachable.push(member));
  await transport.start();
  return site;
}

export function memberOf(site: Site): TransportMember {
  return { name: site.name, peerId: site.transport.peerId, addrs: site.transport.multiaddrs() };
}

/** Gives every site the same member map. */
export function connectAll(sites: Site[], extra: TransportMember[] = []): void {
  const members = [...sites.map(memberOf), ...extra];
  for (const site of sites) site.transport.setMembers(members);
}

export async function startSites(names: MemberId[], options: Partial<Libp2pTransportOptions> = {}): Promise<Site[]> {
  const sites = await Promise.all(names.map((name) => startSite(name, options)));
  connectAll(sites);
  return sites;
}

export async function stopSites(sites: Array<Site | undefined>): Promise<void> {
  await Promise.all(sites.map((site) => site?.transport.stop()));
}

export async function waitFor(what: string, predicate: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** A heartbeat from `from` to `to`, with `n` in readRound so tests can tell messages apart. */
export function heartbeat(from: MemberId, to: MemberId, n: number): WireMessage {
  return { kind: 'raft', msg: { type: 'heartbeat', from, to, term: 1, commit: 0, readRound: n } };
}
