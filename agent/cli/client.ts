// The admin API client: HTTP/1.1 + JSON over the agent's Unix socket, with undici. Reads are sent
// once; a write carries a client id and sequence number and, if the connection fails after it was
// sent, is sent once more with the same ids (the catalog applies it at most once).
import { randomUUID } from 'node:crypto';
import { Client } from 'undici';
import { writeIdOf } from '../catalog/write-id.js';
import { ApiError, CliError, EXIT } from './errors.js';

export const DEFAULT_SOCKET_PATH = '/run/stackraft/admin.sock';
/** How long a write may wait for its outcome at the agent, unless --timeout says otherwise. */
export const DEFAULT_WRITE_TIMEOUT_MS = 30_000;
/** The agent answers a write within its timeout; the client allows this much more before giving up. */
const CLIENT_TIMEOUT_MARGIN_MS = 10_000;
const CONNECT_TIMEOUT_MS = 5_000;
/** Answers bigger than this are not the agent's (a list of every resource stays well below). */
const MAX_RESPONSE_BYTES = 64 * 1024 * 1024;

/** Error codes meaning the request never left: nothing was sent, so nothing can have been applied. */
const NOT_SENT_CODES = new Set(['ENOENT', 'ECONNREFUSED', 'EACCES', 'ENOTSOCK', 'ENOTDIR', 'EPERM', 'UND_ERR_CONNECT_TIMEOUT']);
const TIMEOUT_CODES = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);
const RUNNING_HINT = 'is stackraft-agent running? (systemctl status stackraft-agent)';

/** Who asks and why, sent with every write (the agent keeps it in the audit ring). */
export interface WriteAudit {
  operator?: string;
  host?: string;
  reason?: string;
}

export interface WriteIds {
  clientId: string;
  seq: number;
}

/** The connection failed after the request may have reached the agent. */
class ConnectionLost extends Error {
  constructor(override readonly cause: NodeJS.ErrnoException) {
    super(cause.message);
  }
}

export class AdminClient {
  private readonly client: Client;
  /** One client id per CLI run; each write takes the next sequence number. */
  private readonly clientId = `cli-${randomUUID()}`;
  private seq = 0;

  constructor(
    readonly socketPath: string,
    private readonly writeTimeoutMs = DEFAULT_WRITE_TIMEOUT_MS,
    private readonly onRetry: (message: string) => void = () => {},
    private readonly audit: WriteAudit = {},
  ) {
    const timeout = writeTimeoutMs + CLIENT_TIMEOUT_MARGIN_MS;
    this.client = new Client('http://localhost', {
      socketPath,
      headersTimeout: timeout,
      bodyTimeout: timeout,
      connect: { timeout: CONNECT_TIMEOUT_MS },
    });
  }

  get<T>(path: string): Promise<T> {
    return this.send<T>('GET', path, undefined).catch((error) => {
      throw this.describeFailure(error, undefined);
    });
  }

  /** Sends a write; the body gets clientId, seq and timeoutMs. Retries once if the connection is lost. */
  async write<T>(method: 'PUT' | 'PATCH' | 'DELETE' | 'POST', path: string, body: Record<string, unknown> = {}): Promise<T> {
    const ids = this.nextWriteIds();
    const payload = { ...definedOnly(this.audit), ...body, ...ids, timeoutMs: this.writeTimeoutMs };
    try {
      return await this.send<T>(method, path, payload);
    } catch (error) {
      if (!(error instanceof ConnectionLost)) throw this.describeFailure(error, ids);
      this.onRetry(`the connection to the agent was lost (${error.message}); sending the write again with the same write id`);
    }
    try {
      return await this.send<T>(method, path, payload);
    } catch (error) {
      // The first attempt was sent: whatever happens now, it may have been applied.
      if (error instanceof ApiError) throw error;
      throw unknownOutcome(ids, error instanceof ConnectionLost ? error.cause : (error as Error));
    }
  }

  /** Leader transfer and other operations that are not catalog writes: no exactly-once ids, no retry. */
  async post<T>(path: string, body: Record<string, unknown>): Promise<T> {
    try {
      return await this.send<T>('POST', path, body);
    } catch (error) {
      throw this.describeFailure(error, undefined);
    }
  }

  /**
   * A streamed GET (newline-delimited JSON): each line parsed and handed to `onLine`, for as long as
   * the agent keeps the stream open (no body timeout: a quiet watch is not a dead one). An error
   * answer before the stream starts is thrown as ApiError.
   */
  async stream(path: string, onLine: (value: unknown) => void, maxLineBytes = MAX_RESPONSE_BYTES): Promise<void> {
    let response;
    try {
      response = await this.client.request({ method: 'GET', path, headers: { accept: 'application/x-ndjson' }, bodyTimeout: 0 });
    } catch (error) {
      throw this.describeFailure(classify(error as NodeJS.ErrnoException), undefined);
    }
    if (response.statusCode < 200 || response.statusCode >= 300) {
      throw apiErrorOf(response.statusCode, parseJson(await readLimited(response.body)), 'GET', path);
    }
    let pending = '';
    try {
      for await (const chunk of response.body) {
        pending += (chunk as Buffer).toString('utf8');
        let newline: number;
        while ((newline = pending.indexOf('\n')) >= 0) {
          const line = pending.slice(0, newline);
          pending = pending.slice(newline + 1);
          if (line.trim() !== '') onLine(JSON.parse(line));
        }
        if (pending.length > maxLineBytes) throw new CliError(`a line of the agent's stream is longer than ${maxLineBytes} bytes`, EXIT.UNEXPECTED);
      }
    } catch (error) {
      if (error instanceof CliError || error instanceof SyntaxError) throw error;
      throw this.describeFailure(classify(error as NodeJS.ErrnoException), undefined);
    }
  }

