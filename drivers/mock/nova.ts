// Nova v2.1 of the mock cloud, under /compute/v2.1: flavors (extra specs, access, description) and
// quota sets, with microversion handling for what the driver relies on (2.55 descriptions, 2.61
// extra_specs in flavor bodies, 2.75 integer swap).
import { randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import type { CloudModel } from '../memory/model.js';
import type { NovaFlavor } from '../service-api.js';
import { HttpFailure, pathParam, readJson, route, sendJson, type RequestInfo, type Route } from './http-kit.js';

export const NOVA_MIN_MICROVERSION = '2.1';
export const NOVA_MAX_MICROVERSION = '2.93';
/** Nova's default max_limit; the mock can be told a lower one (as some clouds configure). */
export const FLAVOR_MAX_LIMIT = 1000;
const NOVA_QUOTA_KEYS = ['cores', 'instances', 'ram', 'key_pairs', 'server_groups', 'server_group_members', 'metadata_items'];

interface Version {
  major: number;
  minor: number;
}

function parseVersion(text: string): Version | undefined {
  const m = /^(\d+)\.(\d+)$/.exec(text.trim());
  return m === null ? undefined : { major: Number(m[1]), minor: Number(m[2]) };
}

function atLeast(v: Version, minor: number): boolean {
  return v.major > 2 || (v.major === 2 && v.minor >= minor);
}

/** The requested compute microversion (2.1 when none); 406 outside what Zed's Nova supports. */
export function requestedMicroversion(r: RequestInfo): Version {
  const modern = r.req.headers['openstack-api-version'];
  const legacy = r.req.headers['x-openstack-nova-api-version'];
  let text: string | undefined;
  if (typeof modern === 'string') {
    const m = /(?:^|,)\s*compute\s+(\S+)/i.exec(modern);
    if (m !== null) text = m[1];
  }
  if (text === undefined && typeof legacy === 'string') text = legacy;
  if (text === undefined) return { major: 2, minor: 1 };
  if (text === 'latest') return parseVersion(NOVA_MAX_MICROVERSION)!;
  const v = parseVersion(text);
  const max = parseVersion(NOVA_MAX_MICROVERSION)!;
  if (v === undefined || v.major !== 2 || v.minor < 1 || v.minor > max.minor) {
    throw new HttpFailure(406, `Version ${text} is not supported by the API. Minimum is ${NOVA_MIN_MICROVERSION} and maximum is ${NOVA_MAX_MICROVERSION}.`);
  }
  return v;
}

function versionHeaders(v: Version): Record<string, string> {
  const text = `${v.major}.${v.minor}`;
  return { 'OpenStack-API-Version': `compute ${text}`, 'X-OpenStack-Nova-API-Version': text };
}

function renderFlavor(f: NovaFlavor, v: Version, base: string): Record<string, unknown> {
  const body: Record<string, unknown> = {
    id: f.id,
    name: f.name,
    ram: f.ram,
    disk: f.disk,
    swap: f.swap === 0 && !atLeast(v, 75) ? '' : f.swap,
    'OS-FLV-EXT-DATA:ephemeral': f.ephemeral,
    'OS-FLV-DISABLED:disabled': false,
    vcpus: f.vcpus,
    'os-flavor-access:is_public': f.isPublic,
    rxtx_factor: f.rxtxFactor,
    links: [{ rel: 'self', href: `${base}/flavors/${encodeURIComponent(f.id)}` }],
  };
  if (atLeast(v, 55)) body.description = f.description;
  if (atLeast(v, 61)) body.extra_specs = f.extraSpecs;
  return body;
}

function int(body: Record<string, unknown>, key: string, min: number, fallback?: number): number {
  const v = body[key] ?? fallback;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min) {
    throw new HttpFailure(400, `Invalid input for field/attribute ${key}. Value: ${JSON.stringify(v)}.`);
  }
  return v;
}

function object(value: unknown, what: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new HttpFailure(400, `Invalid input: '${what}' is a required property`);
  return value as Record<string, unknown>;
}

