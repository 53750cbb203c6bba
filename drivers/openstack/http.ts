// HTTP for the OpenStack driver: undici requests with timeouts, bounded response sizes, errors turned
// into CloudErrors that carry service, method, path, status and the service's own message, and
// bounded retries (exponential backoff with jitter) on connection errors and 5xx, never on a 4xx.
import type { Readable } from 'node:stream';
import { request, type Dispatcher } from 'undici';
import { CloudError, cloudErrorForStatus, type CloudService } from '../errors.js';
import { withRetry, type RetryContext } from '../retry.js';
import { silentDriverLogger, type DriverLogger } from '../types.js';
import { parseErrorBody } from './error-body.js';

/** Largest JSON response read (a list page of images or flavors is far smaller). */
export const MAX_RESPONSE_BYTES = 32 << 20;
/** Largest error body read (the rest is dropped). */
export const MAX_ERROR_BODY_BYTES = 64 << 10;

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface HttpRequest {
  service: CloudService;
  method: HttpMethod;
  url: string;
  headers?: Record<string, string>;
  /** A JSON body (sent with Content-Type application/json unless headers say otherwise). */
  json?: unknown;
  /** A streamed body: sent once, never retried here (the stream cannot be replayed). */
  stream?: Readable;
  /** How long to wait for the response headers (for an upload: after the last byte is sent). */
  headersTimeoutMs?: number;
}

export interface HttpResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  /** Parsed JSON body, or undefined when the body was empty. */
  json: unknown;
}

/** A response whose body is handed over as a stream (image downloads), not read. */
export interface HttpStreamResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Readable;
}

export interface HttpClientOptions {
  dispatcher: Dispatcher;
  retry: RetryContext;
  requestTimeoutMs: number;
  logger?: DriverLogger;
}

const TIMEOUT_CODES = new Set(['UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'ETIMEDOUT']);
const CONNECTION_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
]);

/** Errors the HTTP layer retries at once: no answer, or a 5xx. */
export function isTransientHttpError(err: unknown): boolean {
  return err instanceof CloudError && (err.code === 'CONNECTION' || err.code === 'TIMEOUT' || err.code === 'UNAVAILABLE');
}

function pathOf(url: string): string {
  try {
    return new URL(url).pathname;
  } catch {
    return url;
  }
}

function errorCode(err: unknown): string {
  let e: unknown = err;
  for (let depth = 0; depth < 4 && typeof e === 'object' && e !== null; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && (TIMEOUT_CODES.has(code) || CONNECTION_CODES.has(code))) return code;
    e = (e as { cause?: unknown }).cause;
  }
  return typeof (err as { code?: unknown })?.code === 'string' ? (err as { code: string }).code : '';
}

function transportError(req: HttpRequest, err: unknown): CloudError {
  const code = errorCode(err);
  const timedOut = TIMEOUT_CODES.has(code);
  const known = timedOut || CONNECTION_CODES.has(code);
  const detail = (err as Error)?.message ?? String(err);
  return new CloudError({
    code: timedOut ? 'TIMEOUT' : 'CONNECTION',
    service: req.service,
    method: req.method,
    path: pathOf(req.url),
    status: 0,
    cloudMessage: '',
    retryable: known,
    message: `${req.service} ${req.method} ${pathOf(req.url)}: ${timedOut ? 'timed out' : 'no response'} (${code || 'error'}: ${detail})`,
    cause: err,
  });
}

async function readBounded(body: Readable, maxBytes: number): Promise<{ text: string; truncated: boolean }> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array);
    if (size + buf.length > maxBytes) {
      chunks.push(buf.subarray(0, maxBytes - size));
      // undici turns an early destroy into an 'error' event: nobody needs it.
      body.on('error', () => {});
      body.destroy();
      return { text: Buffer.concat(chunks).toString('utf8'), truncated: true };
    }
    chunks.push(buf);
    size += buf.length;
  }
  return { text: Buffer.concat(chunks).toString('utf8'), truncated: false };
}

