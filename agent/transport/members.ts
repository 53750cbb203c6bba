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
  /** During a key rotation, the peer id of the member's new key: admitted too, and dialled first. */
  nextPeerId?: string;
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
  /** A key rotation in progress: the new key's id and the same addresses naming it. */
  next?: { peerId: string; addrs: Multiaddr[] };
}

/** Every peer id that speaks for the member: its key, and the next one while it rotates. */
export function peerIdsOf(record: MemberRecord): string[] {
  return record.next === undefined ? [record.peerId] : [record.peerId, record.next.peerId];
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
    const peerId = claimPeerId(member.name, member.peerId, seenPeers);
    const record: MemberRecord = { peerId, addrs: member.addrs.map((addr) => parseDialAddr(member.name, peerId, addr)) };
    if (member.nextPeerId !== undefined) {
      const next = claimPeerId(member.name, member.nextPeerId, seenPeers);
      record.next = { peerId: next, addrs: record.addrs.map((addr) => addr.decapsulateCode(P2P_CODE).encapsulate(`/p2p/${next}`)) };
    }
    out.set(member.name, record);
  }
  return out;
}

/** The multiaddr protocol code of `/p2p/`. */
const P2P_CODE = 421;

function claimPeerId(name: MemberId, text: string, seenPeers: Map<string, MemberId>): string {
  let peerId: string;
  try {
    peerId = peerIdFromString(text).toString();
  } catch (err) {
    throw new TransportConfigError(`site ${name}: peer id ${JSON.stringify(text)} is invalid: ${(err as Error).message}`);
  }
  const clash = seenPeers.get(peerId);
  if (clash !== undefined) throw new TransportConfigError(`sites ${clash} and ${name} have the same peer id ${peerId}`);
  seenPeers.set(peerId, name);
  return peerId;
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
