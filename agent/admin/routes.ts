// The admin API: one handler per route, each turning a request into an AgentService call and the
// outcome into a JSON response (or an AdminHttpError).
import { forceGc, memoryNow } from '../ops/memory.js';
import type { AgentMetrics } from '../ops/metrics.js';
import { AdminHttpError, errorOfReadRefusal, errorOfTransferOutcome, errorOfWriteOutcome } from './http-errors.js';
import {
  RequestInvalid,
  batchRequest,
  checkSiteName,
  controlsRequest,
  deleteRequest,
  leaderTransferRequest,
  patchRequest,
  putRequest,
  resourceKindFrom,
  siteAddRequest,
  importRequest,
} from './requests.js';
import { drActionRequest, drOpFor } from './dr-routes.js';
import { auditQueryFrom } from './audit-query.js';
import { blobHandlers } from './blob-routes.js';
import { Router } from './router.js';
import { startWatch, watchQuery, type StreamedResult } from './watch-route.js';
import { parseWriteId, type AgentService, type ResourceKind, type WriteOp, type WriteOptions, type WriteOutcome } from './service.js';

export interface HandlerContext {
  params: Record<string, string>;
  query: URLSearchParams;
  /** The parsed JSON body, undefined when the request has none. */
  readBody(): Promise<unknown>;
  /** The body's raw bytes as they arrive (blob upload parts); absent where a handler is driven without a request. */
  rawBody?: AsyncIterable<Uint8Array>;
  service: AgentService;
  metrics: AgentMetrics;
}

export type HandlerResult =
  | { status: number; json: unknown; headers?: Record<string, string> }
  | { status: number; text: string; contentType: string }
  | StreamedResult;

export type Handler = (ctx: HandlerContext) => Promise<HandlerResult>;

export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

function ok(json: unknown): HandlerResult {
  return { status: 200, json };
}

/** Runs `fn`, turning request validation failures into a 400 VALIDATION naming the field. */
async function validated<T>(fn: () => T | Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    if (error instanceof RequestInvalid) {
      const first = error.problems[0];
      throw new AdminHttpError('VALIDATION', error.message, { field: first?.field ?? '', problems: error.problems.map((p) => ({ ...p })) }, 'invalid_body');
    }
    throw error;
  }
}

function booleanQuery(query: URLSearchParams, name: string): boolean {
  const value = query.get(name);
  if (value === null) return false;
  if (value === '' || value === 'true' || value === '1') return true;
  if (value === 'false' || value === '0') return false;
  throw new AdminHttpError('BAD_REQUEST', `query parameter ${name}: expected true or false, got ${JSON.stringify(value)}`, { field: name }, 'invalid_query');
}

function kindParam(ctx: HandlerContext): ResourceKind {
  try {
    return resourceKindFrom(ctx.params.kind);
  } catch (error) {
    throw new AdminHttpError('NOT_FOUND', (error as Error).message.replace(/^kind: /, ''), { field: 'kind' }, 'invalid_path');
  }
}

/** Sends a write, times it, and answers committed or the error the outcome stands for. */
async function runWrite(ctx: HandlerContext, send: () => Promise<WriteOutcome>): Promise<HandlerResult> {
  const stopTimer = ctx.metrics.writeSeconds.startTimer();
  const outcome = await send();
  stopTimer({ outcome: outcome.status });
  if (outcome.status !== 'committed') throw errorOfWriteOutcome(outcome);
  return ok({ writeId: outcome.writeId, index: outcome.index, revisions: outcome.revisions });
}

function writeOne(ctx: HandlerContext, request: { op: WriteOp; options: WriteOptions }): Promise<HandlerResult> {
  return runWrite(ctx, () => ctx.service.write([request.op], request.options));
}

