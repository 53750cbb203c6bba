// Fault injection: which faults a run suffers and when. The schedule is a pure function of the
// seed, the duration, the sites and the enabled kinds; each kind draws from its own PRNG fork, so
// enabling one more kind leaves the episodes of the others unchanged. Every episode ends before
// the quiet period, so the run can show that the cluster heals. The executor applies a schedule
// through a FaultTarget: the network half is SimNetwork, the node half is the harness's.
import type { Prng } from './prng.js';
import type { Region, SiteLocation } from './cities.js';
import type { Scheduler } from './scheduler.js';
import type { NetworkFaultTarget } from './network.js';
import { cutFlapping, cutOff, cutOneWay, type LinkCut, type LinkFaultKind } from './wan.js';

export const FAULT_KINDS = [
  'partition-halves',
  'partition-site',
  'partition-region',
  'one-way',
  'flapping',
  'loss',
  'duplication',
  'reordering',
  'crash-restart',
  'leader-kill',
  'slow-disk',
  'failing-disk',
  'clock-drift',
  'membership-churn',
  'cloud-api',
] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

export class FaultSpecError extends Error {
  override name = 'FaultSpecError';
}

/** Parses `--faults all|none|a,b,c`; unknown or empty names are an error that names them. */
export function parseFaultKinds(text: string): FaultKind[] {
  const known = FAULT_KINDS.join(', ');
  const trimmed = text.trim();
  if (trimmed === '') throw new FaultSpecError(`--faults needs a value: all, none, or a comma-separated list of: ${known}`);
  if (trimmed === 'all') return [...FAULT_KINDS];
  if (trimmed === 'none') return [];
  const names = trimmed.split(',').map((s) => s.trim());
  if (names.some((n) => n === '')) throw new FaultSpecError(`--faults "${text}" has an empty name (stray comma?)`);
  if (names.some((n) => n === 'all' || n === 'none')) {
    throw new FaultSpecError(`--faults "${text}": "all" and "none" cannot be combined with other names`);
  }
  const unknown = names.filter((n) => !(FAULT_KINDS as readonly string[]).includes(n));
  if (unknown.length > 0) {
    throw new FaultSpecError(`unknown fault kind${unknown.length > 1 ? 's' : ''}: ${unknown.join(', ')} (known: ${known})`);
  }
  return [...new Set(names)] as FaultKind[];
}

export type FaultSpec =
  | { kind: 'partition-halves'; cut: LinkCut }
  | { kind: 'partition-site'; site: string; cut: LinkCut }
  | { kind: 'partition-region'; region: Region; cut: LinkCut }
  | { kind: 'one-way'; cut: LinkCut }
  | { kind: 'flapping'; cut: LinkCut }
  | { kind: 'loss'; probability: number }
  | { kind: 'duplication'; probability: number }
  | { kind: 'reordering'; probability: number }
  | { kind: 'crash-restart'; site: string }
  /** The site is whoever leads when the episode starts (FaultTarget.leaderOf). */
  | { kind: 'leader-kill' }
  | { kind: 'slow-disk'; site: string; delayMs: number }
  | { kind: 'failing-disk'; site: string }
  | { kind: 'clock-drift'; site: string; rate: number }
  /** The site is removed from the membership at start and added back at end. */
  | { kind: 'membership-churn'; site: string }
  /** The site's cloud API fails, hangs or slows down (the cloud, not the agent: it lasts across crashes). */
  | { kind: 'cloud-api'; site: string; fault: CloudApiFault };

/** A cloud API episode: per call, the chance of a 503 and of a timeout, and latency added to every call. */
export interface CloudApiFault {
  errorRate: number;
  timeoutRate: number;
  extraLatencyMs: number;
}

export interface FaultEpisode {
  /** 1-based, in start order. */
  id: number;
  kind: FaultKind;
  startMs: number;
  endMs: number;
  spec: FaultSpec;
}

export interface FaultEvent {
  atMs: number;
  action: 'start' | 'end';
  episode: FaultEpisode;
}

export interface FaultSchedule {
  /** PRNG path the schedule was drawn from. */
  seedPath: string;
  durationMs: number;
  /** Every episode has ended by this time; the executor also heals everything here. */
  quietFromMs: number;
  kinds: FaultKind[];
  episodes: FaultEpisode[];
  /** Starts and ends in time order (ends first at equal times, then by episode id). */
  events: FaultEvent[];
}