function parseFlavorCreate(body: unknown, v: Version): Parameters<CloudModel['createFlavor']>[0] {
  const f = object((body as { flavor?: unknown })?.flavor, 'flavor');
  if (typeof f.name !== 'string' || f.name.trim() === '') throw new HttpFailure(400, "Invalid input for field/attribute name. 'name' is a required property");
  if (f.description !== undefined && !atLeast(v, 55)) {
    throw new HttpFailure(400, "Invalid input for field/attribute flavor. Additional properties are not allowed ('description' was unexpected)");
  }
  const rxtx = f.rxtx_factor ?? 1;
  if (typeof rxtx !== 'number' || rxtx <= 0) throw new HttpFailure(400, `Invalid input for field/attribute rxtx_factor. Value: ${JSON.stringify(rxtx)}.`);
  const isPublic = f['os-flavor-access:is_public'] ?? true;
  if (typeof isPublic !== 'boolean') throw new HttpFailure(400, 'Invalid input for field/attribute os-flavor-access:is_public.');
  return {
    id: typeof f.id === 'string' ? f.id : randomUUID(),
    name: f.name,
    vcpus: int(f, 'vcpus', 1),
    ram: int(f, 'ram', 1),
    disk: int(f, 'disk', 0),
    ephemeral: int(f, 'OS-FLV-EXT-DATA:ephemeral', 0, 0),
    swap: int(f, 'swap', 0, 0),
    rxtxFactor: rxtx,
    isPublic,
    description: typeof f.description === 'string' ? f.description : null,
  };
}

function listFlavors(model: CloudModel, r: RequestInfo, v: Version, base: string): void {
  const isPublic = (r.query.get('is_public') ?? 'true').toLowerCase();
  let flavors = model.listFlavors().sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  if (isPublic !== 'none') flavors = flavors.filter((f) => f.isPublic === (isPublic === 'true' || isPublic === '1'));
  const marker = r.query.get('marker');
  if (marker !== null) {
    const at = flavors.findIndex((f) => f.id === marker);
    if (at < 0) throw new HttpFailure(400, `marker [${marker}] not found`);
    flavors = flavors.slice(at + 1);
  }
  const limit = Math.min(Number(r.query.get('limit') ?? FLAVOR_MAX_LIMIT), FLAVOR_MAX_LIMIT);
  if (!Number.isInteger(limit) || limit < 0) throw new HttpFailure(400, 'limit must be a non-negative integer');
  const page = flavors.slice(0, limit);
  const body: Record<string, unknown> = { flavors: page.map((f) => renderFlavor(f, v, base)) };
  if (page.length > 0 && page.length === limit) {
    const next = new URLSearchParams(r.query);
    next.set('marker', page[page.length - 1].id);
    body.flavors_links = [{ rel: 'next', href: `${base}/flavors/detail?${next.toString()}` }];
  }
  sendJson(r.res, 200, body, versionHeaders(v));
}

function quotaBody(model: CloudModel, project: string, withId: boolean): Record<string, unknown> {
  const values = model.computeQuotas.get(project);
  return withId ? { id: project, ...values } : { ...values };
}

