// Nova v2.1 flavors and quota sets over HTTP (ComputeApi).
//
// Microversion 2.61 on every request: flavor descriptions exist from 2.55 (the driver uses them as
// its crash-safe creation marker and to carry the catalog's description) and from 2.61 flavor
// responses embed extra_specs, so listing every flavor is one request instead of one per flavor.
// 2.61 is Rocky (2018): older clouds answer 406 and the error says so. Quota sets at 2.61 are the
// post-2.57 shape (no network or injected-file keys), which is what the catalog sets.
import { CloudError, NotFoundError } from '../errors.js';
import { pathSegment } from '../path-segment.js';
import type { ComputeApi, NovaFlavor, NovaFlavorCreate, QuotaApi, QuotaValues } from '../service-api.js';
import type { ServiceClient } from './service-client.js';

export const NOVA_MICROVERSION = '2.61';

export function novaMicroversionHeaders(version = NOVA_MICROVERSION): Record<string, string> {
  return { 'OpenStack-API-Version': `compute ${version}`, 'X-OpenStack-Nova-API-Version': version };
}

/** Flavors per list page (Nova's default max_limit is 1000). */
export const FLAVOR_PAGE_SIZE = 1000;
/** A safety stop for a misbehaving marker loop: 1000 pages of 1000 flavors. */
export const MAX_FLAVOR_PAGES = 1000;

function badFlavor(id: unknown, why: string): CloudError {
  return new CloudError({ code: 'BAD_RESPONSE', service: 'compute', method: 'GET', path: `/flavors/${String(id)}`, status: 200, cloudMessage: '', retryable: false, message: `Nova returned a flavor ${String(id)} that ${why}` });
}

function num(raw: Record<string, unknown>, key: string): number {
  const v = raw[key];
  // Before 2.75 Nova sends swap 0 as "".
  if (v === '' || v === null || v === undefined) return 0;
  if (typeof v !== 'number') throw badFlavor(raw.id, `has a non-numeric ${key}: ${JSON.stringify(v)}`);
  return v;
}

export function parseNovaFlavor(raw: Record<string, unknown>, extraSpecs?: Record<string, string>): NovaFlavor {
  if (typeof raw?.id !== 'string') throw badFlavor(raw?.id, 'has no string id');
  const specs = extraSpecs ?? (raw.extra_specs as Record<string, string> | undefined) ?? {};
  return {
    id: raw.id,
    name: String(raw.name),
    vcpus: num(raw, 'vcpus'),
    ram: num(raw, 'ram'),
    disk: num(raw, 'disk'),
    ephemeral: num(raw, 'OS-FLV-EXT-DATA:ephemeral'),
    swap: num(raw, 'swap'),
    rxtxFactor: typeof raw.rxtx_factor === 'number' ? raw.rxtx_factor : 1,
    isPublic: raw['os-flavor-access:is_public'] !== false,
    description: typeof raw.description === 'string' ? raw.description : null,
    extraSpecs: Object.fromEntries(Object.entries(specs).map(([k, v]) => [k, String(v)])),
  };
}

const enc = (project: string) => pathSegment(project, 'quota');

/** The `os-quota-sets` API, which Nova and Cinder (under its project-scoped base) share. */
export function osQuotaSetsApi(client: ServiceClient): QuotaApi {
  return {
    async get(project) {
      const res = await client.request('GET', `/os-quota-sets/${enc(project)}`);
      return numbersOf((res.json as { quota_set?: Record<string, unknown> })?.quota_set);
    },
    async set(project, values) {
      await client.request('PUT', `/os-quota-sets/${enc(project)}`, { json: { quota_set: values } });
    },
    async reset(project) {
      await client.request('DELETE', `/os-quota-sets/${enc(project)}`);
    },
  };
}

/** The numeric entries of a quota set (drops 'id' and anything else that is not a limit). */
export function numbersOf(set: Record<string, unknown> | undefined): QuotaValues {
  const out: QuotaValues = {};
  for (const [k, v] of Object.entries(set ?? {})) if (typeof v === 'number') out[k] = v;
  return out;
}