  /** A raw body (a blob upload part): sent once, never retried (the agent refuses a part out of order). */
  async putBytes<T>(path: string, bytes: Uint8Array): Promise<T> {
    let response;
    try {
      response = await this.client.request({ method: 'PUT', path, headers: { accept: 'application/json', 'content-type': 'application/octet-stream' }, body: bytes });
    } catch (error) {
      throw this.describeFailure(classify(error as NodeJS.ErrnoException), undefined);
    }
    const parsed = parseJson(await readLimited(response.body));
    if (response.statusCode >= 200 && response.statusCode < 300) return parsed as T;
    throw apiErrorOf(response.statusCode, parsed, 'PUT', path);
  }

  /** A DELETE that is not a catalog write (abandoning an upload). */
  async deleteOther<T>(path: string): Promise<T> {
    try {
      return await this.send<T>('DELETE', path, undefined);
    } catch (error) {
      throw this.describeFailure(error, undefined);
    }
  }

  async close(): Promise<void> {
    await this.client.close().catch(() => undefined);
  }

  private nextWriteIds(): WriteIds {
    this.seq += 1;
    return { clientId: this.clientId, seq: this.seq };
  }

  private async send<T>(method: string, path: string, body: unknown): Promise<T> {
    let response;
    try {
      response = await this.client.request({
        method: method as 'GET',
        path,
        headers: body === undefined ? { accept: 'application/json' } : { accept: 'application/json', 'content-type': 'application/json' },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    } catch (error) {
      throw classify(error as NodeJS.ErrnoException);
    }
    const text = await readLimited(response.body);
    const parsed = parseJson(text);
    if (response.statusCode >= 200 && response.statusCode < 300) {
      if (parsed === undefined) throw new CliError(`the agent answered ${method} ${path} with something that is not JSON`, EXIT.UNEXPECTED);
      return parsed as T;
    }
    throw apiErrorOf(response.statusCode, parsed, method, path);
  }

  private describeFailure(error: unknown, ids: WriteIds | undefined): Error {
    if (error instanceof CliError) return error;
    if (error instanceof ConnectionLost) {
      return ids ? unknownOutcome(ids, error.cause) : this.unreachable(error.cause);
    }
    const code = (error as NodeJS.ErrnoException).code ?? '';
    if (TIMEOUT_CODES.has(code)) {
      if (ids) return unknownOutcome(ids, error as Error);
      return new CliError(`the agent at ${this.socketPath} did not answer in time`, EXIT.UNEXPECTED, 'see `systemctl status stackraft-agent` and the agent log (journalctl -u stackraft-agent).');
    }
    if (NOT_SENT_CODES.has(code)) return this.unreachable(error as NodeJS.ErrnoException);
    return error as Error;
  }

  private unreachable(error: NodeJS.ErrnoException): CliError {
    const path = this.socketPath;
    switch (error.code) {
      case 'EACCES':
      case 'EPERM':
        return new CliError(`permission denied on the agent's socket ${path}`, EXIT.UNEXPECTED, 'run as root, or as a member of the stackraft group.');
      case 'ENOENT':
        return new CliError(`cannot reach the agent at ${path} (no such socket): ${RUNNING_HINT}`, EXIT.UNEXPECTED, 'use --socket PATH or STACKRAFT_SOCKET if the agent listens elsewhere.');
      case 'ECONNREFUSED':
        return new CliError(`cannot reach the agent at ${path} (connection refused): ${RUNNING_HINT}`, EXIT.UNEXPECTED);
      default:
        return new CliError(`cannot reach the agent at ${path} (${error.message}): ${RUNNING_HINT}`, EXIT.UNEXPECTED);
    }
  }
}

function classify(error: NodeJS.ErrnoException): Error {
  const code = error.code ?? '';
  if (NOT_SENT_CODES.has(code) || TIMEOUT_CODES.has(code)) return error;
  // EPIPE, ECONNRESET, UND_ERR_SOCKET ("other side closed"): the request may have reached the agent.
  return new ConnectionLost(error);
}

function unknownOutcome(ids: WriteIds, cause: Error): CliError {
  const writeId = writeIdOf(ids.clientId, ids.seq);
  return new CliError(
    `lost contact with the agent after sending the write (${cause.message}): its outcome is unknown`,
    EXIT.UNKNOWN,
    `the write may still commit. Check with: stackraft write show ${writeId}`,
  );
}

async function readLimited(body: AsyncIterable<Buffer>): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.length;
    if (size > MAX_RESPONSE_BYTES) throw new CliError(`the agent's answer is larger than ${MAX_RESPONSE_BYTES} bytes`, EXIT.UNEXPECTED);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function apiErrorOf(status: number, parsed: unknown, method: string, path: string): ApiError {
  const error = (parsed as { error?: Record<string, unknown> } | undefined)?.error;
  if (!error || typeof error.code !== 'string') {
    return new ApiError(status, status >= 500 ? 'INTERNAL' : 'BAD_REQUEST', `the agent answered ${method} ${path} with HTTP ${status} and no error details`, {});
  }
  const { code, message, ...details } = error;
  return new ApiError(status, code, typeof message === 'string' ? message : code, details);
}

function definedOnly(audit: WriteAudit): WriteAudit {
  return Object.fromEntries(Object.entries(audit).filter(([, value]) => value !== undefined));
}
