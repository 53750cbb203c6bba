// The write-ahead log: numbered segment files in one directory, each preallocated with zeros so
// that appending never changes a file's size and fdatasync flushes data only. Records are written
// one group at a time at the end of the current segment; a group that does not fit starts the next
// segment, which was prepared in the background (header written, zeros allocated, fsynced, renamed
// into place and the directory fsynced before any record goes into it). Every segment starts with a
// head record holding the whole log state, so the log can be replayed from any segment and
// segments that hold only compacted entries can be deleted.
import { join } from 'node:path';
import type { Logger } from '../../consensus/ports.js';
import type { WalFile, WalFileSystem } from './file-port.js';
import { EntryIndex } from './entry-index.js';
import {
  SEGMENT_HEADER_BYTES,
  allZero,
  encodeRecord,
  encodeSegmentHeader,
  recordBytes,
  segmentFileName,
  seqOfSegmentName,
  type RecordContent,
} from './record.js';
import { applyRecord, checkReplayedLog, emptyWalLogState, headOf, type ReplayRecord, type WalLogState } from './replay.js';
import { scanSegment, type ScannedSegment } from './segments.js';

export const DEFAULT_SEGMENT_BYTES = 16 * 1024 * 1024;
/** Zeros written per call while preallocating a segment. */
const PREALLOCATE_CHUNK_BYTES = 1024 * 1024;
const PREPARED_SUFFIX = '.tmp';

export interface WalOptions {
  fs: WalFileSystem;
  logger: Logger;
  segmentBytes?: number;
}

interface Segment {
  seq: number;
  path: string;
  /** Highest entry index written into this segment (0 when none). */
  maxEntryIndex: number;
}

interface Prepared {
  seq: number;
  bytes: number;
  file: Promise<WalFile>;
}

/** What open() found: the log state the records describe, where its entries are, and what was cut. */
export interface WalReplay {
  state: WalLogState;
  index: EntryIndex;
  /** A torn tail that was cut off: the segment, the offset, and why the record did not read. */
  tornTail: { seq: number; offset: number; reason: string } | null;
}

/** Damage that is not a torn tail, or records that do not make a log; `index` names where, when known. */
export class WalCorruptionError extends Error {
  constructor(
    message: string,
    readonly index?: number,
  ) {
    super(message);
  }
}

export class WriteAheadLog {
  private readonly segments: Segment[] = [];
  private current!: { segment: Segment; file: WalFile; writeOffset: number; size: number; needsHead: boolean; dirty: boolean };
  private prepared: Prepared | null = null;
  private readonly readers = new Map<number, Promise<WalFile>>();
  private activeReads = 0;

  private constructor(
    readonly dir: string,
    private readonly opts: Required<WalOptions>,
  ) {}

  static async open(dir: string, options: WalOptions): Promise<{ wal: WriteAheadLog; replay: WalReplay }> {
    // `segmentBytes: undefined` (what WalLogStore passes when not told) must not override the
    // default: a segment without its preallocated zeros cannot tell a torn tail from damage.
    const opts = { ...options, segmentBytes: options.segmentBytes ?? DEFAULT_SEGMENT_BYTES };
    const wal = new WriteAheadLog(dir, opts);
    const replay = await wal.load();
    return { wal, replay };
  }