export function novaComputeApi(client: ServiceClient, pageSize = FLAVOR_PAGE_SIZE): ComputeApi {
  const flavorPath = (id: string) => `/flavors/${pathSegment(id, 'flavor')}`;

  async function withSpecs(raw: Record<string, unknown>): Promise<NovaFlavor> {
    if (raw.extra_specs !== undefined) return parseNovaFlavor(raw);
    // A cloud that ignored the microversion: fetch the extra specs separately.
    const res = await client.request('GET', `${flavorPath(String(raw.id))}/os-extra_specs`);
    return parseNovaFlavor(raw, (res.json as { extra_specs?: Record<string, string> })?.extra_specs ?? {});
  }

  return {
    async listFlavors() {
      const out: NovaFlavor[] = [];
      let marker: string | undefined;
      for (let page = 0; page < MAX_FLAVOR_PAGES; page++) {
        const query: Record<string, string> = { is_public: 'None', limit: String(pageSize) };
        if (marker !== undefined) query.marker = marker;
        const res = await client.request('GET', '/flavors/detail', { query });
        const body = res.json as { flavors?: unknown[]; flavors_links?: Array<{ rel?: unknown }> } | undefined;
        const flavors = (body?.flavors ?? []) as Record<string, unknown>[];
        for (const raw of flavors) out.push(await withSpecs(raw));
        // Nova adds a 'next' link whenever a page is full, at our limit or at its own max_limit.
        const more = body?.flavors_links?.some((link) => link.rel === 'next') ?? false;
        if (!more || flavors.length === 0) return out;
        marker = String(flavors[flavors.length - 1].id);
      }
      throw new CloudError({ code: 'BAD_RESPONSE', service: 'compute', method: 'GET', path: '/flavors/detail', status: 200, cloudMessage: '', retryable: false, message: `Nova flavor list did not end after ${MAX_FLAVOR_PAGES} pages` });
    },
    async getFlavor(id) {
      try {
        const res = await client.request('GET', flavorPath(id));
        return withSpecs((res.json as { flavor: Record<string, unknown> }).flavor);
      } catch (err) {
        if (err instanceof NotFoundError) return undefined;
        throw err;
      }
    },
    async createFlavor(f: NovaFlavorCreate) {
      const body = {
        flavor: {
          id: f.id,
          name: f.name,
          vcpus: f.vcpus,
          ram: f.ram,
          disk: f.disk,
          'OS-FLV-EXT-DATA:ephemeral': f.ephemeral,
          swap: f.swap,
          rxtx_factor: f.rxtxFactor,
          'os-flavor-access:is_public': f.isPublic,
          description: f.description,
        },
      };
      const res = await client.request('POST', '/flavors', { json: body });
      return withSpecs((res.json as { flavor: Record<string, unknown> }).flavor);
    },
    async setFlavorDescription(id, description) {
      await client.request('PUT', flavorPath(id), { json: { flavor: { description } } });
    },
    async deleteFlavor(id) {
      await client.request('DELETE', flavorPath(id));
    },
    async setExtraSpecs(id, specs) {
      await client.request('POST', `${flavorPath(id)}/os-extra_specs`, { json: { extra_specs: specs } });
    },
    async deleteExtraSpec(id, key) {
      await client.request('DELETE', `${flavorPath(id)}/os-extra_specs/${pathSegment(key, 'extra spec')}`);
    },
    async listFlavorAccess(id) {
      const res = await client.request('GET', `${flavorPath(id)}/os-flavor-access`);
      const list = ((res.json as { flavor_access?: unknown[] })?.flavor_access ?? []) as Array<{ tenant_id?: unknown }>;
      return list.map((a) => String(a.tenant_id)).sort();
    },
    async addFlavorAccess(id, project) {
      await client.request('POST', `${flavorPath(id)}/action`, { json: { addTenantAccess: { tenant: project } } });
    },
    async removeFlavorAccess(id, project) {
      await client.request('POST', `${flavorPath(id)}/action`, { json: { removeTenantAccess: { tenant: project } } });
    },
    quotas: osQuotaSetsApi(client),
  };
}
