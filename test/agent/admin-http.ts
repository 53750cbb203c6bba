// Raw HTTP over an agent's admin socket (undici, keep-alive): every answer comes back as status
// plus parsed JSON, errors included, so tests can assert on the exact error body.
import { randomUUID } from 'node:crypto';
import { connect } from 'node:net';
import { Client } from 'undici';

/** Bound of one admin request; a write's own timeout (timeoutMs in the body) is far below it. */
export const ADMIN_REQUEST_TIMEOUT_MS = 30_000;

export interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  /** Parsed body; undefined when it is not JSON. */
  json: any; // eslint-disable-line @typescript-eslint/no-explicit-any -- assertions read arbitrary fields
}

export class AdminHttp {
  private readonly client: Client;
  /** Exactly-once ids of this caller's writes (a real client keeps one id and counts). */
  private readonly clientId = `e2e-${randomUUID()}`;
  private seq = 0;

  constructor(readonly socketPath: string) {
    this.client = new Client('http://localhost', {
      socketPath,
      headersTimeout: ADMIN_REQUEST_TIMEOUT_MS,
      bodyTimeout: ADMIN_REQUEST_TIMEOUT_MS,
      connect: { timeout: 5_000 },
    });
  }

  /** Sends `body` as JSON (none when undefined). */
  request(method: string, path: string, body?: unknown): Promise<Reply> {
    return body === undefined
      ? this.send(method, path, undefined, { accept: 'application/json' })
      : this.send(method, path, JSON.stringify(body), { 'content-type': 'application/json' });
  }

  /** Sends `raw` as the body as is, with the given headers (malformed JSON, wrong content type...). */
  requestRaw(method: string, path: string, raw: string | Buffer, headers: Record<string, string>): Promise<Reply> {
    return this.send(method, path, raw, headers);
  }

  /** A catalog write with this caller's client id and the next sequence number. */
  write(method: 'PUT' | 'PATCH' | 'DELETE' | 'POST', path: string, body: Record<string, unknown>, timeoutMs = 10_000): Promise<Reply> {
    this.seq += 1;
    return this.request(method, path, { ...body, clientId: this.clientId, seq: this.seq, timeoutMs });
  }

  async status(): Promise<StatusView> {
    const reply = await this.request('GET', '/v1/status');
    if (reply.status !== 200) throw new Error(`GET /v1/status on ${this.socketPath}: HTTP ${reply.status} ${reply.text}`);
    return reply.json as StatusView;
  }

  async metrics(): Promise<string> {
    const reply = await this.request('GET', '/metrics');
    if (reply.status !== 200) throw new Error(`GET /metrics on ${this.socketPath}: HTTP ${reply.status}`);
    return reply.text;
  }

  async close(): Promise<void> {
    await this.client.close().catch(() => undefined);
  }

  private async send(method: string, path: string, body: string | Buffer | undefined, headers: Record<string, string>): Promise<Reply> {
    const response = await this.client.request({ method: method as 'GET', path, headers, ...(body === undefined ? {} : { body }) });
    const text = await response.body.text();
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    return { status: response.statusCode, headers: response.headers, text, json };
  }
}

/** The fields of GET /v1/status the tests read. */
export interface StatusView {
  site: string;
  role: string;
  term: number;
  leader: string | null;
  commitIndex: number;
  appliedIndex: number;
  members: Array<{ site: string; role: 'voter' | 'learner'; live: boolean; matchIndex: number | null; relay?: string }>;
}

/** The value of one series in Prometheus text (labels matched as given), undefined when absent. */
export function metricValue(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const match = /^([a-zA-Z_:][\w:]*)(\{(.*)\})? (\S+)/.exec(line);
    if (!match || match[1] !== name) continue;
    const present = Object.fromEntries([...(match[3] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
    if (Object.entries(labels).every(([k, v]) => present[k] === v)) return Number(match[4]);
  }
  return undefined;
}

/** The sum of every series of a metric, whatever its labels (0 when it has none). */
export function metricTotal(text: string, name: string): number {
  let total = 0;
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][\w:]*)(\{.*\})? (\S+)/.exec(line);
    if (match && match[1] === name) total += Number(match[3]);
  }
  return total;
}

/**
 * Writes `request` (raw HTTP/1.1 bytes, possibly an incomplete body) on a new connection, writes
 * nothing more, and returns the answer's status line and body. For bodies over the agent's limit:
 * the agent must answer without waiting for the rest, which never comes. (An HTTP client library
 * that keeps sending would hit EPIPE once the agent closes, and lose the answer.)
 */
export function rawExchange(socketPath: string, request: Buffer, timeoutMs = 10_000): Promise<{ statusLine: string; body: string }> {
  return new Promise((resolve, reject) => {
    const socket = connect(socketPath);
    let received = Buffer.alloc(0);
    let settled = false;
    const settle = (error: Error | null): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      const text = received.toString('utf8');
      const at = text.indexOf('\r\n\r\n');
      if (error) reject(error);
      else if (at < 0) reject(new Error(`no complete answer (received: ${JSON.stringify(text.slice(0, 200))})`));
      else resolve({ statusLine: text.slice(0, text.indexOf('\r\n')), body: text.slice(at + 4) });
    };
    const timer = setTimeout(() => settle(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      if (answerComplete(received)) settle(null);
    });
    socket.on('close', () => settle(null));
    // Writing the rest of an over-limit body may fail once the agent has answered and closed.
    socket.on('error', (err) => settle(received.indexOf('\r\n\r\n') >= 0 ? null : err));
    socket.on('connect', () => socket.write(request));
  });
}

/** True once `data` holds a whole answer with a Content-Length. */
function answerComplete(data: Buffer): boolean {
  const text = data.toString('latin1');
  const at = text.indexOf('\r\n\r\n');
  if (at < 0) return false;
  const length = /\r\ncontent-length:\s*(\d+)/i.exec(text.slice(0, at));
  return length !== null && data.length - (at + 4) >= Number(length[1]);
}
