// Request bodies of the admin API: parsed with zod, then turned into the plain data AgentService
// takes. Every failure becomes a list of { field, message } naming the path inside the body.
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { booleanValue, boundedString, describeIssues, expecting, integerIn, nonNegativeInteger, patternString, positiveInteger } from '../config/expect.js';
import { checkMultiaddr } from '../config/multiaddr.js';
import { MAX_PLACEMENT_TEXT_CHARS } from '../catalog/limits.js';
import { auditFieldProblem } from '../catalog/audit.js';
import { LABEL_KEY, LABEL_VALUE, REGION_NAME, SITE_NAME } from '../catalog/names.js';
import { quickAcceptOf } from './quick-accept.js';
import { checkResourceId, checkSpec, ruleString } from './specs.js';
import { MAX_BATCH_OPS } from './vocabulary.js';
import { IMPORT_KINDS, RESOURCE_KINDS, isResourceKind, type ImportRequest, type JsonObject, type ResourceKind, type SiteAddRequest, type WriteOp, type WriteOptions } from './service.js';

/** The longest a caller may ask a write to wait for its outcome. */
export const MAX_WRITE_TIMEOUT_MS = 120_000;
export const MAX_REASON_LENGTH = 1024;
const CLIENT_ID_PATTERN = /^[A-Za-z0-9._:-]{1,128}$/;

export interface FieldError {
  field: string;
  message: string;
}

export class RequestInvalid extends Error {
  constructor(readonly problems: FieldError[]) {
    super(problems.map((p) => (p.field ? `${p.field}: ${p.message}` : p.message)).join('; '));
    this.name = 'RequestInvalid';
  }
}

const jsonObject = () =>
  z.custom<JsonObject>((value) => typeof value === 'object' && value !== null && !Array.isArray(value), expecting('a JSON object'));

/**
 * A placement: 'all' (or '*'), or a selector over site labels. null in a request means 'all'
 * (placementOf): mapped after parsing rather than by a zod transform, so the body schemas give
 * back what they were given and quickAcceptOf can compile them.
 */
const placement = () => boundedString(MAX_PLACEMENT_TEXT_CHARS, `a placement selector of at most ${MAX_PLACEMENT_TEXT_CHARS} characters`).nullable();

export const PLACEMENT_EVERY_SITE = 'all';

/** A placement as the service takes it: a JSON null means every site; absent stays absent. */
function placementField(value: string | null | undefined): { placement?: string } {
  return value === undefined ? {} : { placement: value ?? PLACEMENT_EVERY_SITE };
}

/** An audit field (operator, host, reason): checked by the catalog's own rule, so what the API accepts, apply accepts. */
const auditField = (field: 'operator' | 'host' | 'reason', what: string) =>
  z.string(expecting(what)).superRefine((value, ctx) => {
    const problem = auditFieldProblem(field, value);
    if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem.replace(`audit.${field} `, `${what}: `) });
  });

const writeControlFields = {
  force: booleanValue().optional(),
  reason: auditField('reason', `a reason of at most ${MAX_REASON_LENGTH} characters`).optional(),
  operator: auditField('operator', 'an operator name').optional(),
  host: auditField('host', 'a host name').optional(),
  clientId: patternString(CLIENT_ID_PATTERN, 'a client id (letters, digits, . _ : -, at most 128)').optional(),
  seq: positiveInteger().optional(),
  timeoutMs: integerIn(1, MAX_WRITE_TIMEOUT_MS).optional(),
};

const putBody = z.strictObject({ spec: jsonObject(), placement: placement().optional(), expectedRevision: nonNegativeInteger().optional(), ...writeControlFields }, expecting('a JSON object'));
const patchBody = z.strictObject({ patch: jsonObject(), placement: placement().optional(), expectedRevision: nonNegativeInteger().optional(), ...writeControlFields }, expecting('a JSON object'));
const deleteBody = z.strictObject({ expectedRevision: nonNegativeInteger().optional(), ...writeControlFields }, expecting('a JSON object'));
const controlsOnlyBody = z.strictObject({ ...writeControlFields }, expecting('a JSON object'));

