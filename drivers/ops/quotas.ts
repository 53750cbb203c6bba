// A project's quota set across Nova, Cinder and Neutron. A part whose service the cloud lacks is
// skipped with a warning, never an error: many clouds have no Neutron (or no Cinder) endpoint.
import { fromQuotaValues, toQuotaValues } from '../quota-keys.js';
import type { QuotaApi, ServiceApis } from '../service-api.js';
import type { CloudQuota, QuotaPart, CloudQuotaSpec, CloudWriteResult } from '../types.js';
import { validateProjectId, validateQuotaSpec } from '../validate.js';

/** At most this many projects per listQuotas call (each costs one request per service). */
export const MAX_PROJECTS_PER_LIST = 1000;

function apiFor(apis: ServiceApis, part: QuotaPart): QuotaApi | undefined {
  if (part === 'compute') return apis.compute?.quotas;
  if (part === 'volume') return apis.volumeQuotas;
  return apis.networkQuotas;
}

const PARTS: readonly QuotaPart[] = ['compute', 'volume', 'network'];

export async function getQuota(apis: ServiceApis, project: string): Promise<CloudQuota> {
  validateProjectId(project);
  const quota: CloudQuota = { project };
  for (const part of PARTS) {
    const api = apiFor(apis, part);
    if (api === undefined) continue;
    const values = await api.get(project);
    if (part === 'compute') quota.compute = fromQuotaValues(part, project, values);
    else if (part === 'volume') quota.volume = fromQuotaValues(part, project, values);
    else quota.network = fromQuotaValues(part, project, values);
  }
  return quota;
}

export async function listQuotas(apis: ServiceApis, projects: readonly string[]): Promise<CloudQuota[]> {
  if (projects.length > MAX_PROJECTS_PER_LIST) {
    throw new RangeError(`listQuotas: ${projects.length} projects, at most ${MAX_PROJECTS_PER_LIST} per call`);
  }
  const out: CloudQuota[] = [];
  for (const project of [...new Set(projects)].sort()) out.push(await getQuota(apis, project));
  return out;
}

function skippedWarning(part: QuotaPart, project: string): string {
  const service = part === 'compute' ? 'compute (Nova)' : part === 'volume' ? 'block-storage (Cinder)' : 'network (Neutron)';
  return `quota ${project}: ${part} limits skipped: this cloud has no ${service} endpoint`;
}

export async function setQuota(apis: ServiceApis, spec: CloudQuotaSpec): Promise<CloudWriteResult<CloudQuota>> {
  validateQuotaSpec(spec);
  const warnings: string[] = [];
  for (const part of PARTS) {
    const fields = spec[part] as Record<string, number | undefined> | undefined;
    if (fields === undefined) continue;
    const values = toQuotaValues(part, fields);
    if (Object.keys(values).length === 0) continue;
    const api = apiFor(apis, part);
    if (api === undefined) {
      warnings.push(skippedWarning(part, spec.project));
      continue;
    }
    await api.set(spec.project, values);
  }
  return { resource: await getQuota(apis, spec.project), replaced: false, warnings };
}

export async function resetQuota(apis: ServiceApis, project: string): Promise<CloudWriteResult<CloudQuota>> {
  validateProjectId(project);
  for (const part of PARTS) await apiFor(apis, part)?.reset(project);
  return { resource: await getQuota(apis, project), replaced: false, warnings: [] };
}
