// What an audit sees in the cloud: the managed flavors and images (the drivers list only those)
// and the quota sets of the projects the catalog names. Each kind is listed on its own, so a cloud
// without an image service still has its flavors and quotas reconciled; but once the cloud proves
// unreachable the remaining kinds are not tried (each try could wait for a timeout).
import type { CloudDriver, CloudFlavor, CloudImage, CloudQuota } from '../../drivers/index.js';
import type { ManagedKind } from './desired.js';
import { describeFailure } from './failures.js';

/** Projects per listQuotas call (the drivers accept up to 1000). */
export const QUOTA_PROJECTS_PER_LIST = 500;

export type KindListing<T> = { ok: true; byId: Map<string, T> } | { ok: false; error: unknown };

export interface Inventory {
  flavor: KindListing<CloudFlavor>;
  image: KindListing<CloudImage>;
  quota: KindListing<CloudQuota>;
}

async function listKind<T>(list: () => Promise<T[]>, idOf: (item: T) => string): Promise<KindListing<T>> {
  try {
    const items = await list();
    return { ok: true, byId: new Map(items.map((item) => [idOf(item), item])) };
  } catch (error) {
    return { ok: false, error };
  }
}

async function listQuotasChunked(driver: CloudDriver, projects: readonly string[]): Promise<CloudQuota[]> {
  const out: CloudQuota[] = [];
  for (let i = 0; i < projects.length; i += QUOTA_PROJECTS_PER_LIST) {
    out.push(...(await driver.listQuotas(projects.slice(i, i + QUOTA_PROJECTS_PER_LIST))));
  }
  return out;
}

function unreachable<T>(listing: KindListing<T>): boolean {
  return !listing.ok && describeFailure(listing.error).state === 'unreachable';
}

/** Lists the kinds one after the other (an audit is not in a hurry, and the cloud is shared). */
export async function listInventory(driver: CloudDriver, quotaProjects: readonly string[]): Promise<Inventory> {
  const flavor = await listKind(() => driver.listFlavors(), (f) => f.id);
  if (unreachable(flavor)) return { flavor, image: flavor as KindListing<never>, quota: flavor as KindListing<never> };
  const image = await listKind(() => driver.listImages(), (i) => i.id);
  if (unreachable(image)) return { flavor, image, quota: image as KindListing<never> };
  const quota: KindListing<CloudQuota> =
    quotaProjects.length === 0 ? { ok: true, byId: new Map() } : await listKind(() => listQuotasChunked(driver, quotaProjects), (q) => q.project);
  return { flavor, image, quota };
}

/** The listing of one kind, typed loosely for the code that treats all kinds alike. */
export function listingOf(inventory: Inventory, kind: ManagedKind): KindListing<{ managed?: boolean }> {
  return inventory[kind] as KindListing<{ managed?: boolean }>;
}
