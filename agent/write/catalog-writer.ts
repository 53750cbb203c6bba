// The write path (DESIGN.md): stamp a catalog command with its client id, sequence and time, name
// the sites that must be live, propose it through the replica (which forwards to the leader), and
// turn the outcome into committed / rejected / refused / unknown for the caller. Also answers
// "what happened to write X" from the catalog's exactly-once session table.
import type { ProposalOutcome } from '../../consensus/ports.js';
import type { Replica } from '../../consensus/replica.js';
import { encodeCommand, requiredLiveSites, writeCommand, type Catalog, type CommandResult, type WriteOp } from '../catalog/index.js';

export interface WriteRequestOptions {
  clientId: string;
  seq: number;
  timeoutMs?: number;
  /** Skip the liveness requirement of the sites the write names (an operation that defines --force). */
  force?: boolean;
  reason?: string;
}

export interface OpRevision {
  kind: string;
  id: string;
  revision: number;
}

export type CatalogWriteOutcome =
  | { status: 'committed'; writeId: string; index: number; revisions: OpRevision[] }
  | { status: 'rejected'; code: 'VALIDATION' | 'CONFLICT'; message: string; field?: string; opIndex?: number; details?: Record<string, string | number> }
  | { status: 'refused'; code: 'NO_LEADER' | 'NO_QUORUM' | 'PEER_UNREACHABLE' | 'BUSY' | 'INVALID'; message: string; leader?: string; member?: string }
  | { status: 'unknown'; writeId: string; message: string };

export type WriteStatus =
  | { writeId: string; status: 'committed'; index: number; revisions: OpRevision[] }
  | { writeId: string; status: 'rejected'; index: number; code: 'VALIDATION' | 'CONFLICT'; message: string; field?: string }
  | { writeId: string; status: 'pending' }
  | { writeId: string; status: 'not-found' };

/** Wall-clock milliseconds for the command's `time` (the simulator passes virtual time). */
export type EpochClock = () => number;

export function writeIdOf(clientId: string, seq: number): string {
  return `${clientId}:${seq}`;
}

export class CatalogWriter {
  private readonly inFlight = new Set<string>();

  constructor(
    private readonly replica: Replica,
    private readonly catalog: Catalog,
    private readonly epochMs: EpochClock,
  ) {}

  async write(ops: WriteOp[], options: WriteRequestOptions): Promise<CatalogWriteOutcome> {
    const writeId = writeIdOf(options.clientId, options.seq);
    const forced = options.force ? { forced: options.reason ?? 'forced without a reason' } : {};
    const command = writeCommand({ clientId: options.clientId, seq: options.seq, time: Math.floor(this.epochMs()), ...forced }, ops);
    const requireLive = options.force ? [] : requiredLiveSites(ops, this.catalog);
    this.inFlight.add(writeId);
    try {
      const outcome = await this.replica.propose(encodeCommand(command), { requireLive, timeoutMs: options.timeoutMs });
      return toWriteOutcome(outcome, ops, writeId);
    } finally {
      this.inFlight.delete(writeId);
    }
  }

  /** The fate of a write by id, from the replicated session table (as applied on this site). */
  status(clientId: string, seq: number): WriteStatus {
    const writeId = writeIdOf(clientId, seq);
    const session = this.catalog.session(clientId);
    if (session && session.lastSeq === seq) {
      const r = session.lastResult;
      // The session keeps the result, not the ops: the revisions are known by number only.
      if (r.ok) return { writeId, status: 'committed', index: session.lastIndex, revisions: [] };
      const rejected = rejectionOf(r);
      return { writeId, status: 'rejected', index: session.lastIndex, code: rejected.code, message: rejected.message, ...(rejected.field ? { field: rejected.field } : {}) };
    }
    if (session && session.lastSeq > seq) {
      // Only the last result per client is kept; an older sequence was applied (exactly once) before it.
      return { writeId, status: 'committed', index: 0, revisions: [] };
    }
    if (this.inFlight.has(writeId)) return { writeId, status: 'pending' };
    return { writeId, status: 'not-found' };
  }
}

function toWriteOutcome(outcome: ProposalOutcome, ops: WriteOp[], writeId: string): CatalogWriteOutcome {
  if (outcome.status === 'refused') {
    return {
      status: 'refused',
      code: outcome.code,
      message: outcome.message,
      ...(outcome.leader ? { leader: outcome.leader } : {}),
      ...(outcome.member ? { member: outcome.member } : {}),
    };
  }
  if (outcome.status === 'unknown') return { status: 'unknown', writeId, message: `${outcome.message} (write id ${writeId})` };
  const result = outcome.result as CommandResult;
  if (result.ok) {
    return {
      status: 'committed',
      writeId,
      index: outcome.index,
      revisions: ops.map((op, i) => ({ kind: op.kind, id: op.id, revision: result.revisions[i] ?? outcome.index })),
    };
  }
  return { status: 'rejected', ...rejectionOf(result) };
}

function rejectionOf(result: Exclude<CommandResult, { ok: true }>): {
  code: 'VALIDATION' | 'CONFLICT';
  message: string;
  field?: string;
  opIndex?: number;
  details?: Record<string, string | number>;
} {
  switch (result.code) {
    case 'VALIDATION':
      return { code: 'VALIDATION', message: result.message, field: result.field, ...(result.opIndex !== undefined ? { opIndex: result.opIndex } : {}) };
    case 'CONFLICT':
      return {
        code: 'CONFLICT',
        message: result.message,
        opIndex: result.opIndex,
        details: { kind: result.kind, id: result.id, expectedRevision: result.expected, currentRevision: result.current },
      };
    case 'NOT_FOUND':
      return { code: 'CONFLICT', message: result.message, opIndex: result.opIndex, details: { kind: result.kind, id: result.id, currentRevision: 0 } };
    case 'STALE_SEQUENCE':
      return {
        code: 'CONFLICT',
        message: result.message,
        details: { clientId: result.clientId, seq: result.seq, lastSeq: result.lastSeq },
      };
  }
}
