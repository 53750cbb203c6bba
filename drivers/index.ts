// The public surface of drivers/: what agent/ and sim/ import.
export type {
  CloudCapabilities,
  CloudDriver,
  CloudFlavor,
  CloudImage,
  CloudQuota,
  ComputeQuotaSet,
  DriverClock,
  DriverLogger,
  CloudFlavorSpec,
  ImageSource,
  CloudImageSpec,
  ImageVisibility,
  NetworkQuotaSet,
  QuotaPart,
  CloudQuotaSpec,
  CloudResourceKind,
  Sleep,
  UpdateOptions,
  VolumeQuotaSet,
  CloudWriteResult,
  CloudImageDownload,
} from './types.js';
export { CLOUD_RESOURCE_KINDS, IMAGE_VISIBILITIES, UNLIMITED, realSleep, silentDriverLogger, sleepOn } from './types.js';
export {
  ChecksumMismatchError,
  CloudConfigError,
  CloudError,
  ConflictError,
  ImageIdRetiredError,
  InvalidSpecError,
  NotFoundError,
  NotManagedError,
  NotSupportedError,
  SourceNotReadyError,
  isRetryable,
  type CloudErrorCode,
  type CloudService,
} from './errors.js';
export { glanceHashMatches } from './ops/images.js';
export { diffFlavor, diffImage, diffQuota, FLAVOR_IMMUTABLE_FIELDS, type FlavorDiff, type ImageDiff, type QuotaDiff, type FieldChange } from './diff.js';
export { CLUSTER_EXTRA_SPEC, CLUSTER_IMAGE_PROPERTY, MANAGED_EXTRA_SPEC, MANAGED_IMAGE_PROPERTY } from './markers.js';
export { validateFlavorSpec, validateImageSpec, validateQuotaSpec } from './validate.js';
export { DEFAULT_RETRY_POLICY, backoffDelayMs, type RetryPolicy } from './retry.js';
export { FaultInjector, NO_FAULTS, type FaultConfig, type FaultKind } from './faults.js';
export type { SourceFetcher } from './image-transfer.js';
export { CloudModel, type CloudModelOptions } from './memory/model.js';
export { MemoryCloud, type MemoryCloudOptions } from './memory-cloud.js';
export { startMockCloud, mockProjectId, type MockCloud, type MockCloudOptions, type RequestLogEntry } from './mock-server.js';
export { OpenStackDriver, createOpenStackDriver, type OpenStackDriverOptions, type CreateOpenStackDriverOptions } from './openstack/driver.js';
export {
  configFromEnvironment,
  defaultCloudsYamlPaths,
  loadCloudsYaml,
  resolveCloudConfig,
  type OpenStackCloudConfig,
  type AuthConfig,
} from './openstack/config.js';
export { NOVA_MICROVERSION } from './openstack/nova.js';
