// One service's quota sets in the in-memory cloud: defaults plus per-project overrides, with the
// key and value checks (and error texts) of the real service.
import { CloudError, type CloudService } from '../errors.js';
import type { QuotaValues } from '../service-api.js';

export const NOVA_QUOTA_DEFAULTS: Readonly<QuotaValues> = {
  cores: 20,
  instances: 10,
  ram: 51200,
  key_pairs: 100,
  server_groups: 10,
  server_group_members: 10,
  metadata_items: 128,
};

export const CINDER_QUOTA_DEFAULTS: Readonly<QuotaValues> = {
  volumes: 10,
  gigabytes: 1000,
  snapshots: 10,
  backups: 10,
  backup_gigabytes: 1000,
  per_volume_gigabytes: -1,
  groups: 10,
};

export const NEUTRON_QUOTA_DEFAULTS: Readonly<QuotaValues> = {
  network: 100,
  subnet: 100,
  port: 500,
  router: 10,
  floatingip: 50,
  security_group: 10,
  security_group_rule: 100,
};

const MAX_QUOTA = 2_147_483_647;

export class QuotaTable {
  private readonly overrides = new Map<string, QuotaValues>();

  constructor(
    private readonly service: CloudService,
    private readonly defaults: Readonly<QuotaValues>,
    /** Nova asks Keystone whether the project exists; Cinder and Neutron do not. */
    private readonly checkProject: ((project: string) => boolean) | undefined,
  ) {}

  private badRequest(path: string, method: string, message: string): CloudError {
    return new CloudError({ code: 'BAD_REQUEST', service: this.service, method, path, status: 400, cloudMessage: message, retryable: false });
  }

  private check(project: string, method: string): void {
    if (this.checkProject !== undefined && !this.checkProject(project)) {
      throw this.badRequest(`os-quota-sets/${project}`, method, `Project ID ${project} is not a valid project.`);
    }
  }

  get(project: string): QuotaValues {
    this.check(project, 'GET');
    return { ...this.defaults, ...this.overrides.get(project) };
  }

  set(project: string, values: QuotaValues): QuotaValues {
    this.check(project, 'PUT');
    const bad = Object.keys(values).filter((key) => !Object.hasOwn(this.defaults, key));
    if (bad.length > 0) {
      throw this.badRequest(`os-quota-sets/${project}`, 'PUT', `Bad key(s) in quota set: ${bad.join(', ')}`);
    }
    for (const [key, value] of Object.entries(values)) {
      if (!Number.isInteger(value) || value < -1 || value > MAX_QUOTA) {
        throw this.badRequest(`os-quota-sets/${project}`, 'PUT', `${key} must be an integer >= -1 and <= ${MAX_QUOTA}`);
      }
    }
    this.overrides.set(project, { ...this.overrides.get(project), ...values });
    return this.get(project);
  }

  reset(project: string): void {
    this.check(project, 'DELETE');
    this.overrides.delete(project);
  }

  /** Projects with any override (for tests and the simulator's checkers). */
  projectsWithOverrides(): string[] {
    return [...this.overrides.keys()].sort();
  }
}
