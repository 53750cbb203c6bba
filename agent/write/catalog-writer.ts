// The write path (DESIGN.md): stamp a catalog command with its client id, sequence and time, name
// the sites that must be live, propose it through the replica (which forwards to the leader), and
// turn the outcome into committed / rejected / refused / unknown for the caller. Also answers
// "what happened to write X" from the catalog's exactly-once session table (see status()).
import type { ProposalOutcome } from '../../consensus/ports.js';
import type { Replica } from '../../consensus/replica.js';
import { writeIdOf } from '../catalog/write-id.js';
import { drProposalNeeds, encodeCommand, requiredLiveSites, SESSION_RECENT_SEQS, writeCommand, type AuditStamp, type Catalog, type CommandResult, type WriteOp } from '../catalog/index.js';

export interface WriteRequestOptions {
  clientId: string;
  seq: number;
  timeoutMs?: number;
  /** Skip the liveness requirement of the sites the write names (an operation that defines --force). */
  force?: boolean;
  /** Why: the forced reason of a forced write, else recorded in the audit ring only. */
  reason?: string;
  /** Who asked, from where, through which site (operator, host, site); the reason is taken from `reason`. */
  audit?: Omit<AuditStamp, 'reason'>;
}

export interface OpRevision {
  kind: string;
  id: string;
  revision: number;
}

export type CatalogWriteOutcome =
  | { status: 'committed'; writeId: string; index: number; revisions: OpRevision[] }
  | { status: 'rejected'; code: 'VALIDATION' | 'CONFLICT'; message: string; field?: string; opIndex?: number; details?: Record<string, string | number> }
  | { status: 'refused'; code: 'NO_LEADER' | 'NO_QUORUM' | 'PEER_UNREACHABLE' | 'PEER_REACHABLE' | 'BUSY' | 'INVALID'; message: string; leader?: string; member?: string }
  | { status: 'unknown'; writeId: string; message: string };

/**
 * What became of a write, never claiming more than the log proves. `committed` and `rejected` are
 * final. `not-committed` says the write was not applied as of `asOfIndex` (the leader's commit index
 * when asked, so the same answer on every site); `final` when it never can be (a later write of the
 * client was applied first), otherwise a copy still in flight may yet commit. `unknown`: the log no
 * longer says (older than the session remembers), or the leader could not be asked.
 */
export type WriteStatus =
  | { writeId: string; status: 'committed'; index: number; revisions: OpRevision[] }
  | { writeId: string; status: 'rejected'; index: number; code: 'VALIDATION' | 'CONFLICT'; message: string; field?: string }
  | { writeId: string; status: 'pending'; message: string }
  | { writeId: string; status: 'not-committed'; final: boolean; asOfIndex: number; message: string }
  | { writeId: string; status: 'unknown'; appliedIndex: number; message: string };

/** Wall-clock milliseconds for the command's `time` (the simulator passes virtual time). */
export type EpochClock = () => number;