export function novaRoutes(model: CloudModel, baseUrl: () => string): Route[] {
  const flavor = '/compute/v2\\.1/flavors/([^/]+)';
  const base = () => `${baseUrl()}/compute/v2.1`;
  const mv = (r: RequestInfo) => requestedMicroversion(r);
  const ok = (res: ServerResponse, status: number, body: unknown, v: Version) => sendJson(res, status, body, versionHeaders(v));
  const id = (r: RequestInfo) => pathParam(r, 0);
  return [
    route('GET', /^\/compute\/v2\.1\/flavors\/detail$/, 'compute', (r) => listFlavors(model, r, mv(r), base())),
    route('POST', /^\/compute\/v2\.1\/flavors$/, 'compute', async (r) => {
      const v = mv(r);
      const created = model.createFlavor(parseFlavorCreate(await readJson(r), v));
      ok(r.res, 200, { flavor: renderFlavor(created, v, base()) }, v);
    }),
    route('GET', new RegExp(`^${flavor}$`), 'compute', (r) => {
      const v = mv(r);
      ok(r.res, 200, { flavor: renderFlavor(model.getFlavor(id(r)), v, base()) }, v);
    }),
    route('PUT', new RegExp(`^${flavor}$`), 'compute', async (r) => {
      const v = mv(r);
      if (!atLeast(v, 55)) throw new HttpFailure(404, 'The resource could not be found.');
      const f = object((await readJson(r) as { flavor?: unknown })?.flavor, 'flavor');
      const d = f.description;
      if (d !== null && typeof d !== 'string') throw new HttpFailure(400, "Invalid input for field/attribute description. 'description' is a required property");
      ok(r.res, 200, { flavor: renderFlavor(model.setFlavorDescription(id(r), d), v, base()) }, v);
    }),
    route('DELETE', new RegExp(`^${flavor}$`), 'compute', (r) => {
      const v = mv(r);
      model.deleteFlavor(id(r));
      r.res.writeHead(202, versionHeaders(v)).end();
    }),
    route('GET', new RegExp(`^${flavor}/os-extra_specs$`), 'compute', (r) => {
      const v = mv(r);
      ok(r.res, 200, { extra_specs: model.getFlavor(id(r)).extraSpecs }, v);
    }),
    route('POST', new RegExp(`^${flavor}/os-extra_specs$`), 'compute', async (r) => {
      const v = mv(r);
      const specs = object((await readJson(r) as { extra_specs?: unknown })?.extra_specs, 'extra_specs');
      for (const [k, value] of Object.entries(specs)) {
        if (typeof value !== 'string' || k.length > 255 || value.length > 255) throw new HttpFailure(400, `Invalid input for field/attribute extra_specs. Value: ${JSON.stringify({ [k]: value })}.`);
      }
      ok(r.res, 200, { extra_specs: model.setExtraSpecs(id(r), specs as Record<string, string>) }, v);
    }),
    route('DELETE', new RegExp(`^${flavor}/os-extra_specs/([^/]+)$`), 'compute', (r) => {
      const v = mv(r);
      model.deleteExtraSpec(id(r), pathParam(r, 1));
      r.res.writeHead(200, versionHeaders(v)).end();
    }),
    route('GET', new RegExp(`^${flavor}/os-flavor-access$`), 'compute', (r) => {
      const v = mv(r);
      const fid = id(r);
      ok(r.res, 200, { flavor_access: model.listFlavorAccess(fid).map((p) => ({ flavor_id: fid, tenant_id: p })) }, v);
    }),
    route('POST', new RegExp(`^${flavor}/action$`), 'compute', async (r) => {
      const v = mv(r);
      const fid = id(r);
      const body = object(await readJson(r), 'action');
      const add = body.addTenantAccess as { tenant?: unknown } | undefined;
      const remove = body.removeTenantAccess as { tenant?: unknown } | undefined;
      let access: string[];
      if (add !== undefined && typeof add.tenant === 'string') access = model.addFlavorAccess(fid, add.tenant);
      else if (remove !== undefined && typeof remove.tenant === 'string') access = model.removeFlavorAccess(fid, remove.tenant);
      else throw new HttpFailure(400, 'Invalid action: expected addTenantAccess or removeTenantAccess with a tenant');
      ok(r.res, 200, { flavor_access: access.map((p) => ({ flavor_id: fid, tenant_id: p })) }, v);
    }),
    route('GET', /^\/compute\/v2\.1\/os-quota-sets\/([^/]+)$/, 'compute', (r) => {
      const v = mv(r);
      ok(r.res, 200, { quota_set: quotaBody(model, id(r), true) }, v);
    }),
    route('PUT', /^\/compute\/v2\.1\/os-quota-sets\/([^/]+)$/, 'compute', async (r) => {
      const v = mv(r);
      const set = object((await readJson(r) as { quota_set?: unknown })?.quota_set, 'quota_set');
      const unexpected = Object.keys(set).filter((k) => !NOVA_QUOTA_KEYS.includes(k));
      if (unexpected.length > 0) {
        throw new HttpFailure(400, `Invalid input for field/attribute quota_set. Additional properties are not allowed (${unexpected.map((k) => `'${k}'`).join(', ')} was unexpected)`);
      }
      model.computeQuotas.set(id(r), set as Record<string, number>);
      ok(r.res, 200, { quota_set: quotaBody(model, id(r), false) }, v);
    }),
    route('DELETE', /^\/compute\/v2\.1\/os-quota-sets\/([^/]+)$/, 'compute', (r) => {
      const v = mv(r);
      model.computeQuotas.reset(id(r));
      r.res.writeHead(202, versionHeaders(v)).end();
    }),
  ];
}
