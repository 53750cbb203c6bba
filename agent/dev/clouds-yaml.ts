// The clouds.yaml of a dev cluster: one cloud per site, named after it, pointing at that site's mock
// OpenStack (user admin/admin), so `openstack --os-cloud site-1 flavor list` shows what the site's
// reconciler made of the catalog.
import { stringify } from 'yaml';
import type { MockCloud } from '../../drivers/index.js';

export const DEV_CLOUDS_FILE = 'clouds.yaml';

export function devCloudsYaml(sites: ReadonlyArray<{ name: string; cloud: Pick<MockCloud, 'authUrl' | 'regionName' | 'env'> }>): string {
  const clouds: Record<string, unknown> = {};
  for (const site of sites) {
    const env = site.cloud.env();
    clouds[site.name] = {
      auth: {
        auth_url: site.cloud.authUrl,
        username: env.OS_USERNAME,
        password: env.OS_PASSWORD,
        project_name: env.OS_PROJECT_NAME,
        user_domain_name: env.OS_USER_DOMAIN_NAME,
        project_domain_name: env.OS_PROJECT_DOMAIN_NAME,
      },
      region_name: site.cloud.regionName,
      identity_api_version: 3,
      interface: 'public',
    };
  }
  return `# Written by stackraft dev-cluster: one mock OpenStack cloud per site (user admin, password admin).\n${stringify({ clouds })}`;
}
