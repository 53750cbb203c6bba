// Cinder v3 and Neutron v2.0 quota sets over HTTP (QuotaApi).
import { pathSegment } from '../path-segment.js';
import type { QuotaApi } from '../service-api.js';
import { numbersOf, osQuotaSetsApi } from './nova.js';
import type { ServiceClient } from './service-client.js';

const enc = (project: string) => pathSegment(project, 'quota');

/**
 * Cinder's quota URL is /v3/{admin project}/os-quota-sets/{project}. Catalogs list the volume
 * endpoint with the project already in it (…/v3/<id>), as a bare …/v3, or as the service root.
 */
export function cinderProjectBase(endpoint: string, adminProjectId: string): string {
  const base = endpoint.replace(/\/+$/, '').replace(/(%|\$)\(?(project_id|tenant_id)\)?s/g, adminProjectId);
  if (/\/v3\/[^/]+$/.test(base)) return base;
  if (/\/v3$/.test(base)) return `${base}/${pathSegment(adminProjectId, 'project')}`;
  return `${base}/v3/${pathSegment(adminProjectId, 'project')}`;
}

/** Neutron's API lives under /v2.0 of its endpoint. */
export function neutronBase(endpoint: string): string {
  const base = endpoint.replace(/\/+$/, '');
  return /\/v2\.0$/.test(base) ? base : `${base}/v2.0`;
}

/** Cinder's quota sets take the same requests as Nova's, under the project-scoped volume base. */
export const cinderQuotaApi = osQuotaSetsApi;

export function neutronQuotaApi(client: ServiceClient): QuotaApi {
  return {
    async get(project) {
      const res = await client.request('GET', `/quotas/${enc(project)}`);
      return numbersOf((res.json as { quota?: Record<string, unknown> })?.quota);
    },
    async set(project, values) {
      await client.request('PUT', `/quotas/${enc(project)}`, { json: { quota: values } });
    },
    async reset(project) {
      await client.request('DELETE', `/quotas/${enc(project)}`);
    },
  };
}
