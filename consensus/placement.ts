// Where a voter stands on the WAN, worked out from round trips the runtime measured and handed in
// (this file reads no clock and measures nothing): the range each member draws its election
// timeout from, and which voter is better placed to lead than the current leader. DESIGN.md,
// "Elections across a WAN", gives the rules and why none of them touches safety.
import type { MemberId } from './types.js';

/** The random part of a timeout spans this many campaigns (a pre-vote and a vote round to a quorum). */
export const SPREAD_CAMPAIGNS = 2;
/** The random part never shrinks below this many ticks (two voters must be able to draw apart). */
export const MIN_SPREAD_TICKS = 2;
/** A transfer needs the target's quorum round trip lower than the leader's by this fraction... */
export const TRANSFER_MIN_GAIN_FRACTION = 0.2;
/** ...and by at least this many ticks (noise in the measurements never moves the leadership). */
export const TRANSFER_MIN_GAIN_TICKS = 1;
/** A leader looks for a better-placed voter only after leading this many election timeouts. */
export const TRANSFER_HOLD_TIMEOUTS = 10;

/**
 * The round trip a campaign (or a commit) from `self` needs: the largest of the smallest
 * round trips to enough other voters to make a majority with itself. Undefined when fewer of
 * those round trips are known than a majority needs, or when `self` is not among `voters`.
 */
export function quorumRttTicks(self: MemberId, voters: readonly MemberId[], rttOf: (member: MemberId) => number | undefined): number | undefined {
  if (!voters.includes(self)) return undefined;
  const needed = Math.floor(voters.length / 2); // others besides self
  if (needed === 0) return 0;
  const known: number[] = [];
  for (const v of voters) {
    if (v === self) continue;
    const rtt = rttOf(v);
    if (rtt !== undefined && Number.isFinite(rtt) && rtt >= 0) known.push(rtt);
  }
  if (known.length < needed) return undefined;
  known.sort((a, b) => a - b);
  return known[needed - 1];
}

export interface TimeoutBounds {
  /** The configured election timeout: the floor (CheckQuorum and the leader lease use it too). */
  minTicks: number;
  /** The configured ceiling; every timeout is below it. */
  maxTicks: number;
  heartbeatTicks: number;
  /** Measured round trip to the leader this member follows, if known. */
  leaderRttTicks?: number;
  /** This member's quorum round trip (quorumRttTicks), if known. */
  quorumRttTicks?: number;
}

/**
 * The range [low, low + spread) a member draws its election timeout from. The low end is the
 * configured floor, raised where a heartbeat interval plus the round trip to the leader would not
 * fit in it (a follower must not give up on a live leader whose heartbeats are merely far away).
 * The spread covers SPREAD_CAMPAIGNS campaigns of this member, so the first voter to time out has
 * usually finished its campaign before the next one starts its own; unknown round trips give the
 * whole configured range, as before measurements existed.
 */
export function electionTimeoutRange(b: TimeoutBounds): { low: number; spread: number } {
  const needed = b.heartbeatTicks + Math.ceil(b.leaderRttTicks ?? 0) + 1;
  const low = Math.min(Math.max(b.minTicks, needed), b.maxTicks - 1);
  const room = b.maxTicks - low;
  if (b.quorumRttTicks === undefined) return { low, spread: room };
  const campaign = 2 * b.quorumRttTicks; // a pre-vote round, then a vote round
  const spread = Math.min(room, Math.max(MIN_SPREAD_TICKS, Math.ceil(SPREAD_CAMPAIGNS * campaign)));
  return { low, spread };
}

/** Without measured round trips a campaign is assumed to take at most this fraction of the election timeout. */
export const UNMEASURED_CAMPAIGN_FRACTION = 0.25;

/**
 * The range a candidate draws the time it waits for its vote round from, before it campaigns again.
 * A split vote (two candidates in one term, neither with a majority) is settled only by one of
 * them campaigning again; waiting a whole election timeout for that doubled the election (issue
 * 16: most elections over 2 timeouts with a quorum connected in the 20-site traces were one). The
 * floor T guards a leader's lease, and a candidate has no lease to respect: every voter that granted
 * its pre-vote had already given up on the leader. So the wait is one campaign (two quorum round
 * trips; without measurements, a quarter of T, as Raft asks the broadcast time to be well below
 * the election timeout), drawn over the usual spread (half of T without measurements), and it
 * doubles with each campaign that did not end with a leader (`campaigns`, from 1) until it is the
 * ordinary range again: a vote round that is merely slow (a far voter, a slow disk) still completes.
 * The first wait is longer than `resendTicks`, the interval at which a candidate asks the voters that
 * have not answered again, so a lost request or answer is asked again before a new term is started.
 * The core uses this range only once a voter has refused the candidacy (a split); a candidate that
 * meets only silence keeps the ordinary range and its resends (raft.ts shortenWaitOnRefusal).
 */
export function campaignRetryRange(b: TimeoutBounds, campaigns: number, resendTicks: number): { low: number; spread: number } {
  const ordinary = electionTimeoutRange(b);
  const measured = b.quorumRttTicks !== undefined;
  const campaign = Math.max(MIN_SPREAD_TICKS, Math.ceil(measured ? 2 * b.quorumRttTicks! : UNMEASURED_CAMPAIGN_FRACTION * b.minTicks));
  const low = Math.max(campaign, resendTicks + 1) * 2 ** Math.min(Math.max(campaigns, 1) - 1, 16);
  if (low >= ordinary.low) return ordinary;
  return { low, spread: measured ? ordinary.spread : Math.min(ordinary.spread, Math.max(MIN_SPREAD_TICKS, Math.ceil(b.minTicks / 2))) };
}

/**
 * Ticks a voter that has just granted a pre-vote should leave before its own timeout fires: about
 * the time the pre-candidate needs to win its pre-vote and ask for votes (its quorum round trip,
 * estimated by ours and by the round trip to it, twice over, and a tick). Campaigning in that
 * window would only make a second candidate for the same term, a split vote. Undefined without
 * measurements: nothing changes then.
 */
export function preVoteGrantHoldTicks(ownQuorumRttTicks: number | undefined, rttToCandidateTicks: number | undefined): number | undefined {
  if (ownQuorumRttTicks === undefined) return undefined;
  return Math.ceil(2 * Math.max(ownQuorumRttTicks, rttToCandidateTicks ?? 0)) + 1;
}

export interface PlacedVoter {
  member: MemberId;
  /** Its quorum round trip as it reported it. */
  quorumRttTicks: number;
}

/**
 * The voter a leader whose own quorum round trip is `ownTicks` should hand over to, if any: the
 * lowest reported quorum round trip among `candidates` (which the caller has already limited to
 * live, fully caught-up voters), and only if it beats the leader's by both the fraction and the
 * absolute margin. Ties go to the first name in order, so the choice is deterministic.
 */
export function betterPlacedVoter(candidates: readonly PlacedVoter[], ownTicks: number): MemberId | undefined {
  let best: PlacedVoter | undefined;
  for (const c of candidates) {
    if (best === undefined || c.quorumRttTicks < best.quorumRttTicks || (c.quorumRttTicks === best.quorumRttTicks && c.member < best.member)) best = c;
  }
  if (best === undefined) return undefined;
  const gain = ownTicks - best.quorumRttTicks;
  if (gain < TRANSFER_MIN_GAIN_TICKS || gain < TRANSFER_MIN_GAIN_FRACTION * ownTicks) return undefined;
  return best.member;
}
