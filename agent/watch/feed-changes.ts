// Feeds the change feed from the catalog as the replica applies entries: the resource records an
// entry wrote are its changes, read back from the catalog right after apply (apply is synchronous).
import type { StateMachine } from '../../consensus/ports.js';
import type { RecordOp } from '../../consensus/ports.js';
import { RESOURCE_KINDS, type Catalog, type Resource, type ResourceKind } from '../catalog/index.js';
import { RESOURCE_PREFIX } from '../catalog/records.js';
import type { ChangeEvent, ChangeFeed } from './change-feed.js';

export function feedChanges(inner: StateMachine, catalog: Catalog, feed: ChangeFeed): StateMachine {
  return {
    apply: (entry) => {
      const result = inner.apply(entry);
      feed.record(entry.index, changesOf(result.ops, catalog, entry.index));
      return result;
    },
    snapshot: () => inner.snapshot(),
    restore: (image) => {
      const records = inner.restore(image);
      feed.reset(catalog.appliedIndex);
      return records;
    },
    load: (records) => {
      inner.load(records);
      feed.reset(catalog.appliedIndex);
    },
  };
}

function changesOf(ops: readonly RecordOp[], catalog: Catalog, index: number): ChangeEvent[] {
  const changes: ChangeEvent[] = [];
  for (const op of ops) {
    const key = parseResourceKey(op.key);
    if (key === null) continue;
    const resource = op.type === 'put' ? ((catalog.get(key.kind, key.id) as Resource | undefined) ?? null) : null;
    changes.push({ index, type: resource === null ? 'delete' : 'put', kind: key.kind, id: key.id, resource });
  }
  return changes;
}

/** `r/<kind>/<id>` (records.ts resourceKey; an id may itself hold '/'); null for other records. */
function parseResourceKey(key: string): { kind: ResourceKind; id: string } | null {
  if (!key.startsWith(RESOURCE_PREFIX)) return null;
  const rest = key.slice(RESOURCE_PREFIX.length);
  const slash = rest.indexOf('/');
  const kind = rest.slice(0, slash);
  if (slash < 0 || !(RESOURCE_KINDS as readonly string[]).includes(kind)) return null;
  return { kind: kind as ResourceKind, id: rest.slice(slash + 1) };
}
