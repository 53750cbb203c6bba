// What an audit sees in the cloud: the managed flavors and images (the drivers list only those).
// Each kind is listed on its own, so a cloud without an image service still has its flavors
// reconciled; once the cloud proves unreachable the other kind is not tried (it could wait for a
// timeout). Quota sets are not listed here: each is read on its own by its converge action, so one
// project the cloud refuses (unknown to Keystone, say) does not hide the others.
import type { CloudDriver, CloudFlavor, CloudImage } from '../../drivers/index.js';
import type { ManagedKind } from './desired.js';
import { describeFailure } from './failures.js';

export type KindListing<T> = { ok: true; byId: Map<string, T> } | { ok: false; error: unknown };

export interface Inventory {
  flavor: KindListing<CloudFlavor>;
  image: KindListing<CloudImage>;
}

async function listKind<T>(list: () => Promise<T[]>, idOf: (item: T) => string): Promise<KindListing<T>> {
  try {
    const items = await list();
    return { ok: true, byId: new Map(items.map((item) => [idOf(item), item])) };
  } catch (error) {
    return { ok: false, error };
  }
}

function unreachable<T>(listing: KindListing<T>): boolean {
  return !listing.ok && describeFailure(listing.error).state === 'unreachable';
}

/** Lists the kinds one after the other (an audit is not in a hurry, and the cloud is shared). */
export async function listInventory(driver: CloudDriver): Promise<Inventory> {
  const flavor = await listKind(() => driver.listFlavors(), (f) => f.id);
  if (unreachable(flavor)) return { flavor, image: flavor as KindListing<never> };
  const image = await listKind(() => driver.listImages(), (i) => i.id);
  return { flavor, image };
}

/** The listing of a kind (undefined for quotas, which are never listed), typed loosely for code that treats kinds alike. */
export function listingOf(inventory: Inventory, kind: ManagedKind): KindListing<{ managed: boolean }> | undefined {
  return kind === 'quota' ? undefined : (inventory[kind] as KindListing<{ managed: boolean }>);
}
