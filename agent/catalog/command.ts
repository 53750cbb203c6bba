// The bytes of a Normal entry: a msgpack command. Proposers encode with encodeCommand; apply decodes
// with decodeCommand, which checks the envelope and leaves the ops to the executors.
import { checkAuditStamp } from './audit.js';
import { decodeMsgpack, deepFreeze, encodeCanonical, exceedsDepth } from './codec.js';
import { MAX_COMMAND_BYTES, MAX_VALUE_DEPTH } from './limits.js';
import { CLIENT_ID } from './names.js';
import { SpecError, checkInt, checkString, isPlainObject, rejectUnknownFields } from './spec-reader.js';
import {
  CATALOG_COMMAND_VERSION,
  type CatalogCommand,
  type CommandEnvelope,
  type DeleteOp,
  type PatchOp,
  type PlacementInput,
  type PutOp,
  type ResourceKind,
  type SyncDigestReport,
  type SyncReport,
  type SyncStatusCommand,
  type ValidationFailure,
  type WriteCommand,
  type WriteOp,
} from './types.js';

const COMMAND_FIELDS = ['v', 'clientId', 'seq', 'time', 'type', 'ops', 'reports', 'digest', 'forced', 'audit'] as const;
/** Longest reason a forced write may record. */
export const MAX_FORCED_REASON_CHARS = 1024;
/** 275760-09-13, the last instant a JavaScript Date can hold. */
const MAX_TIME_MS = 8.64e15;

export function encodeCommand(command: CatalogCommand): Uint8Array {
  return encodeCanonical(command);
}

/** A command whose envelope is valid; ops and reports are checked when they are executed. */
export type ReceivedCommand =
  | (CommandEnvelope & { type: 'write'; ops: unknown })
  | (CommandEnvelope & { type: 'syncStatus'; reports: unknown; digest?: unknown });

export type DecodeCommandResult = { ok: true; command: ReceivedCommand } | { ok: false; failure: ValidationFailure };

/**
 * Decoded commands by the bytes they came from. Every member applies every entry, and where the
 * entries are the same objects (the simulator hands messages over by reference: 100 sites, one
 * decode instead of 100) the result is shared, so it is frozen. A WeakMap holds no bytes alive:
 * its size is bounded by the entries still referenced. Entry data is never changed once written.
 */
const decodedByBytes = new WeakMap<Uint8Array, DecodeCommandResult>();

/** Never throws: malformed bytes, an unknown version or a bad envelope give a VALIDATION failure. */
export function decodeCommand(bytes: Uint8Array): DecodeCommandResult {
  const known = decodedByBytes.get(bytes);
  if (known !== undefined) return known;
  const decoded = deepFreeze(decodeCommandBytes(bytes));
  decodedByBytes.set(bytes, decoded);
  return decoded;
}

/**
 * decodeCommand for a caller that is the only one to see these bytes (a daemon's site decodes each
 * entry once, from its own copy): neither remembered nor frozen, since nothing else will read it.
 * Apply never changes a decoded command (the simulator, which shares and freezes it, would throw).
 */
export function decodeOwnCommand(bytes: Uint8Array): DecodeCommandResult {
  return decodeCommandBytes(bytes);
}

function decodeCommandBytes(bytes: Uint8Array): DecodeCommandResult {
  if (bytes.length > MAX_COMMAND_BYTES) {
    return invalid('command', `command is ${bytes.length} bytes (at most ${MAX_COMMAND_BYTES})`);
  }
  let body: unknown;
  try {
    body = decodeMsgpack(bytes);
  } catch {
    // The decoder's own message is not used: it could differ between library versions on different sites.
    return invalid('command', 'command bytes are not valid msgpack');
  }
  if (!isPlainObject(body)) return invalid('command', 'command must be a msgpack map');
  if (exceedsDepth(body, MAX_VALUE_DEPTH)) return invalid('command', `command is nested more than ${MAX_VALUE_DEPTH} levels deep`);
  if (body.v !== CATALOG_COMMAND_VERSION) {
    const given = typeof body.v === 'number' || typeof body.v === 'string' ? String(body.v) : 'missing';
    return invalid('v', `unsupported command version ${given} (this agent understands ${CATALOG_COMMAND_VERSION})`);
  }
  try {
    rejectUnknownFields(body, COMMAND_FIELDS, '');
    const envelope: CommandEnvelope = {
      v: CATALOG_COMMAND_VERSION,
      clientId: checkString(body.clientId, 'clientId', CLIENT_ID),
      seq: checkInt(body.seq, 'seq', { min: 1, max: Number.MAX_SAFE_INTEGER }),
      time: checkInt(body.time, 'time', { min: 0, max: MAX_TIME_MS }),
    };
    if (body.forced !== undefined) envelope.forced = checkString(body.forced, 'forced', { min: 1, max: MAX_FORCED_REASON_CHARS });
    if (body.audit !== undefined) envelope.audit = checkAuditStamp(body.audit);
    const type = body.type ?? 'write';
    if (type === 'write') {
      if (body.reports !== undefined || body.digest !== undefined) throw new SpecError(body.reports !== undefined ? 'reports' : 'digest', 'a write command carries ops, not sync reports');
      return { ok: true, command: { ...envelope, type, ops: body.ops } };
    }
    if (type === 'syncStatus') {
      if (body.ops !== undefined) throw new SpecError('ops', 'a syncStatus command carries reports, not ops');
      return { ok: true, command: { ...envelope, type, reports: body.reports, ...(body.digest === undefined ? {} : { digest: body.digest }) } };
    }
    throw new SpecError('type', `unknown command type ${JSON.stringify(type)} (known: write, syncStatus)`);
  } catch (error) {
    if (error instanceof SpecError) return invalid(error.field, error.message);
    throw error;
  }
}

function invalid(field: string, message: string): { ok: false; failure: ValidationFailure } {
  return { ok: false, failure: { ok: false, code: 'VALIDATION', field, message } };
}

// ---------------------------------------------------------------- builders for writers

export interface WriteOptions {
  placement?: PlacementInput;
  expectedRevision?: number;
}

export function putOp(kind: ResourceKind, id: string, spec: object, options: WriteOptions = {}): PutOp {
  return { op: 'put', kind, id, spec, ...options };
}

export function patchOp(kind: ResourceKind, id: string, spec: object, options: WriteOptions = {}): PatchOp {
  return { op: 'patch', kind, id, spec, ...options };
}

export function deleteOp(kind: ResourceKind, id: string, expectedRevision?: number): DeleteOp {
  return expectedRevision === undefined ? { op: 'delete', kind, id } : { op: 'delete', kind, id, expectedRevision };
}

export function writeCommand(envelope: Omit<CommandEnvelope, 'v'>, ops: WriteOp[]): WriteCommand {
  return { v: CATALOG_COMMAND_VERSION, ...envelope, ops };
}

export function syncStatusCommand(envelope: Omit<CommandEnvelope, 'v'>, reports: SyncReport[], digest?: SyncDigestReport): SyncStatusCommand {
  return { v: CATALOG_COMMAND_VERSION, ...envelope, type: 'syncStatus', reports, ...(digest === undefined ? {} : { digest }) };
}
