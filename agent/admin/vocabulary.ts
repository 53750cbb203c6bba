// Enumerations and bounds shared by the admin API's checks and the CLI, taken from the catalog (the
// authority) so they cannot drift. Only dependency-free catalog files are imported: the CLI loads
// this file on every run.
import { MAX_OPS_PER_COMMAND } from '../catalog/limits.js';

export { CONTAINER_FORMATS, DISK_FORMATS, IMAGE_SOURCE_KINDS, IMAGE_VISIBILITIES, QUOTA_GROUPS, type QuotaGroup } from '../catalog/types.js';
export {
  FLAVOR_DEFAULTS,
  FLAVOR_FIELDS,
  FLAVOR_REQUIRED_FIELDS,
  IMAGE_DEFAULTS,
  IMAGE_FIELDS,
  IMAGE_REQUIRED_FIELDS,
  IMAGE_SOURCE_FIELDS,
  QUOTA_GROUP_NAMES,
  type FlavorField,
  type ImageField,
  type QuotaLimitField,
} from '../catalog/spec-fields.js';
export const REPLICATION_TYPES = ['sync', 'async'] as const;

/** A batch is one catalog command: at most this many operations. */
export const MAX_BATCH_OPS = MAX_OPS_PER_COMMAND;

