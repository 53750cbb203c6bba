// What differs between a resource as the cloud has it and as the catalog wants it. The drivers use
// these to decide what to send; the reconciler uses the same functions to detect drift.
import {
  IMAGE_MARKER_PREFIX,
  SOURCE_SHA256_PROPERTY,
  SOURCE_SHA512_PROPERTY,
  SOURCE_URL_PROPERTY,
} from './markers.js';
import type { ImagePatchOp } from './service-api.js';
import type { CloudFlavor, CloudImage, CloudQuota, CloudFlavorSpec, CloudImageSpec, QuotaPart, CloudQuotaSpec } from './types.js';

export interface FieldChange {
  field: string;
  from: unknown;
  to: unknown;
}

/** Fields Nova cannot change on an existing flavor: a change means delete + create (a replace). */
export const FLAVOR_IMMUTABLE_FIELDS = ['name', 'vcpus', 'ram', 'disk', 'ephemeral', 'swap', 'rxtxFactor', 'isPublic'] as const;

export interface FlavorDiff {
  immutable: FieldChange[];
  descriptionChanged: boolean;
  extraSpecsToSet: Record<string, string>;
  extraSpecsToRemove: string[];
  accessToAdd: string[];
  accessToRemove: string[];
  inSync: boolean;
}

function sameNumber(a: number, b: number): boolean {
  // rxtx_factor is a float column: allow for its rounding.
  return a === b || Math.abs(a - b) <= 1e-6 * Math.max(1, Math.abs(a));
}

export function diffFlavor(current: CloudFlavor, desired: CloudFlavorSpec): FlavorDiff {
  const immutable: FieldChange[] = [];
  for (const field of FLAVOR_IMMUTABLE_FIELDS) {
    const from = current[field];
    const to = desired[field];
    const same = typeof from === 'number' && typeof to === 'number' ? sameNumber(from, to) : from === to;
    if (!same) immutable.push({ field, from, to });
  }
  const descriptionChanged = (current.description ?? null) !== (desired.description ?? null);
  const extraSpecsToSet: Record<string, string> = {};
  for (const [key, value] of Object.entries(desired.extraSpecs)) {
    if (current.extraSpecs[key] !== value) extraSpecsToSet[key] = value;
  }
  const extraSpecsToRemove = Object.keys(current.extraSpecs).filter((key) => !Object.hasOwn(desired.extraSpecs, key));
  const wantedAccess = desired.isPublic ? [] : (desired.accessProjects ?? []);
  const accessToAdd = wantedAccess.filter((p) => !current.accessProjects.includes(p)).sort();
  const accessToRemove = current.accessProjects.filter((p) => !wantedAccess.includes(p)).sort();
  const inSync =
    immutable.length === 0 &&
    !descriptionChanged &&
    Object.keys(extraSpecsToSet).length === 0 &&
    extraSpecsToRemove.length === 0 &&
    accessToAdd.length === 0 &&
    accessToRemove.length === 0;
  return { immutable, descriptionChanged, extraSpecsToSet, extraSpecsToRemove, accessToAdd, accessToRemove, inSync };
}

export interface ImageDiff {
  /** The declared digests differ: new bits, which Glance cannot take for an existing image. */
  digestsChanged: boolean;
  /** Disk or container format differ: Glance changes these only while the image is queued. */
  formatChanges: FieldChange[];
  /** Every metadata change (formats and recorded source included) as one Glance JSON patch. */
  patch: ImagePatchOp[];
  inSync: boolean;
}

function sameTags(a: string[], b: string[]): boolean {
  if (a.length !== b.length) return false;
  const sortedB = [...b].sort();
  return [...a].sort().every((tag, i) => tag === sortedB[i]);
}

function patchProperty(ops: ImagePatchOp[], key: string, from: string | undefined, to: string | undefined): void {
  if (from === to) return;
  if (to === undefined) ops.push({ op: 'remove', path: `/${key}` });
  else ops.push({ op: from === undefined ? 'add' : 'replace', path: `/${key}`, value: to });
}

export function diffImage(current: CloudImage, desired: CloudImageSpec): ImageDiff {
  const patch: ImagePatchOp[] = [];
  const scalar = (path: string, from: unknown, to: string | number | boolean): void => {
    if (from !== to) patch.push({ op: 'replace', path, value: to });
  };
  scalar('/name', current.name, desired.name);
  scalar('/visibility', current.visibility, desired.visibility);
  scalar('/min_disk', current.minDisk, desired.minDisk);
  scalar('/min_ram', current.minRam, desired.minRam);
  scalar('/protected', current.protected, desired.protected);
  if (!sameTags(current.tags, desired.tags)) patch.push({ op: 'replace', path: '/tags', value: [...desired.tags] });

  const formatChanges: FieldChange[] = [];
  if (current.diskFormat !== desired.diskFormat) {
    formatChanges.push({ field: 'diskFormat', from: current.diskFormat, to: desired.diskFormat });
    patch.push({ op: 'replace', path: '/disk_format', value: desired.diskFormat });
  }
  if (current.containerFormat !== desired.containerFormat) {
    formatChanges.push({ field: 'containerFormat', from: current.containerFormat, to: desired.containerFormat });
    patch.push({ op: 'replace', path: '/container_format', value: desired.containerFormat });
  }

  const keys = new Set([...Object.keys(current.properties), ...Object.keys(desired.properties)]);
  for (const key of [...keys].sort()) {
    if (key.startsWith(IMAGE_MARKER_PREFIX)) continue;
    patchProperty(patch, key, current.properties[key], desired.properties[key]);
  }

  const recorded = current.source;
  patchProperty(patch, SOURCE_URL_PROPERTY, recorded?.url, desired.source.url);
  patchProperty(patch, SOURCE_SHA256_PROPERTY, recorded?.sha256, desired.source.sha256);
  patchProperty(patch, SOURCE_SHA512_PROPERTY, recorded?.sha512, desired.source.sha512);
  const digestsChanged = recorded?.sha256 !== desired.source.sha256 || recorded?.sha512 !== desired.source.sha512;

  return { digestsChanged, formatChanges, patch, inSync: patch.length === 0 };
}

export interface QuotaDiff {
  changes: Array<FieldChange & { part: QuotaPart }>;
  /** Parts the spec sets but the cloud does not have (no such service). */
  missingParts: QuotaPart[];
  inSync: boolean;
}

export function diffQuota(current: CloudQuota, desired: CloudQuotaSpec): QuotaDiff {
  const changes: QuotaDiff['changes'] = [];
  const missingParts: QuotaPart[] = [];
  for (const part of ['compute', 'volume', 'network'] as QuotaPart[]) {
    const wanted = desired[part] as Record<string, number | undefined> | undefined;
    if (wanted === undefined) continue;
    const have = current[part] as Record<string, number> | undefined;
    if (have === undefined) {
      missingParts.push(part);
      continue;
    }
    for (const [field, to] of Object.entries(wanted)) {
      if (to !== undefined && have[field] !== to) changes.push({ part, field, from: have[field], to });
    }
  }
  return { changes, missingParts, inSync: changes.length === 0 };
}
