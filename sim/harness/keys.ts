// The workload's registers: catalog resources whose one "value" field the clients write and read.
// A flavor's value is its description, a protection group's its volume type; an absent resource
// is the register value null. Every write stores a value no other write uses (the write id), so a
// value names the one write that produced it, and a resource's revision (the index that last
// changed it) names that value too: compare-and-set by revision is compare-and-set by value.
import type { RegisterValue } from '../checkers/linearizability.js';

export const FLAVOR_PREFIX = 'wf-';
export const GROUP_PREFIX = 'pg-';
/** Keystone-style project id the workload's protection groups belong to. */
export const SIM_PROJECT = 'a1b2c3d4e5f60718293a4b5c6d7e8f90';

export type RegisterKind = 'flavor' | 'protection-group';

export interface RegisterKey {
  kind: RegisterKind;
  id: string;
  /** `kind/id`: the key the linearizability checker partitions by. */
  key: string;
}

export function registerKeys(flavors: number, groups: number): RegisterKey[] {
  const keys: RegisterKey[] = [];
  for (let i = 0; i < flavors; i++) keys.push(makeKey('flavor', `${FLAVOR_PREFIX}${i}`));
  for (let i = 0; i < groups; i++) keys.push(makeKey('protection-group', `${GROUP_PREFIX}${i}`));
  return keys;
}

function makeKey(kind: RegisterKind, id: string): RegisterKey {
  return { kind, id, key: `${kind}/${id}` };
}

/** The register key of a catalog resource, or undefined when it is not one of the workload's. */
export function workloadKey(kind: string, id: string): string | undefined {
  if (kind === 'flavor' && id.startsWith(FLAVOR_PREFIX)) return `${kind}/${id}`;
  if (kind === 'protection-group' && id.startsWith(GROUP_PREFIX)) return `${kind}/${id}`;
  return undefined;
}

/** The value field of a spec as the workload writes it (undefined when the spec does not set it). */
export function valueOfSpec(kind: string, spec: unknown): RegisterValue | undefined {
  if (typeof spec !== 'object' || spec === null) return undefined;
  const field = kind === 'flavor' ? 'description' : 'volumeType';
  const v = (spec as Record<string, unknown>)[field];
  return typeof v === 'string' ? v : undefined;
}

export function flavorSpec(id: string, value: string): Record<string, unknown> {
  return { name: id, vcpus: 1, ram: 512, disk: 1, description: value };
}

export function groupSpec(id: string, value: string, primarySite: string, secondarySite: string): Record<string, unknown> {
  return {
    name: id,
    project: SIM_PROJECT,
    replicationType: 'async',
    primarySite,
    secondarySite,
    volumeType: value,
    members: [],
  };
}
