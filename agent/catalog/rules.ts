// Rules that look beyond one spec: references between resources and what may change over time.
// They run against the batch's draft, so a batch may create a site and a group naming it together.
// (A group's epoch never decreases: dr-ops.ts roleChangeOnWrite keeps it.)
import { canonicallyEqual } from './codec.js';
import type { ResourceView } from './resource-store.js';
import { SpecError } from './spec-reader.js';
import { IMMUTABLE_IMAGE_FIELDS } from './validate-image.js';
import type { ImageSpec, ProtectionGroupSpec, Resource, ResourceOf, SiteSpec, SpecByKind } from './types.js';

/**
 * Checks a new spec for `kind` against the rest of the catalog; `current` is the resource it
 * replaces, `time` the command's time (the log's time of this entry, the same on every replica).
 */
export function checkWriteRules(view: ResourceView, next: { kind: string; spec: SpecByKind[keyof SpecByKind] }, current: Resource | undefined, time = 0): void {
  switch (next.kind) {
    case 'site':
      checkPeerIdUnique(view, next.spec as SiteSpec, (current as ResourceOf<'site'> | undefined)?.spec);
      if (current !== undefined) checkJoinRedeemedOnce(current as ResourceOf<'site'>, next.spec as SiteSpec);
      if (current !== undefined) checkJoinRedemption(current as ResourceOf<'site'>, next.spec as SiteSpec, time);
      if (current !== undefined) checkKeyRotation(current as ResourceOf<'site'>, next.spec as SiteSpec);
      return;
    case 'image':
      if (current !== undefined) checkImageImmutables(current as ResourceOf<'image'>, next.spec as ImageSpec);
      return;
    case 'protection-group':
      checkProtectionGroup(view, next.spec as ProtectionGroupSpec);
      return;
  }
}

export function checkDeleteRules(view: ResourceView, current: Resource): void {
  if (current.kind === 'site') checkSiteUnreferenced(view, current.id);
  if (current.kind === 'image' && current.spec.protected) {
    throw new SpecError('id', `image ${current.id} is protected; patch spec.protected to false before deleting it`);
  }
}

/**
 * A site waiting for its join token (format 2: no peer id yet) gets its peer id only from the
 * redemption: the write that sets `join.redeemedBy` = that peer id. The redemption applies only while
 * the entry's time is before `join.expiresAt`: the time the leader stamped in the entry, the same on
 * every replica, never the clock of the replica applying it (DESIGN.md "Joining with the site's own key").
 */
function checkJoinRedemption(current: ResourceOf<'site'>, next: SiteSpec, time: number): void {
  const join = current.spec.join;
  if (join === undefined || join.redeemedBy !== undefined || next.join?.redeemedBy === undefined) {
    if (join !== undefined && join.redeemedBy === undefined && current.spec.peerId === undefined && next.peerId !== undefined) {
      throw new SpecError('spec.peerId', `site ${current.id} gets its peer id when its join token is redeemed`);
    }
    return;
  }
  if (time >= join.expiresAt) {
    throw new SpecError('spec.join.expiresAt', `the join token expired at ${new Date(join.expiresAt).toISOString()} (this redemption's entry is stamped ${new Date(time).toISOString()}): ask for a new one`);
  }
  if (current.spec.peerId === undefined && next.peerId !== next.join.redeemedBy) {
    throw new SpecError('spec.peerId', 'a redemption records the joining site\'s peer id as both spec.peerId and spec.join.redeemedBy');
  }
}

/** A join token is redeemed once (agent/recovery/join-redeem.ts): a redemption is never replaced by another. */
function checkJoinRedeemedOnce(current: ResourceOf<'site'>, next: SiteSpec): void {
  const redeemed = current.spec.join?.redeemedBy;
  const wanted = next.join?.redeemedBy;
  if (redeemed !== undefined && wanted !== undefined && wanted !== redeemed) {
    throw new SpecError('spec.join.redeemedBy', `this join token was already used by another site (redeemed through the log as ${redeemed})`);
  }
}

