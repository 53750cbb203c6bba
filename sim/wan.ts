// The WAN model: how long a message from one site to another takes, whether it arrives at all,
// and which links a partition cuts. One-way latency of a link = great-circle distance at the
// speed of light in fibre (200,000 km/s) × a route factor (cables do not follow great circles;
// drawn once per unordered pair) + the access latency of both ends (drawn once per site) +
// log-normal jitter per message. Links are FIFO (as TCP is) unless reordering is switched on.
import type { Prng } from './prng.js';
import type { SiteLocation } from './cities.js';

export const EARTH_RADIUS_KM = 6371;

export interface WanConfig {
  /** Route length over great-circle length, uniform in [min, max) per unordered pair of sites. */
  routeFactorMin: number;
  routeFactorMax: number;
  /** Per-site last-mile / data-centre latency added at each end, uniform in [min, max) ms. */
  accessMsMin: number;
  accessMsMax: number;
  /** Speed of light in fibre: 200 km per ms. */
  fibreKmPerMs: number;
  /** Jitter is log-normal with median jitterBaseMs + jitterRatio × base latency and shape jitterSigma. */
  jitterBaseMs: number;
  jitterRatio: number;
  jitterSigma: number;
  /** Baseline probabilities per message (faults may raise them for a while). */
  loss: number;
  duplication: number;
  reordering: number;
  /** A reordered message is held back by up to this fraction of its link's base latency. */
  reorderExtraRatio: number;
  /** Link bandwidth for transmission delay (size / bandwidth, serialised per link); 0 = ignore size. */
  bandwidthMbps: number;
}

export const DEFAULT_WAN_CONFIG: Readonly<WanConfig> = Object.freeze({
  routeFactorMin: 1.5,
  routeFactorMax: 2,
  accessMsMin: 0.5,
  accessMsMax: 2,
  fibreKmPerMs: 200,
  jitterBaseMs: 0.05,
  jitterRatio: 0.02,
  jitterSigma: 0.5,
  loss: 0,
  duplication: 0,
  reordering: 0,
  reorderExtraRatio: 1,
  bandwidthMbps: 0,
});

export type LinkFaultKind = 'loss' | 'duplication' | 'reordering';

/**
 * A set of directed links to block: every from → to (and to → from when bothWays). A flapping cut
 * alternates blocked / open every flapPeriodMs, starting blocked when it is applied.
 */
export interface LinkCut {
  from: readonly string[];
  to: readonly string[];
  bothWays: boolean;
  flapPeriodMs?: number;
}

/** Two groups cannot talk to each other at all. */
export function cutBetween(a: readonly string[], b: readonly string[]): LinkCut {
  return { from: [...a], to: [...b], bothWays: true };
}

/** `group` is cut off from every other site of `all`. */
export function cutOff(group: readonly string[], all: readonly string[]): LinkCut {
  const inside = new Set(group);
  return { from: [...group], to: all.filter((s) => !inside.has(s)), bothWays: true };
}

/** Messages from `from` to `to` are lost; the other direction works. */
export function cutOneWay(from: readonly string[], to: readonly string[]): LinkCut {
  return { from: [...from], to: [...to], bothWays: false };
}

/** The links between a and b go down and up every periodMs. */
export function cutFlapping(a: readonly string[], b: readonly string[], periodMs: number): LinkCut {
  return { from: [...a], to: [...b], bothWays: true, flapPeriodMs: periodMs };
}

export function haversineKm(lat1: number, lon1: number, lat2: number, lon2: number): number {
  const rad = Math.PI / 180;
  const dLat = (lat2 - lat1) * rad;
  const dLon = (lon2 - lon1) * rad;
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(lat1 * rad) * Math.cos(lat2 * rad) * Math.sin(dLon / 2) ** 2;
  return 2 * EARTH_RADIUS_KM * Math.asin(Math.min(1, Math.sqrt(h)));
}

export type DropReason = 'partition' | 'loss';

interface ActiveCut {
  links: Int32Array;
  flap: { fromMask: Uint8Array; toMask: Uint8Array; bothWays: boolean; periodMs: number; startMs: number } | null;
}