const handlers = {
  status: async (ctx) => ok(await ctx.service.status()),

  listResources: async (ctx) => {
    const kind = kindParam(ctx);
    const linearizable = booleanQuery(ctx.query, 'linearizable');
    const outcome = await ctx.service.list(kind, { linearizable });
    if (outcome.status !== 'ok') throw errorOfReadRefusal(outcome);
    return ok({ items: outcome.value, meta: outcome.meta });
  },

  getResource: async (ctx) => {
    const kind = kindParam(ctx);
    const linearizable = booleanQuery(ctx.query, 'linearizable');
    const outcome = await ctx.service.get(kind, ctx.params.id, { linearizable });
    if (outcome.status !== 'ok') throw errorOfReadRefusal(outcome);
    if (outcome.value === null) {
      throw new AdminHttpError('NOT_FOUND', `${kind} ${JSON.stringify(ctx.params.id)} not found`, { kind, id: ctx.params.id, meta: { ...outcome.meta } });
    }
    return ok({ resource: outcome.value, meta: outcome.meta });
  },

  putResource: async (ctx) => {
    const kind = kindParam(ctx);
    const body = await ctx.readBody();
    if (body === undefined) throw new AdminHttpError('BAD_REQUEST', 'a JSON body { "spec": {...} } is required', {}, 'invalid_body');
    return writeOne(ctx, await validated(() => putRequest(kind, ctx.params.id, body)));
  },

  patchResource: async (ctx) => {
    const kind = kindParam(ctx);
    const body = await ctx.readBody();
    if (body === undefined) throw new AdminHttpError('BAD_REQUEST', 'a JSON body { "patch": {...} } is required', {}, 'invalid_body');
    return writeOne(ctx, await validated(() => patchRequest(kind, ctx.params.id, body)));
  },

  deleteResource: async (ctx) => {
    const kind = kindParam(ctx);
    const body = await ctx.readBody();
    return writeOne(ctx, await validated(() => deleteRequest(kind, ctx.params.id, body)));
  },

  batch: async (ctx) => {
    const body = await ctx.readBody();
    if (body === undefined) throw new AdminHttpError('BAD_REQUEST', 'a JSON body { "ops": [...] } is required', {}, 'invalid_body');
    const request = await validated(() => batchRequest(body));
    return runWrite(ctx, () => ctx.service.write(request.ops, request.options));
  },

  writeStatus: async (ctx) => {
    if (parseWriteId(ctx.params.writeId) === null) {
      throw new AdminHttpError('BAD_REQUEST', `${JSON.stringify(ctx.params.writeId)} is not a write id: CLIENT_ID:SEQ, SEQ a positive integer`, { field: 'writeId' }, 'invalid_path');
    }
    const view = await ctx.service.writeStatus(ctx.params.writeId);
    if (view.status === 'not-committed') {
      throw new AdminHttpError('NOT_FOUND', `write ${JSON.stringify(ctx.params.writeId)}: ${view.message}`, { writeId: view.writeId, final: view.final, asOfIndex: view.asOfIndex });
    }
    return ok(view);
  },

  siteAdd: async (ctx) => {
    const body = await ctx.readBody();
    if (body === undefined) throw new AdminHttpError('BAD_REQUEST', 'a JSON body describing the site is required', {}, 'invalid_body');
    const request = await validated(() => siteAddRequest(body));
    return runWrite(ctx, () => ctx.service.siteAdd(request.request, request.options));
  },

  siteRemove: async (ctx) => {
    const site = await validated(() => checkSiteName(ctx.params.site));
    const options = await validated(async () => controlsRequest(await ctx.readBody()));
    return runWrite(ctx, () => ctx.service.siteRemove(site, options));
  },

  members: async (ctx) => ok({ members: (await ctx.service.status()).members }),

  memberPromote: async (ctx) => {
    const site = await validated(() => checkSiteName(ctx.params.site));
    const options = await validated(async () => controlsRequest(await ctx.readBody()));
    return runWrite(ctx, () => ctx.service.memberPromote(site, options));
  },

  memberDemote: async (ctx) => {
    const site = await validated(() => checkSiteName(ctx.params.site));
    const options = await validated(async () => controlsRequest(await ctx.readBody()));
    return runWrite(ctx, () => ctx.service.memberDemote(site, options));
  },

  leaderTransfer: async (ctx) => {
    const body = await ctx.readBody();
    if (body === undefined) throw new AdminHttpError('BAD_REQUEST', 'a JSON body { "site": NAME } is required', {}, 'invalid_body');
    const request = await validated(() => leaderTransferRequest(body));
    const outcome = await ctx.service.leaderTransfer(request.site, request.timeoutMs !== undefined ? { timeoutMs: request.timeoutMs } : {});
    if (outcome.status !== 'transferred') throw errorOfTransferOutcome(outcome);
    return ok({ leader: outcome.leader, term: outcome.term });
  },

  protectionGroupAction: async (ctx) => {
    const request = await validated(async () => drActionRequest(ctx.params.id, ctx.params.action, await ctx.readBody()));
    const read = await ctx.service.get('protection-group', request.id, { linearizable: true });
    const op = read.status === 'ok' ? drOpFor(request, read.value, null) : drOpFor(request, null, read);
    return runWrite(ctx, () => ctx.service.write([op], request.options));
  },

  watch: async (ctx) => startWatch(ctx.service, watchQuery(ctx.query)),

  sync: async (ctx) => ok(await ctx.service.syncStatus()),

  snapshotSave: async (ctx) => {
    const linearizable = booleanQuery(ctx.query, 'linearizable');
    if (!ctx.service.snapshotSave) throw new AdminHttpError('NOT_FOUND', 'this agent does not take backups', {}, 'invalid_path');
    const outcome = await ctx.service.snapshotSave({ linearizable });
    if (outcome.status !== 'ok') throw errorOfReadRefusal(outcome);
    return ok(outcome.value);
  },

  importResources: async (ctx) => {
    if (ctx.service.importResources === undefined) throw new AdminHttpError('NOT_FOUND', 'this agent cannot import');
    const body = await ctx.readBody();
    if (body === undefined) throw new AdminHttpError('BAD_REQUEST', 'a JSON body { "kind": "flavor" | "quota", ... } is required', {}, 'invalid_body');
    const { request, options } = await validated(() => importRequest(body));
    const outcome = await ctx.service.importResources(request, options);
    if (outcome.status !== 'ok') throw new AdminHttpError('CONFLICT', outcome.message, { reason: outcome.code });
    return ok(outcome.value);
  },

  audit: async (ctx) => {
    if (ctx.service.audit === undefined) throw new AdminHttpError('NOT_FOUND', 'this agent keeps no audit trail');
    const query = auditQueryFrom(ctx.query);
    const outcome = await ctx.service.audit(query, { linearizable: booleanQuery(ctx.query, 'linearizable') });
    if (outcome.status !== 'ok') throw errorOfReadRefusal(outcome);
    return ok({ ...outcome.value, meta: outcome.meta });
  },

  rotateKey: async (ctx) => {
    if (ctx.service.rotateKey === undefined) throw new AdminHttpError('NOT_FOUND', 'this agent cannot rotate its key');
    const view = await ctx.service.rotateKey();
    if (view.stage === 'refused') throw new AdminHttpError('CONFLICT', view.message, { stage: view.stage });
    return ok(view);
  },

  keyRotation: async (ctx) => {
    if (ctx.service.keyRotation === undefined) throw new AdminHttpError('NOT_FOUND', 'this agent cannot rotate its key');
    return ok(ctx.service.keyRotation());
  },

  metrics: async (ctx) => ({ status: 200, text: await ctx.service.metrics(), contentType: PROMETHEUS_CONTENT_TYPE }),

  memory: async () => ok(memoryNow()),

  forcedGc: async () => {
    const outcome = forceGc();
    if (outcome.ok) return ok({ before: outcome.before, after: outcome.after, gcMs: outcome.gcMs });
    throw new AdminHttpError(outcome.reason === 'too_soon' ? 'BUSY' : 'NOT_FOUND', outcome.message);
  },
  ...blobHandlers,
} satisfies Record<string, Handler>;

