// Who is who on the network: site name -> libp2p peer id and addresses. The catalog's `site`
// records are the source of truth once a site has caught up; the configured seed peers cover the
// time before (a site that is joining knows no catalog yet).
import type { ConfState } from '../../consensus/types.js';
import type { ResourceOf } from '../catalog/types.js';
import type { TransportMember } from '../transport/libp2p-transport.js';

export interface SeedPeer {
  site: string;
  addr: string;
}

/** Splits `/ip4/.../p2p/<id>` into its dial address and peer id. */
export function splitPeerAddr(addr: string): { peerId: string; dialAddr: string } | null {
  const at = addr.lastIndexOf('/p2p/');
  if (at < 0) return null;
  return { peerId: addr.slice(at + 5), dialAddr: addr.slice(0, at) };
}

/**
 * `membership`: the Raft configuration this site knows. Once it knows one, a seed peer counts only
 * while it is a voter or learner: a removed site stays out even when a config still lists it, so
 * its peer id is refused from the moment its removal is applied (revocation). A site added with a
 * join token is left out once the token expired unredeemed (`nowMs`: this site's wall clock).
 */
export function directoryMembers(selfName: string, sites: ResourceOf<'site'>[], seeds: SeedPeer[], membership?: ConfState, nowMs = Date.now()): TransportMember[] {
  const byName = new Map<string, TransportMember>();
  const knowsMembership = membership !== undefined && membership.voters.length + membership.learners.length > 0;
  for (const seed of seeds) {
    const parts = splitPeerAddr(seed.addr);
    if (!parts || seed.site === selfName) continue;
    if (knowsMembership && !membership.voters.includes(seed.site) && !membership.learners.includes(seed.site)) continue;
    const known = byName.get(seed.site);
    if (known && known.peerId === parts.peerId) known.addrs.push(parts.dialAddr);
    else byName.set(seed.site, { name: seed.site, peerId: parts.peerId, addrs: [parts.dialAddr] });
  }
  // Catalog records win over seeds: they are what the cluster agreed on.
  for (const site of sites) {
    // A site waiting for its join token has no key yet: nothing to admit.
    if (site.id === selfName || site.spec.peerId === undefined) continue;
    // Added with a join token that expired before it was redeemed: refused, as if removed.
    const join = site.spec.join;
    if (join && join.redeemedBy === undefined && join.expiresAt <= nowMs) {
      byName.delete(site.id);
      continue;
    }
    byName.set(site.id, {
      name: site.id,
      peerId: site.spec.peerId,
      addrs: site.spec.addresses.map((a) => splitPeerAddr(a)?.dialAddr ?? a),
      // A key rotation in progress: both keys are the site's until it drops the old one.
      ...(site.spec.nextPeerId === undefined ? {} : { nextPeerId: site.spec.nextPeerId }),
    });
  }
  return [...byName.values()].sort((a, b) => a.name.localeCompare(b.name));
}

/** A stable fingerprint, to skip reconfiguring the transport when nothing changed. */
export function directoryKey(members: TransportMember[]): string {
  return members.map((m) => `${m.name}=${m.peerId}${m.nextPeerId === undefined ? '' : `+${m.nextPeerId}`}@${m.addrs.join(',')}`).join(';');
}
