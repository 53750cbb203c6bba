// The basic shape of each resource kind's spec and id, checked at the admin socket so an operator
// gets an immediate, precise error. The catalog's apply stays the authority (it re-validates
// everything, deterministically, on every site): these schemas are looser on purpose: unknown
// spec fields pass through to it.
import { z } from 'zod';
import { booleanValue, boundedString, expecting, integerIn, nonNegativeInteger, oneOf, patternString, positiveInteger } from '../config/expect.js';
import { SITE_NAME_EXPECTED, SITE_NAME_PATTERN } from '../config/schema.js';
import type { ResourceKind } from './service.js';
import { CONTAINER_FORMATS, DISK_FORMATS, IMAGE_VISIBILITIES, QUOTA_FIELDS, REPLICATION_MODES } from './vocabulary.js';

/** Bounds on what one resource may carry (a catalog entry must fit a Raft append comfortably). */
export const MAX_PROPERTIES = 128;
export const MAX_PROPERTY_KEY_LENGTH = 255;
export const MAX_PROPERTY_VALUE_LENGTH = 255;
export const MAX_TAGS = 128;
export const MAX_PROTECTION_GROUP_MEMBERS = 1024;
export const MAX_PLACEMENT_LENGTH = 1024;

const GENERIC_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._~:@-]{0,254}$/;
const UUID_PATTERN = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
const PROJECT_ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

/** Id rules per kind: images keep Glance's UUIDs, quotas are keyed by project id, sites by name. */
const ID_RULES: Record<ResourceKind, { pattern: RegExp; expected: string }> = {
  site: { pattern: SITE_NAME_PATTERN, expected: SITE_NAME_EXPECTED },
  flavor: { pattern: GENERIC_ID_PATTERN, expected: 'a flavor id (letters, digits, . _ ~ : @ -, at most 255)' },
  image: { pattern: UUID_PATTERN, expected: 'an image id in UUID form' },
  quota: { pattern: PROJECT_ID_PATTERN, expected: 'a project id (letters, digits, _ -, at most 64)' },
  'protection-group': { pattern: GENERIC_ID_PATTERN, expected: 'a protection group id (letters, digits, . _ ~ : @ -, at most 255)' },
};

/** Returns why `id` is not a valid id for `kind`, or undefined when it is. */
export function checkResourceId(kind: ResourceKind, id: string): string | undefined {
  const rule = ID_RULES[kind];
  return rule.pattern.test(id) ? undefined : `expected ${rule.expected}, got ${JSON.stringify(id)}`;
}

const properties = () =>
  z
    .record(boundedString(MAX_PROPERTY_KEY_LENGTH, 'a property name'), z.string(expecting('a string value')).max(MAX_PROPERTY_VALUE_LENGTH, expecting(`a value of at most ${MAX_PROPERTY_VALUE_LENGTH} characters`)), expecting('a mapping of property names to string values'))
    .refine((value) => Object.keys(value).length <= MAX_PROPERTIES, { message: `at most ${MAX_PROPERTIES} properties` });

const quotaLimit = () => integerIn(-1, Number.MAX_SAFE_INTEGER, 'an integer >= -1 (-1 = unlimited)');
const hex = (length: number, name: string) => patternString(new RegExp(`^[0-9a-fA-F]{${length}}$`), `a ${name} digest (${length} hex digits)`);
const siteRef = () => patternString(SITE_NAME_PATTERN, SITE_NAME_EXPECTED);

/** Field shapes per kind. `required` fields must be present in a put; a patch may set any to null. */
interface KindShape {
  fields: Record<string, z.ZodType>;
  required: readonly string[];
  /** Cross-field rule of a full spec (a put). */
  check?: (spec: Record<string, unknown>) => { field: string; message: string } | undefined;
}

