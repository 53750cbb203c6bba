// What one simulated run is: the knobs a user sets on the command line plus the tuning the
// harness fixes, and the parsing of `stackraft sim` arguments. Pure: no clock, no I/O.
import { FAULT_KINDS, FaultSpecError, parseFaultKinds, type FaultKind } from '../faults.js';
import { parseSeed } from '../prng.js';

export interface SimOptions {
  seed: number;
  sites: number;
  /** Voter count, or every site. Clamped to the site count. */
  voters: number | 'all';
  durationMs: number;
  faults: FaultKind[];
  /** Client operations started per virtual second (Poisson arrivals). */
  ratePerSec: number;
  /** Replica timing: the daemon's defaults (agent/config/schema.ts). */
  tickMs: number;
  electionTimeoutTicks: number;
  heartbeatTicks: number;
  /** Median and log-normal shape of one fsync of a site's disk. */
  diskMedianMs: number;
  diskSigma: number;
  /** Concurrent clients of the workload (each has one operation in flight at most). */
  clients: number;
  /** A client write not committed within this long is reported unknown by the replica. */
  proposalTimeoutMs: number;
  /**
   * Compaction: a snapshot every this many applied entries, keeping this many below it. Lower than
   * the daemon's default (10,000) so that runs of minutes exercise snapshots and their transfer.
   */
  snapshotEveryEntries: number;
  retainEntries: number;
  /** Every site runs the reconciler against an in-memory cloud (`--clouds on|off`). */
  clouds: boolean;
  /** Learners are fed by relays, as in the daemon (`--relay off`: the leader feeds them, for comparison). */
  relayLearners?: boolean;
  /**
   * Leadership hand-over to a better-placed voter (`--placement off`). On by default here, unlike the
   * daemon's config: the simulated WAN's distances are real and its processes are never starved, which
   * is the deployment the option is for (DESIGN.md, Elections across a WAN).
   */
  leaderPlacement?: boolean;
  /** DR operations (failover, forced failover, failback, drills) in the workload (`--dr-failovers on`). */
  drFailovers?: boolean;
  /** Places an image of this many bytes at every site over the peer network (`--image-size 2GiB`; sim/blobs/). */
  imageBytes?: number;
  /** With imageBytes: false = every site fetches from the origin alone (`--swarm off`), for comparison. */
  swarm?: boolean;
  /**
   * With imageBytes: the origin places the image no sooner than this virtual time (`--image-at 10s`),
   * so that with faults the transfer runs while they do (they start after a warm-up); by default once
   * the site records are in.
   */
  imageAtMs?: number;
}

export const DEFAULT_SIM_OPTIONS: Readonly<SimOptions> = Object.freeze({
  seed: 1,
  sites: 5,
  voters: 5,
  durationMs: 60_000,
  faults: [],
  ratePerSec: 20,
  tickMs: 100,
  electionTimeoutTicks: 10,
  heartbeatTicks: 1,
  diskMedianMs: 2,
  diskSigma: 0.4,
  clients: 32,
  proposalTimeoutMs: 5_000,
  snapshotEveryEntries: 500,
  retainEntries: 100,
  clouds: true,
});

/** Bounds that keep a run meaningful and finite; outside them the arguments are refused. */
export const MAX_SITES = 1000;
export const MIN_DURATION_MS = 5_000;
export const MAX_DURATION_MS = 24 * 3600_000;
export const MAX_RATE_PER_SEC = 10_000;
/** 1 TiB, the daemon's largest blob (agent/blobs/format.ts MAX_BLOB_BYTES). */
export const MAX_IMAGE_BYTES = 2 ** 40;

/**
 * Events one virtual second may take before the run is stopped as a runaway (a message storm or a
 * zero-delay loop never ends, and would hold a sweep forever). Healthy runs stay far below: about
 * 70 events per site per second plus the workload, a few times that during election storms.
 */
export function runawayEventBudget(sites: number): number {
  return Math.max(100_000, 2_500 * sites);
}

export function voterCount(o: Pick<SimOptions, 'voters' | 'sites'>): number {
  return o.voters === 'all' ? o.sites : Math.min(o.voters, o.sites);
}

