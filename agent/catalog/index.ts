// The catalog's public surface for the agent, CLI, reconciler and simulator.
export { Catalog, type CatalogOptions, type CatalogStats, type ListFilter } from './catalog.js';
export {
  decodeCommand,
  deleteOp,
  encodeCommand,
  patchOp,
  putOp,
  syncStatusCommand,
  writeCommand,
  type DecodeCommandResult,
  type ReceivedCommand,
  type WriteOptions,
} from './command.js';
export {
  MAX_AUDIT_ENTRIES,
  MAX_AUDIT_HOST_CHARS,
  MAX_AUDIT_OPERATOR_CHARS,
  MAX_AUDIT_REASON_CHARS,
  MAX_AUDIT_TARGETS,
  auditFieldProblem,
  type AuditEntry,
  type AuditFilter,
  type AuditStamp,
  type AuditTarget,
} from './audit.js';
export { canonicallyEqual, decodeMsgpack, encodeCanonical } from './codec.js';
export { ISO_COUNTRY_CODES, normalizeCountryCode } from './countries.js';
export * from './limits.js';
export {
  PLACEMENT_ALL,
  formatPlacement,
  parsePlacement,
  placementSelects,
  type PlacementParseResult,
} from './placement.js';
export { CatalogFormatError, META_KEY, decodeRecord, resourceKey, sessionKey, syncKey, type DecodedRecord } from './records.js';
export { type SeqFate } from './sessions.js';
export { SNAPSHOT_FORMAT } from './snapshot-image.js';
export { DELETION_PENDING_MESSAGE, UNPLACED_PENDING_MESSAGE, type SyncStatusFilter } from './sync-status.js';
export { requiredLiveSites } from './write-path.js';
export * from './types.js';
export * from './dr-types.js';
export { drStateOf } from './dr-ops.js';
export { drProposalNeeds, drOp, type DrProposalNeeds } from './dr-write-path.js';
