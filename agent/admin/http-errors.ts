// Errors of the admin API and how each domain outcome maps to an HTTP status. The JSON body is
// always { "error": { "code", "message", ...details } }.
import type { JsonObject, JsonValue, LeaderTransferOutcome, ReadOutcome, RefusalCode, WriteOutcome } from './service.js';

export type AdminErrorCode =
  | RefusalCode
  | 'BAD_REQUEST'
  | 'VALIDATION'
  | 'NOT_FOUND'
  | 'CONFLICT'
  | 'METHOD_NOT_ALLOWED'
  | 'PAYLOAD_TOO_LARGE'
  | 'UNSUPPORTED_MEDIA_TYPE'
  | 'NO_LEADER'
  | 'NO_QUORUM'
  | 'PEER_UNREACHABLE'
  | 'BUSY'
  | 'UNKNOWN'
  | 'COMPACTED'
  | 'INTERNAL';

/** Refusal codes the runtime may add later default to 503: refused, nothing written. */
const REFUSED_STATUS = 503;

export const STATUS_BY_CODE: Partial<Record<AdminErrorCode, number>> = {
  BAD_REQUEST: 400,
  INVALID: 400,
  VALIDATION: 400,
  NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  CONFLICT: 409,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  INTERNAL: 500,
  NO_LEADER: 503,
  NO_QUORUM: 503,
  PEER_UNREACHABLE: 503,
  PEER_REACHABLE: 409,
  BUSY: 503,
  UNKNOWN: 504,
  COMPACTED: 410,
};

/** Refusals that clear up by themselves soon (an election, a backlog): the client may retry after this. */
const RETRY_AFTER_SECONDS: Partial<Record<AdminErrorCode, number>> = { NO_LEADER: 1, BUSY: 1 };

/** Why the admin layer itself refused a request, for the bad-requests metric. */
export type BadRequestReason =
  | 'unknown_route'
  | 'method_not_allowed'
  | 'unsupported_media_type'
  | 'body_too_large'
  | 'malformed_json'
  | 'too_deeply_nested'
  | 'client_aborted'
  | 'invalid_body'
  | 'invalid_query'
  | 'invalid_path';

export class AdminHttpError extends Error {
  readonly status: number;

  constructor(
    readonly code: AdminErrorCode,
    message: string,
    readonly details: JsonObject = {},
    readonly badRequestReason?: BadRequestReason,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'AdminHttpError';
    this.status = STATUS_BY_CODE[code] ?? REFUSED_STATUS;
    const retryAfter = RETRY_AFTER_SECONDS[code];
    if (retryAfter !== undefined && this.headers['retry-after'] === undefined) this.headers = { ...this.headers, 'retry-after': String(retryAfter) };
  }

  body(): { error: JsonObject } {
    return { error: { ...this.details, code: this.code, message: this.message } };
  }
}

function withoutUndefined(fields: Record<string, JsonValue | undefined>): JsonObject {
  const out: JsonObject = {};
  for (const [key, value] of Object.entries(fields)) if (value !== undefined) out[key] = value;
  return out;
}

/** A write that did not commit, as the error the client sees. */
export function errorOfWriteOutcome(outcome: Exclude<WriteOutcome, { status: 'committed' }>): AdminHttpError {
  switch (outcome.status) {
    case 'refused':
      return new AdminHttpError(outcome.code, outcome.message, withoutUndefined({ leader: outcome.leader, member: outcome.member }));
    case 'rejected':
      return new AdminHttpError(outcome.code, outcome.message, withoutUndefined({ ...outcome.details, field: outcome.field, opIndex: outcome.opIndex }));
    case 'unknown':
      return new AdminHttpError('UNKNOWN', outcome.message, { writeId: outcome.writeId });
  }
}

export function errorOfTransferOutcome(outcome: Exclude<LeaderTransferOutcome, { status: 'transferred' }>): AdminHttpError {
  switch (outcome.status) {
    case 'refused':
      return new AdminHttpError(outcome.code, outcome.message, withoutUndefined({ leader: outcome.leader }));
    case 'rejected':
      return new AdminHttpError('VALIDATION', outcome.message);
    case 'unknown':
      return new AdminHttpError('UNKNOWN', outcome.message);
  }
}

export function errorOfReadRefusal(outcome: Extract<ReadOutcome<unknown>, { status: 'refused' }>): AdminHttpError {
  return new AdminHttpError(outcome.code, outcome.message, withoutUndefined({ leader: outcome.leader }));
}
