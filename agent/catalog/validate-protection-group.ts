// protection-group: a set of VMs replicated from a primary to a secondary site. The spec checks
// here are local; the cross-resource rules (sites exist, epoch never decreases) live in rules.ts.
import { MAX_PROTECTION_GROUP_MAPPINGS, MAX_PROTECTION_GROUP_MEMBERS } from './limits.js';
import { PROJECT_ID, SITE_NAME, UUID } from './names.js';
import {
  SpecError,
  expectObject,
  readEnum,
  readInt,
  readString,
  readStringList,
  readStringMap,
  readNameEqualToId,
  rejectUnknownFields,
  type Fields,
  type StringMapRule,
} from './spec-reader.js';
import { PROTECTION_GROUP_STATUSES, type ProtectionGroupMappings, type ProtectionGroupSpec } from './types.js';

const PROTECTION_GROUP_FIELDS = [
  'name',
  'project',
  'replicationType',
  'primarySite',
  'secondarySite',
  'volumeType',
  'members',
  'mappings',
  'status',
  'failoverEpoch',
] as const;
const MAPPING_FIELDS = ['networks', 'flavors', 'securityGroups'] as const;

const MAPPING_RULE: StringMapRule = {
  maxEntries: MAX_PROTECTION_GROUP_MAPPINGS,
  key: { min: 1, max: 255, pattern: /^\S+$/, patternHint: 'an id without white space' },
  value: { min: 1, max: 255, pattern: /^\S+$/, patternHint: 'an id without white space' },
};

export function normalizeProtectionGroupSpec(input: unknown, id: string): ProtectionGroupSpec {
  const spec = expectObject(input, 'spec');
  rejectUnknownFields(spec, PROTECTION_GROUP_FIELDS, 'spec');
  const normalized: ProtectionGroupSpec = {
    name: readNameEqualToId(spec, 'name', id),
    project: readString(spec, 'project', 'spec', PROJECT_ID),
    replicationType: readEnum(spec, 'replicationType', 'spec', ['sync', 'async'] as const),
    primarySite: readString(spec, 'primarySite', 'spec', SITE_NAME),
    secondarySite: readString(spec, 'secondarySite', 'spec', SITE_NAME),
    volumeType: readString(spec, 'volumeType', 'spec', { min: 1, max: 255, trimmed: true }),
    members: readStringList(spec, 'members', 'spec', { maxItems: MAX_PROTECTION_GROUP_MEMBERS, item: UUID, unique: true }),
    mappings: readMappings(spec),
    status: readEnum(spec, 'status', 'spec', PROTECTION_GROUP_STATUSES, 'active'),
    failoverEpoch: readInt(spec, 'failoverEpoch', 'spec', { min: 0, max: Number.MAX_SAFE_INTEGER }, 0),
  };
  if (normalized.primarySite === normalized.secondarySite) {
    throw new SpecError('spec.secondarySite', `spec.secondarySite must differ from spec.primarySite (${normalized.primarySite})`);
  }
  return normalized;
}

function readMappings(spec: Fields): ProtectionGroupMappings {
  const given = spec.mappings === undefined || spec.mappings === null ? {} : expectObject(spec.mappings, 'spec.mappings');
  rejectUnknownFields(given, MAPPING_FIELDS, 'spec.mappings');
  return {
    networks: readStringMap(given, 'networks', 'spec.mappings', MAPPING_RULE),
    flavors: readStringMap(given, 'flavors', 'spec.mappings', MAPPING_RULE),
    securityGroups: readStringMap(given, 'securityGroups', 'spec.mappings', MAPPING_RULE),
  };
}
