// Starts the admin server on a temporary socket with a FakeAgentService, and talks to it with undici.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'undici';
import { startAdminServer, type AdminServer } from '../../agent/admin/server.js';
import { createAgentMetrics, type AgentMetrics } from '../../agent/ops/metrics.js';
import { FakeAgentService } from './fake-service.js';

export interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json: any; // eslint-disable-line @typescript-eslint/no-explicit-any -- assertions read arbitrary fields
}

export interface AdminHarness {
  dir: string;
  socketPath: string;
  service: FakeAgentService;
  metrics: AgentMetrics;
  server: AdminServer;
  request(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<Reply>;
  /** Sends `raw` as the body text as is (for malformed JSON). */
  requestRaw(method: string, path: string, raw: string, headers: Record<string, string>): Promise<Reply>;
  close(): Promise<void>;
}

export async function tempDir(prefix: string): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
}

export async function startHarness(service = new FakeAgentService()): Promise<AdminHarness> {
  const dir = await tempDir('stackraft-admin-');
  const socketPath = join(dir, 'run', 'admin.sock');
  const metrics = createAgentMetrics({ processMetrics: false });
  const server = await startAdminServer({ socketPath, service, metrics });
  const client = new Client('http://localhost', { socketPath, headersTimeout: 10_000, bodyTimeout: 10_000 });

  async function send(method: string, path: string, body: string | undefined, headers: Record<string, string>): Promise<Reply> {
    const response = await client.request({ method: method as 'GET', path, headers, ...(body === undefined ? {} : { body }) });
    const text = await response.body.text();
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    return { status: response.statusCode, headers: response.headers, text, json };
  }

  return {
    dir,
    socketPath,
    service,
    metrics,
    server,
    request: (method, path, body, headers = {}) =>
      send(method, path, body === undefined ? undefined : JSON.stringify(body), body === undefined ? headers : { 'content-type': 'application/json', ...headers }),
    requestRaw: (method, path, raw, headers) => send(method, path, raw, headers),
    close: async () => {
      await client.close();
      await server.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** The value of one series in Prometheus text, e.g. metricValue(text, 'stackraft_admin_bad_requests_total', { reason: 'malformed_json' }). */
export function metricValue(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const match = /^([a-zA-Z_:][\w:]*)(\{(.*)\})? (.+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const present = Object.fromEntries([...(match[3] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
    if (Object.entries(labels).every(([k, v]) => present[k] === v)) return Number(match[4]);
  }
  return undefined;
}