  private async load(): Promise<WalReplay> {
    const { fs } = this.opts;
    await fs.mkdir(this.dir);
    const seqs: number[] = [];
    for (const name of await fs.list(this.dir)) {
      if (name.endsWith(PREPARED_SUFFIX) && seqOfSegmentName(name.slice(0, -PREPARED_SUFFIX.length)) !== null) {
        await fs.remove(join(this.dir, name)); // a segment prepared but never put in place
        continue;
      }
      const seq = seqOfSegmentName(name);
      if (seq === null) throw new WalCorruptionError(`${join(this.dir, name)} is not a WAL segment; the log directory holds only segments`);
      seqs.push(seq);
    }
    seqs.sort((a, b) => a - b);
    for (let i = 1; i < seqs.length; i++) {
      if (seqs[i] !== seqs[i - 1] + 1) throw new WalCorruptionError(`WAL segment ${seqs[i - 1] + 1} is missing (found ${seqs[i - 1]} and ${seqs[i]})`);
    }
    if (seqs.length === 0) {
      await this.startFirstSegment();
      return { state: emptyWalLogState(), index: new EntryIndex(1), tornTail: null };
    }
    const state = emptyWalLogState();
    const index = new EntryIndex(1);
    let first = true;
    let tornTail: WalReplay['tornTail'] = null;
    let last: ScannedSegment | null = null;
    /** Blank segments not last, waiting for the next written segment to prove nothing is missing. */
    let blanks: number[] = [];
    for (const seq of seqs) {
      const path = join(this.dir, segmentFileName(seq));
      const data = await this.readWhole(path);
      const isLast = seq === seqs[seqs.length - 1];
      const scanned = scanSegment(data, seq, isLast);
      const segment: Segment = { seq, path, maxEntryIndex: 0 };
      if (!isLast && scanned.records.length === 0 && scanned.damage === null && allZero(data, SEGMENT_HEADER_BYTES, data.byteLength)) {
        blanks.push(seq);
        this.segments.push(segment);
        continue;
      }
      if (blanks.length > 0) {
        this.acceptBlanksBefore(scanned, blanks);
        blanks = [];
      }
      for (const record of scanned.records) {
        const rec: ReplayRecord = { ...record, entries: record.entries.map((e) => ({ index: e.index, term: e.term, spot: { seq, offset: e.offset, dataBytes: e.dataBytes } })) };
        try {
          applyRecord(state, index, rec, first);
        } catch (err) {
          throw new WalCorruptionError(`segment ${seq} at offset ${record.offset}: ${(err as Error).message}`, (err as { index?: number }).index);
        }
        first = false;
        for (const e of record.entries) segment.maxEntryIndex = Math.max(segment.maxEntryIndex, e.index);
      }
      if (scanned.records.length === 0 && !isLast) {
        throw new WalCorruptionError(`WAL segment ${seq} holds no records but later segments exist`);
      }
      if (scanned.damage) {
        if (!scanned.damage.torn) {
          throw new WalCorruptionError(
            `segment ${seq} at offset ${scanned.damage.offset}: ${scanned.damage.reason}; the record after entry ${state.lastIndex} is damaged`,
            state.lastIndex + 1,
          );
        }
        tornTail = { seq, offset: scanned.damage.offset, reason: scanned.damage.reason };
      }
      this.segments.push(segment);
      last = scanned;
    }
    if (first) {
      // Only an empty segment: the log was created and nothing was written yet.
      index.clear(1);
    }
    try {
      checkReplayedLog(state, index);
    } catch (err) {
      throw new WalCorruptionError((err as Error).message, (err as { index?: number }).index);
    }
    const lastSegment = this.segments[this.segments.length - 1];
    const file = await this.opts.fs.open(lastSegment.path, 'read-write');
    const size = await file.size();
    this.current = { segment: lastSegment, file, writeOffset: last!.writeOffset, size, needsHead: last!.records.length === 0, dirty: false };
    if (tornTail) await this.zeroFrom(tornTail.offset);
    return { state, index, tornTail };
  }

  /**
   * Blank segments (header, then only zeros) before `next`: a rotation put each in place and no
   * record went into it (a crash right after, or a release that rotated away from an empty segment).
   * Such a segment never held anything only when the segment after it starts with a head, which
   * replay then checks against the records before: anything a blank segment lost (records zeroed
   * out) makes that head disagree and stops the open. They stay, empty, until compaction removes them.
   */
  private acceptBlanksBefore(next: ScannedSegment, blanks: number[]): void {
    if (!next.records[0]?.head) {
      throw new WalCorruptionError(`WAL segment ${blanks[0]} holds no records but later segments exist, and segment ${next.seq} does not start with a head record`);
    }
    this.opts.logger.warn({ dir: this.dir, segments: blanks }, 'storage: kept empty log segments an interrupted rotation left (nothing was written to them)');
  }

  private async readWhole(path: string): Promise<Uint8Array> {
    const file = await this.opts.fs.open(path, 'read');
    try {
      const data = new Uint8Array(await file.size());
      const read = await file.read(data, 0);
      return data.subarray(0, read);
    } finally {
      await file.close();
    }
  }

