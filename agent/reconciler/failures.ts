// What a failed cloud call means for sync status: the cloud API could not be reached (the whole
// site is then "unreachable"), or this resource has a problem ("error", with the cloud's message).
// Also whether trying again later may help, which decides the retry cadence.
import { MAX_SYNC_MESSAGE_CHARS, type SyncState } from '../catalog/index.js';
import { CloudError } from '../../drivers/index.js';

export type FailureClass = 'unreachable' | 'error';

export interface Failure {
  state: Extract<SyncState, 'unreachable' | 'error'>;
  message: string;
  /** Worth retrying soon with backoff (otherwise: at the next audit or catalog change). */
  retryable: boolean;
}

/** Gateway statuses: the API in front answered, the service behind it did not. */
const GATEWAY_STATUSES: ReadonlySet<number> = new Set([502, 503, 504]);

export function describeFailure(err: unknown): Failure {
  if (err instanceof CloudError) {
    const unreachable = err.code === 'CONNECTION' || err.code === 'TIMEOUT' || (err.code === 'UNAVAILABLE' && GATEWAY_STATUSES.has(err.status));
    return { state: unreachable ? 'unreachable' : 'error', message: syncMessage(err.message), retryable: err.retryable };
  }
  // Not a cloud answer: a bug or an unexpected library error. Shown, and retried slowly.
  const message = err instanceof Error ? `${err.name}: ${err.message}` : `unexpected failure: ${String(err)}`;
  return { state: 'error', message: syncMessage(message), retryable: false };
}

/**
 * One line, without control characters, within the catalog's length limit: the catalog stores such
 * a message unchanged, so comparing it with the stored one tells whether a report changes anything.
 */
export function syncMessage(text: string): string {
  const chars = [...text.replace(/[\u0000-\u001f\u007f]+/g, ' ').trim()];
  return chars.length <= MAX_SYNC_MESSAGE_CHARS ? chars.join('') : chars.slice(0, MAX_SYNC_MESSAGE_CHARS - 1).join('') + '…';
}
