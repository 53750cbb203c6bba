// The CloudDriver of a site, from the agent config's `cloud` section:
//   openstack  a clouds.yaml entry (by name), with the config's region and interface
//   mock       with a url: the OpenStack driver against that mock cloud's devstack-style paths, as
//              the mock's admin/admin user (so the dev cluster exercises the real HTTP driver);
//              without one: an in-process MemoryCloud
//   none       no cloud: a light tie-breaking site, no reconciler
import type { AgentConfig } from '../config/schema.js';
import {
  MemoryCloud,
  OpenStackDriver,
  createOpenStackDriver,
  resolveCloudConfig,
  type CloudDriver,
  type DriverLogger,
  type OpenStackDriverOptions,
} from '../../drivers/index.js';

/** Credentials every mock cloud accepts (drivers/mock-server.ts: user admin, password admin, project admin). */
export const MOCK_CLOUD_ADMIN = { username: 'admin', password: 'admin', project: 'admin', domain: 'Default' } as const;

/** OS_* variables that point the OpenStack driver at a mock cloud. */
export function mockCloudEnvironment(url: string): Record<string, string> {
  return {
    OS_AUTH_URL: `${url.replace(/\/+$/, '')}/identity/v3`,
    OS_USERNAME: MOCK_CLOUD_ADMIN.username,
    OS_PASSWORD: MOCK_CLOUD_ADMIN.password,
    OS_PROJECT_NAME: MOCK_CLOUD_ADMIN.project,
    OS_USER_DOMAIN_NAME: MOCK_CLOUD_ADMIN.domain,
    OS_PROJECT_DOMAIN_NAME: MOCK_CLOUD_ADMIN.domain,
  };
}

/**
 * Undefined for `type: none`. Throws CloudConfigError (naming the file and field) on a bad clouds.yaml.
 * `clusterId` goes into every marker the driver writes, so two clusters sharing a cloud never touch
 * each other's resources (drivers/README.md "Two clusters, one cloud"); the daemon always passes it.
 */
export function cloudDriverFromConfig(cloud: AgentConfig['cloud'], logger?: DriverLogger, localSource?: OpenStackDriverOptions['localSource'], clusterId?: string): CloudDriver | undefined {
  const owner = clusterId === undefined ? {} : { clusterId };
  switch (cloud.type) {
    case 'none':
      return undefined;
    case 'mock':
      if (cloud.url === undefined) return new MemoryCloud({ logger, ...owner });
      return createOpenStackDriver({ env: mockCloudEnvironment(cloud.url), logger, localSource, ...owner });
    case 'openstack': {
      const resolved = resolveCloudConfig({ cloud: cloud.cloud, cloudsYamlPath: cloud.cloudsYaml });
      const config = { ...resolved, interface: cloud.interface, ...(cloud.region === undefined ? {} : { regionName: cloud.region }) };
      return new OpenStackDriver(config, { logger, localSource, ...owner });
    }
  }
}
