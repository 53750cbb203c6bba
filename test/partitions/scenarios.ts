// The link faults, each applied to a running cluster under load: which links go, and which sites
// end up on the minority side (where linearizable reads must be refused and the leader, if it is
// there, must refuse writes within two election timeouts).
import type { NetLab } from './netns.js';

export interface CutPlan {
  /** Sites (indices) cut off from a quorum, or [] when every site can still reach one. */
  minority: number[];
  /** The leader's index when the leader is on the minority side. */
  isolatedLeader?: number;
}

export interface Scenario {
  name: string;
  /** Sites the scenario needs at least. */
  minSites: number;
  /** Applies the cut; `leader` is the current leader's index. */
  cut(lab: NetLab, leader: number): CutPlan;
  /** Cut and heal repeatedly while the fault lasts. */
  flap?: boolean;
}

function others(lab: NetLab, except: number[]): number[] {
  return Array.from({ length: lab.sites }, (_, i) => i).filter((i) => !except.includes(i));
}

/** A follower, preferring the last site. */
function follower(lab: NetLab, leader: number): number {
  return leader === lab.sites - 1 ? 0 : lab.sites - 1;
}

export const SCENARIOS: readonly Scenario[] = [
  {
    name: 'symmetric: a follower cut from the leader',
    minSites: 3,
    cut: (lab, leader) => {
      lab.cutBetween([leader], [follower(lab, leader)]);
      return { minority: [] };
    },
  },
  {
    name: 'one-way: the leader cannot send to a follower',
    minSites: 3,
    cut: (lab, leader) => {
      lab.block(leader, follower(lab, leader));
      return { minority: [] };
    },
  },
  {
    name: 'one-way: a follower cannot send to anyone',
    minSites: 3,
    cut: (lab, leader) => {
      const f = follower(lab, leader);
      for (const other of others(lab, [f])) lab.block(f, other);
      return { minority: [] };
    },
  },
  {
    name: 'minority isolated (followers)',
    minSites: 3,
    cut: (lab, leader) => {
      const count = Math.floor((lab.sites - 1) / 2);
      const minority = others(lab, [leader]).slice(-count);
      lab.cutBetween(minority, others(lab, minority));
      return { minority };
    },
  },
  {
    name: 'leader isolated',
    minSites: 3,
    cut: (lab, leader) => {
      lab.cutBetween([leader], others(lab, [leader]));
      return { minority: [leader], isolatedLeader: leader };
    },
  },
  {
    name: 'leader in the minority (with a follower)',
    minSites: 5,
    cut: (lab, leader) => {
      const minority = [leader, follower(lab, leader)];
      lab.cutBetween(minority, others(lab, minority));
      return { minority, isolatedLeader: leader };
    },
  },
  {
    name: 'bridge: two halves that each see one middle site',
    minSites: 3,
    cut: (lab) => {
      // Wherever the leader is (an end or the middle), each half can still reach a quorum through the middle.
      const middle = lab.sites === 3 ? 1 : 2;
      const left = Array.from({ length: middle }, (_, i) => i);
      const right = Array.from({ length: lab.sites - middle - 1 }, (_, i) => middle + 1 + i);
      lab.cutBetween(left, right);
      return { minority: [] };
    },
  },
  {
    name: 'flapping: the leader cut and healed every few hundred ms',
    minSites: 3,
    flap: true,
    cut: (lab, leader) => {
      lab.cutBetween([leader], others(lab, [leader]));
      return { minority: [] };
    },
  },
];
