// Every bound the catalog enforces, in one place. These values are part of the replicated protocol:
// every site must use the same ones, or the same entry could be accepted here and refused there.

/** Largest command (the bytes of one Normal entry) the catalog will decode. */
export const MAX_COMMAND_BYTES = 1 << 20;
/** Operations in one atomic batch. */
export const MAX_OPS_PER_COMMAND = 100;
/** Sync status reports in one syncStatus command. */
export const MAX_SYNC_REPORTS_PER_COMMAND = 1000;
/** Sync status messages are cut to this many characters (reconciler error texts can be long). */
export const MAX_SYNC_MESSAGE_CHARS = 1024;

/**
 * Nesting depth (objects and arrays) of any value a command carries or a record stores. A command
 * needs about 6 (envelope, ops, op, spec, a nested map); deeper values are refused, never recursed
 * into, so no input can exhaust the stack of the encoder, the comparators or the validators.
 */
export const MAX_VALUE_DEPTH = 32;

/** Client sessions kept for exactly-once; the least recently used (by log index) is evicted first. */
export const DEFAULT_MAX_SESSIONS = 10_000;
/**
 * Applied sequence numbers remembered per client, so that "what became of write <client>:<seq>" has
 * an exact answer for the client's last this-many writes (and "unknown" below them).
 */
export const SESSION_RECENT_SEQS = 32;
export const MAX_CLIENT_ID_CHARS = 128;

/** Placement expressions. */
export const MAX_PLACEMENT_TEXT_CHARS = 1024;
export const MAX_PLACEMENT_REQUIREMENTS = 32;
export const MAX_PLACEMENT_VALUES = 256;
export const MAX_PLACEMENT_SITES = 1000;

/** Sites. */
export const MAX_SITE_ADDRESSES = 16;
export const MAX_ADDRESS_CHARS = 512;
export const MAX_SITE_LABELS = 64;

/** Nova stores sizes and counts in signed 32-bit columns. */
export const NOVA_MAX_INT = 2_147_483_647;
/** Nova's rxtx_factor is a 32-bit float column. */
export const NOVA_MAX_RXTX_FACTOR = 3.40282e38;
export const MAX_FLAVOR_EXTRA_SPECS = 128;
/** Projects one private flavor may name for access. */
export const MAX_FLAVOR_ACCESS_PROJECTS = 128;
export const MAX_DESCRIPTION_CHARS = 65_535;

/** Glance defaults: image_property_quota and image_tag_quota. */
export const MAX_IMAGE_PROPERTIES = 128;
export const MAX_IMAGE_TAGS = 128;
export const MAX_IMAGE_PROPERTY_VALUE_CHARS = 65_535;
export const MAX_URL_CHARS = 2048;

/** Protection groups. */
export const MAX_PROTECTION_GROUP_MEMBERS = 1000;
export const MAX_PROTECTION_GROUP_MAPPINGS = 1000;

/** Disaster recovery: history entries kept per protection group (oldest dropped first), report message length. */
export const MAX_DR_HISTORY = 64;
export const MAX_DR_MESSAGE_CHARS = 1024;
