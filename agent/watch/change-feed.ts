// The committed changes of the catalog's resources, in log order, for `stackraft watch` (DESIGN.md,
// "Watch"). Fed synchronously as entries are applied, so a watcher that replays the kept changes and
// then follows the live ones sees every change once, without a gap. Only the changes applied since
// this agent opened its store are kept, and at most MAX_WATCH_EVENTS of them: an older index is
// refused as COMPACTED, with the oldest index that can still be watched from.
import { invariant } from '../../consensus/invariant.js';
import type { Resource, ResourceKind } from '../catalog/index.js';

/** Changes kept for replay (the oldest dropped first, a whole index at a time). */
export const MAX_WATCH_EVENTS = 10_000;
/** Watchers at once on one agent. */
export const MAX_WATCHERS = 64;

export interface ChangeEvent {
  /** Log index of the entry that made the change (the resource's new revision, or its deleting index). */
  index: number;
  type: 'put' | 'delete';
  kind: ResourceKind;
  id: string;
  /** The resource as that entry left it; null for a delete. */
  resource: Resource | null;
}

export interface WatchFilter {
  /** Replay from this index (inclusive); absent: only changes applied from now on. */
  fromIndex?: number;
  kind?: ResourceKind;
}

/** Why a watch ended: the feed lost history (a snapshot was installed) or the agent is stopping. */
export interface WatchEnd {
  code: 'COMPACTED' | 'STOPPING';
  message: string;
  /** The index to resume from once the cause is dealt with. */
  resumeFrom: number;
}

export interface Watcher {
  onEvent(event: ChangeEvent): void;
  onEnd(end: WatchEnd): void;
}

export type WatchStart =
  | { ok: true; fromIndex: number; cancel(): void }
  | { ok: false; code: 'COMPACTED' | 'BUSY'; message: string; firstIndex: number };

interface Subscription {
  watcher: Watcher;
  kind?: ResourceKind;
  /** The last index delivered (or skipped by the filter). */
  lastIndex: number;
}

export class ChangeFeed {
  private events: ChangeEvent[] = [];
  /** Every change at an index above this one is kept (while below the newest). */
  private floor: number;
  private latest: number;
  private readonly watchers = new Set<Subscription>();

  constructor(appliedIndex: number, private readonly maxEvents = MAX_WATCH_EVENTS) {
    this.floor = appliedIndex;
    this.latest = appliedIndex;
  }

  /** The smallest fromIndex this feed can replay completely. */
  get firstIndex(): number {
    return this.floor + 1;
  }

  get watcherCount(): number {
    return this.watchers.size;
  }

  /** The changes of one applied entry (possibly none). Indices only increase. */
  record(index: number, changes: readonly ChangeEvent[]): void {
    invariant(index > this.latest, () => `change feed: entry ${index} recorded after ${this.latest}`);
    this.latest = index;
    if (changes.length === 0) return;
    this.events.push(...changes);
    this.trim();
    for (const sub of this.watchers) this.deliver(sub, changes);
  }

  /**
   * The catalog was replaced (a snapshot installed, the store reloaded) at `appliedIndex`: the changes
   * that led there are not known one by one, so history starts again and every watcher ends.
   */
  reset(appliedIndex: number): void {
    this.events = [];
    this.floor = appliedIndex;
    this.latest = appliedIndex;
    this.endAll({
      code: 'COMPACTED',
      message: `this site installed a snapshot at index ${appliedIndex}: the changes before it are not known one by one; read the current state and watch from index ${appliedIndex + 1}`,
      resumeFrom: appliedIndex + 1,
    });
  }

  /** Every watcher ends (the agent stops). */
  close(): void {
    this.endAll({ code: 'STOPPING', message: 'the agent is stopping; watch again (from the index after the last change you received) on a running agent', resumeFrom: this.latest + 1 });
  }

  watch(filter: WatchFilter, watcher: Watcher): WatchStart {
    const fromIndex = filter.fromIndex ?? this.latest + 1;
    if (fromIndex < this.firstIndex) {
      return {
        ok: false,
        code: 'COMPACTED',
        firstIndex: this.firstIndex,
        message:
          `index ${fromIndex} has been compacted away on this site: it keeps the changes from index ${this.firstIndex} on ` +
          `(at most ${this.maxEvents.toLocaleString('en-US')}, applied since the agent started). Read the current state (list/get give the applied index) and watch from there`,
      };
    }
    if (this.watchers.size >= MAX_WATCHERS) {
      return { ok: false, code: 'BUSY', firstIndex: this.firstIndex, message: `this agent already serves ${MAX_WATCHERS} watchers; retry later or watch another site` };
    }
    const sub: Subscription = { watcher, ...(filter.kind === undefined ? {} : { kind: filter.kind }), lastIndex: fromIndex - 1 };
    this.deliver(sub, this.events);
    sub.lastIndex = Math.max(sub.lastIndex, this.latest);
    this.watchers.add(sub);
    return { ok: true, fromIndex, cancel: () => void this.watchers.delete(sub) };
  }

  private deliver(sub: Subscription, events: readonly ChangeEvent[]): void {
    for (const event of events) {
      if (event.index <= sub.lastIndex) continue;
      if (sub.kind === undefined || event.kind === sub.kind) sub.watcher.onEvent(event);
    }
    const last = events.at(-1);
    if (last !== undefined) sub.lastIndex = Math.max(sub.lastIndex, last.index);
  }

  /** Drops the oldest whole indices until at most maxEvents are kept. */
  private trim(): void {
    if (this.events.length <= this.maxEvents) return;
    let cut = this.events.length - this.maxEvents;
    const lastDropped = this.events[cut - 1]!.index;
    while (cut < this.events.length && this.events[cut]!.index === lastDropped) cut++;
    this.events = this.events.slice(cut);
    this.floor = lastDropped;
  }

  private endAll(end: WatchEnd): void {
    const subs = [...this.watchers];
    this.watchers.clear();
    for (const sub of subs) sub.watcher.onEnd(end);
  }
}