const SHAPES: Record<ResourceKind, KindShape> = {
  site: {
    fields: {
      name: siteRef(),
      region: boundedString(63, 'a region name'),
      country: patternString(/^[A-Z]{2}$/, 'an ISO 3166-1 alpha-2 country code such as DE'),
      labels: z.record(z.string(), z.string(expecting('a string value')), expecting('a mapping of label names to values')),
      peerId: boundedString(128, 'a libp2p peer id'),
      addrs: z.array(boundedString(512, 'a multiaddr'), expecting('a list of multiaddrs')),
    },
    required: ['name', 'region', 'peerId', 'addrs'],
  },
  flavor: {
    fields: {
      name: boundedString(255, 'a flavor name'),
      vcpus: positiveInteger(),
      ramMiB: positiveInteger(),
      diskGiB: nonNegativeInteger(),
      ephemeralGiB: nonNegativeInteger(),
      swapMiB: nonNegativeInteger(),
      rxtxFactor: z.number(expecting('a positive number')).positive(expecting('a positive number')),
      isPublic: booleanValue(),
      properties: properties(),
    },
    required: ['name', 'vcpus', 'ramMiB', 'diskGiB'],
  },
  image: {
    fields: {
      name: boundedString(255, 'an image name'),
      diskFormat: oneOf(DISK_FORMATS),
      containerFormat: oneOf(CONTAINER_FORMATS),
      sourceUrl: z.url({ protocol: /^https?$/, ...expecting('an http:// or https:// URL') }),
      sha256: hex(64, 'SHA-256'),
      sha512: hex(128, 'SHA-512'),
      visibility: oneOf(IMAGE_VISIBILITIES),
      minDiskGiB: nonNegativeInteger(),
      minRamMiB: nonNegativeInteger(),
      protected: booleanValue(),
      properties: properties(),
      tags: z.array(boundedString(255, 'a tag'), expecting('a list of tags')).max(MAX_TAGS, expecting(`at most ${MAX_TAGS} tags`)),
    },
    required: ['name', 'diskFormat', 'containerFormat', 'sourceUrl'],
    check: (spec) => {
      const digests = ['sha256', 'sha512'].filter((field) => spec[field] !== undefined && spec[field] !== null);
      if (digests.length === 0) return { field: 'sha256', message: 'an image needs its digest: set sha256 or sha512' };
      if (digests.length > 1) return { field: 'sha512', message: 'set only one of sha256 and sha512' };
      return undefined;
    },
  },
  quota: {
    fields: {
      project: patternString(PROJECT_ID_PATTERN, 'a project id (letters, digits, _ -, at most 64)'),
      ...Object.fromEntries(QUOTA_FIELDS.map((field) => [field, quotaLimit()])),
    },
    required: ['project'],
  },
  'protection-group': {
    fields: {
      name: boundedString(255, 'a protection group name'),
      project: patternString(PROJECT_ID_PATTERN, 'a project id (letters, digits, _ -, at most 64)'),
      primarySite: siteRef(),
      secondarySite: siteRef(),
      replication: oneOf(REPLICATION_MODES),
      volumeType: boundedString(255, 'a volume type name'),
      members: z.array(boundedString(255, 'a server id'), expecting('a list of server ids')).max(MAX_PROTECTION_GROUP_MEMBERS, expecting(`at most ${MAX_PROTECTION_GROUP_MEMBERS} members`)),
    },
    required: ['name', 'project', 'primarySite', 'secondarySite', 'replication'],
    check: (spec) =>
      spec.primarySite === spec.secondarySite ? { field: 'secondarySite', message: `must differ from primarySite (both are ${JSON.stringify(spec.primarySite)})` } : undefined,
  },
};

export interface SpecProblem {
  /** Path inside the spec, e.g. `vcpus` or `properties.k`. */
  field: string;
  message: string;
}

/** Checks a full spec (put) or a merge patch (patch) of `kind` against its basic shape. */
export function checkSpec(kind: ResourceKind, spec: Record<string, unknown>, mode: 'put' | 'patch'): SpecProblem[] {
  const shape = SHAPES[kind];
  const problems: SpecProblem[] = [];
  if (mode === 'put') {
    for (const field of shape.required) {
      if (spec[field] === undefined || spec[field] === null) problems.push({ field, message: 'required field is missing' });
    }
  }
  for (const [field, value] of Object.entries(spec)) {
    const schema = shape.fields[field];
    if (!schema || value === undefined || (mode === 'patch' && value === null)) continue;
    // In a merge patch, null inside a mapping removes that key: check only what is being set.
    const result = schema.safeParse(mode === 'patch' ? withoutNullMembers(value) : value);
    if (!result.success) {
      for (const issue of result.error.issues) {
        const inner = issue.path.map(String).join('.');
        problems.push({ field: inner ? `${field}.${inner}` : field, message: issue.message });
      }
    }
  }
  if (mode === 'patch') {
    for (const field of shape.required) {
      if (spec[field] === null) problems.push({ field, message: 'is required and cannot be removed' });
    }
  }
  if (problems.length === 0 && mode === 'put' && shape.check) {
    const problem = shape.check(spec);
    if (problem) problems.push(problem);
  }
  return problems;
}

function withoutNullMembers(value: unknown): unknown {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return value;
  return Object.fromEntries(Object.entries(value).filter(([, member]) => member !== null).map(([key, member]) => [key, withoutNullMembers(member)]));
}

/** Spec field names the admin layer knows for `kind` (for CLI help and typo hints). */
export function knownSpecFields(kind: ResourceKind): string[] {
  return Object.keys(SHAPES[kind].fields);
}