/** How often and how long a kind strikes: gaps are exponential, durations uniform. */
export interface FaultTuning {
  meanGapMs: number;
  minDurationMs: number;
  maxDurationMs: number;
}

export const DEFAULT_FAULT_TUNING: Readonly<Record<FaultKind, Readonly<FaultTuning>>> = Object.freeze({
  'partition-halves': { meanGapMs: 30_000, minDurationMs: 2_000, maxDurationMs: 15_000 },
  'partition-site': { meanGapMs: 20_000, minDurationMs: 2_000, maxDurationMs: 15_000 },
  'partition-region': { meanGapMs: 30_000, minDurationMs: 2_000, maxDurationMs: 15_000 },
  'one-way': { meanGapMs: 30_000, minDurationMs: 2_000, maxDurationMs: 10_000 },
  flapping: { meanGapMs: 30_000, minDurationMs: 3_000, maxDurationMs: 15_000 },
  loss: { meanGapMs: 20_000, minDurationMs: 2_000, maxDurationMs: 15_000 },
  duplication: { meanGapMs: 20_000, minDurationMs: 2_000, maxDurationMs: 15_000 },
  reordering: { meanGapMs: 20_000, minDurationMs: 2_000, maxDurationMs: 15_000 },
  'crash-restart': { meanGapMs: 15_000, minDurationMs: 500, maxDurationMs: 15_000 },
  'leader-kill': { meanGapMs: 30_000, minDurationMs: 500, maxDurationMs: 10_000 },
  'slow-disk': { meanGapMs: 20_000, minDurationMs: 2_000, maxDurationMs: 15_000 },
  'failing-disk': { meanGapMs: 40_000, minDurationMs: 1_000, maxDurationMs: 10_000 },
  'clock-drift': { meanGapMs: 30_000, minDurationMs: 5_000, maxDurationMs: 30_000 },
  'membership-churn': { meanGapMs: 40_000, minDurationMs: 5_000, maxDurationMs: 20_000 },
  'cloud-api': { meanGapMs: 15_000, minDurationMs: 2_000, maxDurationMs: 20_000 },
});

/** Ranges of the drawn fault parameters. */
export const FAULT_PARAMETER_RANGES = Object.freeze({
  lossProbability: [0.01, 0.2],
  duplicationProbability: [0.01, 0.1],
  reorderingProbability: [0.05, 0.3],
  flapPeriodMs: [100, 2_000],
  slowDiskDelayMs: [5, 200],
  /** |rate − 1|: a drifting clock runs 1 % to 10 % fast or slow. */
  clockDrift: [0.01, 0.1],
  /** A cloud API episode is an outage (every call fails) with this probability, else partial. */
  cloudOutageProbability: 0.25,
  cloudErrorRate: [0.05, 0.5],
  cloudTimeoutRate: [0.01, 0.1],
  cloudExtraLatencyMs: [0, 500],
} as const);

export interface FaultScheduleOptions {
  /** The run's root PRNG; kind k draws from its fork `faults/k`. */
  prng: Prng;
  durationMs: number;
  sites: readonly SiteLocation[];
  kinds: readonly FaultKind[];
  /** Default: 25 % of the duration, clamped to [5 s, 60 s]. */
  quietMs?: number;
  /** No fault starts before this (let the first election happen). Default: min(5 s, 10 % of duration). */
  warmupMs?: number;
  /** Site-targeted faults pick from these with focusProbability (e.g. the voters), else from all sites. */
  focusSites?: readonly string[];
  focusProbability?: number;
  tuning?: Partial<Record<FaultKind, Partial<FaultTuning>>>;
}

export function defaultQuietMs(durationMs: number): number {
  return Math.min(60_000, Math.max(5_000, Math.round(durationMs * 0.25)));
}

