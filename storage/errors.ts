// Errors of the storage layer. Each carries a stable `code` so the agent can map it to an exit
// code or an admin API error without parsing messages, and a message an operator can act on.

export type StorageErrorCode =
  | 'STORAGE_FORMAT'
  | 'STORAGE_CORRUPTION'
  | 'STORE_INVALID_BATCH'
  | 'LOG_RANGE'
  | 'STORE_STATE'
  | 'STORE_LOCKED'
  | 'STORE_WRITE_FAILED';

/** What an operator does when committed state on this site is damaged: rebuild it from a peer. */
export const REJOIN_ADVICE =
  'Stop this agent, move the data directory aside and re-join the site from a peer (stackraft site remove/add).';

export class StorageError extends Error {
  readonly code: StorageErrorCode;

  constructor(code: StorageErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** The directory is not a stackraft store, or one written by a format this build does not read. */
export class StorageFormatError extends StorageError {
  readonly dir: string;
  /** Version found in the directory, when there was one. */
  readonly foundVersion: number | undefined;
  readonly supportedVersion: number;

  constructor(dir: string, message: string, supportedVersion: number, foundVersion?: number) {
    super('STORAGE_FORMAT', message);
    this.dir = dir;
    this.supportedVersion = supportedVersion;
    this.foundVersion = foundVersion;
  }
}

/** Stored data failed its checksum or its invariants where it cannot be repaired locally. */
export class StorageCorruptionError extends StorageError {
  readonly dir: string;
  /** The log index concerned, when the damage is in a log entry. */
  readonly index: number | undefined;

  constructor(dir: string, what: string, index?: number) {
    super('STORAGE_CORRUPTION', `Storage corruption in ${dir}: ${what}. ${REJOIN_ADVICE}`);
    this.dir = dir;
    this.index = index;
  }
}

/** A batch that would break a log invariant (a caller bug): nothing of it was written. */
export class InvalidBatchError extends StorageError {
  constructor(message: string) {
    super('STORE_INVALID_BATCH', `Refused store batch: ${message}`);
  }
}

/** entries() asked for indices the store does not hold (compacted away, or not yet written). */
export class LogRangeError extends StorageError {
  readonly reason: 'compacted' | 'unavailable';
  readonly firstIndex: number;
  readonly lastIndex: number;

  constructor(reason: 'compacted' | 'unavailable', lo: number, hi: number, firstIndex: number, lastIndex: number) {
    super(
      'LOG_RANGE',
      `Log range [${lo}, ${hi}) is ${reason === 'compacted' ? 'compacted' : 'not available'}: ` +
        `the store holds [${firstIndex}, ${lastIndex}]`,
    );
    this.reason = reason;
    this.firstIndex = firstIndex;
    this.lastIndex = lastIndex;
  }
}

/** The store is not in a state to serve the call (not opened, closed, crashed, failed earlier, full). */
export class StoreStateError extends StorageError {
  constructor(message: string, code: 'STORE_STATE' | 'STORE_LOCKED' = 'STORE_STATE') {
    super(code, message);
  }
}

/**
 * The disk refused a write. Whether any of it reached the disk is unknown (an fsync failure cannot
 * be retried safely), so the store refuses every later write: restart the agent to recover.
 */
export class StoreWriteError extends StorageError {
  constructor(dir: string, cause: unknown) {
    const detail = cause instanceof Error ? cause.message : String(cause);
    super(
      'STORE_WRITE_FAILED',
      `Write to ${dir} failed (${detail}); the store refuses further writes until the agent restarts`,
      { cause },
    );
  }
}
