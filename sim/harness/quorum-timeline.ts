// Whether a quorum of voters could talk to each other, sampled over the run, so the report can
// split each election's time (from losing a leader to the next one) into the part a quorum of
// voters was connected — what the protocol controls — and the part no quorum was possible — what
// the faults impose (issue 16). Sampling rather than events: flapping cuts and clock-driven faults
// change links without an event the harness sees.
import type { Scheduler } from '../scheduler.js';

/** Sampling period of the quorum timeline. */
export const QUORUM_SAMPLE_MS = 50;

export interface ElectionSplit {
  quorumMs: number;
  noQuorumMs: number;
}

export class QuorumTimeline {
  /** 1 = a quorum of voters was connected at that sample; bounded by the run's duration. */
  private readonly samples: Uint8Array;
  private taken = 0;

  constructor(
    private readonly scheduler: Scheduler,
    durationMs: number,
    private readonly quorumConnected: () => boolean,
  ) {
    this.samples = new Uint8Array(Math.ceil(durationMs / QUORUM_SAMPLE_MS) + 1);
  }

  start(): void {
    this.sample();
  }

  /** Time in [fromMs, toMs) with and without a connected quorum, by the samples (each stands for its period). */
  split(fromMs: number, toMs: number): ElectionSplit {
    let quorumMs = 0;
    let noQuorumMs = 0;
    for (let t = fromMs; t < toMs; ) {
      const i = Math.floor(t / QUORUM_SAMPLE_MS);
      const end = Math.min(toMs, (i + 1) * QUORUM_SAMPLE_MS);
      if (i >= this.taken || this.samples[i] === 1) quorumMs += end - t;
      else noQuorumMs += end - t;
      t = end;
    }
    return { quorumMs, noQuorumMs };
  }

  private sample(): void {
    if (this.taken >= this.samples.length) return;
    this.samples[this.taken++] = this.quorumConnected() ? 1 : 0;
    this.scheduler.after(QUORUM_SAMPLE_MS, () => this.sample());
  }
}

/**
 * Is there a majority of `voters`, all up, every pair able to exchange messages both ways? Exact
 * (every subset of majority size) up to MAX_EXACT_VOTERS voters; beyond, greedy from the best
 * connected voter, which can only say "no" where an exact search might find a quorum.
 */
export const MAX_EXACT_VOTERS = 11;

export function majorityConnected(voters: readonly string[], isUp: (site: string) => boolean, linked: (a: string, b: string) => boolean): boolean {
  const up = voters.filter(isUp);
  const need = Math.floor(voters.length / 2) + 1;
  if (up.length < need) return false;
  const ok = (a: string, b: string): boolean => linked(a, b) && linked(b, a);
  if (voters.length > MAX_EXACT_VOTERS) return greedyClique(up, ok) >= need;
  return hasClique(up, need, ok, 0, []);
}

function hasClique(sites: readonly string[], need: number, ok: (a: string, b: string) => boolean, from: number, chosen: string[]): boolean {
  if (chosen.length === need) return true;
  for (let i = from; i <= sites.length - (need - chosen.length); i++) {
    if (!chosen.every((c) => ok(c, sites[i]))) continue;
    chosen.push(sites[i]);
    if (hasClique(sites, need, ok, i + 1, chosen)) return true;
    chosen.pop();
  }
  return false;
}

function greedyClique(sites: readonly string[], ok: (a: string, b: string) => boolean): number {
  const degree = new Map(sites.map((s) => [s, sites.filter((o) => o !== s && ok(s, o)).length]));
  const byDegree = [...sites].sort((a, b) => degree.get(b)! - degree.get(a)!);
  const clique: string[] = [];
  for (const s of byDegree) if (clique.every((c) => ok(c, s))) clique.push(s);
  return clique.length;
}
