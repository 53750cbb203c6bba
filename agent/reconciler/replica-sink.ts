// The daemon's report sink: sync reports become a `syncStatus` command proposed through the local
// replica (forwarded to the leader like any write). The reconciler of a site writes as client
// `reconciler/<site>`; its sequence numbers continue past the catalog's session for that client,
// so they keep increasing across restarts.
import type { ProposalOutcome } from '../../consensus/ports.js';
import { encodeCommand, syncStatusCommand, type Catalog, type CommandResult, type SyncDigestReport, type SyncReport } from '../catalog/index.js';
import { ReportRejectedError, type ReportSink } from './report-queue.js';

export interface ReplicaReportSinkOptions {
  site: string;
  replica: { propose(data: Uint8Array, options?: { timeoutMs?: number }): Promise<ProposalOutcome> };
  catalog: Pick<Catalog, 'session'>;
  /** Milliseconds since the epoch for the command's `time` (virtual in the simulator). */
  epochMs: () => number;
  timeoutMs?: number;
}

export function reconcilerClientId(site: string): string {
  return `reconciler/${site}`;
}

export function replicaReportSink(options: ReplicaReportSinkOptions): ReportSink {
  const clientId = reconcilerClientId(options.site);
  let lastSeq = 0;
  const nextSeq = (): number => {
    // Past both what this process sent and what the log holds; the epoch time keeps a restarted
    // agent ahead of proposals of its previous life that are still on their way.
    const applied = options.catalog.session(clientId)?.lastSeq ?? 0;
    lastSeq = Math.max(lastSeq + 1, applied + 1, Math.floor(options.epochMs()));
    return lastSeq;
  };
  return async (reports: SyncReport[], digest?: SyncDigestReport) => {
    const command = syncStatusCommand({ clientId, seq: nextSeq(), time: Math.floor(options.epochMs()) }, reports, digest);
    const outcome = await options.replica.propose(encodeCommand(command), { timeoutMs: options.timeoutMs });
    if (outcome.status === 'refused') throw new Error(`sync reports refused (${outcome.code}): ${outcome.message}`);
    if (outcome.status === 'unknown') throw new Error(`sync reports outcome unknown: ${outcome.message}`);
    const result = outcome.result as CommandResult;
    if (result.ok) return;
    if (result.code === 'STALE_SEQUENCE') throw new Error(`sync reports not applied: ${result.message}`);
    throw new ReportRejectedError(`sync reports rejected (${result.code}): ${result.message}`);
  };
}
