// Raft's safety properties, checked incrementally as the harness observes the members:
//  - election safety: at most one leader per term;
//  - log matching: same (index, term) => same entry and same predecessor term (hence, by induction,
//    identical prefixes), checked on every persisted entry;
//  - leader completeness: a newly elected leader holds every entry any member has seen committed;
//  - state machine safety: no two members apply different entries at one index, and snapshots carry
//    the same state as the members that applied up to their index;
//  - durability: an entry a leader reports committed is persisted on a majority of its voters;
//  - monotonicity: persisted term never goes down, a vote is never changed within a term, a
//    member's commit index never goes down.
import type { HardState, MemberId, RaftStatus } from '../../consensus/types.js';
import type { Entry } from '../../consensus/types.js';
import { entryDigest } from './disk.js';

export class InvariantViolation extends Error {
  override name = 'InvariantViolation';
}

function fail(message: string): never {
  throw new InvariantViolation(message);
}

interface LoggedEntry {
  digest: string;
  prevTerm: number;
  firstSeenBy: MemberId;
}

interface CommittedEntry {
  term: number;
  digest: string;
  observedBy: MemberId;
}

export class SafetyChecker {
  readonly leaderOfTerm = new Map<number, MemberId>();
  readonly committed = new Map<number, CommittedEntry>();
  maxCommitted = 0;
  leadersElected = 0;
  /** Hook for tests: called when a member is first seen as leader of a term. */
  onNewLeader: ((id: MemberId, term: number) => void) | null = null;

  private readonly logged = new Map<string, LoggedEntry>();
  private readonly appliedAt = new Map<number, { digest: string; by: MemberId }>();
  private readonly stateHashAt = new Map<number, { hash: number; by: MemberId }>();

  /** Returns true when `id` is seen leading `status.term` for the first time. */
  noteStatus(id: MemberId, status: RaftStatus): boolean {
    if (status.role !== 'leader') return false;
    const holder = this.leaderOfTerm.get(status.term);
    if (holder === id) return false;
    if (holder !== undefined) fail(`election safety: ${holder} and ${id} are both leader of term ${status.term}`);
    this.leaderOfTerm.set(status.term, id);
    this.leadersElected++;
    this.onNewLeader?.(id, status.term);
    return true;
  }

  notePersistedHardState(id: MemberId, before: HardState, after: HardState): void {
    if (after.term < before.term) fail(`${id}: persisted term went down ${before.term} -> ${after.term}`);
    if (after.term === before.term && before.vote !== '' && after.vote !== before.vote) {
      fail(`${id}: changed its vote in term ${after.term} from ${before.vote} to ${after.vote || '(none)'}`);
    }
    if (after.commit < before.commit) fail(`${id}: persisted commit went down ${before.commit} -> ${after.commit}`);
  }

  notePersistedEntry(id: MemberId, e: Entry, prevTerm: number): void {
    const key = `${e.index}:${e.term}`;
    const digest = entryDigest(e);
    const seen = this.logged.get(key);
    if (!seen) {
      this.logged.set(key, { digest, prevTerm, firstSeenBy: id });
      return;
    }
    if (seen.digest !== digest) {
      fail(`log matching: entry (${e.index}, term ${e.term}) differs between ${seen.firstSeenBy} and ${id}`);
    }
    if (seen.prevTerm !== prevTerm) {
      fail(
        `log matching: entry (${e.index}, term ${e.term}) follows term ${seen.prevTerm} at ${seen.firstSeenBy} ` +
          `but term ${prevTerm} at ${id}`,
      );
    }
  }

  noteApplied(id: MemberId, e: Entry): void {
    const digest = entryDigest(e);
    const seen = this.appliedAt.get(e.index);
    if (!seen) this.appliedAt.set(e.index, { digest, by: id });
    else if (seen.digest !== digest) {
      fail(`state machine safety: ${seen.by} applied ${seen.digest} at ${e.index} but ${id} applied ${digest}`);
    }
  }

  noteStateHash(id: MemberId, index: number, hash: number): void {
    const seen = this.stateHashAt.get(index);
    if (!seen) this.stateHashAt.set(index, { hash, by: id });
    else if (seen.hash !== hash) {
      fail(`state machine safety: state at ${index} differs between ${seen.by} and ${id}`);
    }
  }

  /** `entries` are ones `id` reports committed (its commit index covers them). */
  noteCommitted(id: MemberId, entries: Entry[]): void {
    for (const e of entries) {
      const digest = entryDigest(e);
      const seen = this.committed.get(e.index);
      if (!seen) {
        this.committed.set(e.index, { term: e.term, digest, observedBy: id });
        if (e.index > this.maxCommitted) this.maxCommitted = e.index;
      } else if (seen.digest !== digest) {
        fail(`committed entry at ${e.index} is ${seen.digest} at ${seen.observedBy} but ${digest} at ${id}`);
      }
    }
  }

  /** `leaderLog(lo, hi)` reads the new leader's log; `firstIndex` is its first held index. */
  checkLeaderCompleteness(id: MemberId, term: number, firstIndex: number, lastIndex: number, leaderLog: (lo: number, hi: number) => Entry[]): void {
    if (this.maxCommitted === 0) return;
    if (lastIndex < this.maxCommitted) {
      fail(`leader completeness: ${id} leads term ${term} with last index ${lastIndex} < committed ${this.maxCommitted}`);
    }
    const lo = Math.max(firstIndex, 1);
    if (lo > this.maxCommitted) return;
    const held = leaderLog(lo, this.maxCommitted + 1);
    for (let index = lo; index <= this.maxCommitted; index++) {
      const want = this.committed.get(index);
      if (!want) continue;
      const got = held[index - lo];
      if (!got || got.index !== index || entryDigest(got) !== want.digest) {
        fail(
          `leader completeness: ${id} leads term ${term} without committed entry ${index} ` +
            `(${want.digest}, seen committed by ${want.observedBy}); it holds ${got ? entryDigest(got) : 'nothing'}`,
        );
      }
    }
  }
}
