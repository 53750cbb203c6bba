// Cinder v3 (/volume/v3/{admin project}/os-quota-sets/{project}) and Neutron v2.0
// (/networking/v2.0/quotas/{project}) quota sets of the mock cloud.
import type { CloudModel } from '../memory/model.js';
import { HttpFailure, pathParam, readJson, route, sendJson, type RequestInfo, type Route } from './http-kit.js';

function body(value: unknown, key: string): Record<string, number> {
  const set = (value as Record<string, unknown> | null)?.[key];
  if (typeof set !== 'object' || set === null || Array.isArray(set)) throw new HttpFailure(400, `Missing required element '${key}' in request body.`);
  return set as Record<string, number>;
}

/** Keys Cinder accepts in a quota-set body and ignores (cinderclient sends tenant_id). */
const CINDER_NON_QUOTA_KEYS = ['tenant_id', 'id'];

/** Cinder refuses a URL whose project is not the token's. */
function checkUrlProject(r: RequestInfo): void {
  if (r.params[0] !== r.projectId) throw new HttpFailure(400, 'Malformed request url');
}

export function cinderRoutes(model: CloudModel): Route[] {
  const path = /^\/volume\/v3\/([^/]+)\/os-quota-sets\/([^/]+)$/;
  const project = (r: RequestInfo) => pathParam(r, 1);
  return [
    route('GET', path, 'volume', (r) => {
      checkUrlProject(r);
      sendJson(r.res, 200, { quota_set: { ...model.volumeQuotas.get(project(r)), id: project(r) } });
    }),
    route('PUT', path, 'volume', async (r) => {
      checkUrlProject(r);
      const set = body(await readJson(r), 'quota_set');
      for (const key of CINDER_NON_QUOTA_KEYS) delete set[key];
      sendJson(r.res, 200, { quota_set: model.volumeQuotas.set(project(r), set) });
    }),
    route('DELETE', path, 'volume', (r) => {
      checkUrlProject(r);
      model.volumeQuotas.reset(project(r));
      r.res.writeHead(200, { 'Content-Length': '0' }).end();
    }),
  ];
}

export function neutronRoutes(model: CloudModel): Route[] {
  const path = /^\/networking\/v2\.0\/quotas\/([^/]+)$/;
  const project = (r: RequestInfo) => pathParam(r, 0);
  return [
    route('GET', path, 'network', (r) => sendJson(r.res, 200, { quota: model.networkQuotas.get(project(r)) })),
    route('PUT', path, 'network', async (r) => {
      const set = body(await readJson(r), 'quota');
      sendJson(r.res, 200, { quota: model.networkQuotas.set(project(r), set) });
    }),
    route('DELETE', path, 'network', (r) => {
      model.networkQuotas.reset(project(r));
      r.res.writeHead(204).end();
    }),
  ];
}