export class SimArgsError extends Error {
  override name = 'SimArgsError';
}

/** Refuses options no run can use (for callers that build SimOptions themselves). */
export function validateSimOptions(o: SimOptions): void {
  const problems: string[] = [];
  const intIn = (v: number, lo: number, hi: number): boolean => Number.isSafeInteger(v) && v >= lo && v <= hi;
  if (!intIn(o.seed, 0, Number.MAX_SAFE_INTEGER)) problems.push(`seed must be a non-negative safe integer, got ${o.seed}`);
  if (!intIn(o.sites, 1, MAX_SITES)) problems.push(`sites must be an integer from 1 to ${MAX_SITES}, got ${o.sites}`);
  if (o.voters !== 'all' && !intIn(o.voters, 1, MAX_SITES)) problems.push(`voters must be 'all' or an integer from 1 to ${MAX_SITES}, got ${o.voters}`);
  if (!(o.durationMs >= MIN_DURATION_MS && o.durationMs <= MAX_DURATION_MS)) problems.push(`durationMs must be in [${MIN_DURATION_MS}, ${MAX_DURATION_MS}], got ${o.durationMs}`);
  if (!(o.ratePerSec > 0 && o.ratePerSec <= MAX_RATE_PER_SEC)) problems.push(`ratePerSec must be in (0, ${MAX_RATE_PER_SEC}], got ${o.ratePerSec}`);
  if (!intIn(o.clients, 1, 10_000)) problems.push(`clients must be an integer from 1 to 10000, got ${o.clients}`);
  if (!intIn(o.snapshotEveryEntries, 1, 10_000_000) || !intIn(o.retainEntries, 0, 10_000_000)) problems.push('snapshotEveryEntries must be >= 1 and retainEntries >= 0');
  if (!(o.diskMedianMs > 0) || !(o.diskSigma >= 0)) problems.push('diskMedianMs must be > 0 and diskSigma >= 0');
  if (typeof o.clouds !== 'boolean') problems.push(`clouds must be true or false, got ${String(o.clouds)}`);
  if (o.imageBytes !== undefined) {
    if (!(Number.isSafeInteger(o.imageBytes) && o.imageBytes >= 1 && o.imageBytes <= MAX_IMAGE_BYTES)) problems.push(`imageBytes must be an integer from 1 to ${MAX_IMAGE_BYTES}, got ${o.imageBytes}`);
  }
  if (o.imageAtMs !== undefined) {
    if (o.imageBytes === undefined) problems.push('imageAtMs needs imageBytes');
    if (!(o.imageAtMs >= 0 && o.imageAtMs < o.durationMs)) problems.push(`imageAtMs must be in [0, durationMs), got ${o.imageAtMs}`);
  }
  if (problems.length > 0) throw new RangeError(`invalid simulation options: ${problems.join('; ')}`);
}

export interface CliArgs {
  options: SimOptions;
  /** `--faults` as given (for the replay command). */
  faultsText: string;
  /** Whether `--faults` was on the command line (without it the run injects none, and says so). */
  faultsGiven: boolean;
  outPath?: string;
  /** `--html FILE`: also write the run as a self-contained HTML page with charts. */
  htmlPath?: string;
  json: boolean;
  help: boolean;
  /** Print the run's narration (faults, crashes, elections, membership) to stderr. */
  verbose: boolean;
  /** `--swarm compare`: run the image placement again with swarm off (same seed) and report both. */
  compareOriginOnly?: boolean;
}

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3600_000 };

/** "30m", "90s", "1h30m", "500ms", "45" (seconds) → milliseconds. */
export function parseDuration(text: string): number {
  const trimmed = text.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.round(Number(trimmed) * 1000);
  const parts = [...trimmed.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)];
  const consumed = parts.map((p) => p[0]).join('');
  if (parts.length === 0 || consumed !== trimmed) {
    throw new SimArgsError(`invalid duration "${text}": expected e.g. 30m, 90s, 1h30m or 500ms`);
  }
  return Math.round(parts.reduce((sum, p) => sum + Number(p[1]) * UNIT_MS[p[2]], 0));
}