/** A peer id names one site: a rotation's next id counts as the site's too. */
/**
 * Only a write that sets a peer id is checked: ids the record already had were checked when they
 * were set, and every site's housekeeping patches its own record. The check looks the ids up
 * (ResourceView.sitesHoldingPeerId) instead of scanning every site: the scan made each site's
 * registration cost O(sites) on every site, 17 % of a 300-site, 5 s simulator profile (issue 16).
 */
function checkPeerIdUnique(view: ResourceView, spec: SiteSpec, before: SiteSpec | undefined): void {
  if (before !== undefined && before.peerId === spec.peerId && before.nextPeerId === spec.nextPeerId) return;
  const own = [spec.peerId, spec.nextPeerId].filter((id): id is string => id !== undefined);
  if (own.length === 0) return;
  // Only a site holding one of our ids can conflict: looked up, not scanned (sitesHoldingPeerId).
  for (const holder of new Set(own.flatMap((id) => view.sitesHoldingPeerId(id)))) {
    const site = view.get('site', holder);
    if (site === undefined || site.id === spec.name || site.spec.peerId === undefined) continue;
    const field = spec.peerId === site.spec.peerId ? 'spec.peerId' : 'spec.nextPeerId';
    if (own.includes(site.spec.peerId)) throw new SpecError(field, `${field} is already used by site ${site.id}`);
    if (site.spec.nextPeerId !== undefined && own.includes(site.spec.nextPeerId)) throw new SpecError('spec.peerId', `peer id ${site.spec.nextPeerId} is the key site ${site.id} is rotating to`);
  }
}

/**
 * While a key rotation is in progress (agent/recovery/key-rotation.ts) the site's peer id may change
 * only to the announced next id, which ends the rotation; and a rotation starts only from the peer
 * id the site already has (no write both replaces the key and announces another).
 */
function checkKeyRotation(current: ResourceOf<'site'>, next: SiteSpec): void {
  // A site that has a key keeps one: a write without it (a `site add NAME --token` of a member's
  // name, say) would revoke a running member.
  if (current.spec.peerId !== undefined && next.peerId === undefined) {
    throw new SpecError('spec.peerId', `site ${current.id} has peer id ${current.spec.peerId}, which a write cannot remove: remove the site first (stackraft site remove ${current.id})`);
  }
  const pending = current.spec.nextPeerId;
  if (pending !== undefined && next.peerId !== current.spec.peerId) {
    if (next.peerId !== pending) throw new SpecError('spec.peerId', `site ${current.id} is rotating its key to ${pending}: its peer id can only become that`);
    if (next.nextPeerId !== undefined) throw new SpecError('spec.nextPeerId', 'the write that ends a key rotation must drop spec.nextPeerId');
  }
  if (next.nextPeerId !== undefined && next.nextPeerId !== pending && next.peerId !== current.spec.peerId) {
    throw new SpecError('spec.nextPeerId', 'a key rotation starts from the peer id the site has: do not change spec.peerId in the same write');
  }
}

function checkImageImmutables(current: ResourceOf<'image'>, next: ImageSpec): void {
  for (const field of IMMUTABLE_IMAGE_FIELDS) {
    if (!canonicallyEqual(current.spec[field], next[field])) {
      throw new SpecError(
        `spec.${field}`,
        `spec.${field} cannot change once the image exists (Glance image data is immutable); create a new image id instead`,
      );
    }
  }
}

function checkProtectionGroup(view: ResourceView, spec: ProtectionGroupSpec): void {
  for (const field of ['primarySite', 'secondarySite'] as const) {
    if (view.get('site', spec[field]) === undefined) {
      throw new SpecError(`spec.${field}`, `spec.${field} names site ${spec[field]}, which is not in the catalog`);
    }
  }
}

function checkSiteUnreferenced(view: ResourceView, site: string): void {
  const naming = view
    .list('protection-group')
    .filter((group) => group.spec.primarySite === site || group.spec.secondarySite === site)
    .map((group) => group.id)
    .sort();
  if (naming.length > 0) {
    const shown = naming.slice(0, 10).join(', ') + (naming.length > 10 ? `, ... (${naming.length} in all)` : '');
    throw new SpecError('id', `site ${site} is named by protection group(s) ${shown}; change or delete them first`);
  }
}
