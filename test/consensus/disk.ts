// What one member has "persisted": hard state, snapshot, log and the applied state machine, kept in
// memory. It survives a crash of the member (the Raft object is thrown away, the disk is not), so a
// restart rebuilds the core from exactly what was made durable. The state machine is a hash chain
// over the applied entries: two members agree on it iff they applied the same sequence.
import type { RaftBootState } from '../../consensus/api.js';
import type { Entry, HardState, Snapshot, SnapshotMeta } from '../../consensus/types.js';
import { fnv1a } from './rng.js';

export const INITIAL_STATE_HASH = 0x811c9dc5;

export class HarnessError extends Error {
  override name = 'HarnessError';
}

export function bytesKey(data: Uint8Array): string {
  return Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('base64');
}

/** Identity of an entry's content (index excluded). */
export function entryDigest(e: Entry): string {
  return `${e.term}/${e.type}/${bytesKey(e.data)}`;
}

export function cloneEntry(e: Entry): Entry {
  return { index: e.index, term: e.term, type: e.type, data: new Uint8Array(e.data) };
}

export function cloneSnapshot(s: Snapshot): Snapshot {
  return {
    meta: { index: s.meta.index, term: s.meta.term, conf: { voters: [...s.meta.conf.voters], learners: [...s.meta.conf.learners] } },
    data: new Uint8Array(s.data),
  };
}

export interface StateImage {
  index: number;
  hash: number;
}

/** `padBytes` makes the image bigger, so a test can see a snapshot travel in many chunks. */
export function encodeStateImage(image: StateImage, padBytes = 0): Uint8Array {
  const body = padBytes > 0 ? { ...image, pad: '.'.repeat(padBytes) } : image;
  return new TextEncoder().encode(JSON.stringify(body));
}

/** An empty image (a bootstrap snapshot) stands for the initial state at the snapshot's index. */
export function decodeStateImage(data: Uint8Array, index: number): StateImage {
  if (data.length === 0) return { index, hash: INITIAL_STATE_HASH };
  const parsed = JSON.parse(new TextDecoder().decode(data)) as StateImage;
  if (typeof parsed.index !== 'number' || typeof parsed.hash !== 'number') {
    throw new HarnessError(`snapshot image is not a harness state image: ${new TextDecoder().decode(data)}`);
  }
  return parsed;
}

export class MemoryDisk {
  hardState: HardState = { term: 0, vote: '', commit: 0 };
  snapshot: Snapshot | null = null;
  /** Contiguous; may start at or below the snapshot index. */
  entries: Entry[] = [];
  /** The applied state machine, durable together with the applied index. */
  appliedIndex = 0;
  stateHash = INITIAL_STATE_HASH;

  static fromBoot(boot: RaftBootState): MemoryDisk {
    const disk = new MemoryDisk();
    disk.hardState = { ...boot.hardState };
    disk.snapshot = boot.snapshot ? cloneSnapshot(boot.snapshot) : null;
    disk.entries = boot.entries.map(cloneEntry);
    disk.appliedIndex = boot.applied;
    if (boot.snapshot && boot.applied === boot.snapshot.meta.index) {
      disk.stateHash = decodeStateImage(boot.snapshot.data, boot.applied).hash;
    }
    return disk;
  }

  /** Exactly what is durable, as the core expects it at restart (copies: the core may keep them). */
  bootState(): RaftBootState {
    return {
      hardState: { ...this.hardState },
      snapshot: this.snapshot ? cloneSnapshot(this.snapshot) : null,
      entries: this.entries.map(cloneEntry),
      applied: this.appliedIndex,
    };
  }

  snapshotIndex(): number {
    return this.snapshot?.meta.index ?? 0;
  }

  lastIndex(): number {
    const last = this.entries[this.entries.length - 1];
    return last ? Math.max(last.index, this.snapshotIndex()) : this.snapshotIndex();
  }

  entry(index: number): Entry | undefined {
    const first = this.entries[0];
    if (!first) return undefined;
    const e = this.entries[index - first.index];
    return e && e.index === index ? e : undefined;
  }

  /** Term at `index` (snapshot index included; 0 at index 0), undefined if not held. */
  term(index: number): number | undefined {
    const e = this.entry(index);
    if (e) return e.term;
    if (this.snapshot && index === this.snapshot.meta.index) return this.snapshot.meta.term;
    if (index === 0) return 0;
    return undefined;
  }

  /** Holds entry (index, term), or a snapshot that covers index (snapshots cover committed state only). */
  covers(index: number, term: number): boolean {
    if (index <= this.snapshotIndex()) return true;
    return this.entry(index)?.term === term;
  }

  /** Appends, truncating a conflicting suffix first. Returns the appended entries' predecessors' terms. */
  append(entries: Entry[]): number[] {
    const first = entries[0];
    if (!first) return [];
    for (let i = 1; i < entries.length; i++) {
      if (entries[i].index !== first.index + i) throw new HarnessError(`Ready.entries not contiguous at ${entries[i].index}`);
    }
    if (first.index > this.lastIndex() + 1) {
      throw new HarnessError(`Ready.entries start at ${first.index} but the stored log ends at ${this.lastIndex()} (gap)`);
    }
    if (first.index <= this.snapshotIndex()) {
      throw new HarnessError(`Ready.entries start at ${first.index}, inside the snapshot (index ${this.snapshotIndex()})`);
    }
    const base = this.entries[0]?.index;
    if (base !== undefined && first.index <= this.entries[this.entries.length - 1].index) {
      this.entries.length = Math.max(0, first.index - base);
    }
    const prevTerms: number[] = [];
    let prevTerm = this.term(first.index - 1);
    if (prevTerm === undefined) throw new HarnessError(`no term for index ${first.index - 1} before appending`);
    for (const e of entries) {
      prevTerms.push(prevTerm);
      this.entries.push(cloneEntry(e));
      prevTerm = e.term;
    }
    return prevTerms;
  }

  /** A snapshot received from the leader: keeps a matching log suffix, else drops the whole log. */
  installSnapshot(snap: Snapshot): void {
    const { index, term } = snap.meta;
    const keepsSuffix = this.entry(index)?.term === term;
    this.entries = keepsSuffix ? this.entries.filter((e) => e.index > index) : [];
    this.snapshot = cloneSnapshot(snap);
    const image = decodeStateImage(snap.data, index);
    this.appliedIndex = index;
    this.stateHash = image.hash;
  }

  /** A snapshot made locally by compaction: entries below `keepFrom` are dropped. */
  compact(meta: SnapshotMeta, data: Uint8Array, keepFrom: number): void {
    this.snapshot = cloneSnapshot({ meta, data });
    this.entries = this.entries.filter((e) => e.index >= keepFrom);
  }

  /** Applies one committed entry to the hash-chain state machine. */
  apply(e: Entry): void {
    this.stateHash = fnv1a(entryDigest(e), this.stateHash);
    this.appliedIndex = e.index;
  }
}
