// The state a member starts from when it has never run: either as a founder of a new cluster
// (every founder computes the identical log) or as a site joining an existing one.
import type { RaftBootState } from './api.js';
import { encodeConfChange } from './confchange.js';
import { EntryType, type Entry, type MemberId } from './types.js';

/**
 * Entries 1..n at term 1, one ConfChange per founding member (voters first, then learners, in
 * the order given), all committed. Every founder must pass the same lists in the same order.
 */
export function bootstrapState(voters: MemberId[], learners: MemberId[] = []): RaftBootState {
  if (voters.length === 0) throw new Error('bootstrapState: a cluster needs at least one voter');
  const seen = new Set<MemberId>();
  for (const member of [...voters, ...learners]) {
    if (typeof member !== 'string' || member.length === 0) throw new Error('bootstrapState: member ids must be non-empty strings');
    if (seen.has(member)) throw new Error(`bootstrapState: member ${member} listed twice`);
    seen.add(member);
  }
  const entries: Entry[] = [];
  const push = (type: 'addVoter' | 'addLearner', member: MemberId): void => {
    entries.push({ index: entries.length + 1, term: 1, type: EntryType.ConfChange, data: encodeConfChange({ type, member }) });
  };
  for (const member of voters) push('addVoter', member);
  for (const member of learners) push('addLearner', member);
  return {
    hardState: { term: 1, vote: '', commit: entries.length },
    snapshot: null,
    entries,
    applied: 0,
  };
}

/** A site that will join an existing cluster: it knows nothing and learns everything from the leader. */
export function emptyBootState(): RaftBootState {
  return { hardState: { term: 0, vote: '', commit: 0 }, snapshot: null, entries: [], applied: 0 };
}
