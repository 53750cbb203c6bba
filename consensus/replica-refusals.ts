// Refusals: the definite "no" a request gets before anything is proposed (NO_LEADER, NO_QUORUM,
// PEER_UNREACHABLE, BUSY, INVALID), with a message that says why and what to do.
import type { RefusalReason } from './api.js';
import type { ProposalOutcome, RefusalCode } from './ports.js';
import type { ReplicaContext } from './replica-context.js';
import type { MemberId, RaftSummary } from './types.js';

export function refused(code: RefusalCode, message: string, leader?: MemberId): ProposalOutcome {
  return leader ? { status: 'refused', code, message, leader } : { status: 'refused', code, message };
}

export function refusalFromCore(reason: RefusalReason, leader: MemberId, detail?: string): ProposalOutcome {
  const suffix = detail ? ` (${detail})` : '';
  switch (reason) {
    case 'notLeader':
      return refused('NO_LEADER', `this site is not the leader${leader ? `; the leader is ${leader}` : ''}; the write was not applied${suffix}`, leader);
    case 'noQuorum':
      return refused('NO_QUORUM', `the leader has not heard from a quorum of voters; the write was not applied${suffix}`, leader);
    case 'transferPending':
      return refused('BUSY', `a leadership transfer is in progress; retry in a moment${suffix}`, leader);
    case 'confChangePending':
      return refused('BUSY', `another membership change is still in progress; retry once it has committed${suffix}`, leader);
    case 'uncommittedLimit':
      return refused('BUSY', `too many uncommitted writes at the leader; retry shortly${suffix}`, leader);
    case 'invalidConfChange':
      return refused('INVALID', `membership change refused${suffix}`, leader);
  }
}

export class Refusals {
  /** Clock time at which this member stopped leading for lack of a quorum (CheckQuorum), or null. */
  private lostQuorumAtMs: number | null = null;

  constructor(private readonly ctx: ReplicaContext) {}

  /** Before a leader proposes: a quorum heard and reachable, and every named site live. */
  beforeLeaderProposes(requireLive: readonly MemberId[]): ProposalOutcome | null {
    const { id, core } = this.ctx;
    if (!core.quorumActive()) {
      return refused('NO_QUORUM', `leader ${id} has not heard from a quorum of voters within the election timeout; the write was not applied`, id);
    }
    const unreachableVoters = this.votersKnownDown();
    if (unreachableVoters.length > 0 && !quorumRemains(core.conf().voters.length, unreachableVoters.length)) {
      return refused('NO_QUORUM', `leader ${id} cannot reach a quorum of voters (${unreachableVoters.join(', ')} unreachable); the write was not applied`, id);
    }
    for (const member of requireLive) {
      if (!this.ctx.isLive(member) || this.ctx.linkDown(member)) {
        return {
          status: 'refused',
          code: 'PEER_UNREACHABLE',
          message: `site ${member} has not answered the leader within the election timeout (${this.ctx.settings.electionTimeoutMs} ms); the write was not applied on any site`,
          leader: id,
          member,
        };
      }
    }
    return null;
  }

  /**
   * Before a leader proposes a write allowed only while named sites are cut off from it (a forced
   * failover): refused when one of them answered within the election timeout and its link is not
   * known to be down. The leader decides from its own facts, at proposal time, so every site gets
   * the same verdict for the same write.
   */
  unlessUnreachable(requireUnreachable: readonly MemberId[]): ProposalOutcome | null {
    const { id } = this.ctx;
    for (const member of requireUnreachable) {
      if (member === id || (this.ctx.isLive(member) && !this.ctx.linkDown(member))) {
        return {
          status: 'refused',
          code: 'PEER_REACHABLE',
          message:
            `site ${member} is reachable from the leader ${id} (it answered within the election timeout): a forced operation is allowed ` +
            'only while that site is cut off from the leader; use the planned operation instead. The write was not applied on any site',
          leader: id,
          member,
        };
      }
    }
    return null;
  }

  /**
   * The core steps down the moment it has not heard from a quorum for an election timeout, so a
   * leader never answers NO_QUORUM itself. For a while after such a step-down, this member (which
   * was the leader) knows exactly why there is no leader, and says so at once.
   */
  recentlyLostQuorum(): ProposalOutcome | null {
    if (this.lostQuorumAtMs === null || this.ctx.core.summary().leader !== '') return null;
    const sinceMs = this.ctx.deps.clock.now() - this.lostQuorumAtMs;
    if (sinceMs > 2 * this.ctx.settings.electionTimeoutMs) return null;
    return refused(
      'NO_QUORUM',
      `site ${this.ctx.id} was the leader until ${Math.round(sinceMs)} ms ago and lost contact with a quorum of voters; the write was not applied`,
    );
  }

  noLeader(): ProposalOutcome {
    return refused(
      'NO_LEADER',
      `no leader is known to site ${this.ctx.id} within the election timeout (${this.ctx.settings.electionTimeoutMs} ms): ` +
        'a quorum of voters may be unreachable; the write was not applied',
    );
  }

  /** Role, term or leader changed from `before` to `now`. */
  onStatusChange(before: { role: string; term: number; leader: MemberId }, now: RaftSummary): void {
    // Leader -> follower within the same term, with no leader known: a CheckQuorum step-down.
    if (before.role === 'leader' && now.role !== 'leader' && now.term === before.term && now.leader === '') {
      this.lostQuorumAtMs = this.ctx.deps.clock.now();
    }
    if (now.leader !== '') this.lostQuorumAtMs = null;
  }

  private votersKnownDown(): MemberId[] {
    if (!this.ctx.deps.transport.linkDown) return [];
    return this.ctx.core.conf().voters.filter((v) => this.ctx.linkDown(v));
  }
}

function quorumRemains(voters: number, down: number): boolean {
  return voters - down >= Math.floor(voters / 2) + 1;
}
