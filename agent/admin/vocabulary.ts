// Enumerations shared by the admin API's checks and the CLI (kept free of heavy imports: the CLI
// loads this file on every run).

export const DISK_FORMATS = ['ami', 'ari', 'aki', 'vhd', 'vhdx', 'vmdk', 'raw', 'qcow2', 'vdi', 'ploop', 'iso'] as const;
export const CONTAINER_FORMATS = ['ami', 'ari', 'aki', 'bare', 'ovf', 'ova', 'docker', 'compressed'] as const;
export const IMAGE_VISIBILITIES = ['public', 'community'] as const;
export const REPLICATION_MODES = ['sync', 'async'] as const;

/** Quota limits a quota spec may set (-1 = unlimited), as in Nova, Cinder and Neutron quota sets. */
export const QUOTA_FIELDS = [
  'cores', 'instances', 'ramMiB', 'keyPairs', 'serverGroups', 'serverGroupMembers', 'volumes', 'snapshots', 'gigabytes',
  'backups', 'backupGigabytes', 'networks', 'subnets', 'ports', 'routers', 'floatingIps', 'securityGroups', 'securityGroupRules',
] as const;
export type QuotaField = (typeof QUOTA_FIELDS)[number];

/** A batch is one Raft entry: bounded in operations (and, by the admin body limit, in bytes). */
export const MAX_BATCH_OPS = 256;
