// The field lists of the flavor, image and quota specs, defined once. The catalog's validation,
// the admin API's checks, the CLI's options and columns all derive theirs from these, and the
// compiler checks each list against its spec type, so adding a field to a spec fails to compile
// until the list (and everything typed by it) knows it. Dependency-free: the CLI loads it.
import { QUOTA_GROUPS, type FlavorSpec, type CatalogImageSource, type ImageSpec, type QuotaGroup } from './types.js';

/** `fields` as given when it names every key of T (order free), else a type error naming what is missing. */
type EveryField<T, L extends readonly PropertyKey[]> = [Exclude<keyof T, L[number]>] extends [never] ? L : { missingFields: Exclude<keyof T, L[number]> };

function fieldsOf<T>() {
  return <const L extends readonly (keyof T & string)[]>(fields: L & EveryField<T, L>): L => fields;
}

export const FLAVOR_FIELDS = fieldsOf<FlavorSpec>()([
  'name',
  'vcpus',
  'ram',
  'disk',
  'ephemeral',
  'swap',
  'rxtxFactor',
  'isPublic',
  'extraSpecs',
  'description',
  'accessProjects',
]);
export type FlavorField = (typeof FLAVOR_FIELDS)[number];
/** A put without one of these is refused. */
export const FLAVOR_REQUIRED_FIELDS = ['name', 'vcpus', 'ram', 'disk'] as const satisfies readonly FlavorField[];
/** What an optional field is when a spec leaves it out (Nova's defaults). */
export const FLAVOR_DEFAULTS = { ephemeral: 0, swap: 0, rxtxFactor: 1, isPublic: true } as const satisfies Partial<FlavorSpec>;

export const IMAGE_FIELDS = fieldsOf<ImageSpec>()([
  'name',
  'diskFormat',
  'containerFormat',
  'visibility',
  'minDisk',
  'minRam',
  'protected',
  'properties',
  'tags',
  'source',
]);
export type ImageField = (typeof IMAGE_FIELDS)[number];
export const IMAGE_SOURCE_FIELDS = fieldsOf<CatalogImageSource>()(['url', 'sha256', 'sha512', 'kind', 'blob', 'origin']);
export const IMAGE_REQUIRED_FIELDS = ['name', 'diskFormat', 'containerFormat', 'source'] as const satisfies readonly ImageField[];
export const IMAGE_DEFAULTS = { visibility: 'public', minDisk: 0, minRam: 0, protected: false } as const satisfies Partial<ImageSpec>;

/** A quota spec: the project, then one optional group of limits per service (QUOTA_GROUPS). */
export const QUOTA_GROUP_NAMES = Object.keys(QUOTA_GROUPS) as QuotaGroup[];
export const QUOTA_FIELDS = ['project', ...QUOTA_GROUP_NAMES] as const;
export type QuotaLimitField<G extends QuotaGroup> = (typeof QUOTA_GROUPS)[G][number];
