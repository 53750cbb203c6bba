// Opens an image's source URL with undici (redirects followed) and hands back the body as a stream.
import type { Readable } from 'node:stream';
import { request, type Dispatcher } from 'undici';
import { CloudError, cloudErrorForStatus } from '../errors.js';
import { safeUrlPath } from '../digest-gate.js';
import type { SourceFetcher } from '../image-transfer.js';

export interface SourceFetchOptions {
  /** Waiting for the source's response headers. */
  headersTimeoutMs: number;
  /** Longest silence between two chunks of the body. */
  idleTimeoutMs: number;
}

export function undiciSourceFetcher(dispatcher: Dispatcher, options: SourceFetchOptions): SourceFetcher {
  return async (source): Promise<Readable> => {
    const path = safeUrlPath(source.url);
    let res: Dispatcher.ResponseData;
    try {
      res = await request(source.url, {
        dispatcher,
        method: 'GET',
        headersTimeout: options.headersTimeoutMs,
        bodyTimeout: options.idleTimeoutMs,
      });
    } catch (err) {
      throw new CloudError({
        code: 'CONNECTION',
        service: 'source',
        method: 'GET',
        path,
        status: 0,
        cloudMessage: '',
        retryable: true,
        message: `image source ${path}: no response (${(err as Error).message})`,
        cause: err,
      });
    }
    if (res.statusCode !== 200) {
      // Drop the error page (undici reports an early destroy as an 'error' event: ignore it).
      res.body.on('error', () => {});
      res.body.destroy();
      throw cloudErrorForStatus({ service: 'source', method: 'GET', path, status: res.statusCode, cloudMessage: `image source answered ${res.statusCode}` });
    }
    return res.body;
  };
}
