// Reading a segment file back at open: its header, its records, and where writing stopped. A
// record that is not whole is either a torn write (the last thing written before a crash, never
// acknowledged) or damage, and the two are told apart here.
import {
  RECORD_HEADER_BYTES,
  SEGMENT_HEADER_BYTES,
  WAL_FORMAT_VERSION,
  WalDecodeError,
  allZero,
  checkSegmentHeader,
  readRecordAt,
  type DecodedRecord,
} from './record.js';

/** Disks write whole sectors; a torn write leaves at least one sector-sized stretch of the record unwritten (zeros). */
export const SECTOR_BYTES = 512;

export interface ScannedSegment {
  seq: number;
  records: DecodedRecord[];
  /** Where the next record goes: just after the last whole record. */
  writeOffset: number;
  damage: { offset: number; reason: string; torn: boolean } | null;
}

export class SegmentFormatError extends Error {
  constructor(
    message: string,
    readonly foundVersion?: number,
  ) {
    super(message);
  }
}

/**
 * Reads the records of one segment. `isLast`: only the last segment can end in a torn write, as
 * a segment is fdatasynced before the next one is started.
 */
export function scanSegment(data: Uint8Array, seq: number, isLast: boolean): ScannedSegment {
  let version: number;
  try {
    version = checkSegmentHeader(data, seq);
  } catch (err) {
    if (err instanceof WalDecodeError) throw new SegmentFormatError(`segment ${seq}: ${err.message}`);
    throw err;
  }
  if (version !== WAL_FORMAT_VERSION) {
    throw new SegmentFormatError(`segment ${seq} has WAL format version ${version}; this build reads ${WAL_FORMAT_VERSION}`, version);
  }
  const records: DecodedRecord[] = [];
  let offset = SEGMENT_HEADER_BYTES;
  for (;;) {
    const at = readRecordAt(data, offset);
    if (at.kind === 'end') return { seq, records, writeOffset: offset, damage: null };
    if (at.kind === 'record') {
      records.push(at.record);
      offset += at.record.bytes;
      continue;
    }
    const torn = isLast && isTornWrite(data, offset, at.bodyBytes);
    return { seq, records, writeOffset: offset, damage: { offset, reason: at.reason, torn } };
  }
}

/**
 * A damaged record at `offset` is a torn write when part of it was never written and no record
 * after it claims to have been fdatasynced (an fdatasync after it would have made it whole). "Never
 * written": some sector-bounded stretch of its body is still the preallocated zeros (a body starts
 * with a non-zero version byte, so a written body has no all-zero first stretch). When its length is
 * not even plausible, nothing at all may follow its header. Anything else is damage to data that
 * may have been acknowledged.
 */
export function isTornWrite(data: Uint8Array, offset: number, bodyBytes: number | null): boolean {
  const bodyStart = offset + RECORD_HEADER_BYTES;
  if (bodyBytes === null) return allZero(data, Math.min(bodyStart, data.byteLength), data.byteLength);
  const extentEnd = bodyStart + bodyBytes;
  if (!hasZeroSectorStretch(data, bodyStart, extentEnd)) return false;
  let next = extentEnd;
  for (;;) {
    const at = readRecordAt(data, next);
    if (at.kind === 'end') return true;
    if (at.kind === 'record') {
      if (at.record.synced) return false;
      next += at.record.bytes;
      continue;
    }
    if (at.bodyBytes === null) return true;
    next += RECORD_HEADER_BYTES + at.bodyBytes;
  }
}

function hasZeroSectorStretch(data: Uint8Array, from: number, to: number): boolean {
  let start = from;
  while (start < to) {
    const end = Math.min(to, (Math.floor(start / SECTOR_BYTES) + 1) * SECTOR_BYTES);
    if (allZero(data, start, end)) return true;
    start = end;
  }
  return false;
}
