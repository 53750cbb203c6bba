// Resources by kind and id, plus the copy-on-write draft an atomic batch works on: the batch sees
// its own earlier ops, and nothing reaches the store unless every op succeeds.
import { RESOURCE_KINDS, type Resource, type ResourceKind, type ResourceOf } from './types.js';

export interface ResourceView {
  get<K extends ResourceKind>(kind: K, id: string): ResourceOf<K> | undefined;
  /** Unordered. */
  list<K extends ResourceKind>(kind: K): ResourceOf<K>[];
  /** Ids of the sites whose spec.peerId or spec.nextPeerId is `peerId` (the uniqueness rule's lookup). */
  sitesHoldingPeerId(peerId: string): string[];
}

/** The peer ids a site record holds: its own and the one it is rotating to. */
function heldPeerIds(resource: Resource | undefined): string[] {
  if (resource?.kind !== 'site') return [];
  const spec = resource.spec;
  return spec.nextPeerId === undefined ? (spec.peerId === undefined ? [] : [spec.peerId]) : spec.peerId === undefined ? [spec.nextPeerId] : [spec.peerId, spec.nextPeerId];
}

export class ResourceStore implements ResourceView {
  private readonly byKind = new Map<ResourceKind, Map<string, Resource>>(RESOURCE_KINDS.map((kind) => [kind, new Map()]));
  /** Per kind, how many times a resource of that kind was set or deleted (or the store cleared). */
  private readonly changes = new Map<ResourceKind, number>(RESOURCE_KINDS.map((kind) => [kind, 0]));
  /**
   * Peer id -> the sites holding it (as peerId or nextPeerId): at most two entries per site record,
   * so bounded by the site records. Scanning every site for each site write that sets a peer id was
   * cubic in the sites over a simulated run (each site's registration, applied on every site).
   */
  private readonly peerIdHolders = new Map<string, Set<string>>();

  get<K extends ResourceKind>(kind: K, id: string): ResourceOf<K> | undefined {
    return this.kindMap(kind).get(id) as ResourceOf<K> | undefined;
  }

  list<K extends ResourceKind>(kind: K): ResourceOf<K>[] {
    return [...this.kindMap(kind).values()] as ResourceOf<K>[];
  }

  set(resource: Resource): void {
    const map = this.kindMap(resource.kind);
    if (resource.kind === 'site') this.reindexPeerIds(resource.id, map.get(resource.id), resource);
    map.set(resource.id, resource);
    this.changed(resource.kind);
  }

  delete(kind: ResourceKind, id: string): void {
    const map = this.kindMap(kind);
    if (kind === 'site') this.reindexPeerIds(id, map.get(id), undefined);
    map.delete(id);
    this.changed(kind);
  }

  sitesHoldingPeerId(peerId: string): string[] {
    const holders = this.peerIdHolders.get(peerId);
    return holders === undefined ? [] : [...holders];
  }

  private reindexPeerIds(site: string, before: Resource | undefined, after: Resource | undefined): void {
    for (const id of heldPeerIds(before)) {
      const holders = this.peerIdHolders.get(id);
      holders?.delete(site);
      if (holders?.size === 0) this.peerIdHolders.delete(id);
    }
    for (const id of heldPeerIds(after)) {
      let holders = this.peerIdHolders.get(id);
      if (holders === undefined) this.peerIdHolders.set(id, (holders = new Set()));
      holders.add(site);
    }
  }

  /** A number that is different after any change to the resources of `kind`. */
  changeCount(kind: ResourceKind): number {
    const count = this.changes.get(kind);
    if (count === undefined) throw new Error(`catalog: unknown resource kind ${kind}`);
    return count;
  }

  count(kind: ResourceKind): number {
    return this.kindMap(kind).size;
  }

  *all(): IterableIterator<Resource> {
    for (const kind of RESOURCE_KINDS) yield* this.kindMap(kind).values();
  }

  clear(): void {
    for (const map of this.byKind.values()) map.clear();
    this.peerIdHolders.clear();
    for (const kind of RESOURCE_KINDS) this.changed(kind);
  }

  private changed(kind: ResourceKind): void {
    this.changes.set(kind, this.changeCount(kind) + 1);
  }

  private kindMap(kind: ResourceKind): Map<string, Resource> {
    const map = this.byKind.get(kind);
    if (map === undefined) throw new Error(`catalog: unknown resource kind ${kind}`);
    return map;
  }
}

export interface DraftChange {
  kind: ResourceKind;
  id: string;
  /** null = deleted. */
  resource: Resource | null;
}

export class Draft implements ResourceView {
  private readonly changes = new Map<string, DraftChange>();

  constructor(private readonly base: ResourceStore) {}

  get<K extends ResourceKind>(kind: K, id: string): ResourceOf<K> | undefined {
    const change = this.changes.get(draftKey(kind, id));
    if (change !== undefined) return (change.resource ?? undefined) as ResourceOf<K> | undefined;
    return this.base.get(kind, id);
  }

  list<K extends ResourceKind>(kind: K): ResourceOf<K>[] {
    const result = this.base.list(kind).filter((resource) => !this.changes.has(draftKey(kind, resource.id)));
    for (const change of this.changes.values()) {
      if (change.kind === kind && change.resource !== null) result.push(change.resource as ResourceOf<K>);
    }
    return result;
  }

  sitesHoldingPeerId(peerId: string): string[] {
    const result = this.base.sitesHoldingPeerId(peerId).filter((site) => !this.changes.has(draftKey('site', site)));
    for (const change of this.changes.values()) {
      if (change.kind === 'site' && heldPeerIds(change.resource ?? undefined).includes(peerId)) result.push(change.id);
    }
    return result;
  }

  put(resource: Resource): void {
    this.changes.set(draftKey(resource.kind, resource.id), { kind: resource.kind, id: resource.id, resource });
  }

  remove(kind: ResourceKind, id: string): void {
    this.changes.set(draftKey(kind, id), { kind, id, resource: null });
  }

  /** Net changes, sorted by kind then id (a deterministic order for records and side effects). */
  netChanges(): DraftChange[] {
    return [...this.changes.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, change]) => change);
  }

  /** Writes the net changes into the base store. */
  commit(): DraftChange[] {
    const changes = this.netChanges();
    for (const change of changes) {
      if (change.resource === null) this.base.delete(change.kind, change.id);
      else this.base.set(change.resource);
    }
    return changes;
  }
}

function draftKey(kind: ResourceKind, id: string): string {
  return `${kind}/${id}`;
}
