// The basic shape of each resource kind's spec and id, checked at the admin socket so an operator
// gets an immediate, precise error before anything is proposed. The catalog's apply stays the
// authority (agent/catalog/validate-*.ts re-validates everything, deterministically, on every
// site, including unknown fields and cross-resource rules): these schemas only mirror its field
// names and types, and take its id rules as they are.
import { z } from 'zod';
import { LABEL_KEY, LABEL_VALUE, PROJECT_ID, REGION_NAME, SITE_NAME, UUID } from '../catalog/names.js';
import { MAX_FLAVOR_ACCESS_PROJECTS } from '../catalog/limits.js';
import { SpecError, type StringRule } from '../catalog/spec-reader.js';
import { UncarriedKeyError, findUncarriedKey } from '../catalog/codec.js';
import { checkResourceId as checkCatalogId } from '../catalog/names.js';
import { booleanValue, boundedString, expecting, integerIn, oneOf } from '../config/expect.js';
import { quickAcceptOf } from './quick-accept.js';
import type { ResourceKind } from './service.js';
import {
  CONTAINER_FORMATS,
  DISK_FORMATS,
  FLAVOR_REQUIRED_FIELDS,
  IMAGE_REQUIRED_FIELDS,
  IMAGE_SOURCE_FIELDS,
  IMAGE_SOURCE_KINDS,
  IMAGE_VISIBILITIES,
  QUOTA_GROUP_NAMES,
  QUOTA_GROUPS,
  REPLICATION_TYPES,
  type FlavorField,
  type ImageField,
} from './vocabulary.js';

/** Nova's integer columns are 32-bit. */
const NOVA_MAX_INT = 2_147_483_647;

/** A string following one of the catalog's rules (length, pattern). */
export function ruleString(rule: StringRule, what: string) {
  const e = expecting(rule.patternHint ? `${what}: ${rule.patternHint}` : what);
  const base = z.string(e).min(rule.min, e).max(rule.max, e);
  return rule.pattern ? base.regex(rule.pattern, e) : base;
}

/** Returns why `id` is not a valid id for `kind`, or undefined when it is. */
export function checkResourceId(kind: ResourceKind, id: string): string | undefined {
  try {
    checkCatalogId(kind, id);
    return undefined;
  } catch (err) {
    if (err instanceof SpecError) return `expected a ${kind} id (${err.message})`;
    throw err;
  }
}

const stringMap = (what: string) => z.record(z.string(), z.string(expecting('a string value')), expecting(`a mapping of ${what}`));
const stringList = (what: string) => z.array(z.string(expecting('a string')), expecting(`a list of ${what}`));
const limit = () => integerIn(-1, NOVA_MAX_INT, 'an integer >= -1 (-1 = unlimited)');
const quotaGroup = (fields: readonly string[]) =>
  z.looseObject(Object.fromEntries(fields.map((field) => [field, limit().optional()])), expecting(`a mapping of ${fields.join(', ')}`));

/** Field shapes per kind. `required` fields must be present in a put; a patch may remove (null) the others. */
interface KindShape {
  fields: Record<string, z.ZodType>;
  required: readonly string[];
  /** Cross-field rule of a full spec (a put). */
  check?: (spec: Record<string, unknown>) => { field: string; message: string } | undefined;
}