  /** Cuts a torn tail: zeros from `offset` to the end of the current segment, then fdatasync. */
  private async zeroFrom(offset: number): Promise<void> {
    const { file, size } = this.current;
    const zeros = new Uint8Array(Math.min(PREALLOCATE_CHUNK_BYTES, size));
    for (let at = offset; at < size; at += zeros.byteLength) {
      await file.write(zeros.subarray(0, Math.min(zeros.byteLength, size - at)), at);
    }
    await file.datasync();
    this.current.writeOffset = offset;
  }

  private async startFirstSegment(): Promise<void> {
    const prepared = this.prepare(1, this.opts.segmentBytes);
    const file = await this.install(prepared);
    this.current = { segment: { seq: 1, path: join(this.dir, segmentFileName(1)), maxEntryIndex: 0 }, file, writeOffset: SEGMENT_HEADER_BYTES, size: prepared.bytes, needsHead: true, dirty: false };
    this.segments.push(this.current.segment);
  }

  /** Creates `<seq>.wal.tmp`: header, zeros up to `bytes`, fsynced. */
  private prepare(seq: number, bytes: number): Prepared {
    const path = join(this.dir, segmentFileName(seq)) + PREPARED_SUFFIX;
    const file = (async (): Promise<WalFile> => {
      await this.opts.fs.remove(path).catch(() => undefined);
      const f = await this.opts.fs.open(path, 'create');
      const zeros = new Uint8Array(Math.min(PREALLOCATE_CHUNK_BYTES, bytes));
      for (let at = 0; at < bytes; at += zeros.byteLength) await f.write(zeros.subarray(0, Math.min(zeros.byteLength, bytes - at)), at);
      await f.write(encodeSegmentHeader(seq), 0);
      await f.sync();
      return f;
    })();
    file.catch(() => undefined); // awaited (and its error reported) when the segment is needed
    return { seq, bytes, file };
  }

  /** Renames a prepared segment into place and makes the rename durable. */
  private async install(prepared: Prepared): Promise<WalFile> {
    const file = await prepared.file;
    const path = join(this.dir, segmentFileName(prepared.seq));
    await this.opts.fs.rename(path + PREPARED_SUFFIX, path);
    await this.opts.fs.syncDir(this.dir);
    return file;
  }

  /** Starts preparing the next segment now, so a rotation does not wait for preallocation. */
  prepareNext(): void {
    if (this.prepared === null) this.prepared = this.prepare(this.current.segment.seq + 1, this.opts.segmentBytes);
  }

  /**
   * Appends records as one write at the end of the log, then fdatasyncs when `sync`. `state` is the
   * log state before these records (written as the head of a new segment when one is started).
   * Returns, per record, the offsets of its entries and the segment they are in.
   */
  async append(contents: RecordContent[], state: WalLogState, sync: boolean): Promise<{ seq: number; entryOffsets: number[][] }> {
    if (sync && contents.length > 0) contents[contents.length - 1] = { ...contents[contents.length - 1], synced: true };
    let bytes = contents.reduce((sum, c) => sum + recordBytes(c), 0);
    const head = toContent(headOf(state));
    const headBytes = recordBytes(head);
    if (this.current.writeOffset + bytes + (this.current.needsHead ? headBytes : 0) > this.current.size) {
      await this.rotate(SEGMENT_HEADER_BYTES + headBytes + bytes);
    }
    const withHead = this.current.needsHead;
    if (withHead) bytes += headBytes;
    const out = new Uint8Array(bytes);
    let p = 0;
    if (withHead) p = encodeRecord(head, out, 0);
    const entryOffsets: number[][] = [];
    const base = this.current.writeOffset;
    for (const c of contents) {
      const offsets: number[] = [];
      p = encodeRecord(c, out, p, offsets);
      entryOffsets.push(offsets.map((o) => o + base));
      for (const e of c.entries) this.current.segment.maxEntryIndex = Math.max(this.current.segment.maxEntryIndex, e.index);
    }
    await this.current.file.write(out, base);
    this.current.writeOffset += bytes;
    this.current.needsHead = false;
    this.current.dirty = true;
    if (sync) {
      await this.current.file.datasync();
      this.current.dirty = false;
    }
    return { seq: this.current.segment.seq, entryOffsets };
  }

