// The admin API server: HTTP/1.1 + JSON over a Unix domain socket (mode 0660), node:http.
import { chmod, lstat, unlink } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { silentLogger, type Logger } from '../../consensus/ports.js';
import type { AgentMetrics } from '../ops/metrics.js';
import { ClientGoneError, readJsonBody } from './body.js';
import { AdminHttpError } from './http-errors.js';
import { adminRoutes, type Handler, type HandlerResult } from './routes.js';
import type { Router } from './router.js';
import type { AgentService } from './service.js';
import { MAX_WATCH_BUFFER_BYTES } from './watch-route.js';
import { AdminSocketError, claimSocketPath, inUse } from './socket-file.js';

export const ADMIN_SOCKET_MODE = 0o660;
/** Concurrent admin connections: the CLI uses one; writers in parallel (a benchmark, an automation) use one each. */
export const MAX_ADMIN_CONNECTIONS = 1024;
/**
 * The status label counted for a request whose client hung up mid-body (nginx's "client closed
 * request"): nothing is answered, and it is neither a server error nor logged above debug.
 */
export const CLIENT_GONE_STATUS = 499;
/** A client has this long to send its headers, and its whole request. */
export const ADMIN_HEADERS_TIMEOUT_MS = 10_000;
export const ADMIN_REQUEST_TIMEOUT_MS = 30_000;
const MAX_HEADER_BYTES = 16 * 1024;

export { AdminSocketError } from './socket-file.js';

export interface AdminServerOptions {
  socketPath: string;
  service: AgentService;
  metrics: AgentMetrics;
  logger?: Logger;
}

export interface AdminServer {
  readonly socketPath: string;
  /** Stops accepting, closes open connections and removes the socket file. */
  close(): Promise<void>;
}

/** Starts serving the admin API on `socketPath`. Throws AdminSocketError if another agent serves it. */
export async function startAdminServer(options: AdminServerOptions): Promise<AdminServer> {
  const { socketPath, service, metrics } = options;
  const logger = options.logger ?? silentLogger;
  await claimSocketPath(socketPath);

  const router = adminRoutes();
  const server = createServer({ maxHeaderSize: MAX_HEADER_BYTES, requestTimeout: ADMIN_REQUEST_TIMEOUT_MS, headersTimeout: ADMIN_HEADERS_TIMEOUT_MS }, (req, res) => {
    void handleAdminRequest(req, res, { router, service, metrics, logger });
  });
  server.maxConnections = MAX_ADMIN_CONNECTIONS;
  await listen(server, socketPath);
  // The parent directory (0750) already keeps others out while the mode is the umask's.
  await chmod(socketPath, ADMIN_SOCKET_MODE);
  logger.info({ socketPath }, 'admin socket listening');

  let closed: Promise<void> | undefined;
  return {
    socketPath,
    close: () => (closed ??= closeServer(server, socketPath)),
  };
}

function listen(server: Server, socketPath: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException) => {
      server.off('listening', onListening);
      reject(error.code === 'EADDRINUSE' ? inUse(socketPath) : new AdminSocketError(`cannot listen on the admin socket ${socketPath}: ${error.message}`));
    };
    const onListening = () => {
      server.off('error', onError);
      resolve();
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen(socketPath);
  });
}

