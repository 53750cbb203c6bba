// The mock cloud's HTTP plumbing: routes, bounded JSON bodies, and error bodies in each OpenStack
// service's own shape (so the driver's error parsing is exercised as it is against real services).
import type { IncomingMessage, ServerResponse } from 'node:http';
import { CloudError, type CloudService } from '../errors.js';

/** Largest JSON request body the mock accepts. */
export const MAX_JSON_BODY_BYTES = 1 << 20;

export interface RequestInfo {
  req: IncomingMessage;
  res: ServerResponse;
  method: string;
  path: string;
  query: URLSearchParams;
  params: string[];
  /** Project of the token (set for authenticated routes). */
  projectId: string;
}

export type RouteHandler = (r: RequestInfo) => Promise<void> | void;

export interface Route {
  method: string;
  pattern: RegExp;
  service: CloudService;
  /** Whether a valid X-Auth-Token is required. */
  auth: boolean;
  /** Whether the request changes state (for fault injection). */
  write: boolean;
  handler: RouteHandler;
}

export function route(method: string, pattern: RegExp, service: CloudService, handler: RouteHandler, opts: { auth?: boolean } = {}): Route {
  return { method, pattern, service, auth: opts.auth ?? true, write: method !== 'GET', handler };
}

/** An error the mock answers with (status + the service's message). */
export class HttpFailure extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** The `index`-th captured path segment, unescaped (a malformed escape is the client's 400). */
export function pathParam(r: RequestInfo, index: number): string {
  try {
    return decodeURIComponent(r.params[index]);
  } catch {
    throw new HttpFailure(400, `Malformed escape in path segment ${JSON.stringify(r.params[index])}`);
  }
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = body === undefined ? '' : JSON.stringify(body);
  res.writeHead(status, { ...(text === '' ? {} : { 'Content-Type': 'application/json' }), 'Content-Length': String(Buffer.byteLength(text)), ...headers });
  res.end(text);
}

export async function readJson(r: RequestInfo, contentType = 'application/json'): Promise<unknown> {
  const given = (r.req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
  if (given !== contentType) throw new HttpFailure(415, `Unsupported Content-Type ${given || '(none)'}; expected ${contentType}`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of r.req) {
    size += (chunk as Buffer).length;
    if (size > MAX_JSON_BODY_BYTES) throw new HttpFailure(413, `Request body larger than ${MAX_JSON_BODY_BYTES} bytes`);
    chunks.push(chunk as Buffer);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new HttpFailure(400, 'Malformed request body: not JSON');
  }
}

const STATUS_TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  406: 'Not Acceptable',
  409: 'Conflict',
  413: 'Request Entity Too Large',
  415: 'Unsupported Media Type',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

const NOVA_FAULT_KEYS: Record<number, string> = {
  400: 'badRequest',
  403: 'forbidden',
  404: 'itemNotFound',
  409: 'conflictingRequest',
  413: 'overLimit',
};

/** The error body each service sends. */
export function errorBody(service: CloudService, status: number, message: string, acceptsJson: boolean): { body: string; contentType: string } {
  const title = STATUS_TITLES[status] ?? 'Error';
  switch (service) {
    case 'identity':
      return { body: JSON.stringify({ error: { code: status, title, message } }), contentType: 'application/json' };
    case 'image':
      if (!acceptsJson) {
        const html = `<html>\n <head>\n  <title>${status} ${title}</title>\n </head>\n <body>\n  <h1>${status} ${title}</h1>\n  ${message}<br /><br />\n\n\n\n </body>\n</html>`;
        return { body: html, contentType: 'text/html; charset=UTF-8' };
      }
      return { body: JSON.stringify({ message: `${message}<br /><br />\n\n\n`, code: `${status} ${title}`, title }), contentType: 'application/json' };
    case 'network':
      return { body: JSON.stringify({ NeutronError: { type: `HTTP${title.replace(/ /g, '')}`, message, detail: '' } }), contentType: 'application/json' };
    default: {
      const key = NOVA_FAULT_KEYS[status] ?? (service === 'volume' ? 'volumeFault' : 'computeFault');
      return { body: JSON.stringify({ [key]: { code: status, message } }), contentType: 'application/json; charset=UTF-8' };
    }
  }
}

export function sendError(res: ServerResponse, service: CloudService, status: number, message: string, acceptsJson: boolean, headers: Record<string, string> = {}): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const { body, contentType } = errorBody(service, status, message, acceptsJson);
  res.writeHead(status, { 'Content-Type': contentType, 'Content-Length': String(Buffer.byteLength(body)), ...headers });
  res.end(body);
}

/** Status and message of whatever a handler threw (model errors carry the service's own text). */
export function failureOf(err: unknown): { status: number; message: string } {
  if (err instanceof HttpFailure) return { status: err.status, message: err.message };
  if (err instanceof CloudError && err.status >= 400) return { status: err.status, message: err.cloudMessage || err.message };
  if (err instanceof CloudError && err.code === 'INVALID_SPEC') return { status: 400, message: err.message };
  return { status: 500, message: `The server has either erred or is incapable of performing the requested operation. (${(err as Error)?.message ?? String(err)})` };
}