  /** Moves to the next segment; the old one is fdatasynced first, so only the last segment can be torn. */
  private async rotate(needBytes: number): Promise<void> {
    if (this.current.needsHead) return this.enlargeEmptyCurrent(needBytes);
    if (this.current.dirty) await this.current.file.datasync();
    const seq = this.current.segment.seq + 1;
    let prepared = this.prepared;
    this.prepared = null;
    if (prepared === null || prepared.bytes < needBytes) {
      if (prepared) await (await prepared.file).close().catch(() => undefined);
      prepared = this.prepare(seq, Math.max(this.opts.segmentBytes, needBytes));
    }
    const file = await this.install(prepared);
    const old = this.current;
    this.current = { segment: { seq, path: join(this.dir, segmentFileName(seq)), maxEntryIndex: 0 }, file, writeOffset: SEGMENT_HEADER_BYTES, size: prepared.bytes, needsHead: true, dirty: false };
    this.segments.push(this.current.segment);
    this.readers.set(old.segment.seq, Promise.resolve(old.file));
    this.prepareNext();
  }

  /**
   * The current segment holds no record yet (a crash came right after it was put in place) and the
   * write does not fit it: a larger segment of the same number replaces it (an atomic rename over
   * it), rather than rotating away and leaving an empty segment in the middle of the log.
   */
  private async enlargeEmptyCurrent(needBytes: number): Promise<void> {
    const { segment, file } = this.current;
    const prepared = this.prepare(segment.seq, Math.max(this.opts.segmentBytes, needBytes));
    const bigger = await this.install(prepared);
    await file.close().catch(() => undefined);
    this.current = { segment, file: bigger, writeOffset: SEGMENT_HEADER_BYTES, size: prepared.bytes, needsHead: true, dirty: false };
  }

  /** Reads `bytes` bytes at `offset` of segment `seq`. */
  async read(seq: number, offset: number, bytes: number): Promise<Uint8Array> {
    this.activeReads++;
    try {
      const file = seq === this.current.segment.seq ? this.current.file : await this.reader(seq);
      const out = new Uint8Array(bytes);
      const got = await file.read(out, offset);
      if (got !== bytes) throw new WalCorruptionError(`segment ${seq} ends at ${offset + got}, before ${offset + bytes}`);
      return out;
    } finally {
      this.activeReads--;
    }
  }

  private reader(seq: number): Promise<WalFile> {
    let file = this.readers.get(seq);
    if (!file) {
      const segment = this.segments.find((s) => s.seq === seq);
      if (!segment) return Promise.reject(new WalCorruptionError(`WAL segment ${seq} is gone`));
      file = this.opts.fs.open(segment.path, 'read');
      this.readers.set(seq, file);
    }
    return file;
  }

  /**
   * Deletes the oldest segments whose entries are all below `firstIndex`. The caller passes a first
   * index whose record is durable (and whose snapshot is), so no replay will need those entries.
   */
  async removeSegmentsBelow(firstIndex: number): Promise<number> {
    if (this.activeReads > 0) return 0;
    let removed = 0;
    while (this.segments.length > 1 && this.segments[0].maxEntryIndex < firstIndex && this.segments[0] !== this.current.segment) {
      const segment = this.segments.shift()!;
      const reader = this.readers.get(segment.seq);
      this.readers.delete(segment.seq);
      if (reader) await (await reader).close().catch(() => undefined);
      await this.opts.fs.remove(segment.path);
      removed++;
    }
    if (removed > 0) await this.opts.fs.syncDir(this.dir);
    return removed;
  }

  /** Segment sequence numbers, oldest first (for tests and metrics). */
  segmentSeqs(): number[] {
    return this.segments.map((s) => s.seq);
  }

  async close(): Promise<void> {
    for (const reader of this.readers.values()) await (await reader).close().catch(() => undefined);
    this.readers.clear();
    if (this.prepared) await (await this.prepared.file.catch(() => null))?.close().catch(() => undefined);
    this.prepared = null;
    await this.current?.file.close();
  }
}

export function toContent(rec: ReplayRecord): RecordContent {
  return { head: rec.head, hardState: rec.hardState, snapshot: rec.snapshot, firstIndex: rec.firstIndex, entries: [] };
}
