// The catalog's quota field names and the keys each OpenStack service uses for them.
import type { ComputeQuotaSet, NetworkQuotaSet, QuotaPart, VolumeQuotaSet } from './types.js';
import type { QuotaValues } from './service-api.js';
import { CloudError, type CloudService } from './errors.js';

export const COMPUTE_QUOTA_KEYS: Readonly<Record<keyof ComputeQuotaSet, string>> = {
  cores: 'cores',
  instances: 'instances',
  ram: 'ram',
  keyPairs: 'key_pairs',
  serverGroups: 'server_groups',
};

export const VOLUME_QUOTA_KEYS: Readonly<Record<keyof VolumeQuotaSet, string>> = {
  volumes: 'volumes',
  gigabytes: 'gigabytes',
  snapshots: 'snapshots',
  backups: 'backups',
};

export const NETWORK_QUOTA_KEYS: Readonly<Record<keyof NetworkQuotaSet, string>> = {
  networks: 'network',
  subnets: 'subnet',
  ports: 'port',
  routers: 'router',
  floatingIps: 'floatingip',
  securityGroups: 'security_group',
};

export const QUOTA_KEYS_BY_PART: Readonly<Record<QuotaPart, Readonly<Record<string, string>>>> = {
  compute: COMPUTE_QUOTA_KEYS,
  volume: VOLUME_QUOTA_KEYS,
  network: NETWORK_QUOTA_KEYS,
};

/** Catalog fields -> OpenStack keys (only the fields given). */
export function toQuotaValues(part: QuotaPart, fields: Record<string, number | undefined>): QuotaValues {
  const keys = QUOTA_KEYS_BY_PART[part];
  const out: QuotaValues = {};
  for (const [field, key] of Object.entries(keys)) {
    const value = fields[field];
    if (value !== undefined) out[key] = value;
  }
  return out;
}

export const SERVICE_OF_QUOTA_PART: Readonly<Record<QuotaPart, CloudService>> = {
  compute: 'compute',
  volume: 'volume',
  network: 'network',
};

/** OpenStack keys -> every catalog field of the part; a key the service left out is a bad response. */
export function fromQuotaValues<T>(part: QuotaPart, project: string, values: QuotaValues): T {
  const keys = QUOTA_KEYS_BY_PART[part];
  const out: Record<string, number> = {};
  for (const [field, key] of Object.entries(keys)) {
    const value = values[key];
    if (typeof value !== 'number' || !Number.isInteger(value)) {
      throw new CloudError({
        code: 'BAD_RESPONSE',
        service: SERVICE_OF_QUOTA_PART[part],
        method: 'GET',
        path: `quota set of ${project}`,
        status: 200,
        cloudMessage: '',
        retryable: false,
        message: `${part} quota set of project ${project} has no integer '${key}' (got ${JSON.stringify(value)})`,
      });
    }
    out[field] = value;
  }
  return out as T;
}
