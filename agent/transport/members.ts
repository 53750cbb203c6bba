// The member map: site name -> peer id and dial addresses, parsed and checked as a whole so a
// bad entry changes nothing.
import { peerIdFromString } from '@libp2p/peer-id';
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr';
import type { MemberId } from '../../consensus/types.js';
import { MAX_MEMBER_ID_LENGTH } from './validate.js';

export interface TransportMember {
  name: MemberId;
  /** Base58 peer id (12D3KooW...). */
  peerId: string;
  /** Multiaddrs to dial; '/p2p/<peerId>' is appended when absent. May be empty for a site that dials in. */
  addrs: string[];
}

export class TransportConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TransportConfigError';
  }
}

export interface MemberRecord {
  peerId: string;
  addrs: Multiaddr[];
}

export function checkName(field: string, value: string, maxLength: number): void {
  if (typeof value !== 'string' || value.length === 0 || value.length > maxLength) {
    throw new TransportConfigError(`${field}: must be a string of 1..${maxLength} characters`);
  }
}

export function parseMembers(members: TransportMember[]): Map<MemberId, MemberRecord> {
  const out = new Map<MemberId, MemberRecord>();
  const seenPeers = new Map<string, MemberId>();
  for (const member of members) {
    checkName('member name', member.name, MAX_MEMBER_ID_LENGTH);
    if (out.has(member.name)) throw new TransportConfigError(`site ${member.name} is listed twice`);
    let peerId: string;
    try {
      peerId = peerIdFromString(member.peerId).toString();
    } catch (err) {
      throw new TransportConfigError(`site ${member.name}: peer id ${JSON.stringify(member.peerId)} is invalid: ${(err as Error).message}`);
    }
    const clash = seenPeers.get(peerId);
    if (clash !== undefined) throw new TransportConfigError(`sites ${clash} and ${member.name} have the same peer id ${peerId}`);
    seenPeers.set(peerId, member.name);
    out.set(member.name, { peerId, addrs: member.addrs.map((addr) => parseDialAddr(member.name, peerId, addr)) });
  }
  return out;
}

/** A dial address always names the peer id, so Noise refuses anyone but that member. */
function parseDialAddr(name: MemberId, peerId: string, addr: string): Multiaddr {
  let ma: Multiaddr;
  try {
    ma = multiaddr(addr);
  } catch (err) {
    throw new TransportConfigError(`site ${name}: address ${JSON.stringify(addr)} is not a multiaddr: ${(err as Error).message}`);
  }
  const named = ma.getComponents().findLast((c) => c.name === 'p2p')?.value;
  if (named === undefined) return ma.encapsulate(`/p2p/${peerId}`);
  if (named !== peerId) throw new TransportConfigError(`site ${name}: address ${addr} names peer ${named}, not ${peerId}`);
  return ma;
}