async function closeServer(server: Server, socketPath: string): Promise<void> {
  const done = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeAllConnections();
  await done;
  try {
    if ((await lstat(socketPath)).isSocket()) await unlink(socketPath);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
}

export interface AdminRequestDeps {
  router: Router<Handler>;
  service: AgentService;
  metrics: AgentMetrics;
  logger: Logger;
}

/**
 * Answers one request: route, body, handler, error mapping, metrics. Exported so the fuzzer drives
 * the real request handling in-process (it passes a stream as `req` and a recorder as `res`).
 */
export async function handleAdminRequest(req: IncomingMessage, res: ServerResponse, deps: AdminRequestDeps): Promise<void> {
  const method = req.method ?? 'GET';
  let route = 'unmatched';
  let status = 500;
  try {
    const { pathname, query } = splitTarget(req.url ?? '/');
    const match = matchRoute(deps.router, method, pathname);
    route = match.template;
    const result = await match.handler({
      params: match.params,
      query,
      readBody: () => readJsonBody(req),
      rawBody: req,
      service: deps.service,
      metrics: deps.metrics,
    });
    status = result.status;
    sendResult(res, result);
  } catch (error) {
    if (error instanceof ClientGoneError) {
      status = CLIENT_GONE_STATUS;
      deps.logger.debug({ method, path: req.url }, 'admin client hung up before sending its whole body');
      res.destroy();
      return;
    }
    const httpError = toHttpError(error, deps.logger, method, req.url);
    status = httpError.status;
    if (httpError.badRequestReason) {
      deps.metrics.badAdminRequests.inc({ reason: httpError.badRequestReason });
      deps.logger.info({ method, path: req.url, status, code: httpError.code, reason: httpError.badRequestReason }, 'admin request refused');
    }
    sendJson(res, httpError.status, httpError.body(), httpError.headers);
  } finally {
    deps.metrics.adminRequests.inc({ method, route, status: String(status) });
  }
}

/**
 * The path (still percent-encoded, as the router wants it) and the query of a request target. Split
 * by hand rather than with new URL(): a target such as "//x" would be taken for a host, and dot
 * segments would be resolved, so the route matched would not be the path the client sent.
 */
function splitTarget(target: string): { pathname: string; query: URLSearchParams } {
  const mark = target.indexOf('?');
  const pathname = mark < 0 ? target : target.slice(0, mark);
  if (!pathname.startsWith('/')) {
    throw new AdminHttpError('BAD_REQUEST', `request target ${JSON.stringify(target.slice(0, 200))} is not a path`, {}, 'invalid_path');
  }
  return { pathname, query: new URLSearchParams(mark < 0 ? '' : target.slice(mark + 1)) };
}

function matchRoute(router: Router<Handler>, method: string, pathname: string): { handler: Handler; template: string; params: Record<string, string> } {
  let result;
  try {
    result = router.match(method, pathname);
  } catch {
    throw new AdminHttpError('BAD_REQUEST', `malformed percent-encoding in path ${JSON.stringify(pathname)}`, {}, 'invalid_path');
  }
  if ('found' in result) return result.found;
  if ('methodNotAllowed' in result) {
    const allow = result.methodNotAllowed.join(', ');
    throw new AdminHttpError('METHOD_NOT_ALLOWED', `${method} is not allowed on ${pathname} (allowed: ${allow})`, { allowed: result.methodNotAllowed }, 'method_not_allowed', { allow });
  }
  throw new AdminHttpError('NOT_FOUND', `no such route: ${method} ${pathname} (the admin API lives under /v1/)`, {}, 'unknown_route');
}

function toHttpError(error: unknown, logger: Logger, method: string, path: string | undefined): AdminHttpError {
  if (error instanceof AdminHttpError) return error;
  logger.error({ err: error, method, path }, 'admin request failed');
  const message = error instanceof Error ? error.message : String(error);
  return new AdminHttpError('INTERNAL', `internal error: ${message} (details in the agent log)`);
}

function sendResult(res: ServerResponse, result: HandlerResult): void {
  if ('stream' in result) {
    res.writeHead(result.status, { 'content-type': result.contentType, 'cache-control': 'no-store' });
    result.stream({
      write: (line) => {
        if (res.destroyed || res.writableEnded) return false;
        res.write(line);
        return res.writableLength <= MAX_WATCH_BUFFER_BYTES;
      },
      end: () => res.end(),
      onClose: (listener) => res.once('close', listener),
    });
    return;
  }
  if ('text' in result) {
    res.writeHead(result.status, { 'content-type': result.contentType, 'content-length': Buffer.byteLength(result.text) });
    res.end(result.text);
    return;
  }
  sendJson(res, result.status, result.json, result.headers ?? {});
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string>): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const text = `${JSON.stringify(body)}\n`;
  res.writeHead(status, { ...headers, 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