export { writeIdOf } from '../catalog/write-id.js';

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
    const command = writeCommand({ clientId: options.clientId, seq: options.seq, time: Math.floor(this.epochMs()), ...forced, ...auditOf(options) }, ops);
    // A dr op names its own needs (a forced failover needs its primary cut off); other writes skip theirs when forced.
    const needs = drProposalNeeds(ops, options.force === true) ?? {
      requireLive: options.force ? [] : requiredLiveSites(ops, this.catalog),
      requireUnreachable: [],
    };
    this.inFlight.add(writeId);
    try {
      const outcome = await this.replica.propose(encodeCommand(command), { ...needs, timeoutMs: options.timeoutMs });
      return toWriteOutcome(outcome, ops, writeId);
    } finally {
      this.inFlight.delete(writeId);
    }
  }

  /**
   * The fate of a write by id, from the replicated session table. An answer the entries applied here
   * settle (applied, or never applicable) is given at once; "not applied yet" is confirmed through
   * a ReadIndex barrier first, because this site may lag behind the leader.
   */
  async status(clientId: string, seq: number, timeoutMs?: number): Promise<WriteStatus> {
    const writeId = writeIdOf(clientId, seq);
    const local = this.fromLog(writeId, clientId, seq, this.catalog.appliedIndex);
    if (local.status !== 'not-committed' || local.final) return local;
    if (this.inFlight.has(writeId)) return this.pending(writeId);
    const barrier = await this.replica.readIndex(timeoutMs);
    if (!barrier.ok) {
      return {
        writeId,
        status: 'unknown',
        appliedIndex: this.catalog.appliedIndex,
        message:
          `not applied on this site as of index ${this.catalog.appliedIndex}, and the leader could not confirm the rest of the log ` +
          `(${barrier.code}: ${barrier.message}): it may have committed elsewhere; ask again`,
      };
    }
    if (this.inFlight.has(writeId)) return this.pending(writeId);
    return this.fromLog(writeId, clientId, seq, barrier.index);
  }

  private pending(writeId: string): WriteStatus {
    return { writeId, status: 'pending', message: 'this site is proposing the write right now; ask again for its outcome' };
  }

  /** The answer the applied entries give (`asOfIndex`: what they are known to cover). */
  private fromLog(writeId: string, clientId: string, seq: number, asOfIndex: number): WriteStatus {
    const fate = this.catalog.writeFate(clientId, seq);
    switch (fate.type) {
      case 'applied': {
        // The session keeps the last result whole; older writes are known by index and code.
        if (fate.result !== undefined && !fate.result.ok) return { writeId, status: 'rejected', index: fate.index, ...pick(rejectionOf(fate.result)) };
        if (fate.rejected !== undefined) {
          const code = fate.rejected === 'VALIDATION' ? 'VALIDATION' : 'CONFLICT';
          const message = `rejected by the catalog (${fate.rejected}) at index ${fate.index}: nothing changed (details are kept for the client's last write only)`;
          return { writeId, status: 'rejected', index: fate.index, code, message };
        }
        // The session keeps the result, not the ops: the revisions are known by number only.
        return { writeId, status: 'committed', index: fate.index, revisions: [] };
      }
      case 'never':
        return {
          writeId,
          status: 'not-committed',
          final: true,
          asOfIndex,
          message: `not committed, and it never can be: a later write of client ${clientId} (seq ${fate.lastSeq}) was applied first, so this one would be refused as stale`,
        };
      case 'not-yet':
        return {
          writeId,
          status: 'not-committed',
          final: false,
          asOfIndex,
          message:
            `not committed as of index ${asOfIndex}; if it is still in flight it may yet commit. ` +
            'Retrying it with the same client id and seq is safe (it is applied at most once); a retry under a new id is not',
        };
      case 'forgotten':
        return {
          writeId,
          status: 'unknown',
          appliedIndex: this.catalog.appliedIndex,
          message:
            fate.oldestKnownSeq === null
              ? `client ${clientId} has no session: the session table keeps the ${this.catalog.maxSessions.toLocaleString('en-US')} most recently active clients and has evicted some, so whether this write committed is no longer known`
              : `older than the last ${SESSION_RECENT_SEQS} writes remembered for client ${clientId} (oldest remembered seq ${fate.oldestKnownSeq}): whether it committed is no longer known`,
        };
    }
  }
}

/** The command's audit stamp; a forced write's reason travels once, as `forced`. */
function auditOf(options: WriteRequestOptions): { audit?: AuditStamp } {
  const stamp: AuditStamp = { ...options.audit };
  if (options.reason !== undefined && !options.force) stamp.reason = options.reason;
  return Object.keys(stamp).length === 0 ? {} : { audit: stamp };
}

function pick(r: ReturnType<typeof rejectionOf>): { code: 'VALIDATION' | 'CONFLICT'; message: string; field?: string } {
  return { code: r.code, message: r.message, ...(r.field ? { field: r.field } : {}) };
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