export function generateFaultSchedule(options: FaultScheduleOptions): FaultSchedule {
  const { prng, durationMs, sites, kinds } = options;
  if (!(durationMs > 0)) throw new RangeError(`durationMs must be > 0, got ${durationMs}`);
  const quietMs = options.quietMs ?? defaultQuietMs(durationMs);
  const warmupMs = options.warmupMs ?? Math.min(5_000, Math.round(durationMs * 0.1));
  if (!(quietMs >= 0) || !(warmupMs >= 0)) throw new RangeError('quietMs and warmupMs must be >= 0');
  const names = sites.map((s) => s.name);
  const focus = options.focusSites ?? [];
  const unknownFocus = focus.filter((f) => !names.includes(f));
  if (unknownFocus.length > 0) throw new Error(`focusSites: unknown site(s) ${unknownFocus.join(', ')}`);
  const quietFromMs = Math.max(0, durationMs - quietMs);
  const ctx: DrawContext = { sites, names, focus, focusProbability: options.focusProbability ?? 0.5 };

  const drafts: Array<Omit<FaultEpisode, 'id'>> = [];
  for (const kind of new Set(kinds)) {
    const tuning = { ...DEFAULT_FAULT_TUNING[kind], ...options.tuning?.[kind] };
    checkTuning(kind, tuning);
    const rng = prng.fork(`faults/${kind}`);
    let t = warmupMs + rng.exponential(tuning.meanGapMs);
    while (t + tuning.minDurationMs <= quietFromMs) {
      const duration = rng.uniform(tuning.minDurationMs, tuning.maxDurationMs);
      const startMs = Math.round(t);
      const endMs = Math.min(Math.round(t + duration), quietFromMs);
      const spec = drawSpec(kind, rng, ctx);
      if (spec === null) break; // the kind cannot apply to this topology (e.g. one region only)
      if (endMs > startMs) drafts.push({ kind, startMs, endMs, spec });
      t = endMs + rng.exponential(tuning.meanGapMs);
    }
  }
  drafts.sort((a, b) => a.startMs - b.startMs || FAULT_KINDS.indexOf(a.kind) - FAULT_KINDS.indexOf(b.kind));
  const episodes = drafts.map((d, i) => ({ id: i + 1, ...d }));
  const events: FaultEvent[] = [];
  for (const e of episodes) {
    events.push({ atMs: e.startMs, action: 'start', episode: e });
    events.push({ atMs: e.endMs, action: 'end', episode: e });
  }
  events.sort((a, b) => a.atMs - b.atMs || (a.action === b.action ? 0 : a.action === 'end' ? -1 : 1) || a.episode.id - b.episode.id);
  return { seedPath: `${prng.path}/faults`, durationMs, quietFromMs, kinds: [...new Set(kinds)], episodes, events };
}

interface DrawContext {
  sites: readonly SiteLocation[];
  names: string[];
  focus: readonly string[];
  focusProbability: number;
}

function pickSite(rng: Prng, ctx: DrawContext): string {
  if (ctx.focus.length > 0 && rng.chance(ctx.focusProbability)) return rng.pick(ctx.focus);
  return rng.pick(ctx.names);
}