const kindField = () => z.enum(RESOURCE_KINDS, expecting(`a resource kind (${RESOURCE_KINDS.join(', ')})`));
const idField = () => boundedString(255, 'a resource id');
const batchOp = z.discriminatedUnion(
  'op',
  [
    z.strictObject({ op: z.literal('put'), kind: kindField(), id: idField(), spec: jsonObject(), placement: placement().optional(), expectedRevision: nonNegativeInteger().optional() }),
    z.strictObject({ op: z.literal('patch'), kind: kindField(), id: idField(), patch: jsonObject(), placement: placement().optional(), expectedRevision: nonNegativeInteger().optional() }),
    z.strictObject({ op: z.literal('delete'), kind: kindField(), id: idField(), expectedRevision: nonNegativeInteger().optional() }),
  ],
  { error: (issue) => (issue.input === undefined ? 'required field is missing' : 'expected an operation with op put, patch or delete') },
);
const batchBody = z.strictObject(
  {
    ops: z.array(batchOp, expecting('a list of operations')).min(1, expecting('at least one operation')).max(MAX_BATCH_OPS, expecting(`at most ${MAX_BATCH_OPS} operations`)),
    ...writeControlFields,
  },
  expecting('a JSON object'),
);

const siteAddBody = z.strictObject(
  {
    name: ruleString(SITE_NAME, 'a site name'),
    peerId: boundedString(128, 'a libp2p peer id').optional(),
    addrs: z.array(boundedString(512, 'a multiaddr'), expecting('a list of multiaddrs')).min(1, expecting('at least one multiaddr')).max(16, expecting('at most 16 multiaddrs')),
    region: ruleString(REGION_NAME, 'a region name'),
    country: patternString(/^[A-Za-z]{2}$/, 'an ISO 3166-1 alpha-2 country code such as DE'),
    labels: z.record(ruleString(LABEL_KEY, 'a label name'), ruleString(LABEL_VALUE, 'a label value'), expecting('a mapping of label names to values')).optional(),
    /** A site added with a join token: no peer id until the joining site redeems it (in the log's time, before expiresAt). */
    join: z
      .strictObject(
        { expiresAt: integerIn(1, Number.MAX_SAFE_INTEGER, 'a time in epoch milliseconds'), secretHash: patternString(/^[0-9a-f]{64}$/, 'a SHA-256 in lower-case hex') },
        expecting('a mapping with expiresAt and secretHash'),
      )
      .optional(),
    ...writeControlFields,
  },
  expecting('a JSON object'),
);

const leaderTransferBody = z.strictObject(
  { site: ruleString(SITE_NAME, 'a site name'), timeoutMs: integerIn(1, MAX_WRITE_TIMEOUT_MS).optional() },
  expecting('a JSON object'),
);

/** The write bodies' schemas, for the test that holds quickAcceptOf to zod's verdicts. */
export const WRITE_BODY_SCHEMAS: Readonly<Record<string, z.ZodType>> = { putBody, patchBody, deleteBody, controlsOnlyBody, batchBody, siteAddBody };

function parseWith<S extends z.ZodType>(schema: S, body: unknown): z.output<S> {
  // A body the compiled test accepts is what zod would give back; anything else gets zod's own verdict.
  if (quickAcceptOf(schema)?.(body) === true) return body as z.output<S>;
  const result = schema.safeParse(body);
  if (!result.success) throw new RequestInvalid(describeIssues(schema, result.error.issues));
  return result.data;
}

type WriteControls = { force?: boolean; reason?: string; operator?: string; host?: string; clientId?: string; seq?: number; timeoutMs?: number };

/** Fills the exactly-once ids a caller left out, and checks that a forced write says why. */
export function writeOptionsFrom(controls: WriteControls): WriteOptions {
  if (controls.force && !controls.reason) throw new RequestInvalid([{ field: 'reason', message: 'a forced write must say why: set reason' }]);
  return {
    force: controls.force ?? false,
    ...(controls.reason !== undefined ? { reason: controls.reason } : {}),
    ...(controls.operator !== undefined ? { operator: controls.operator } : {}),
    ...(controls.host !== undefined ? { host: controls.host } : {}),
    clientId: controls.clientId ?? `admin-${randomUUID()}`,
    seq: controls.seq ?? 1,
    ...(controls.timeoutMs !== undefined ? { timeoutMs: controls.timeoutMs } : {}),
  };
}