/** "20/s", "20", "1200/m" → operations per second. */
export function parseRate(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(?:\/(s|m))?$/.exec(text.trim());
  if (!m) throw new SimArgsError(`invalid rate "${text}": expected e.g. 20/s or 1200/m`);
  const perSec = m[2] === 'm' ? Number(m[1]) / 60 : Number(m[1]);
  if (!(perSec > 0 && perSec <= MAX_RATE_PER_SEC)) throw new SimArgsError(`rate must be in (0, ${MAX_RATE_PER_SEC}]/s, got ${text}`);
  return perSec;
}

/** Shortest text for a duration that parseDuration reads back exactly. */
export function formatDuration(ms: number): string {
  if (ms % 3600_000 === 0) return `${ms / 3600_000}h`;
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}

const SIZE_UNITS: Record<string, number> = { '': 1, B: 1, KiB: 2 ** 10, MiB: 2 ** 20, GiB: 2 ** 30, TiB: 2 ** 40, KB: 1e3, MB: 1e6, GB: 1e9, TB: 1e12 };

/** "2GiB", "64MiB", "1.5GB", "1048576" → bytes. */
export function parseSize(text: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([KMGT]i?B|B)?$/.exec(text.trim());
  const unit = m === null ? undefined : SIZE_UNITS[m[2] ?? ''];
  if (m === null || unit === undefined) throw new SimArgsError(`invalid size "${text}": expected e.g. 2GiB, 64MiB or 500MB`);
  const bytes = Math.round(Number(m[1]) * unit);
  if (!(bytes >= 1 && bytes <= MAX_IMAGE_BYTES)) throw new SimArgsError(`--image-size must be from 1 byte to 1TiB, got ${text}`);
  return bytes;
}

/** Shortest text for a size that parseSize reads back exactly. */
export function formatSize(bytes: number): string {
  for (const unit of ['TiB', 'GiB', 'MiB', 'KiB'] as const) if (bytes % SIZE_UNITS[unit]! === 0) return `${bytes / SIZE_UNITS[unit]!}${unit}`;
  return String(bytes);
}

function parseCount(text: string, flag: string, min: number, max: number): number {
  if (!/^\d+$/.test(text.trim())) throw new SimArgsError(`${flag} expects an integer, got "${text}"`);
  const n = Number(text);
  if (n < min || n > max) throw new SimArgsError(`${flag} must be between ${min} and ${max}, got ${n}`);
  return n;
}

const FLAGS_WITH_VALUE = ['--sites', '--seed', '--duration', '--voters', '--faults', '--rate', '--out', '--html', '--clients', '--clouds', '--relay', '--placement', '--dr-failovers', '--image-size', '--swarm', '--image-at'];