function drawSpec(kind: FaultKind, rng: Prng, ctx: DrawContext): FaultSpec | null {
  const { names } = ctx;
  const r = FAULT_PARAMETER_RANGES;
  const needsTwo = kind === 'partition-halves' || kind === 'partition-site' || kind === 'one-way' || kind === 'flapping';
  if (needsTwo && names.length < 2) return null;
  switch (kind) {
    case 'partition-halves': {
      const shuffled = rng.shuffle([...names]);
      const lo = Math.max(1, Math.floor(names.length * 0.4));
      const hi = Math.min(names.length - 1, Math.ceil(names.length * 0.6));
      const sizeA = rng.intBetween(lo, Math.max(lo, hi));
      return { kind, cut: { from: shuffled.slice(0, sizeA), to: shuffled.slice(sizeA), bothWays: true } };
    }
    case 'partition-site': {
      const site = pickSite(rng, ctx);
      return { kind, site, cut: cutOff([site], names) };
    }
    case 'partition-region': {
      const regions = [...new Set(ctx.sites.map((s) => s.region))];
      if (regions.length < 2) return null;
      const region = rng.pick(regions);
      return { kind, region, cut: cutOff(ctx.sites.filter((s) => s.region === region).map((s) => s.name), names) };
    }
    case 'one-way': {
      const site = pickSite(rng, ctx);
      const others = names.filter((n) => n !== site);
      // Either the site cannot be heard (its sends are lost) or it cannot hear.
      return { kind, cut: rng.chance(0.5) ? cutOneWay([site], others) : cutOneWay(others, [site]) };
    }
    case 'flapping': {
      const site = pickSite(rng, ctx);
      const periodMs = Math.round(rng.uniform(r.flapPeriodMs[0], r.flapPeriodMs[1]));
      return { kind, cut: cutFlapping([site], names.filter((n) => n !== site), periodMs) };
    }
    case 'loss':
      return { kind, probability: round4(rng.uniform(r.lossProbability[0], r.lossProbability[1])) };
    case 'duplication':
      return { kind, probability: round4(rng.uniform(r.duplicationProbability[0], r.duplicationProbability[1])) };
    case 'reordering':
      return { kind, probability: round4(rng.uniform(r.reorderingProbability[0], r.reorderingProbability[1])) };
    case 'crash-restart':
      return { kind, site: pickSite(rng, ctx) };
    case 'leader-kill':
      return { kind };
    case 'slow-disk':
      return { kind, site: pickSite(rng, ctx), delayMs: Math.round(rng.uniform(r.slowDiskDelayMs[0], r.slowDiskDelayMs[1])) };
    case 'failing-disk':
      return { kind, site: pickSite(rng, ctx) };
    case 'clock-drift': {
      const site = pickSite(rng, ctx);
      const drift = rng.uniform(r.clockDrift[0], r.clockDrift[1]);
      return { kind, site, rate: round4(rng.chance(0.5) ? 1 + drift : 1 - drift) };
    }
    case 'membership-churn':
      return { kind, site: pickSite(rng, ctx) };
    case 'cloud-api': {
      const site = pickSite(rng, ctx);
      const outage = rng.chance(r.cloudOutageProbability);
      const errorRate = outage ? 1 : round4(rng.uniform(r.cloudErrorRate[0], r.cloudErrorRate[1]));
      const timeoutRate = round4(rng.uniform(r.cloudTimeoutRate[0], r.cloudTimeoutRate[1]));
      return { kind, site, fault: { errorRate, timeoutRate, extraLatencyMs: Math.round(rng.uniform(r.cloudExtraLatencyMs[0], r.cloudExtraLatencyMs[1])) } };
    }
  }
}

function round4(x: number): number {
  return Math.round(x * 10_000) / 10_000;
}

function checkTuning(kind: FaultKind, t: FaultTuning): void {
  if (!(t.meanGapMs > 0) || !(t.minDurationMs > 0) || !(t.maxDurationMs >= t.minDurationMs)) {
    throw new RangeError(`fault tuning for ${kind}: need meanGapMs > 0 and 0 < minDurationMs <= maxDurationMs`);
  }
}

/** One line for logs and reports. */
export function describeFault(spec: FaultSpec): string {
  switch (spec.kind) {
    case 'partition-halves':
      return `partition-halves ${spec.cut.from.length}|${spec.cut.to.length} sites`;
    case 'partition-site':
      return `partition-site ${spec.site}`;
    case 'partition-region':
      return `partition-region ${spec.region} (${spec.cut.from.length} sites)`;
    case 'one-way':
      return spec.cut.from.length === 1 ? `one-way ${spec.cut.from[0]} cannot be heard` : `one-way ${spec.cut.to[0]} cannot hear`;
    case 'flapping':
      return `flapping ${spec.cut.from[0]} every ${spec.cut.flapPeriodMs} ms`;
    case 'loss':
    case 'duplication':
    case 'reordering':
      return `${spec.kind} p=${spec.probability}`;
    case 'crash-restart':
    case 'failing-disk':
    case 'membership-churn':
      return `${spec.kind} ${spec.site}`;
    case 'leader-kill':
      return 'leader-kill';
    case 'slow-disk':
      return `slow-disk ${spec.site} +${spec.delayMs} ms`;
    case 'clock-drift':
      return `clock-drift ${spec.site} ×${spec.rate}`;
    case 'cloud-api':
      return spec.fault.errorRate >= 1
        ? `cloud-api ${spec.site} outage`
        : `cloud-api ${spec.site} 5xx p=${spec.fault.errorRate}, timeouts p=${spec.fault.timeoutRate}, +${spec.fault.extraLatencyMs} ms`;
  }
}

// ------------------------------------------------------------------------------------ executing