const SHAPES: Record<ResourceKind, KindShape> = {
  site: {
    fields: {
      name: ruleString(SITE_NAME, 'a site name'),
      peerId: boundedString(128, 'a libp2p peer id'),
      addresses: z.array(boundedString(512, 'a multiaddr'), expecting('a list of multiaddrs')).min(1, expecting('at least one multiaddr')),
      region: ruleString(REGION_NAME, 'a region name'),
      country: z.string(expecting('an ISO 3166-1 alpha-2 country code such as DE')).length(2, expecting('an ISO 3166-1 alpha-2 country code such as DE')),
      labels: z.record(ruleString(LABEL_KEY, 'a label name'), ruleString(LABEL_VALUE, 'a label value'), expecting('a mapping of label names to values')),
      role: oneOf(['voter', 'learner'] as const),
    },
    required: ['peerId', 'addresses', 'region', 'country'],
  },
  flavor: {
    fields: {
      name: boundedString(255, 'a flavor name'),
      vcpus: integerIn(1, NOVA_MAX_INT, 'a positive integer'),
      ram: integerIn(1, NOVA_MAX_INT, 'a positive integer (MiB)'),
      disk: integerIn(0, NOVA_MAX_INT, 'a non-negative integer (GiB)'),
      ephemeral: integerIn(0, NOVA_MAX_INT, 'a non-negative integer (GiB)'),
      swap: integerIn(0, NOVA_MAX_INT, 'a non-negative integer (MiB)'),
      rxtxFactor: z.number(expecting('a positive number')).positive(expecting('a positive number')),
      isPublic: booleanValue(),
      extraSpecs: stringMap('extra spec names to string values'),
      description: z.string(expecting('a string')),
      accessProjects: z.array(ruleString(PROJECT_ID, 'a project id'), expecting('a list of project ids')).max(MAX_FLAVOR_ACCESS_PROJECTS, expecting(`at most ${MAX_FLAVOR_ACCESS_PROJECTS} project ids`)),
    } satisfies Record<FlavorField, z.ZodType>,
    required: FLAVOR_REQUIRED_FIELDS,
    check: (spec) =>
      spec.isPublic !== false && Array.isArray(spec.accessProjects) && spec.accessProjects.length > 0
        ? { field: 'accessProjects', message: 'gives projects access to a private flavor; a public flavor is open to every project (set isPublic false)' }
        : undefined,
  },
  image: {
    fields: {
      name: boundedString(255, 'an image name'),
      diskFormat: oneOf(DISK_FORMATS),
      containerFormat: oneOf(CONTAINER_FORMATS),
      visibility: oneOf(IMAGE_VISIBILITIES),
      minDisk: integerIn(0, NOVA_MAX_INT, 'a non-negative integer (GiB)'),
      minRam: integerIn(0, NOVA_MAX_INT, 'a non-negative integer (MiB)'),
      protected: booleanValue(),
      properties: stringMap('property names to string values'),
      tags: stringList('tags'),
      source: z.looseObject(
        {
          url: z.url({ protocol: /^https?$/, ...expecting('an http:// or https:// URL') }),
          sha256: z.string(expecting('a SHA-256 digest (64 hex digits)')).regex(/^[0-9a-fA-F]{64}$/, expecting('a SHA-256 digest (64 hex digits)')).optional(),
          sha512: z.string(expecting('a SHA-512 digest (128 hex digits)')).regex(/^[0-9a-fA-F]{128}$/, expecting('a SHA-512 digest (128 hex digits)')).optional(),
          kind: oneOf(IMAGE_SOURCE_KINDS).optional(),
          blob: z.looseObject({}, expecting('a mapping with root, size and md5')).optional(),
          origin: boundedString(64, 'a site name').optional(),
        } satisfies Record<(typeof IMAGE_SOURCE_FIELDS)[number], z.ZodType>,
        expecting('a mapping with url and sha256 or sha512'),
      ),
    } satisfies Record<ImageField, z.ZodType>,
    required: IMAGE_REQUIRED_FIELDS,
    check: (spec) => {
      const source = spec.source as Record<string, unknown>;
      if (source.sha256 === undefined && source.sha512 === undefined) return { field: 'source.sha256', message: 'an image needs a digest to verify the download: set source.sha256 or source.sha512' };
      return undefined;
    },
  },
  quota: {
    fields: {
      project: boundedString(64, 'a project id'),
      ...Object.fromEntries(QUOTA_GROUP_NAMES.map((group) => [group, quotaGroup(QUOTA_GROUPS[group])])),
    },
    required: [],
  },
  'protection-group': {
    fields: {
      name: ruleString(SITE_NAME, 'a protection group name'),
      project: boundedString(64, 'a project id'),
      replicationType: oneOf(REPLICATION_TYPES),
      primarySite: ruleString(SITE_NAME, 'a site name'),
      secondarySite: ruleString(SITE_NAME, 'a site name'),
      volumeType: boundedString(255, 'a volume type name'),
      members: z.array(ruleString(UUID, 'a server id'), expecting('a list of server ids')),
    },
    required: ['project', 'replicationType', 'primarySite', 'secondarySite', 'volumeType'],
    check: (spec) =>
      spec.primarySite === spec.secondarySite ? { field: 'secondarySite', message: `must differ from primarySite (both are ${JSON.stringify(spec.primarySite)})` } : undefined,
  },
};

export interface SpecProblem {
  /** Path inside the spec, e.g. `vcpus` or `source.url`. */
  field: string;
  message: string;
}

/**
 * Checks a full spec (put) or a merge patch (null removes a field or a key of a nested map)
 * of `kind` against its basic shape.
 */
export function checkSpec(kind: ResourceKind, spec: Record<string, unknown>, mode: 'put' | 'patch'): SpecProblem[] {
  const shape = SHAPES[kind];
  const problems: SpecProblem[] = [];
  const uncarried = findUncarriedKey(spec);
  if (uncarried !== undefined) problems.push({ field: uncarried, message: new UncarriedKeyError().message });
  if (mode === 'put') {
    for (const field of shape.required) {
      if (spec[field] === undefined || spec[field] === null) problems.push({ field, message: 'required field is missing' });
    }
  }
  for (const [field, value] of Object.entries(spec)) {
    // Every key is data: 'constructor' or '__proto__' must not find Object.prototype's members.
    const schema = Object.hasOwn(shape.fields, field) ? shape.fields[field] : undefined;
    if (!schema || value === undefined || value === null) continue;
    // In a merge patch, null inside a nested map removes that key: only the values set are checked.
    const checked = mode === 'patch' ? withoutNestedNulls(value) : value;
    if (quickAcceptOf(schema)?.(checked) === true) continue;
    const result = schema.safeParse(checked);
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

function withoutNestedNulls(value: unknown): unknown {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return value;
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== null).map(([k, v]) => [k, withoutNestedNulls(v)]));
}

/** The schema of each spec field of `kind` (for the test that holds quickAcceptOf to zod's verdicts). */
export function specFieldSchemas(kind: ResourceKind): Readonly<Record<string, z.ZodType>> {
  return SHAPES[kind].fields;
}

/** Spec field names the admin layer knows for `kind`. */
export function knownSpecFields(kind: ResourceKind): string[] {
  return Object.keys(SHAPES[kind].fields);
}
