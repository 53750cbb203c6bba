// What the leader must check before it proposes a `dr` op (DESIGN.md, "Disaster recovery"): sites
// that must answer it (PEER_UNREACHABLE otherwise) and, for a forced failover, the primary that
// must NOT (PEER_REACHABLE otherwise). Apply then confirms the op's `from` is still the primary, so
// the site the leader found cut off is the site the committed failover moves away from.
import type { DrAction, DrOp } from './dr-types.js';
import { isPlainObject } from './spec-reader.js';

export interface DrProposalNeeds {
  requireLive: string[];
  requireUnreachable: string[];
}

export function drOp(id: string, action: DrAction, epoch: number, extra: Omit<DrOp, 'op' | 'kind' | 'id' | 'action' | 'epoch'> = {}): DrOp {
  return { op: 'dr', kind: 'protection-group', id, action, epoch, ...extra };
}

/**
 * null when the ops hold no dr op. Taken from the op alone (its from, to and site), never from this
 * site's catalog, which may lag: apply then refuses the op unless those are still the group's sites.
 * Ops are untrusted here: a malformed one is left to apply to refuse.
 */
export function drProposalNeeds(ops: readonly unknown[], forced: boolean): DrProposalNeeds | null {
  const op = ops.find((o) => isPlainObject(o) && o.op === 'dr');
  if (!isPlainObject(op)) return null;
  const named = (value: unknown): string[] => (typeof value === 'string' && value !== '' ? [value] : []);
  switch (op.action) {
    case 'failover':
      if (forced) return { requireLive: named(op.to), requireUnreachable: named(op.from) };
      return { requireLive: [...named(op.from), ...named(op.to)].sort(), requireUnreachable: [] };
    case 'failback':
      return { requireLive: [...named(op.from), ...named(op.to)].sort(), requireUnreachable: [] };
    case 'test-failover':
    case 'test-cleanup':
      return { requireLive: named(op.site), requireUnreachable: [] };
    default:
      return { requireLive: [], requireUnreachable: [] };
  }
}