const NO_DELIVERY: readonly number[] = Object.freeze([]);

export class WanModel {
  readonly sites: readonly SiteLocation[];
  readonly config: Readonly<WanConfig>;
  private readonly index = new Map<string, number>();
  private readonly n: number;
  private readonly baseMs: Float64Array;
  private readonly fibreMs: Float64Array;
  private readonly jitterMedianMs: Float64Array;
  private readonly lastArrival: Float64Array;
  private readonly linkFreeAt: Float64Array;
  private readonly blockCount: Uint16Array;
  private readonly cuts = new Map<number, ActiveCut>();
  private flapping: ActiveCut[] = [];
  private nextCutId = 1;
  private readonly jitterRng: Prng;
  private readonly lossRng: Prng;
  private readonly duplicationRng: Prng;
  private readonly reorderRng: Prng;
  private readonly faultLevel: Record<LinkFaultKind, number>;
  /** Why the last deliveryPlan() returned no delivery (null if it delivered). */
  lastDropReason: DropReason | null = null;

  constructor(sites: readonly SiteLocation[], prng: Prng, config: Partial<WanConfig> = {}) {
    this.config = Object.freeze(validateConfig({ ...DEFAULT_WAN_CONFIG, ...config }));
    this.sites = sites;
    this.n = sites.length;
    sites.forEach((s, i) => {
      if (this.index.has(s.name)) throw new Error(`duplicate site name "${s.name}"`);
      this.index.set(s.name, i);
    });
    const n = this.n;
    this.baseMs = new Float64Array(n * n);
    this.fibreMs = new Float64Array(n * n);
    this.jitterMedianMs = new Float64Array(n * n);
    this.lastArrival = new Float64Array(n * n);
    this.linkFreeAt = new Float64Array(n * n);
    this.blockCount = new Uint16Array(n * n);
    this.computeLatencies(prng.fork('wan/layout'));
    this.jitterRng = prng.fork('wan/jitter');
    this.lossRng = prng.fork('wan/loss');
    this.duplicationRng = prng.fork('wan/duplication');
    this.reorderRng = prng.fork('wan/reordering');
    this.faultLevel = { loss: this.config.loss, duplication: this.config.duplication, reordering: this.config.reordering };
  }

  has(site: string): boolean {
    return this.index.has(site);
  }

  /** Index of a site in `sites`; throws on an unknown name. */
  indexOf(site: string): number {
    const i = this.index.get(site);
    if (i === undefined) throw new Error(`unknown site "${site}"`);
    return i;
  }

  siteNames(): string[] {
    return this.sites.map((s) => s.name);
  }

  distanceKm(a: string, b: string): number {
    const sa = this.sites[this.indexOf(a)];
    const sb = this.sites[this.indexOf(b)];
    return haversineKm(sa.lat, sa.lon, sb.lat, sb.lon);
  }

  /** The model's one-way latency without jitter, queueing or transmission delay. */
  baseOneWayMs(from: string, to: string): number {
    return this.baseMs[this.indexOf(from) * this.n + this.indexOf(to)];
  }

  /** The physical floor: great-circle distance at the speed of light in fibre, nothing else. */
  fibreOneWayMs(from: string, to: string): number {
    return this.fibreMs[this.indexOf(from) * this.n + this.indexOf(to)];
  }

  /**
   * The lowest possible commit round trip for a leader: the RTT to the nearest voters that,
   * with the leader, form a majority. `metric` 'fibre' uses the physical floor, 'model' the
   * modelled base latency. 0 when the leader alone is a majority.
   */
  quorumRttMs(leader: string, voters: readonly string[], metric: 'fibre' | 'model' = 'fibre'): number {
    const others = voters.filter((v) => v !== leader);
    const needed = Math.floor(voters.length / 2) + 1 - (voters.includes(leader) ? 1 : 0);
    if (needed <= 0) return 0;
    if (needed > others.length) throw new Error(`leader ${leader} cannot form a majority of ${voters.length} voters`);
    const oneWay = metric === 'fibre' ? this.fibreMs : this.baseMs;
    const li = this.indexOf(leader);
    const rtts = others.map((v) => {
      const vi = this.indexOf(v);
      return oneWay[li * this.n + vi] + oneWay[vi * this.n + li];
    });
    rtts.sort((x, y) => x - y);
    return rtts[needed - 1];
  }

