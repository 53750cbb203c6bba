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
  members: Array<{ site: string; role: 'voter' | 'learner'; live: boolean; matchIndex: number | null }>;
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
 * Sends a request with a chunked body of `bodyBytes` over a raw connection and returns the status
 * line and body of the answer. The agent may answer (and close) before the body is all sent, as it
 * should for a body over its limit; an HTTP client library would report that as a write error
 * (EPIPE) and drop the answer, so this reads whatever the agent sent before closing.
 */
export function rawChunkedRequest(socketPath: string, method: string, path: string, bodyBytes: number, timeoutMs = 10_000): Promise<{ statusLine: string; body: string }> {
  return new Promise((resolve, reject) => {
    const socket = connect(socketPath);
    let received = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer within ${timeoutMs} ms (received: ${JSON.stringify(received.slice(0, 200))})`));
    }, timeoutMs);
    const finish = (): void => {
      clearTimeout(timer);
      const [head, ...rest] = received.split('\r\n\r\n');
      if (!head) reject(new Error('the connection closed without an answer'));
      else resolve({ statusLine: head.split('\r\n')[0], body: rest.join('\r\n\r\n') });
    };
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (received += chunk));
    socket.on('close', finish);
    socket.on('error', () => undefined); // EPIPE / ECONNRESET once the agent closed: expected here.
    socket.on('connect', () => {
      socket.write(`${method} ${path} HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n`);
      const chunk = Buffer.alloc(64 * 1024, 'x');
      const writeChunks = (sent: number): void => {
        if (socket.destroyed || received.length > 0) return;
        if (sent >= bodyBytes) {
          socket.end('0\r\n\r\n');
          return;
        }
        const ok = socket.write(`${chunk.length.toString(16)}\r\n${chunk.toString()}\r\n`);
        if (ok) setImmediate(() => writeChunks(sent + chunk.length));
        else socket.once('drain', () => writeChunks(sent + chunk.length));
      };
      writeChunks(0);
    });
  });
}
