// The mock cloud over HTTP (node:http on 127.0.0.1), for the dev cluster, demos and driver tests:
// OpenStack's own REST paths and JSON shapes under devstack-style prefixes, backed by the in-memory
// model. The real OpenStack driver talks to it exactly as it talks to a cloud.
//
//   /identity[/v3], /compute[/v2.1], /image, /volume[/v3]  version discovery (no token needed)
//   /identity/v3/auth/tokens                         Keystone (password, application credential; validate)
//   /identity/v3/projects[/{id}]                     Keystone projects (for clients that look names up)
//   /image/v2/images[/{id}[/file]]                   Glance
//   /compute/v2.1/flavors..., /os-quota-sets/{p}     Nova
//   /volume/v3/{admin project}/os-quota-sets/{p}     Cinder
//   /networking/v2.0/quotas/{p}                      Neutron (only with `withNetwork`)
import { createHash } from 'node:crypto';
import { createServer, ServerResponse, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { FaultInjector, type FaultConfig } from './faults.js';
import { CloudModel } from './memory/model.js';
import { failureOf, sendError, type RequestInfo, type Route } from './mock/http-kit.js';
import { glanceRoutes, ImageBits, type ImageDownloadPace } from './mock/glance.js';
import { discoveryRoutes } from './mock/discovery.js';
import { identityRoutes, TokenStore, type MockApplicationCredential, type MockUser } from './mock/identity.js';
import { novaRoutes } from './mock/nova.js';
import { cinderRoutes, neutronRoutes } from './mock/quota-routes.js';
import { realSleep, type Sleep } from './types.js';
import type { CloudService } from './errors.js';

/** Requests remembered for inspection; the oldest are dropped first. */
export const MAX_REQUEST_LOG = 10_000;

/** Keystone-style project id (32 hex digits) derived from a name, so it is stable across runs. */
export function mockProjectId(name: string): string {
  return createHash('md5').update(`stackraft-mock-project:${name}`).digest('hex');
}

export interface MockCloudOptions {
  /** 0 (default) picks a free port. */
  port?: number;
  host?: string;
  /** Share the model with a MemoryCloud (or keep it across restarts); default: a fresh one. */
  model?: CloudModel;
  users?: MockUser[];
  applicationCredentials?: MockApplicationCredential[];
  tokenTtlMs?: number;
  regionName?: string;
  /** Serve Neutron quotas and list a network endpoint (off by default, like the lab). */
  withNetwork?: boolean;
  /** Faults applied to every request except Keystone's. */
  faults?: Partial<FaultConfig>;
  random?: () => number;
  sleep?: Sleep;
  now?: () => number;
}

export interface RequestLogEntry {
  service: CloudService | 'unknown';
  method: string;
  path: string;
  /** 0 when the connection was dropped without an answer. */
  status: number;
  /** Request headers (the token redacted). */
  headers: IncomingMessage['headers'];
}

export interface MockCloud {
  /** http://127.0.0.1:port */
  url: string;
  /** Keystone v3 URL for OS_AUTH_URL / clouds.yaml. */
  authUrl: string;
  regionName: string;
  adminProjectId: string;
  serviceProjectId: string;
  model: CloudModel;
  faults: FaultInjector;
  /** How image downloads are served (slow, cut midway); change it while the mock runs. */
  imageDownloads: ImageDownloadPace;
  tokens: TokenStore;
  /** Every request, in arrival order (bounded by MAX_REQUEST_LOG). */
  requests: RequestLogEntry[];
  /** OS_* variables that point a client at this mock as admin. */
  env(): Record<string, string>;
  close(): Promise<void>;
}

export async function startMockCloud(options: MockCloudOptions = {}): Promise<MockCloud> {
  const host = options.host ?? '127.0.0.1';
  const now = options.now ?? Date.now;
  const regionName = options.regionName ?? 'RegionOne';
  const adminProjectId = mockProjectId('admin');
  const serviceProjectId = mockProjectId('service');
  const model = options.model ?? new CloudModel({ now, requireKnownProjects: true });
  model.addProject(adminProjectId, 'admin');
  model.addProject(serviceProjectId, 'service');
  const users = options.users ?? [{ id: mockProjectId('user:admin'), name: 'admin', password: 'admin' }];
  const sleep = options.sleep ?? realSleep;
  const faults = new FaultInjector(options.random ?? Math.random, sleep, options.faults);
  const tokens = new TokenStore();
  const requests: RequestLogEntry[] = [];
  const imageDownloads: ImageDownloadPace = { bytesPerSecond: null, failAfterBytes: null };
  let baseUrl = '';

  const catalog = (projectId: string) => {
    const endpoints = (url: string) => ['public', 'internal', 'admin'].map((iface) => ({ id: `${iface}-${url}`, interface: iface, region: regionName, region_id: regionName, url }));
    const services = [
      { type: 'identity', name: 'keystone', endpoints: endpoints(`${baseUrl}/identity/v3`) },
      { type: 'image', name: 'glance', endpoints: endpoints(`${baseUrl}/image`) },
      { type: 'compute', name: 'nova', endpoints: endpoints(`${baseUrl}/compute/v2.1`) },
      { type: 'volumev3', name: 'cinderv3', endpoints: endpoints(`${baseUrl}/volume/v3/${projectId}`) },
      { type: 'block-storage', name: 'cinder', endpoints: endpoints(`${baseUrl}/volume/v3/${projectId}`) },
    ];
    if (options.withNetwork) services.push({ type: 'network', name: 'neutron', endpoints: endpoints(`${baseUrl}/networking`) });
    return services.map((s, i) => ({ ...s, id: `svc${i}` }));
  };

  const routes: Route[] = [
    ...identityRoutes(
      {
        users,
        applicationCredentials: options.applicationCredentials ?? [],
        projectName: (id) => model.projectName(id),
        projectIdByName: (name) => model.projectIdByName(name),
        tokenTtlMs: options.tokenTtlMs ?? 3_600_000,
        now,
        catalog,
        projects: () => model.listProjects(),
      },
      tokens,
      () => baseUrl,
    ),
    ...discoveryRoutes(() => baseUrl),
    ...glanceRoutes(model, new ImageBits(), imageDownloads),
    ...novaRoutes(model, () => baseUrl),
    ...cinderRoutes(model),
    ...(options.withNetwork ? neutronRoutes(model) : []),
  ];

  const log = (entry: RequestLogEntry) => {
    if (requests.length >= MAX_REQUEST_LOG) requests.shift();
    requests.push(entry);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://mock');
    const method = req.method ?? 'GET';
    const onPath = routes.filter((r) => r.pattern.test(url.pathname));
    const matched = onPath.find((r) => r.method === method);
    const first: Route | undefined = onPath[0];
    const service: CloudService | undefined = matched?.service ?? first?.service;
    const headers = { ...req.headers };
    if (headers['x-auth-token'] !== undefined) headers['x-auth-token'] = '(redacted)';
    const entry: RequestLogEntry = { service: service ?? 'unknown', method, path: url.pathname, status: 0, headers };
    log(entry);
    res.on('finish', () => {
      entry.status = res.statusCode;
    });
    const acceptsJson = (req.headers.accept ?? '').includes('application/json');
    const errorService: CloudService = service ?? 'compute';
    if (matched === undefined) {
      sendError(res, errorService, onPath.length > 0 ? 405 : 404, onPath.length > 0 ? 'The method is not allowed for the requested URL.' : 'The resource could not be found.', acceptsJson);
      return;
    }
    const info: RequestInfo = { req, res, method, path: url.pathname, query: url.searchParams, params: matched.pattern.exec(url.pathname)!.slice(1), projectId: '' };
    if (matched.auth) {
      const header = req.headers['x-auth-token'];
      const token = tokens.check(typeof header === 'string' ? header : undefined, now());
      if (token === undefined) {
        // keystonemiddleware answers for Nova, Cinder and Neutron; Glance in its own shape.
        sendError(res, matched.service === 'image' ? 'image' : 'identity', 401, 'The request you have made requires authentication.', acceptsJson, { 'WWW-Authenticate': `Keystone uri="${baseUrl}/identity"` });
        return;
      }
      info.projectId = token.projectId;
    }
    try {
      if (matched.service !== 'identity') {
        const delay = faults.latency();
        if (delay > 0) await sleep(delay);
        const fault = faults.nextFault(matched.write);
        if (fault === 'error') return sendError(res, matched.service, 503, 'Service Unavailable (injected fault)', acceptsJson);
        if (fault === 'conflict') return sendError(res, matched.service, 409, 'The resource is being changed by another request (injected fault)', acceptsJson);
        if (fault === 'timeoutBeforeApply' || fault === 'timeoutAfterApply') {
          if (fault === 'timeoutAfterApply') {
            // Applied, but the answer goes nowhere: the client sees a dead connection.
            await Promise.resolve(matched.handler({ ...info, res: new ServerResponse(req) })).catch(() => {});
          }
          await sleep(faults.current().timeoutMs);
          res.destroy();
          return;
        }
      }
      await matched.handler(info);
    } catch (err) {
      const { status, message } = failureOf(err);
      sendError(res, matched.service, status, message, acceptsJson);
    }
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      res.destroy(err instanceof Error ? err : undefined);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  baseUrl = `http://${host}:${port}`;

  return {
    url: baseUrl,
    authUrl: `${baseUrl}/identity/v3`,
    regionName,
    adminProjectId,
    serviceProjectId,
    model,
    faults,
    imageDownloads,
    tokens,
    requests,
    env: () => ({
      OS_AUTH_URL: `${baseUrl}/identity/v3`,
      OS_IDENTITY_API_VERSION: '3',
      OS_USERNAME: users[0]?.name ?? 'admin',
      OS_PASSWORD: users[0]?.password ?? 'admin',
      OS_PROJECT_NAME: 'admin',
      OS_USER_DOMAIN_NAME: 'Default',
      OS_PROJECT_DOMAIN_NAME: 'Default',
      OS_REGION_NAME: regionName,
    }),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
