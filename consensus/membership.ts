// Which members are voters and learners, and since which log index. A ConfChange takes effect as
// soon as it is appended, so the membership is a history that follows the log: truncating a
// ConfChange entry reverts to the one before, compaction forgets history below the snapshot.
import { invariant } from './invariant.js';
import type { ConfState, MemberId } from './types.js';

interface ConfPoint {
  /** Log index of the ConfChange entry (or of the snapshot/base) that established `conf`. */
  index: number;
  conf: ConfState;
}

export function frozenConf(conf: ConfState): ConfState {
  return Object.freeze({
    voters: Object.freeze([...conf.voters]) as MemberId[],
    learners: Object.freeze([...conf.learners]) as MemberId[],
  });
}

export const EMPTY_CONF: ConfState = frozenConf({ voters: [], learners: [] });

export class Membership {
  /** points[0] is the base (snapshot or empty); later points are ConfChange entries in the log. */
  private points: ConfPoint[];
  private voterIds = new Set<MemberId>();
  private learnerIds = new Set<MemberId>();

  constructor(base: ConfState, baseIndex: number) {
    this.points = [{ index: baseIndex, conf: frozenConf(base) }];
    this.refreshSets();
  }

  /** The membership in force: the last ConfChange in the log, else the base. Frozen. */
  get current(): ConfState {
    return this.points[this.points.length - 1].conf;
  }

  get voters(): readonly MemberId[] {
    return this.current.voters;
  }

  /** Index of the entry that established the current membership (the base index if none). */
  get lastChangeIndex(): number {
    return this.points[this.points.length - 1].index;
  }

  isVoter(member: MemberId): boolean {
    return this.voterIds.has(member);
  }

  isLearner(member: MemberId): boolean {
    return this.learnerIds.has(member);
  }

  isMember(member: MemberId): boolean {
    return this.voterIds.has(member) || this.learnerIds.has(member);
  }

  /** The membership in force at log index `index`. */
  confAt(index: number): ConfState {
    for (let i = this.points.length - 1; i > 0; i--) {
      if (this.points[i].index <= index) return this.points[i].conf;
    }
    return this.points[0].conf;
  }

  /** A ConfChange entry at `index` was appended. */
  append(index: number, conf: ConfState): void {
    invariant(index > this.lastChangeIndex, () => `raft invariant: conf change at ${index} does not follow the one at ${this.lastChangeIndex}`);
    this.points.push({ index, conf: frozenConf(conf) });
    this.refreshSets();
  }

  /** Entries at or after `index` were truncated; returns true when the membership reverted. */
  truncateFrom(index: number): boolean {
    let changed = false;
    while (this.points.length > 1 && this.points[this.points.length - 1].index >= index) {
      this.points.pop();
      changed = true;
    }
    if (changed) this.refreshSets();
    return changed;
  }

  /** History at or below `index` is covered by a snapshot: keep only what is in force there. */
  compactTo(index: number): void {
    let keepFrom = 0;
    for (let i = this.points.length - 1; i > 0; i--) {
      if (this.points[i].index <= index) {
        keepFrom = i;
        break;
      }
    }
    if (keepFrom > 0) this.points = this.points.slice(keepFrom);
  }

  /** A snapshot replaced the log. */
  reset(conf: ConfState, index: number): void {
    this.points = [{ index, conf: frozenConf(conf) }];
    this.refreshSets();
  }

  private refreshSets(): void {
    this.voterIds = new Set(this.current.voters);
    this.learnerIds = new Set(this.current.learners);
  }
}
