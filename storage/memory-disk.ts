// The "disk" of the in-memory store: the state that survives a simulated crash. A MemoryLogStore
// instance keeps a view (disk + writes not yet synced); only synced writes reach the disk image.
import { invariant } from '../consensus/invariant.js';
import type { AppliedChanges } from '../consensus/ports.js';
import type { Entry, HardState, Snapshot } from '../consensus/types.js';
import { EMPTY_HARD_STATE, logBase, type LogState } from './log-state.js';
import type { WritePlan } from './write-plan.js';

export interface MemoryImage {
  hardState: HardState;
  snapshot: Snapshot | null;
  /** Index of log[0]; the log is [logFirst, logFirst + log.length - 1]. */
  logFirst: number;
  log: Entry[];
  appliedIndex: number;
  /**
   * Key -> the put that wrote it. A put's value may be encoded when first read (the catalog's
   * records): a store that shares its caller's buffers keeps the put and reads it only when the
   * records are read (a restart), so a site that never restarts never encodes them.
   */
  records: Map<string, StoredRecord>;
}

/** What the disk keeps of a put: its value, read when the records are. */
export interface StoredRecord {
  readonly value: Uint8Array;
}

export class MemoryDisk {
  /** Store format version, written at the first open; set it to model a store from another release. */
  formatVersion: number | null = null;
  image: MemoryImage = emptyImage();
  /** Writes that reached this disk (synced). */
  syncedWrites = 0;
  /** The store instance holding the disk open: one at a time, like LevelDB's LOCK. */
  holder: object | null = null;
  private failuresLeft = 0;

  /** The next `count` writes (by any store instance on this disk) fail as a broken disk would. */
  failNextWrites(count: number): void {
    if (!Number.isSafeInteger(count) || count < 0) throw new RangeError(`failNextWrites(${count}): not a count`);
    this.failuresLeft = count;
  }

  /** Consumes one planned failure; true if this write must fail. */
  takeWriteFailure(): boolean {
    if (this.failuresLeft === 0) return false;
    this.failuresLeft--;
    return true;
  }
}

export function emptyImage(): MemoryImage {
  return {
    hardState: { ...EMPTY_HARD_STATE },
    snapshot: null,
    logFirst: 1,
    log: [],
    appliedIndex: 0,
    records: new Map(),
  };
}

/** A copy whose containers can change independently (entries and byte arrays are never mutated). */
export function cloneImage(image: MemoryImage): MemoryImage {
  return { ...image, hardState: { ...image.hardState }, log: image.log.slice(), records: new Map(image.records) };
}

export function stateOfImage(image: MemoryImage): LogState {
  return {
    hardState: image.hardState,
    firstIndex: image.logFirst,
    lastIndex: image.logFirst + image.log.length - 1,
    snapshotMeta: image.snapshot?.meta ?? null,
    appliedIndex: image.appliedIndex,
  };
}

export function termInImage(image: MemoryImage, index: number): number | undefined {
  const base = logBase(stateOfImage(image));
  if (index === base.index) return base.term;
  return image.log[index - image.logFirst]?.term;
}

/** Copies what the caller handed in, so later changes to its buffers cannot reach the "disk". */
export function detachPlan(plan: WritePlan): WritePlan {
  const copyBytes = (b: Uint8Array): Uint8Array => new Uint8Array(b);
  return {
    ...plan,
    entries: plan.entries.map((e) => ({ index: e.index, term: e.term, type: e.type, data: copyBytes(e.data) })),
    hardState: plan.hardState ? { ...plan.hardState } : undefined,
    snapshot: plan.snapshot
      ? {
          meta: {
            ...plan.snapshot.meta,
            conf: { voters: [...plan.snapshot.meta.conf.voters], learners: [...plan.snapshot.meta.conf.learners] },
          },
          data: copyBytes(plan.snapshot.data),
        }
      : undefined,
    applied: plan.applied
      ? {
          index: plan.applied.index,
          replaceAll: plan.applied.replaceAll,
          ops: plan.applied.ops.map((op) =>
            op.type === 'put' ? { type: 'put', key: op.key, value: copyBytes(op.value) } : { type: 'del', key: op.key },
          ),
        }
      : undefined,
  };
}

/** Applies a plan made against the state this image is in (the view at write time, the disk at sync time). */
export function applyPlan(image: MemoryImage, plan: WritePlan): void {
  const { next } = plan;
  if (plan.snapshot) image.snapshot = plan.snapshot;
  if (plan.logReset) {
    image.log = [];
    image.logFirst = next.snapshotMeta!.index + 1;
  }
  if (plan.entries.length > 0) {
    image.log.length = plan.entries[0].index - image.logFirst;
    for (const entry of plan.entries) image.log.push(entry);
  }
  if (next.firstIndex > image.logFirst) {
    image.log.splice(0, next.firstIndex - image.logFirst);
    image.logFirst = next.firstIndex;
  }
  if (plan.hardState) image.hardState = { ...plan.hardState };
  if (plan.applied) applyApplied(image, plan.applied);
  const lastIndex = image.logFirst + image.log.length - 1;
  invariant(lastIndex === next.lastIndex, () => `memory store invariant: log ends at ${lastIndex} after a write planned to end at ${next.lastIndex}`);
}

/** The applied records and index of a write: the state store's part of it. */
export function applyApplied(image: MemoryImage, applied: AppliedChanges): void {
  if (applied.replaceAll) image.records = new Map();
  for (const op of applied.ops) {
    if (op.type === 'put') image.records.set(op.key, op);
    else image.records.delete(op.key);
  }
  image.appliedIndex = applied.index;
}

/** The log's part of a planned write, and its state-store part (applied records and index). */
export function splitPlan(plan: WritePlan): { log: WritePlan; applied: AppliedChanges | undefined } {
  return { log: { ...plan, applied: undefined }, applied: plan.applied };
}