/** Parses `stackraft sim` arguments; every mistake is a SimArgsError naming the flag. */
export function parseSimArgs(argv: readonly string[]): CliArgs {
  const o: SimOptions = { ...DEFAULT_SIM_OPTIONS, faults: [] };
  let faultsText = 'none';
  let votersGiven = false;
  const out: CliArgs = { options: o, faultsText, faultsGiven: false, json: false, help: false, verbose: false };
  for (let i = 0; i < argv.length; i++) {
    let flag = argv[i];
    let value: string | undefined;
    const eq = flag.indexOf('=');
    if (flag.startsWith('--') && eq > 0) {
      value = flag.slice(eq + 1);
      flag = flag.slice(0, eq);
    }
    if (flag === '--help' || flag === '-h') {
      out.help = true;
      continue;
    }
    if (flag === '--json') {
      out.json = true;
      continue;
    }
    if (flag === '--verbose' || flag === '-v') {
      out.verbose = true;
      continue;
    }
    if (!FLAGS_WITH_VALUE.includes(flag)) throw new SimArgsError(`unknown argument "${argv[i]}" (see --help)`);
    if (value === undefined) {
      value = argv[++i];
      if (value === undefined) throw new SimArgsError(`${flag} needs a value`);
    }
    switch (flag) {
      case '--sites':
        o.sites = parseCount(value, flag, 1, MAX_SITES);
        break;
      case '--seed':
        try {
          o.seed = parseSeed(value);
        } catch (err) {
          throw new SimArgsError((err as Error).message);
        }
        break;
      case '--duration':
        o.durationMs = parseDuration(value);
        if (o.durationMs < MIN_DURATION_MS || o.durationMs > MAX_DURATION_MS) {
          throw new SimArgsError(`--duration must be between ${formatDuration(MIN_DURATION_MS)} and ${formatDuration(MAX_DURATION_MS)}, got ${value}`);
        }
        break;
      case '--voters':
        o.voters = value.trim() === 'all' ? 'all' : parseCount(value, flag, 1, MAX_SITES);
        votersGiven = true;
        break;
      case '--faults':
        try {
          o.faults = parseFaultKinds(value);
        } catch (err) {
          if (err instanceof FaultSpecError) throw new SimArgsError(err.message);
          throw err;
        }
        faultsText = o.faults.length === FAULT_KINDS.length ? 'all' : o.faults.length === 0 ? 'none' : o.faults.join(',');
        out.faultsGiven = true;
        break;
      case '--rate':
        o.ratePerSec = parseRate(value);
        break;
      case '--clients':
        o.clients = parseCount(value, flag, 1, 10_000);
        break;
      case '--out':
        out.outPath = value;
        break;
      case '--html':
        out.htmlPath = value;
        break;
      case '--clouds':
        if (value.trim() !== 'on' && value.trim() !== 'off') throw new SimArgsError(`--clouds expects on or off, got "${value}"`);
        o.clouds = value.trim() === 'on';
        break;
      case '--dr-failovers':
        if (value.trim() !== 'on' && value.trim() !== 'off') throw new SimArgsError(`--dr-failovers expects on or off, got "${value}"`);
        o.drFailovers = value.trim() === 'on';
        break;
      case '--image-size':
        o.imageBytes = parseSize(value);
        break;
      case '--image-at':
        o.imageAtMs = parseDuration(value);
        break;
      case '--swarm':
        if (!['on', 'off', 'compare'].includes(value.trim())) throw new SimArgsError(`--swarm expects on, off or compare, got "${value}"`);
        o.swarm = value.trim() !== 'off';
        out.compareOriginOnly = value.trim() === 'compare';
        break;
      case '--relay':
        if (value.trim() !== 'on' && value.trim() !== 'off') throw new SimArgsError(`--relay expects on or off, got "${value}"`);
        o.relayLearners = value.trim() === 'on';
        break;
      case '--placement':
        if (value.trim() !== 'on' && value.trim() !== 'off') throw new SimArgsError(`--placement expects on or off, got "${value}"`);
        o.leaderPlacement = value.trim() === 'on';
        break;
    }
  }
  if (!votersGiven) o.voters = Math.min(DEFAULT_SIM_OPTIONS.voters as number, o.sites);
  if (out.compareOriginOnly === true && o.imageBytes === undefined) throw new SimArgsError('--swarm needs --image-size');
  if (o.imageAtMs !== undefined && o.imageBytes === undefined) throw new SimArgsError('--image-at needs --image-size');
  if (o.imageAtMs !== undefined && o.imageAtMs >= o.durationMs) throw new SimArgsError(`--image-at must be before the end of the run (--duration ${formatDuration(o.durationMs)})`);
  out.faultsText = faultsText;
  return out;
}

/** What a run without `--faults` tells its user: it injected none, and how to ask for some. */
export function noFaultsNotice(): string {
  return `no --faults given: this run injects no faults (the default); --faults all runs every kind (${FAULT_KINDS.join(', ')}), or name some`;
}