  /** Sets a per-message fault probability; null restores the configured baseline. */
  setLinkFault(kind: LinkFaultKind, probability: number | null): void {
    const p = probability ?? this.config[kind];
    if (!(p >= 0 && p <= 1)) throw new RangeError(`${kind} probability must be in [0, 1], got ${p}`);
    this.faultLevel[kind] = p;
  }

  linkFault(kind: LinkFaultKind): number {
    return this.faultLevel[kind];
  }

  /** Applies a cut from now on; returns its id for heal(). */
  cut(spec: LinkCut, nowMs: number): number {
    const from = this.indicesOf(spec.from, 'cut.from');
    const to = this.indicesOf(spec.to, 'cut.to');
    if (spec.flapPeriodMs !== undefined && !(spec.flapPeriodMs > 0)) {
      throw new RangeError(`flapPeriodMs must be > 0, got ${spec.flapPeriodMs}`);
    }
    const links: number[] = [];
    for (const f of from) {
      for (const t of to) {
        if (f === t) continue;
        links.push(f * this.n + t);
        if (spec.bothWays) links.push(t * this.n + f);
      }
    }
    const id = this.nextCutId++;
    let active: ActiveCut;
    if (spec.flapPeriodMs === undefined) {
      active = { links: Int32Array.from(links), flap: null };
      for (const l of active.links) this.blockCount[l]++;
    } else {
      const fromMask = new Uint8Array(this.n);
      const toMask = new Uint8Array(this.n);
      for (const f of from) fromMask[f] = 1;
      for (const t of to) toMask[t] = 1;
      active = { links: Int32Array.from(links), flap: { fromMask, toMask, bothWays: spec.bothWays, periodMs: spec.flapPeriodMs, startMs: nowMs } };
      this.flapping.push(active);
    }
    this.cuts.set(id, active);
    return id;
  }

  /** Removes one cut; false if it was not active. */
  heal(cutId: number): boolean {
    const active = this.cuts.get(cutId);
    if (!active) return false;
    this.cuts.delete(cutId);
    if (active.flap === null) {
      for (const l of active.links) this.blockCount[l]--;
    } else {
      this.flapping = this.flapping.filter((c) => c !== active);
    }
    return true;
  }

  /** Removes every cut. */
  healAllCuts(): void {
    for (const id of [...this.cuts.keys()]) this.heal(id);
  }

  /** Removes every cut and restores the baseline fault probabilities. */
  healAll(): void {
    this.healAllCuts();
    this.setLinkFault('loss', null);
    this.setLinkFault('duplication', null);
    this.setLinkFault('reordering', null);
  }

  activeCutCount(): number {
    return this.cuts.size;
  }

  isBlocked(from: string, to: string, nowMs: number): boolean {
    return this.isLinkBlocked(this.indexOf(from), this.indexOf(to), nowMs);
  }

  isLinkBlocked(fromIdx: number, toIdx: number, nowMs: number): boolean {
    if (this.blockCount[fromIdx * this.n + toIdx] > 0) return true;
    for (const c of this.flapping) {
      const f = c.flap!;
      const covers = (f.fromMask[fromIdx] === 1 && f.toMask[toIdx] === 1) || (f.bothWays && f.fromMask[toIdx] === 1 && f.toMask[fromIdx] === 1);
      if (covers && Math.floor((nowMs - f.startMs) / f.periodMs) % 2 === 0) return true;
    }
    return false;
  }

  /**
   * When a message sent now from → to arrives: [] = dropped (see lastDropReason), one time =
   * delivered, two times = duplicated. `bytes` matters only with bandwidthMbps > 0.
   */
  deliveryPlan(from: string, to: string, nowMs: number, bytes = 0): readonly number[] {
    return this.planByIndex(this.indexOf(from), this.indexOf(to), nowMs, bytes);
  }