/** Validates the id and spec (or patch) of one op against its kind, prefixing paths with `prefix`. */
function checkOp(op: WriteOp, prefix: string): FieldError[] {
  const problems: FieldError[] = [];
  const idProblem = checkResourceId(op.kind, op.id);
  if (idProblem) problems.push({ field: `${prefix}id`, message: idProblem });
  if (op.op === 'put') problems.push(...checkSpec(op.kind, op.spec, 'put').map((p) => ({ field: `${prefix}spec.${p.field}`, message: p.message })));
  if (op.op === 'patch') problems.push(...checkSpec(op.kind, op.patch, 'patch').map((p) => ({ field: `${prefix}patch.${p.field}`, message: p.message })));
  return problems;
}

export function resourceKindFrom(text: string): ResourceKind {
  if (!isResourceKind(text)) throw new RequestInvalid([{ field: 'kind', message: `unknown resource kind ${JSON.stringify(text)} (known: ${RESOURCE_KINDS.join(', ')})` }]);
  return text;
}

export function putRequest(kind: ResourceKind, id: string, body: unknown): { op: WriteOp; options: WriteOptions } {
  const parsed = parseWith(putBody, body);
  const op: WriteOp = { op: 'put', kind, id, spec: parsed.spec, ...placementField(parsed.placement), ...optionalFields(parsed, ['expectedRevision']) };
  throwIfAny(checkOp(op, ''));
  return { op, options: writeOptionsFrom(parsed) };
}

export function patchRequest(kind: ResourceKind, id: string, body: unknown): { op: WriteOp; options: WriteOptions } {
  const parsed = parseWith(patchBody, body);
  const op: WriteOp = { op: 'patch', kind, id, patch: parsed.patch, ...placementField(parsed.placement), ...optionalFields(parsed, ['expectedRevision']) };
  throwIfAny(checkOp(op, ''));
  return { op, options: writeOptionsFrom(parsed) };
}

/** DELETE may come without a body (an unconditional delete). */
export function deleteRequest(kind: ResourceKind, id: string, body: unknown): { op: WriteOp; options: WriteOptions } {
  const parsed = parseWith(deleteBody, body ?? {});
  const op: WriteOp = { op: 'delete', kind, id, ...optionalFields(parsed, ['expectedRevision']) };
  throwIfAny(checkOp(op, ''));
  return { op, options: writeOptionsFrom(parsed) };
}

export function batchRequest(body: unknown): { ops: WriteOp[]; options: WriteOptions } {
  const parsed = parseWith(batchBody, body);
  const ops = parsed.ops.map((op) => ('placement' in op && op.placement === null ? { ...op, placement: PLACEMENT_EVERY_SITE } : op)) as WriteOp[];
  throwIfAny(ops.flatMap((op, index) => checkOp(op, `ops[${index}].`)));
  const seen = new Set<string>();
  ops.forEach((op, index) => {
    const key = `${op.kind}/${op.id}`;
    if (seen.has(key)) throw new RequestInvalid([{ field: `ops[${index}]`, message: `${key} appears more than once in the batch` }]);
    seen.add(key);
  });
  return { ops, options: writeOptionsFrom(parsed) };
}