/** The exact command that replays a run. */
export function replayCommand(o: SimOptions): string {
  const faults = o.faults.length === FAULT_KINDS.length ? 'all' : o.faults.length === 0 ? 'none' : o.faults.join(',');
  const rate = Number.isInteger(o.ratePerSec) ? `${o.ratePerSec}/s` : `${Math.round(o.ratePerSec * 60)}/m`;
  const parts = [
    'npm run -s stackraft -- sim',
    `--sites ${o.sites}`,
    `--seed ${o.seed}`,
    `--duration ${formatDuration(o.durationMs)}`,
    `--voters ${o.voters}`,
    `--faults ${faults}`,
    `--rate ${rate}`,
  ];
  if (o.clients !== DEFAULT_SIM_OPTIONS.clients) parts.push(`--clients ${o.clients}`);
  if (!o.clouds) parts.push('--clouds off');
  if (o.relayLearners === false) parts.push('--relay off');
  if (o.leaderPlacement === false) parts.push('--placement off');
  if (o.drFailovers === true) parts.push('--dr-failovers on');
  if (o.imageBytes !== undefined) parts.push(`--image-size ${formatSize(o.imageBytes)}`);
  if (o.imageBytes !== undefined && o.swarm === false) parts.push('--swarm off');
  if (o.imageAtMs !== undefined) parts.push(`--image-at ${formatDuration(o.imageAtMs)}`);
  return parts.join(' ');
}

export const SIM_USAGE = `usage: stackraft sim [--sites N] [--seed N] [--duration 30m] [--voters N|all]
                     [--faults all|none|LIST] [--rate 20/s] [--clients N] [--clouds on|off] [--relay on|off] [--placement on|off] [--dr-failovers on|off]
                     [--image-size 2GiB [--swarm on|off|compare] [--image-at 10s]] [--out report.json] [--html report.html] [--json] [--verbose]

Runs N sites of the real replica, Raft core, catalog and reconciler on virtual time over a simulated
WAN, with a client workload and injected faults, then checks safety, linearizability, liveness and
that every site's cloud converged.
The same arguments give the same run (see the trace hash). Exit status 1 if any checker fails.

  --sites N       sites at real cities (default 5)
  --seed N        the run's seed (default 1)
  --duration D    virtual time, e.g. 90s, 30m, 1h (default 60s; at least 5s)
  --voters N|all  voters spread across regions, the rest learners (default min(5, sites))
  --faults F      all, none, or a comma-separated list of: ${FAULT_KINDS.join(', ')}
  --rate R        client operations per virtual second (default 20/s)
  --clients N     concurrent clients (default 32)
  --clouds on|off every site's reconciler converges an in-memory cloud, checked after the heal (default on)
  --dr-failovers on|off  protection-group failovers, forced failovers, failbacks and drills in the workload, with the DR checkers (default off)
  --relay on|off  learners are fed by relays (live voters) instead of the leader, as in the daemon (default on)
  --placement on|off  a leader hands over to a clearly better-placed voter (default on here; off in the daemon's config)
  --image-size S  once the sites are up, one seeded site (the origin) holds an image of S bytes (e.g. 2GiB)
                  and writes its record placed on every site; the daemon's fetcher and blob server move
                  the bits over modelled access links (1-10 Gb/s up and down per site, drawn from the
                  seed) and the WAN latency. Reports the time until every site holds it beside the
                  swarm's lower bound, with the blob checkers. A site reports the image fetching
                  (and so serves what it holds to others) through its reconciler: with --clouds
                  off no site reports, and only the origin serves.
  --swarm on|off|compare  with --image-size: off = blob streams reach only the origin, so every site
                  fetches from it alone (the reference the swarm is compared with); compare = the run,
                  then the same seed with swarm and clouds off (no sync reports: the origin is the
                  only holder the catalog names), and both times in the report (default on)
  --image-at D    with --image-size: the origin places the image no sooner than D of virtual time
                  (default: once the site records are in); faults start after a warm-up of
                  min(5s, 10% of the run), so e.g. --image-at 10s keeps the image in flight while
                  they run, and the report counts the fault episodes active during the transfer
  --out FILE      also write the report as JSON to FILE
  --html FILE     also write a self-contained HTML page (no scripts, works offline): a timeline of
                  faults, leaders per term and elections, the commit-latency distribution against
                  the physical floor, per-site convergence after the heal, the checker verdicts
  --json          print the JSON report instead of the text summary
  --verbose       narrate the run on stderr: faults, crashes, elections, membership changes`;
