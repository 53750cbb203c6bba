// quota: one project's limits on Nova, Cinder and Neutron; only the limits given are managed.
import { NOVA_MAX_INT } from './limits.js';
import { SpecError, expectObject, readNameEqualToId, readOptionalInt, rejectUnknownFields, type Fields } from './spec-reader.js';
import { QUOTA_FIELDS, QUOTA_GROUP_NAMES } from './spec-fields.js';
import { QUOTA_GROUPS, type QuotaGroup, type QuotaSpec } from './types.js';

/** -1 means unlimited in all three services. */
const LIMIT = { min: -1, max: NOVA_MAX_INT };

export function normalizeQuotaSpec(input: unknown, id: string): QuotaSpec {
  const spec = expectObject(input, 'spec');
  rejectUnknownFields(spec, QUOTA_FIELDS, 'spec');
  const quota: QuotaSpec = { project: readNameEqualToId(spec, 'project', id) };
  let limits = 0;
  for (const group of QUOTA_GROUP_NAMES) {
    const read = readGroup(spec, group);
    if (read === undefined) continue;
    limits += Object.keys(read).length;
    (quota as unknown as Record<string, unknown>)[group] = read;
  }
  if (limits === 0) throw new SpecError('spec', 'spec sets no limit (give at least one of compute, volume, network)');
  return quota;
}

function readGroup(spec: Fields, group: QuotaGroup): Record<string, number> | undefined {
  if (spec[group] === undefined || spec[group] === null) return undefined;
  const parent = `spec.${group}`;
  const fields = expectObject(spec[group], parent);
  rejectUnknownFields(fields, QUOTA_GROUPS[group], parent);
  const entries: Array<[string, number]> = [];
  for (const key of QUOTA_GROUPS[group]) {
    const value = readOptionalInt(fields, key, parent, LIMIT);
    if (value !== undefined) entries.push([key, value]);
  }
  return Object.fromEntries(entries);
}