/** What the executor asks of the simulated sites (the harness implements it). */
export interface NodeFaultTarget {
  /**
   * Stop the site's replica at once, losing unsynced writes. The harness also takes it off the
   * network (SimNetwork.setSiteUp(site, false)) and stops its SiteClock.
   */
  crashSite(site: string): void;
  /** Start the site again from what its store kept (setSiteUp(site, true), new clock, new transport). */
  restartSite(site: string): void;
  /** The site that currently leads, if any. */
  leaderOf(): string | undefined;
  /** Every store write of the site takes this much longer (0 = normal). */
  setDiskDelay(site: string, delayMs: number): void;
  /** Store writes of the site fail while true. */
  setDiskFailing(site: string, failing: boolean): void;
  setClockRate(site: string, rate: number): void;
  /** Remove the site from the membership (a configuration change through the leader). */
  removeSite(site: string): void;
  /** Add it back. */
  addSite(site: string): void;
  /** The site's cloud API suffers `fault` until called with null; absent when the run has no clouds. */
  setCloudFaults?(site: string, fault: CloudApiFault | null): void;
}

export interface FaultTarget extends NetworkFaultTarget, NodeFaultTarget {}

export function composeFaultTarget(network: NetworkFaultTarget, nodes: NodeFaultTarget): FaultTarget {
  return {
    partition: (cut) => network.partition(cut),
    heal: (cutId) => network.heal(cutId),
    setLinkFault: (kind, p) => network.setLinkFault(kind, p),
    crashSite: (s) => nodes.crashSite(s),
    restartSite: (s) => nodes.restartSite(s),
    leaderOf: () => nodes.leaderOf(),
    setDiskDelay: (s, ms) => nodes.setDiskDelay(s, ms),
    setDiskFailing: (s, f) => nodes.setDiskFailing(s, f),
    setClockRate: (s, r) => nodes.setClockRate(s, r),
    removeSite: (s) => nodes.removeSite(s),
    addSite: (s) => nodes.addSite(s),
    ...(nodes.setCloudFaults ? { setCloudFaults: (s: string, f: CloudApiFault | null) => nodes.setCloudFaults!(s, f) } : {}),
  };
}

export interface AppliedFault {
  atMs: number;
  episodeId: number;
  kind: FaultKind;
  action: 'start' | 'end';
  /** describeFault(), with the resolved site for leader-kill. */
  detail: string;
  /** Why the action was not applied (e.g. the site was already down). */
  skipped?: string;
  /** The end was forced by the heal at quietFromMs. */
  byHeal?: boolean;
}

/** Bound on the executor's log: a long run with dense faults keeps only the first entries. */
export const MAX_FAULT_LOG_ENTRIES = 10_000;

interface ActiveEpisode {
  episode: FaultEpisode;
  /** The site a site-level fault acted on. */
  site?: string;
  cutId?: number;
}

export class FaultExecutor {
  readonly log: AppliedFault[] = [];
  private readonly active = new Map<number, ActiveEpisode>();
  private readonly downBy = new Map<string, number>();
  private readonly removedBy = new Map<string, number>();
  private started = false;
  private healed = false;

  constructor(
    private readonly scheduler: Scheduler,
    readonly schedule: FaultSchedule,
    private readonly target: FaultTarget,
    private readonly onApplied?: (fault: AppliedFault) => void,
  ) {}

  /** Schedules every event at its absolute virtual time (the run starts at 0), and the final heal. */
  start(): void {
    if (this.started) throw new Error('FaultExecutor.start() called twice');
    this.started = true;
    const now = this.scheduler.now();
    const first = this.schedule.events[0];
    if (first && first.atMs < now) throw new Error(`fault schedule starts at ${first.atMs} ms but virtual time is already ${now} ms`);
    for (const ev of this.schedule.events) {
      this.scheduler.at(ev.atMs, () => (ev.action === 'start' ? this.begin(ev.episode) : this.finish(ev.episode, false)));
    }
    this.scheduler.at(Math.max(now, this.schedule.quietFromMs), () => this.healAll());
  }

  /** Episodes started and not yet ended. */
  activeEpisodes(): FaultEpisode[] {
    return [...this.active.values()].map((a) => a.episode);
  }

  /** Ends every active episode (latest first) and heals the network. Idempotent. */
  healAll(): void {
    const open = [...this.active.values()].sort((a, b) => b.episode.id - a.episode.id);
    for (const a of open) this.finish(a.episode, true);
    this.target.heal();
    for (const k of ['loss', 'duplication', 'reordering'] as const) this.target.setLinkFault(k, null);
    this.healed = true;
  }