  planByIndex(fromIdx: number, toIdx: number, nowMs: number, bytes = 0): readonly number[] {
    if (this.isLinkBlocked(fromIdx, toIdx, nowMs)) {
      this.lastDropReason = 'partition';
      return NO_DELIVERY;
    }
    if (this.lossRng.chance(this.faultLevel.loss)) {
      this.lastDropReason = 'loss';
      return NO_DELIVERY;
    }
    this.lastDropReason = null;
    const link = fromIdx * this.n + toIdx;
    const base = this.baseMs[link];
    let arrival = nowMs + base + this.jitterRng.logNormal(this.jitterMedianMs[link], this.config.jitterSigma);
    if (this.config.bandwidthMbps > 0 && bytes > 0) {
      // Transmission is serialised per link: a big message delays the ones queued behind it.
      const txMs = (bytes * 8) / (this.config.bandwidthMbps * 1000);
      const start = Math.max(nowMs, this.linkFreeAt[link]);
      this.linkFreeAt[link] = start + txMs;
      arrival += start - nowMs + txMs;
    }
    if (this.reorderRng.chance(this.faultLevel.reordering)) {
      arrival += this.reorderRng.uniform(0, this.config.reorderExtraRatio * base);
    } else {
      if (arrival < this.lastArrival[link]) arrival = this.lastArrival[link];
      this.lastArrival[link] = arrival;
    }
    if (this.duplicationRng.chance(this.faultLevel.duplication)) {
      // A stray second copy, a little later; it does not hold back the messages behind it.
      return [arrival, arrival + this.duplicationRng.uniform(0, 0.5 * base + 1)];
    }
    return [arrival];
  }

  private indicesOf(names: readonly string[], what: string): number[] {
    const unknown = names.filter((s) => !this.index.has(s));
    if (unknown.length > 0) throw new Error(`${what}: unknown site${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')}`);
    return names.map((s) => this.index.get(s)!);
  }

  private computeLatencies(layout: Prng): void {
    const { n, sites, config } = this;
    // Per-site and per-pair draws come from streams keyed by the site names, so adding a site
    // does not change the latency between two others.
    const access = sites.map((s) => layout.fork(`access/${s.name}`).uniform(config.accessMsMin, config.accessMsMax));
    for (let i = 0; i < n; i++) {
      for (let j = i; j < n; j++) {
        const a = sites[i];
        const b = sites[j];
        const pairKey = a.name < b.name ? `${a.name}|${b.name}` : `${b.name}|${a.name}`;
        const route = i === j ? 1 : layout.fork(`route/${pairKey}`).uniform(config.routeFactorMin, config.routeFactorMax);
        const fibre = haversineKm(a.lat, a.lon, b.lat, b.lon) / config.fibreKmPerMs;
        const base = fibre * route + access[i] + access[j];
        for (const link of [i * n + j, j * n + i]) {
          this.fibreMs[link] = fibre;
          this.baseMs[link] = base;
          this.jitterMedianMs[link] = config.jitterBaseMs + config.jitterRatio * base;
        }
      }
    }
  }
}

function validateConfig(c: WanConfig): WanConfig {
  const check = (ok: boolean, field: string, rule: string): void => {
    if (!ok) throw new RangeError(`wan config: ${field} must be ${rule}`);
  };
  check(c.routeFactorMin >= 1 && c.routeFactorMax >= c.routeFactorMin, 'routeFactorMin/Max', '1 <= min <= max');
  check(c.accessMsMin >= 0 && c.accessMsMax >= c.accessMsMin, 'accessMsMin/Max', '0 <= min <= max');
  check(c.fibreKmPerMs > 0, 'fibreKmPerMs', '> 0');
  check(c.jitterBaseMs >= 0 && c.jitterRatio >= 0 && c.jitterSigma >= 0, 'jitter*', '>= 0');
  for (const k of ['loss', 'duplication', 'reordering'] as const) check(c[k] >= 0 && c[k] <= 1, k, 'in [0, 1]');
  check(c.reorderExtraRatio >= 0, 'reorderExtraRatio', '>= 0');
  check(c.bandwidthMbps >= 0, 'bandwidthMbps', '>= 0 (0 = off)');
  return c;
}
