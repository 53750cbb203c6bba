// The backup file `stackraft snapshot save` writes and `snapshot restore` reads: one catalog image
// and the membership at a stated log index, behind a fixed header and under a SHA-256.
//
//   "STACKRAFT-BACKUP" (16 bytes) | format version u32 BE | body length u32 BE | body | sha256(all before)
//
// The version is read before anything else, so a newer file is refused by what it says it is, not
// by whatever its changed layout would make the checks below report. The body is canonical msgpack.
import { createHash } from 'node:crypto';
import { decodeMsgpack, encodeCanonical } from '../catalog/codec.js';
import { decodeRecord, META_KEY } from '../catalog/records.js';
import { decodeSnapshotImage } from '../catalog/snapshot-image.js';
import { isPlainObject } from '../catalog/spec-reader.js';

export const BACKUP_MAGIC = 'STACKRAFT-BACKUP';
export const BACKUP_FORMAT_VERSION = 1;
const HEADER_BYTES = BACKUP_MAGIC.length + 8;
const CHECKSUM_BYTES = 32;
/** Far above any catalog this project holds (the admin API's answers stop at 64 MiB). */
export const MAX_BACKUP_BODY_BYTES = 1024 * 1024 * 1024;

export interface BackupContents {
  clusterId: string;
  /** The cluster incarnation the image was taken in ('' for a cluster that never had a recovery or restore). */
  incarnation: string;
  /** Log index the image stands at: the taking site's applied index (the catalog's own may be lower by trailing membership entries). */
  index: number;
  /** The taking site's Raft term at the time (informational). */
  term: number;
  /** The site that took it. */
  site: string;
  /** ISO 8601 wall time of the taking site. */
  takenAt: string;
  /** True when `index` was confirmed by the leader (ReadIndex) before the image was taken. */
  linearizable: boolean;
  /** Voters and learners as the taking site knew them (the last membership change in its log). */
  conf: { voters: string[]; learners: string[] };
  /** The catalog's snapshot image (agent/catalog/snapshot-image.ts). */
  image: Uint8Array;
}

export class BackupFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BackupFileError';
  }
}

export function encodeBackup(contents: BackupContents): Uint8Array {
  const body = encodeCanonical(contents);
  const out = new Uint8Array(HEADER_BYTES + body.length + CHECKSUM_BYTES);
  out.set(Buffer.from(BACKUP_MAGIC, 'ascii'), 0);
  const view = new DataView(out.buffer);
  view.setUint32(BACKUP_MAGIC.length, BACKUP_FORMAT_VERSION, false);
  view.setUint32(BACKUP_MAGIC.length + 4, body.length, false);
  out.set(body, HEADER_BYTES);
  out.set(sha256(out.subarray(0, HEADER_BYTES + body.length)), HEADER_BYTES + body.length);
  return out;
}