  get healedAll(): boolean {
    return this.healed;
  }

  private begin(ep: FaultEpisode): void {
    const spec = ep.spec;
    const t = this.target;
    const applied: ActiveEpisode = { episode: ep };
    let skipped: string | undefined;
    switch (spec.kind) {
      case 'partition-halves':
      case 'partition-site':
      case 'partition-region':
      case 'one-way':
      case 'flapping':
        applied.cutId = t.partition(spec.cut);
        break;
      case 'loss':
      case 'duplication':
      case 'reordering':
        t.setLinkFault(spec.kind as LinkFaultKind, spec.probability);
        break;
      case 'crash-restart':
      case 'leader-kill': {
        const site = spec.kind === 'leader-kill' ? t.leaderOf() : spec.site;
        skipped = site === undefined ? 'no leader' : this.unavailable(site);
        if (skipped === undefined && site !== undefined) {
          t.crashSite(site);
          this.downBy.set(site, ep.id);
          applied.site = site;
        }
        break;
      }
      case 'membership-churn':
        skipped = this.unavailable(spec.site);
        if (skipped === undefined) {
          t.removeSite(spec.site);
          this.removedBy.set(spec.site, ep.id);
          applied.site = spec.site;
        }
        break;
      case 'slow-disk':
        t.setDiskDelay(spec.site, spec.delayMs);
        break;
      case 'failing-disk':
        t.setDiskFailing(spec.site, true);
        break;
      case 'clock-drift':
        t.setClockRate(spec.site, spec.rate);
        break;
      case 'cloud-api':
        if (t.setCloudFaults === undefined) skipped = 'the run has no clouds';
        else t.setCloudFaults(spec.site, spec.fault);
        break;
    }
    if (skipped === undefined) this.active.set(ep.id, applied);
    this.record(ep, 'start', applied.site, skipped, false);
  }

  private finish(ep: FaultEpisode, byHeal: boolean): void {
    const applied = this.active.get(ep.id);
    if (!applied) return; // skipped at start, or already ended by the heal
    this.active.delete(ep.id);
    const spec = ep.spec;
    const t = this.target;
    switch (spec.kind) {
      case 'partition-halves':
      case 'partition-site':
      case 'partition-region':
      case 'one-way':
      case 'flapping':
        t.heal(applied.cutId);
        break;
      case 'loss':
      case 'duplication':
      case 'reordering':
        t.setLinkFault(spec.kind as LinkFaultKind, null);
        break;
      case 'crash-restart':
      case 'leader-kill':
        this.downBy.delete(applied.site!);
        t.restartSite(applied.site!);
        break;
      case 'membership-churn':
        this.removedBy.delete(applied.site!);
        t.addSite(applied.site!);
        break;
      case 'slow-disk':
        t.setDiskDelay(spec.site, 0);
        break;
      case 'failing-disk':
        t.setDiskFailing(spec.site, false);
        break;
      case 'clock-drift':
        t.setClockRate(spec.site, 1);
        break;
      case 'cloud-api':
        t.setCloudFaults?.(spec.site, null);
        break;
    }
    this.record(ep, 'end', applied.site, undefined, byHeal);
  }

  private unavailable(site: string): string | undefined {
    const down = this.downBy.get(site);
    if (down !== undefined) return `${site} is already down (episode ${down})`;
    const removed = this.removedBy.get(site);
    if (removed !== undefined) return `${site} is removed (episode ${removed})`;
    return undefined;
  }

  private record(ep: FaultEpisode, action: 'start' | 'end', site: string | undefined, skipped: string | undefined, byHeal: boolean): void {
    const detail = ep.spec.kind === 'leader-kill' && site !== undefined ? `leader-kill ${site}` : describeFault(ep.spec);
    const entry: AppliedFault = { atMs: this.scheduler.now(), episodeId: ep.id, kind: ep.kind, action, detail };
    if (skipped !== undefined) entry.skipped = skipped;
    if (byHeal) entry.byHeal = true;
    if (this.log.length < MAX_FAULT_LOG_ENTRIES) this.log.push(entry);
    this.onApplied?.(entry);
  }
}