export class HttpClient {
  private readonly logger: DriverLogger;

  constructor(private readonly options: HttpClientOptions) {
    this.logger = options.logger ?? silentDriverLogger;
  }

  /** One attempt. A non-2xx status becomes the matching CloudError. */
  async once(req: HttpRequest): Promise<HttpResponse> {
    const headers: Record<string, string> = { ...req.headers };
    let body: string | Readable | undefined;
    if (req.json !== undefined) {
      body = JSON.stringify(req.json);
      if (!Object.keys(headers).some((h) => h.toLowerCase() === 'content-type')) headers['Content-Type'] = 'application/json';
    } else if (req.stream !== undefined) {
      body = req.stream;
    }
    const res = await this.open(req, headers, body);
    let read: { text: string; truncated: boolean };
    try {
      read = await readBounded(res.body, MAX_RESPONSE_BYTES);
    } catch (err) {
      throw transportError(req, err);
    }
    const bad = (why: string) =>
      new CloudError({ code: 'BAD_RESPONSE', service: req.service, method: req.method, path: pathOf(req.url), status: res.statusCode, cloudMessage: '', retryable: false, message: `${req.service} ${req.method} ${pathOf(req.url)}: ${why}` });
    if (read.truncated) throw bad(`response larger than ${MAX_RESPONSE_BYTES} bytes`);
    let json: unknown;
    if (read.text.trim() !== '') {
      try {
        json = JSON.parse(read.text);
      } catch {
        throw bad(`response is not JSON: ${parseErrorBody(read.text).slice(0, 120)}`);
      }
    }
    return { status: res.statusCode, headers: res.headers, json };
  }

  /**
   * A request whose 2xx body is streamed to the caller (an image download; bodyTimeout: the longest
   * silence between two pieces). A non-2xx status becomes the matching CloudError. Not retried.
   */
  async openStream(req: Omit<HttpRequest, 'json' | 'stream'>): Promise<HttpStreamResponse> {
    const res = await this.open(req, { ...req.headers }, undefined);
    return { status: res.statusCode, headers: res.headers, body: res.body };
  }

  /** Sends the request and hands back a 2xx response unread; any other status is read (bounded) into its CloudError. */
  private async open(req: HttpRequest, headers: Record<string, string>, body: string | Readable | undefined): Promise<Dispatcher.ResponseData> {
    let res: Dispatcher.ResponseData;
    try {
      res = await request(req.url, {
        dispatcher: this.options.dispatcher,
        method: req.method,
        headers,
        body,
        headersTimeout: req.headersTimeoutMs ?? this.options.requestTimeoutMs,
        bodyTimeout: this.options.requestTimeoutMs,
      });
    } catch (err) {
      throw transportError(req, err);
    }
    if (res.statusCode < 200 || res.statusCode >= 300) {
      let text = '';
      try {
        text = (await readBounded(res.body, MAX_ERROR_BODY_BYTES)).text;
      } catch {
        // The message is a bonus; the status alone still says what happened.
      }
      throw cloudErrorForStatus({ service: req.service, method: req.method, path: pathOf(req.url), status: res.statusCode, cloudMessage: parseErrorBody(text) });
    }
    return res;
  }

  /** With retries on connection errors, timeouts and 5xx (a streamed body is never retried here). */
  async send(req: HttpRequest): Promise<HttpResponse> {
    if (req.stream !== undefined) return this.once(req);
    return withRetry(
      {
        ...this.options.retry,
        shouldRetry: isTransientHttpError,
        onRetry: (attempt, delayMs, err) => {
          this.logger.warn({ service: req.service, method: req.method, path: pathOf(req.url), attempt, delayMs, err: (err as Error).message }, 'retrying OpenStack request');
          this.options.retry.onRetry?.(attempt, delayMs, err);
        },
      },
      () => this.once(req),
    );
  }
}
