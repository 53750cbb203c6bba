// The reconciler's public surface for the daemon and the simulator.
export { Reconciler, type PassMode, type PassSummary, type ReconcilerDeps, type ReconcilerStatus, type ResourceStatus } from './reconciler.js';
export type { ReconcilerCatalog } from './catalog-view.js';
export { DEFAULT_RECONCILER_OPTIONS, resolveReconcilerOptions, type ReconcilerOptions } from './options.js';
export {
  DEFAULT_REPORT_QUEUE_OPTIONS,
  MAX_PENDING_REPORTS,
  ReportRejectedError,
  SyncReportQueue,
  type ReportQueueOptions,
  type ReportQueueStats,
  type ReportSink,
} from './report-queue.js';
export { reconcilerClientId, replicaReportSink, type ReplicaReportSinkOptions } from './replica-sink.js';
export { RECONCILER_STOP_GRACE_MS, SiteReconciler, type SiteReconcilerDeps } from './site-wiring.js';
export { cloudDriverFromConfig, mockCloudEnvironment, MOCK_CLOUD_ADMIN } from './cloud-driver.js';
export {
  MANAGED_KINDS,
  desiredCloudState,
  desiredFingerprint,
  resourceKey,
  toCloudFlavorSpec,
  toCloudImageSpec,
  toCloudQuotaSpec,
  type DesiredResource,
  type ManagedKind,
} from './desired.js';
export { describeFailure, syncMessage, type Failure } from './failures.js';
export { NOT_PLACED_MESSAGE, QUOTA_INTENT_MESSAGE } from './tracks.js';
