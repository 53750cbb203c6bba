// Which blobs this site needs, who holds them, and which it may drop: read from the catalog, never
// guessed. A blob-sourced image needs its blob at every placed site until that site reports the
// image in-sync at its current revision (then the bits are in its Glance). Holders are the image's
// origin and the placed sites that report it in-sync (they held it whole to get there; one that has
// since dropped it answers NOT_HELD and the fetcher asks the next); sites still fetching it are
// partial holders (blobPartialHolders).
//
// Retention (issue 13: blobs are kept while a placed site still needs them, removed after): a site
// keeps a blob while it needs it, or while it holds it and a placed site has not reported the
// image's current revision in sync. Once every placed site has, each drops its copy, the origin
// included when the origin is placed, its own cloud holds the bits, it can read them back from
// there (`canReseed`) and another placed site is in sync (a second Glance copy); otherwise the
// origin keeps its copy as the one every later fetch can use.
// The bits are then in the placed sites' Glances only, so when a placed site reports that it waits
// for them (`fetching`/`error` at the current revision: a site placed later, a copy lost out of
// band) one site reads them back from its own cloud into its store and serves them: the origin,
// unless the origin itself is the one waiting, then the first site by name that reports the image
// in sync (the reseeder; see `reseed`).
import type { Catalog } from '../catalog/index.js';
import { placementSelects } from '../catalog/placement.js';
import type { ResourceOf } from '../catalog/types.js';

export interface BlobNeed {
  imageId: string;
  root: string;
  size: number;
  holders: string[];
}

export interface BlobPlan {
  /** Blobs this site must have (its Glance does not hold the image at the current revision yet). */
  needed: BlobNeed[];
  /** Blobs this site reads back from its own cloud: a placed site waits for bits no store may hold any more. */
  reseed: BlobNeed[];
  /** Roots this site keeps; anything else in its store may be removed. */
  keep: Set<string>;
}

/**
 * `cloudHolds(imageId)`: this site's own cloud already holds the image's bits (a site in sync at an
 * earlier revision whose image was patched since: only its metadata changes). Such a site waits
 * for its report like any other, so holders keep the blob for it, but it fetches nothing.
 * `canReseed`: this site can read an image's bits back from its own cloud into its store (the
 * daemon with a cloud that downloads images; not the simulator's modelled stores).
 */
export function blobPlan(catalog: Catalog, self: string, held: ReadonlySet<string>, cloudHolds: (imageId: string) => boolean = () => false, canReseed = false): BlobPlan {
  const sites = catalog.sites();
  const needed: BlobNeed[] = [];
  const reseed: BlobNeed[] = [];
  const keep = new Set<string>();
  for (const image of catalog.list('image')) {
    const blob = image.spec.source.blob;
    if (blob === undefined) continue;
    const placed = image.placement === undefined ? [] : sites.filter((s) => placementSelects(image.placement!, s.spec)).map((s) => s.id);
    const inSync = inSyncSites(catalog, image);
    const waiting = placed.filter((s) => !inSync.has(s));
    const origin = image.spec.source.origin;
    const need = { imageId: image.id, root: blob.root, size: blob.size, holders: holdersOf(origin, inSync, self) };
    if (waiting.includes(self) && !cloudHolds(image.id)) {
      needed.push(need);
      keep.add(blob.root);
    }
    if (held.has(blob.root) && waiting.length > 0) keep.add(blob.root);
    // The origin's copy goes only once it could read it back from its own cloud, and another
    // site's Glance holds the bits too (dropping it must not leave a single copy anywhere).
    const otherCopy = [...inSync].some((s) => s !== self);
    if (origin === self && !(waiting.length === 0 && otherCopy && placed.includes(self) && cloudHolds(image.id) && canReseed)) keep.add(blob.root);
    if (canReseed && cloudHolds(image.id) && reseederOf(catalog, image, placed, inSync) === self && waitingForBits(catalog, image).some((s) => s !== self)) {
      reseed.push(need);
      keep.add(blob.root);
    }
  }
  return { needed, reseed, keep };
}

/**
 * The site that reads an image's bits back from its own cloud when a placed site waits for them:
 * the origin when it is placed and not waiting for them itself, else the first site by name that
 * reports the image in sync. None when the origin is not placed: it keeps its copy then.
 */
function reseederOf(catalog: Catalog, image: ResourceOf<'image'>, placed: readonly string[], inSync: ReadonlySet<string>): string | undefined {
  const origin = image.spec.source.origin;
  if (origin === undefined || !placed.includes(origin)) return undefined;
  if (!waitingForBits(catalog, image).includes(origin)) return origin;
  return [...inSync].filter((s) => placed.includes(s)).sort()[0];
}

/** Placed sites whose reconciler reports, at the image's revision, that its bits are not there yet. */
function waitingForBits(catalog: Catalog, image: ResourceOf<'image'>): string[] {
  return catalog
    .syncStatus({ kind: 'image', id: image.id })
    .filter((e) => (e.state === 'fetching' || e.state === 'error') && e.revision === image.revision)
    .map((e) => e.site);
}

/** Holders of one image's blob as the catalog says now (asked again at every fetch round). */
export function blobHolders(catalog: Catalog, imageId: string, self: string): string[] {
  const image = catalog.get('image', imageId);
  if (image?.spec.source.blob === undefined) return [];
  return holdersOf(image.spec.source.origin, inSyncSites(catalog, image), self);
}

/**
 * Sites that may hold part of the image's blob: placed sites whose sync report at the image's
 * revision says `fetching`, or `error` (a stalled fetch keeps what it verified). They serve the
 * chunks they have verified, so a late site asks them which (a have request: a site holding none
 * answers NOT_HELD or an empty bitmap) and takes those from them too. Learnt from the catalog like
 * the whole holders, never guessed.
 */
export function blobPartialHolders(catalog: Catalog, imageId: string, self: string): string[] {
  const image = catalog.get('image', imageId);
  if (image?.spec.source.blob === undefined) return [];
  return waitingForBits(catalog, image).filter((s) => s !== self);
}

function holdersOf(origin: string | undefined, inSync: ReadonlySet<string>, self: string): string[] {
  return [...new Set([...(origin === undefined ? [] : [origin]), ...inSync])].filter((s) => s !== self);
}

function inSyncSites(catalog: Catalog, image: ResourceOf<'image'>): Set<string> {
  return new Set(
    catalog
      .syncStatus({ kind: 'image', id: image.id })
      .filter((e) => e.state === 'in-sync' && e.revision === image.revision)
      .map((e) => e.site),
  );
}