export function siteAddRequest(body: unknown): { request: SiteAddRequest; options: WriteOptions } {
  const parsed = parseWith(siteAddBody, body);
  const problems: FieldError[] = [];
  if (parsed.peerId === undefined && parsed.join === undefined) problems.push({ field: 'peerId', message: 'expected a libp2p peer id (only a site added with a join token has none yet)' });
  if (parsed.peerId !== undefined && parsed.join !== undefined) problems.push({ field: 'peerId', message: 'a site added with a join token brings its own key: leave out peerId' });
  parsed.addrs.forEach((addr, index) => {
    const check = checkMultiaddr(addr);
    if (!check.ok) problems.push({ field: `addrs[${index}]`, message: `expected a multiaddr, got ${JSON.stringify(addr)} (${check.reason})` });
    else if (check.peerId && check.peerId !== parsed.peerId) problems.push({ field: `addrs[${index}]`, message: `names peer ${check.peerId}, but peerId is ${parsed.peerId}` });
  });
  throwIfAny(problems);
  const request: SiteAddRequest = {
    name: parsed.name,
    ...(parsed.peerId === undefined ? {} : { peerId: parsed.peerId }),
    addrs: parsed.addrs,
    region: parsed.region,
    country: parsed.country.toUpperCase(),
    labels: parsed.labels ?? {},
    ...(parsed.join ? { join: { expiresAt: parsed.join.expiresAt, secretHash: parsed.join.secretHash } } : {}),
  };
  return { request, options: writeOptionsFrom(parsed) };
}

/** Bodies of site remove, member promote/demote: write controls only, body optional. */
export function controlsRequest(body: unknown): WriteOptions {
  return writeOptionsFrom(parseWith(controlsOnlyBody, body ?? {}));
}

export function leaderTransferRequest(body: unknown): { site: string; timeoutMs?: number } {
  return parseWith(leaderTransferBody, body);
}

export function checkSiteName(name: string): string {
  const result = ruleString(SITE_NAME, 'a site name').safeParse(name);
  if (!result.success) throw new RequestInvalid([{ field: 'site', message: result.error.issues[0].message }]);
  return name;
}

function optionalFields<T extends object, K extends keyof T>(source: T, keys: K[]): Partial<Pick<T, K>> {
  const out: Partial<Pick<T, K>> = {};
  for (const key of keys) if (source[key] !== undefined) out[key] = source[key];
  return out;
}

function throwIfAny(problems: FieldError[]): void {
  if (problems.length > 0) throw new RequestInvalid(problems);
}

/** Projects one quota import may read. */
export const MAX_IMPORT_PROJECTS = 100;

const importBody = z.strictObject(
  {
    kind: z.enum(IMPORT_KINDS, expecting(`what to import: ${IMPORT_KINDS.join(' or ')}`)),
    projects: z.array(boundedString(64, 'a project id'), expecting('a list of project ids')).max(MAX_IMPORT_PROJECTS, expecting(`at most ${MAX_IMPORT_PROJECTS} projects`)).optional(),
    placement: boundedString(MAX_PLACEMENT_TEXT_CHARS, `a placement selector of at most ${MAX_PLACEMENT_TEXT_CHARS} characters`).optional(),
    apply: booleanValue().optional(),
    ...writeControlFields,
  },
  expecting('a JSON object'),
);

/** POST /v1/import: quotas need the projects to read (a quota set cannot be listed); flavors take none. */
export function importRequest(body: unknown): { request: ImportRequest; options: WriteOptions } {
  const parsed = parseWith(importBody, body);
  const projects = parsed.projects ?? [];
  if (parsed.kind === 'quota' && projects.length === 0) throw new RequestInvalid([{ field: 'projects', message: 'a quota import reads the quota sets of the projects named here: give at least one' }]);
  if (parsed.kind !== 'quota' && projects.length > 0) throw new RequestInvalid([{ field: 'projects', message: `projects go with kind quota, not ${parsed.kind}` }]);
  if (parsed.kind === 'image' && parsed.apply === true) {
    // An image's bits take longer to copy than a request lasts: each is adopted as its own job.
    throw new RequestInvalid([{ field: 'apply', message: 'images are applied one by one: POST /v1/glance-adoptions with the image id, then a put of the image with its source (the CLI\'s import --apply does this)' }]);
  }
  throwIfAny(projects.flatMap((project, index) => {
    const problem = checkResourceId('quota', project);
    return problem === undefined ? [] : [{ field: `projects[${index}]`, message: problem }];
  }));
  const request: ImportRequest = { kind: parsed.kind, projects, apply: parsed.apply ?? false, ...(parsed.placement !== undefined ? { placement: parsed.placement } : {}) };
  return { request, options: writeOptionsFrom(parsed) };
}
