// What the HTML report draws, gathered while a run goes: the faults as they were applied, the
// leaders per term, every site's applied index after the heal (to say when each site converged),
// the commit-latency samples with their floors, and where a checker tripped. Memory is bounded by
// the site count and the run's own bounded logs; nothing here changes the run.
import type { CheckFailure } from '../checkers/failure.js';
import type { AppliedFault } from '../faults.js';
import type { LeaderEvent } from './leader-tracker.js';

/** Fault actions kept for the report; past this the rest are counted, not drawn. */
export const MAX_TIMELINE_FAULTS = 5_000;
/** Latency samples kept for the distribution (an even thinning past this keeps its shape). */
export const MAX_TIMELINE_LATENCY_SAMPLES = 20_000;

export interface TimelineFault {
  episodeId: number;
  kind: string;
  detail: string;
  startMs: number;
  /** null: still active when the run stopped. */
  endMs: number | null;
  skipped?: string;
}

export interface SiteConvergence {
  site: string;
  /** From the heal until the site last changed its applied index and held the final one; null: never. */
  convergedAfterMs: number | null;
  /** The site was down at the end. */
  down: boolean;
  finalAppliedIndex: number;
}

export interface SimTimeline {
  durationMs: number;
  /** When the faults healed (the quiet period began); null without faults. */
  healedAtMs: number | null;
  faults: TimelineFault[];
  faultsDropped: number;
  leaders: LeaderEvent[];
  convergence: SiteConvergence[];
  latency: { samplesMs: number[]; floorMs: number[]; sampled: boolean };
  failures: CheckFailure[];
}

interface SiteProbe {
  applied: number;
  changedAtMs: number;
}

export class TimelineRecorder {
  private readonly faults: TimelineFault[] = [];
  private readonly open = new Map<number, TimelineFault>();
  private faultsDropped = 0;
  private readonly sites = new Map<string, SiteProbe>();
  private healedAtMs: number | null = null;

  onFault(f: AppliedFault): void {
    if (f.action === 'start') {
      if (this.faults.length >= MAX_TIMELINE_FAULTS) {
        this.faultsDropped++;
        return;
      }
      // A skipped episode (its site already down, no leader to kill) never ends: it lasted no time.
      const fault: TimelineFault = { episodeId: f.episodeId, kind: f.kind, detail: f.detail, startMs: f.atMs, endMs: f.skipped ? f.atMs : null, ...(f.skipped ? { skipped: f.skipped } : {}) };
      this.faults.push(fault);
      if (!f.skipped) this.open.set(f.episodeId, fault);
      return;
    }
    const fault = this.open.get(f.episodeId);
    if (fault === undefined) return;
    fault.endMs = f.atMs;
    this.open.delete(f.episodeId);
  }

  onHeal(atMs: number): void {
    this.healedAtMs = atMs;
  }

  /** Every site's applied index at one probe after the heal (-1: the site is down). */
  onProbe(atMs: number, appliedBySite: ReadonlyMap<string, number>): void {
    for (const [site, applied] of appliedBySite) {
      const seen = this.sites.get(site);
      if (seen === undefined) this.sites.set(site, { applied, changedAtMs: atMs });
      else if (seen.applied !== applied) {
        seen.applied = applied;
        seen.changedAtMs = atMs;
      }
    }
  }

  finish(o: { durationMs: number; withFaults: boolean; leaders: readonly LeaderEvent[]; latencyMs: readonly number[]; floorMs: readonly number[]; failures: readonly CheckFailure[] }): SimTimeline {
    const finalIndex = Math.max(-1, ...[...this.sites.values()].map((s) => s.applied));
    const healedAt = this.healedAtMs ?? 0;
    const convergence: SiteConvergence[] = [...this.sites.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([site, s]) => ({
        site,
        down: s.applied < 0,
        finalAppliedIndex: s.applied,
        convergedAfterMs: s.applied >= 0 && s.applied === finalIndex ? Math.max(0, s.changedAtMs - healedAt) : null,
      }));
    const step = Math.max(1, Math.ceil(o.latencyMs.length / MAX_TIMELINE_LATENCY_SAMPLES));
    const pick = <T>(xs: readonly T[]): T[] => (step === 1 ? [...xs] : xs.filter((_, i) => i % step === 0));
    return {
      durationMs: o.durationMs,
      healedAtMs: o.withFaults ? this.healedAtMs : null,
      faults: this.faults.map((f) => ({ ...f })),
      faultsDropped: this.faultsDropped,
      leaders: [...o.leaders],
      convergence,
      latency: { samplesMs: pick(o.latencyMs), floorMs: pick(o.floorMs), sampled: step > 1 },
      failures: [...o.failures],
    };
  }
}
