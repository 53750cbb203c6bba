// The reconciler's memory of each resource it looks after on this site: what the catalog wants
// (or that it must go), which revision the cloud was last brought to, and the retry state. One
// track per resource key, so the catalog's size (plus what the cloud lists) bounds the table.
import type { SyncState, SyncStatusEntry } from '../catalog/index.js';
import { isManagedKind, resourceKey, type DesiredResource, type ManagedKind } from './desired.js';

/**
 * Message of an in-sync report for a resource that still exists in the catalog but is no longer
 * placed on this site: it has been removed here. It also tells a later pass not to remove it again.
 */
export const NOT_PLACED_MESSAGE = 'not placed on this site; removed from its cloud';

/**
 * Message of the pending report a site records before it first sets a quota: quota sets carry no
 * marker, so this entry is how the site (after a crash, say) finds the quota again to reset it.
 */
export const QUOTA_INTENT_MESSAGE = 'about to set this quota (recorded first: quota sets carry no marker in the cloud)';

/**
 * Whether this site's entry for a quota records that the site may have set it (so a later pass
 * resets it when it leaves). No entry, or one saying it was removed here, does not.
 */
export function entryCoversQuota(entry: SyncStatusEntry | undefined): boolean {
  return entry !== undefined && entry.message !== NOT_PLACED_MESSAGE;
}

export interface Track {
  kind: ManagedKind;
  id: string;
  /** What the catalog wants; undefined when the resource must be removed from this site. */
  desired: DesiredResource | undefined;
  /** Removal tracks: the removal is done. */
  removed: boolean;
  /** Catalog revision the cloud was last brought to (0 = never, in this process). */
  convergedRevision: number;
  /** What the operator should know about the converged revision (a replace, a skipped part). */
  inSyncMessage: string;
  /** Consecutive failed attempts (the backoff exponent). */
  failures: number;
  /** Clock time before which catalog-change passes leave this resource alone. */
  retryAt: number;
  /** This site's current view of the resource. */
  state: SyncState;
  message: string;
  /** The last `fetching` report's clock time and revision (progress is reported at most every FETCH_REPORT_INTERVAL_MS per revision). */
  fetchReported?: { at: number; revision: number };
  /**
   * The last converge needed the image's bits and this site's blob store did not have them yet (the
   * local source said so); cleared once the cloud is in sync. See Reconciler.holdsImageBits.
   */
  awaitingBits?: boolean;
}

function newTrack(kind: ManagedKind, id: string, desired: DesiredResource | undefined): Track {
  return { kind, id, desired, removed: false, convergedRevision: 0, inSyncMessage: '', failures: 0, retryAt: 0, state: 'pending', message: '' };
}

function restartRetries(track: Track): void {
  track.failures = 0;
  track.retryAt = 0;
}

/** Whether a desired track still has something to do. */
export function needsWork(track: Track): boolean {
  if (track.desired === undefined) return !track.removed;
  return track.convergedRevision !== track.desired.revision || track.state !== 'in-sync';
}

export class TrackTable {
  private readonly tracks = new Map<string, Track>();

  get size(): number {
    return this.tracks.size;
  }

  get(key: string): Track | undefined {
    return this.tracks.get(key);
  }

  all(): Track[] {
    return [...this.tracks.values()];
  }

  /** Brings the table in line with the catalog's desired state; what left it becomes a removal. */
  applyDesired(desired: ReadonlyMap<string, DesiredResource>): void {
    for (const [key, d] of desired) {
      const track = this.tracks.get(key);
      if (track === undefined) {
        this.tracks.set(key, newTrack(d.kind, d.id, d));
        continue;
      }
      if (track.desired === undefined || track.desired.revision !== d.revision) restartRetries(track);
      track.desired = d;
      track.removed = false;
    }
    for (const [key, track] of this.tracks) {
      if (track.desired === undefined || desired.has(key)) continue;
      track.desired = undefined;
      track.removed = false;
      track.convergedRevision = 0;
      track.inSyncMessage = '';
      restartRetries(track);
    }
  }

  /**
   * A removal for a resource the cloud holds but the catalog does not want here (an audit found it
   * managed but not desired, or this site once reported on it).
   */
  ensureRemoval(kind: ManagedKind, id: string, seenInCloud: boolean): void {
    const key = resourceKey(kind, id);
    const track = this.tracks.get(key);
    if (track === undefined) this.tracks.set(key, newTrack(kind, id, undefined));
    // Removed earlier, yet the cloud has it again (restored out of band): remove it again.
    else if (seenInCloud && track.desired === undefined) track.removed = false;
  }

  /**
   * Removals this site's own sync entries call for: it reported on resources that it should no
   * longer hold. Quota sets carry no marker in the cloud, so this is how a deleted quota is found.
   */
  addRemovalsFromEntries(entries: readonly SyncStatusEntry[], desired: ReadonlyMap<string, DesiredResource>): void {
    for (const entry of entries) {
      if (!isManagedKind(entry.kind) || entry.message === NOT_PLACED_MESSAGE) continue;
      if (desired.has(resourceKey(entry.kind, entry.id))) continue;
      this.ensureRemoval(entry.kind, entry.id, false);
    }
  }

  /** Drops finished removals the catalog no longer remembers on this site. */
  dropFinishedRemovals(entriesByKey: ReadonlyMap<string, SyncStatusEntry>): void {
    for (const [key, track] of this.tracks) {
      if (track.desired !== undefined || !track.removed) continue;
      const entry = entriesByKey.get(key);
      if (entry === undefined || entry.message === NOT_PLACED_MESSAGE) this.tracks.delete(key);
    }
  }
}
