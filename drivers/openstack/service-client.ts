// Authenticated requests to one OpenStack service endpoint: the token goes on every request, a 401
// makes the session authenticate again and the request is repeated once.
import type { Readable } from 'node:stream';
import { CloudError, type CloudService } from '../errors.js';
import type { HttpClient, HttpMethod, HttpResponse, HttpStreamResponse } from './http.js';
import type { KeystoneSession } from './keystone.js';

export interface ServiceRequest {
  json?: unknown;
  stream?: Readable;
  headers?: Record<string, string>;
  query?: Record<string, string>;
  headersTimeoutMs?: number;
}

export class ServiceClient {
  constructor(
    private readonly http: HttpClient,
    private readonly session: KeystoneSession,
    readonly service: CloudService,
    /** Endpoint URL without a trailing slash. */
    readonly baseUrl: string,
    private readonly defaultHeaders: Record<string, string> = {},
  ) {}

  url(path: string, query?: Record<string, string>): string {
    const qs = query === undefined ? '' : `?${new URLSearchParams(query).toString()}`;
    return `${this.baseUrl}${path}${qs}`;
  }

  async request(method: HttpMethod, path: string, req: ServiceRequest = {}): Promise<HttpResponse> {
    const send = async () => {
      const token = await this.session.token();
      try {
        return await this.http.send({
          service: this.service,
          method,
          url: this.url(path, req.query),
          headers: { Accept: 'application/json', ...this.defaultHeaders, ...req.headers, 'X-Auth-Token': token.value },
          json: req.json,
          stream: req.stream,
          headersTimeoutMs: req.headersTimeoutMs,
        });
      } catch (err) {
        if (err instanceof CloudError && err.code === 'UNAUTHORIZED') this.session.invalidate(token.value);
        throw err;
      }
    };
    try {
      return await send();
    } catch (err) {
      if (!(err instanceof CloudError) || err.code !== 'UNAUTHORIZED') throw err;
      if (req.stream !== undefined) {
        // The stream is spent: let the caller (the image transfer) start over with a new token.
        throw new CloudError({ code: 'UNAUTHORIZED', service: err.service, method: err.method, path: err.path, status: 401, cloudMessage: err.cloudMessage, retryable: true, message: `${err.message} (token renewed; retry the upload)` });
      }
      return send();
    }
  }

  /** A GET whose body is streamed (an image download); a 401 renews the token and opens it once more. */
  async openStream(path: string, headers: Record<string, string> = {}): Promise<HttpStreamResponse> {
    const open = async () => {
      const token = await this.session.token();
      try {
        return await this.http.openStream({ service: this.service, method: 'GET', url: this.url(path), headers: { ...this.defaultHeaders, ...headers, 'X-Auth-Token': token.value } });
      } catch (err) {
        if (err instanceof CloudError && err.code === 'UNAUTHORIZED') this.session.invalidate(token.value);
        throw err;
      }
    };
    try {
      return await open();
    } catch (err) {
      if (!(err instanceof CloudError) || err.code !== 'UNAUTHORIZED') throw err;
      return open();
    }
  }
}
