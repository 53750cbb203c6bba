// GET /v1/audit?kind=K&id=ID&since=T&limit=N: the query parameters, checked; a bad one is 400 naming it.
import { MAX_AUDIT_ENTRIES } from '../catalog/audit.js';
import { checkResourceId } from './specs.js';
import { AdminHttpError } from './http-errors.js';
import { RESOURCE_KINDS, isResourceKind, type AuditQuery } from './service.js';

const QUERY_FIELDS = new Set(['kind', 'id', 'since', 'limit', 'linearizable']);

function badQuery(field: string, message: string): AdminHttpError {
  return new AdminHttpError('BAD_REQUEST', `query parameter ${field}: ${message}`, { field }, 'invalid_query');
}

/** `since`: ISO 8601 with a time zone (2026-12-07T15:00:00Z) or milliseconds since the epoch. */
export function parseSince(text: string): number | undefined {
  if (/^\d{1,16}$/.test(text)) return Number(text);
  if (!/^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2}))?$/.test(text)) return undefined;
  const ms = Date.parse(text);
  return Number.isFinite(ms) ? ms : undefined;
}

export function auditQueryFrom(params: URLSearchParams): AuditQuery {
  for (const name of params.keys()) if (!QUERY_FIELDS.has(name)) throw badQuery(name, `unknown (known: ${[...QUERY_FIELDS].join(', ')})`);
  const query: AuditQuery = {};
  const kind = params.get('kind');
  if (kind !== null) {
    if (!isResourceKind(kind)) throw badQuery('kind', `unknown resource kind ${JSON.stringify(kind)} (known: ${RESOURCE_KINDS.join(', ')})`);
    query.kind = kind;
  }
  const id = params.get('id');
  if (id !== null) {
    const problem = query.kind === undefined ? (id.length === 0 || id.length > 255 ? 'an id of 1-255 characters' : undefined) : checkResourceId(query.kind, id);
    if (problem) throw badQuery('id', problem);
    query.id = id;
  }
  const since = params.get('since');
  if (since !== null) {
    const ms = parseSince(since);
    if (ms === undefined) throw badQuery('since', `expected an ISO 8601 time with a zone (2026-12-07T15:00:00Z) or epoch milliseconds, got ${JSON.stringify(since.slice(0, 64))}`);
    query.sinceMs = ms;
  }
  const limit = params.get('limit');
  if (limit !== null) {
    const n = /^\d{1,6}$/.test(limit) ? Number(limit) : NaN;
    if (!(n >= 1 && n <= MAX_AUDIT_ENTRIES)) throw badQuery('limit', `expected an integer from 1 to ${MAX_AUDIT_ENTRIES}, got ${JSON.stringify(limit.slice(0, 64))}`);
    query.limit = n;
  }
  return query;
}