/** Checks everything (header, length, checksum, fields, the image and its records); throws BackupFileError saying what is wrong. */
export function decodeBackup(file: Uint8Array): BackupContents {
  if (file.length < BACKUP_MAGIC.length || Buffer.from(file.subarray(0, BACKUP_MAGIC.length)).toString('latin1') !== BACKUP_MAGIC) {
    if (file.length < BACKUP_MAGIC.length && Buffer.from(BACKUP_MAGIC, 'ascii').subarray(0, file.length).equals(Buffer.from(file))) {
      throw new BackupFileError(`the file is truncated: it holds ${file.length} bytes, less than a backup's header`);
    }
    throw new BackupFileError(`not a stackraft backup (it does not start with ${BACKUP_MAGIC})`);
  }
  if (file.length < HEADER_BYTES) throw new BackupFileError(`the file is truncated: it holds ${file.length} bytes, less than a backup's header (${HEADER_BYTES})`);
  const view = new DataView(file.buffer, file.byteOffset, file.byteLength);
  const version = view.getUint32(BACKUP_MAGIC.length, false);
  if (version > BACKUP_FORMAT_VERSION) {
    throw new BackupFileError(`the backup has format version ${version}, newer than this stackraft reads (${BACKUP_FORMAT_VERSION}): restore it with a newer stackraft`);
  }
  if (version < 1) throw new BackupFileError(`the backup has format version ${version}, which no stackraft wrote (corrupt header)`);
  const bodyLength = view.getUint32(BACKUP_MAGIC.length + 4, false);
  if (bodyLength > MAX_BACKUP_BODY_BYTES) throw new BackupFileError(`the header announces a body of ${bodyLength} bytes, above the ${MAX_BACKUP_BODY_BYTES} limit (corrupt header)`);
  const expected = HEADER_BYTES + bodyLength + CHECKSUM_BYTES;
  if (file.length < expected) throw new BackupFileError(`the file is truncated: it holds ${file.length} bytes, its header says ${expected}`);
  if (file.length > expected) throw new BackupFileError(`the file has ${file.length - expected} bytes after the end its header states (corrupt, or two files joined)`);
  const stated = file.subarray(HEADER_BYTES + bodyLength);
  if (!Buffer.from(sha256(file.subarray(0, HEADER_BYTES + bodyLength))).equals(Buffer.from(stated))) {
    throw new BackupFileError('checksum mismatch: the file is corrupt (its SHA-256 does not match the one it carries)');
  }
  return checkBody(file.subarray(HEADER_BYTES, HEADER_BYTES + bodyLength));
}

function checkBody(bytes: Uint8Array): BackupContents {
  let body: unknown;
  try {
    body = decodeMsgpack(bytes);
  } catch {
    throw new BackupFileError('the body is not valid msgpack although its checksum matches (written by a broken stackraft?)');
  }
  if (!isPlainObject(body)) throw new BackupFileError('the body is not a map');
  const text = (name: string): string => {
    const value = body[name];
    if (typeof value !== 'string') throw new BackupFileError(`the body has no ${name}`);
    return value;
  };
  const index = (name: string): number => {
    const value = body[name];
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) throw new BackupFileError(`the body's ${name} is not a log index`);
    return value;
  };
  const conf = body.conf;
  const names = (value: unknown): value is string[] => Array.isArray(value) && value.every((v) => typeof v === 'string');
  if (!isPlainObject(conf) || !names(conf.voters) || !names(conf.learners)) throw new BackupFileError('the body has no membership (conf)');
  if (!(body.image instanceof Uint8Array)) throw new BackupFileError('the body has no catalog image');
  if (typeof body.linearizable !== 'boolean') throw new BackupFileError('the body has no linearizable flag');
  const contents: BackupContents = {
    clusterId: text('clusterId'),
    incarnation: text('incarnation'),
    index: index('index'),
    term: index('term'),
    site: text('site'),
    takenAt: text('takenAt'),
    linearizable: body.linearizable,
    conf: { voters: [...conf.voters], learners: [...conf.learners] },
    image: new Uint8Array(body.image),
  };
  checkImage(contents);
  return contents;
}

/** The image must decode, every record must be readable, and it must not stand past the stated index. */
function checkImage(contents: BackupContents): void {
  let records: Array<[string, Uint8Array]>;
  try {
    records = decodeSnapshotImage(contents.image);
    for (const [key, value] of records) decodeRecord(key, value);
  } catch (err) {
    throw new BackupFileError(`the catalog image inside is unreadable: ${(err as Error).message}`);
  }
  const meta = records.find(([key]) => key === META_KEY);
  const applied = meta ? (decodeRecord(META_KEY, meta[1]) as { appliedIndex: number }).appliedIndex : 0;
  // The catalog counts only the entries it applies; membership entries after them leave it as it is.
  if (applied > contents.index) {
    throw new BackupFileError(`the catalog image stands at index ${applied}, past the backup's index ${contents.index}`);
  }
}

function sha256(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha256').update(bytes).digest());
}
