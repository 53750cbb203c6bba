// Help for the leader's write path: which sites must be live before a write may be proposed.
import type { Catalog } from './catalog.js';
import { isPlainObject } from './spec-reader.js';
import type { WriteOp } from './types.js';

/**
 * Sites a write names that must be reachable (DESIGN.md, PEER_UNREACHABLE): for every op on a
 * protection group, its primary and secondary site — from the new spec for put and patch, from the
 * current resource for patch and delete. Sorted, unique. Ops are untrusted input here (validation
 * happens in apply): anything that is not a site name is ignored.
 */
export function requiredLiveSites(ops: readonly WriteOp[], catalog: Catalog): string[] {
  const sites = new Set<string>();
  const add = (value: unknown): void => {
    if (typeof value === 'string' && value !== '') sites.add(value);
  };
  for (const op of ops) {
    if (!isPlainObject(op) || op.kind !== 'protection-group' || typeof op.id !== 'string') continue;
    if (op.op === 'put' || op.op === 'patch') {
      const spec: unknown = op.spec;
      if (isPlainObject(spec)) {
        add(spec.primarySite);
        add(spec.secondarySite);
      }
    }
    if (op.op === 'patch' || op.op === 'delete') {
      const current = catalog.get('protection-group', op.id);
      if (current !== undefined) {
        add(current.spec.primarySite);
        add(current.spec.secondarySite);
      }
    }
  }
  return [...sites].sort();
}
