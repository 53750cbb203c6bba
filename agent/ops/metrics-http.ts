// The Prometheus scrape endpoint (config `metrics.listen: host:port`): GET /metrics only. The same
// text is always on the admin socket; this exists because Prometheus cannot scrape a Unix socket.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { silentLogger, type Logger } from '../../consensus/ports.js';

export const PROMETHEUS_TEXT_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';
/** A scraper needs a handful of connections at most. */
const MAX_SCRAPE_CONNECTIONS = 16;
const SCRAPE_HEADERS_TIMEOUT_MS = 5_000;

export interface MetricsHttpServer {
  /** The bound address (the port is the real one when 0 was asked). */
  readonly host: string;
  readonly port: number;
  close(): Promise<void>;
}

/** Splits `host:port` / `[v6]:port` (as validated by the config schema). */
export function parseHostPort(text: string): { host: string; port: number } {
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([^:]+)):(\d{1,5})$/.exec(text);
  if (!match) throw new Error(`expected host:port, got ${JSON.stringify(text)}`);
  return { host: match[1] ?? match[2], port: Number(match[3]) };
}

export async function startMetricsHttpServer(options: { listen: string; metrics: () => Promise<string>; logger?: Logger }): Promise<MetricsHttpServer> {
  const logger = options.logger ?? silentLogger;
  const { host, port } = parseHostPort(options.listen);
  const server: Server = createServer({ headersTimeout: SCRAPE_HEADERS_TIMEOUT_MS, requestTimeout: SCRAPE_HEADERS_TIMEOUT_MS }, (req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('not found: metrics are at /metrics\n');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain; charset=utf-8' }).end('method not allowed\n');
      return;
    }
    options.metrics().then(
      (text) => {
        res.writeHead(200, { 'content-type': PROMETHEUS_TEXT_CONTENT_TYPE, 'content-length': Buffer.byteLength(text) });
        res.end(req.method === 'HEAD' ? undefined : text);
      },
      (error: unknown) => {
        logger.error({ err: error }, 'collecting metrics failed');
        res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' }).end('collecting metrics failed: see the agent log\n');
      },
    );
  });
  server.maxConnections = MAX_SCRAPE_CONNECTIONS;
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => reject(new Error(`cannot listen for metrics on ${options.listen}: ${error.message}`)));
    server.listen(port, host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  logger.info({ listen: `${address.address}:${address.port}` }, 'metrics endpoint listening');
  let closed: Promise<void> | undefined;
  return {
    host: address.address,
    port: address.port,
    close: () =>
      (closed ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      })),
  };
}
