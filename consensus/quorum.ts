// Majority arithmetic over the voter set. Voter sets are small (a handful of sites), so these are
// plain loops over arrays; they never look at learners.
import type { MemberId } from './types.js';

export function quorumSize(voterCount: number): number {
  return (voterCount >> 1) + 1;
}

/**
 * The highest index that a majority of `count` voters hold, given their match indexes in
 * `matches[0..count)`. Sorts that prefix in place (descending); callers pass a scratch array.
 */
export function majorityMatch(matches: number[], count: number): number {
  for (let i = 1; i < count; i++) {
    const value = matches[i];
    let j = i - 1;
    while (j >= 0 && matches[j] < value) {
      matches[j + 1] = matches[j];
      j--;
    }
    matches[j + 1] = value;
  }
  return matches[count >> 1];
}

export type VoteOutcome = 'won' | 'lost' | 'pending';

/** Counts only the current voters' answers; `votes` may hold answers from anyone. */
export function tallyVotes(voters: readonly MemberId[], votes: ReadonlyMap<MemberId, boolean>): VoteOutcome {
  let granted = 0;
  let rejected = 0;
  for (const voter of voters) {
    const answer = votes.get(voter);
    if (answer === true) granted++;
    else if (answer === false) rejected++;
  }
  const needed = quorumSize(voters.length);
  if (granted >= needed) return 'won';
  if (voters.length - rejected < needed) return 'lost';
  return 'pending';
}