/** Every route of the admin API (API version v1; /metrics follows Prometheus convention). */
export function adminRoutes(): Router<Handler> {
  return new Router<Handler>()
    .add('GET', '/v1/status', handlers.status)
    .add('GET', '/v1/resources/:kind', handlers.listResources)
    .add('GET', '/v1/resources/:kind/:id', handlers.getResource)
    .add('PUT', '/v1/resources/:kind/:id', handlers.putResource)
    .add('PATCH', '/v1/resources/:kind/:id', handlers.patchResource)
    .add('DELETE', '/v1/resources/:kind/:id', handlers.deleteResource)
    .add('POST', '/v1/batch', handlers.batch)
    .add('GET', '/v1/writes/:writeId', handlers.writeStatus)
    .add('POST', '/v1/sites', handlers.siteAdd)
    .add('DELETE', '/v1/sites/:site', handlers.siteRemove)
    .add('GET', '/v1/members', handlers.members)
    .add('POST', '/v1/members/:site/promote', handlers.memberPromote)
    .add('POST', '/v1/members/:site/demote', handlers.memberDemote)
    .add('POST', '/v1/leader/transfer', handlers.leaderTransfer)
    .add('POST', '/v1/protection-groups/:id/:action', handlers.protectionGroupAction)
    .add('GET', '/v1/watch', handlers.watch)
    .add('GET', '/v1/sync', handlers.sync)
    .add('GET', '/v1/snapshot', handlers.snapshotSave)
    .add('GET', '/v1/audit', handlers.audit)
    .add('POST', '/v1/import', handlers.importResources)
    .add('GET', '/v1/debug/memory', handlers.memory)
    .add('POST', '/v1/debug/gc', handlers.forcedGc)
    .add('POST', '/v1/blobs/uploads', handlers.blobUploadStart)
    .add('PUT', '/v1/blobs/uploads/:id/parts/:n', handlers.blobUploadPart)
    .add('POST', '/v1/blobs/uploads/:id/finish', handlers.blobUploadFinish)
    .add('DELETE', '/v1/blobs/uploads/:id', handlers.blobUploadAbort)
    .add('GET', '/v1/blobs/:root', handlers.blobState)
    .add('POST', '/v1/site/rotate-key', handlers.rotateKey)
    .add('GET', '/v1/site/rotate-key', handlers.keyRotation)
    .add('POST', '/v1/glance-adoptions', handlers.glanceAdoptionStart)
    .add('GET', '/v1/glance-adoptions/:imageId', handlers.glanceAdoptionState)
    .add('GET', '/metrics', handlers.metrics);
}
