// The pure half of the soak benchmark (bench/soak-bench.ts): its options, the memory samples it
// takes, the plateau verdict and the printed table. No processes and no I/O here, so a test can
// check the argument parsing and the verdict.
import { parseArgs } from 'node:util';

export interface SoakOptions {
  /** Length of the churn phase (the clock starts after the catalog is filled). */
  minutes: number;
  /** Flavors in the catalog, kept constant by the churn. */
  flavors: number;
  /** Concurrent churn writers, each owning flavors / writers slots. */
  writers: number;
  /** Flavors replaced (one delete plus one create each) per write. */
  replacePerWrite: number;
  /** Seconds between two kill -9s, and how long the killed agent stays down. 0 = no kills. */
  killEverySeconds: number;
  downSeconds: number;
  /** Which agent is killed: a site name, the current leader, or each site in turn. */
  victim: string;
  /** Seconds between two memory samples of every running agent. */
  sampleEverySeconds: number;
  /**
   * A forced full GC (for heap-after-GC) every this many samples; the other samples only read
   * memory, so V8 sizes its heap as it would unobserved (a GC every sample would hide its growth).
   */
  gcEverySamples: number;
  /** Each agent manages a mock OpenStack cloud (its reconciler runs), or none. */
  clouds: 'mock' | 'none';
  /** Extra node flags for every agent (besides --expose-gc), e.g. a V8 heap limit to compare. */
  agentNodeArgs: string[];
  jsonFile: string | null;
}

/** The last third's median may exceed the middle third's by this fraction and still be a plateau. */
export const PLATEAU_TOLERANCE = 0.1;
/** ...or by this many bytes: a few MiB of noise on a small figure is no trend. */
export const PLATEAU_SLACK_BYTES = 4 * 1024 * 1024;
/** Samples needed per curve before a verdict (a third of them must hold at least two). */
export const MIN_SAMPLES_FOR_VERDICT = 6;
/** Rows printed at most; a longer run prints every k-th sample (the JSON keeps them all). */
export const MAX_TABLE_ROWS = 40;
/** Sites of the soak cluster. */
export const SOAK_SITES = 3;

export const SOAK_USAGE = `usage: npm run bench:soak -- [--minutes 10] [--flavors 18000] [--writers 4] [--replace-per-write 5]
                             [--kill-every 60] [--down 5] [--victim site-3|leader|rotate]
                             [--sample-every 20] [--gc-every 3] [--clouds mock|none] [--agent-node-arg=--FLAG]...
                             [--json FILE]

Starts 3 real agents on 127.0.0.1 under node --expose-gc, fills the catalog with --flavors flavors,
each agent reconciling its own mock OpenStack cloud (--clouds mock, as in the dev cluster),
then for --minutes keeps it at that size under create/delete churn (each write deletes
--replace-per-write flavors and creates as many) while one agent is killed with SIGKILL every
--kill-every seconds and restarted --down seconds later. Every --sample-every seconds it records
each agent's RSS and V8 heap size, and every --gc-every-th time also, after a forced full GC
(POST /v1/debug/gc), the heap used, external and ArrayBuffer memory; prints the curves and whether each one plateaus (the median of the last third
of the run within ${PLATEAU_TOLERANCE * 100}% of the middle third's).
`;

export function parseSoakOptions(argv: string[]): SoakOptions | 'help' {
  if (argv.includes('--help') || argv.includes('-h')) return 'help';
  const { values } = parseArgs({
    args: argv,
    options: {
      minutes: { type: 'string', default: '10' },
      flavors: { type: 'string', default: '18000' },
      writers: { type: 'string', default: '4' },
      'replace-per-write': { type: 'string', default: '5' },
      'kill-every': { type: 'string', default: '60' },
      down: { type: 'string', default: '5' },
      victim: { type: 'string', default: `site-${SOAK_SITES}` },
      'sample-every': { type: 'string', default: '20' },
      'gc-every': { type: 'string', default: '3' },
      clouds: { type: 'string', default: 'mock' },
      'agent-node-arg': { type: 'string', multiple: true, default: [] },
      json: { type: 'string' },
    },
  });
  const number = (name: string, min: number, max: number): number => {
    const text = values[name as keyof typeof values] as string;
    const n = Number(text);
    if (text.trim() === '' || !Number.isFinite(n) || n < min || n > max) throw new Error(`--${name}: expected a number from ${min} to ${max}, got ${JSON.stringify(text)}`);
    return n;
  };
  const integer = (name: string, min: number, max: number): number => {
    const n = number(name, min, max);
    if (!Number.isInteger(n)) throw new Error(`--${name}: expected an integer from ${min} to ${max}, got ${JSON.stringify(values[name as keyof typeof values])}`);
    return n;
  };
  const victim = values.victim!;
  const sites = Array.from({ length: SOAK_SITES }, (_, i) => `site-${i + 1}`);
  if (victim !== 'leader' && victim !== 'rotate' && !sites.includes(victim)) {
    throw new Error(`--victim: expected ${sites.join(', ')}, leader or rotate, got ${JSON.stringify(victim)}`);
  }
  const clouds = values.clouds;
  if (clouds !== 'mock' && clouds !== 'none') throw new Error(`--clouds: expected mock or none, got ${JSON.stringify(clouds)}`);
  const agentNodeArgs = values['agent-node-arg']!;
  const badFlag = agentNodeArgs.find((flag) => !flag.startsWith('--'));
  if (badFlag !== undefined) throw new Error(`--agent-node-arg: expected a node flag starting with --, got ${JSON.stringify(badFlag)}`);
  const options: SoakOptions = {
    minutes: number('minutes', 0.1, 24 * 60),
    flavors: integer('flavors', 1, 1_000_000),
    writers: integer('writers', 1, 64),
    replacePerWrite: integer('replace-per-write', 1, 50),
    killEverySeconds: number('kill-every', 0, 24 * 3600),
    downSeconds: number('down', 0, 3600),
    victim,
    sampleEverySeconds: number('sample-every', 1, 3600),
    gcEverySamples: integer('gc-every', 1, 1000),
    clouds,
    agentNodeArgs,
    jsonFile: values.json ?? null,
  };
  if (options.flavors < options.writers * options.replacePerWrite) {
    throw new Error(`--flavors: each of the ${options.writers} writers replaces ${options.replacePerWrite} flavors per write, so at least ${options.writers * options.replacePerWrite} are needed, got ${options.flavors}`);
  }
  if (options.killEverySeconds > 0 && options.downSeconds >= options.killEverySeconds) {
    throw new Error(`--down: must be shorter than --kill-every (${options.killEverySeconds} s), got ${options.downSeconds}`);
  }
  return options;
}

// ------------------------------------------------------------------ samples and verdict

/** What an agent holds right after a forced full GC. */
export interface AfterGc {
  heapUsedBytes: number;
  heapTotalBytes: number;
  externalBytes: number;
  arrayBuffersBytes: number;
  rssBytes: number;
}

/** One agent's memory at one moment: RSS and V8's reserved heap as they were, then (every --gc-every rounds) after a full GC. */
export interface MemorySample {
  /** Seconds since the churn started. */
  atSeconds: number;
  site: string;
  pid: number;
  rssBytes: number;
  /** What V8 had reserved for its heap (before any forced GC): how far it let garbage pile up. */
  heapTotalBytes: number;
  /** null in the rounds without a forced GC. */
  afterGc: AfterGc | null;
}

export const CURVES = {
  rss: (s: MemorySample) => s.rssBytes,
  heapTotal: (s: MemorySample) => s.heapTotalBytes,
  heapUsedAfterGc: (s: MemorySample) => s.afterGc?.heapUsedBytes ?? null,
  externalAfterGc: (s: MemorySample) => s.afterGc?.externalBytes ?? null,
} as const;

export type CurveName = keyof typeof CURVES;

export interface CurveVerdict {
  site: string;
  curve: CurveName;
  samples: number;
  middleMedianBytes: number;
  lastMedianBytes: number;
  peakBytes: number;
  /** true: plateaus; false: still growing; null: too few samples to say. */
  plateau: boolean | null;
  /** Processes the samples came from: more than one means the site was killed and restarted (each life is short). */
  lives: number;
}

export function median(values: number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/**
 * Whether a curve has stopped growing: splits the values (in time order) into thirds and compares
 * the median of the last third with the middle third's (the first third is the warm-up: caches
 * filling, the heap growing to its working size).
 */
export function plateauOf(values: number[]): { middleMedian: number; lastMedian: number; plateau: boolean | null } {
  const third = Math.floor(values.length / 3);
  const middle = values.slice(third, values.length - third);
  const last = values.slice(values.length - third);
  const middleMedian = median(middle);
  const lastMedian = median(last);
  if (values.length < MIN_SAMPLES_FOR_VERDICT) return { middleMedian, lastMedian, plateau: null };
  const allowed = Math.max(middleMedian * (1 + PLATEAU_TOLERANCE), middleMedian + PLATEAU_SLACK_BYTES);
  return { middleMedian, lastMedian, plateau: lastMedian <= allowed };
}

export function verdicts(samples: MemorySample[], curves: CurveName[] = ['rss', 'heapTotal', 'heapUsedAfterGc', 'externalAfterGc']): CurveVerdict[] {
  const sites = [...new Set(samples.map((s) => s.site))].sort();
  const out: CurveVerdict[] = [];
  for (const site of sites) {
    const mine = samples.filter((s) => s.site === site).sort((a, b) => a.atSeconds - b.atSeconds);
    for (const curve of curves) {
      const values = mine.map(CURVES[curve]).filter((v): v is number => v !== null);
      const { middleMedian, lastMedian, plateau } = plateauOf(values);
      const lives = new Set(mine.map((s) => s.pid)).size;
      out.push({ site, curve, samples: values.length, middleMedianBytes: middleMedian, lastMedianBytes: lastMedian, peakBytes: values.length > 0 ? Math.max(...values) : Number.NaN, plateau, lives });
    }
  }
  return out;
}

// ------------------------------------------------------------------ table

export function mib(bytes: number | null | undefined): string {
  return typeof bytes === 'number' && Number.isFinite(bytes) ? (bytes / (1024 * 1024)).toFixed(0) : '-';
}

/** "RSS / heap total / heap after GC / external after GC" in MiB ("-" where no GC ran). */
export function sampleCell(s: MemorySample): string {
  return `${mib(s.rssBytes)} / ${mib(s.heapTotalBytes)} / ${mib(s.afterGc?.heapUsedBytes)} / ${mib(s.afterGc?.externalBytes)}`;
}

/**
 * Rows of the curve table: one per sampling round (every k-th when there are more than maxRows),
 * each with sampleCell() per site; a site that was down shows "down".
 */
export function curveRows(samples: MemorySample[], sites: string[], roundOf: (s: MemorySample) => number, maxRows = MAX_TABLE_ROWS): string[][] {
  const rounds = new Map<number, MemorySample[]>();
  for (const s of samples) {
    const round = roundOf(s);
    const list = rounds.get(round) ?? [];
    list.push(s);
    rounds.set(round, list);
  }
  const ordered = [...rounds.keys()].sort((a, b) => a - b);
  const step = Math.max(1, Math.ceil(ordered.length / maxRows));
  const kept = ordered.filter((_, i) => i % step === 0 || i === ordered.length - 1);
  return kept.map((round) => {
    const list = rounds.get(round)!;
    const at = Math.min(...list.map((s) => s.atSeconds));
    const cells = sites.map((site) => {
      const s = list.find((x) => x.site === site);
      return s ? sampleCell(s) : 'down';
    });
    return [formatClock(at), ...cells];
  });
}

export function formatClock(seconds: number): string {
  const s = Math.round(seconds);
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}

export function verdictText(v: CurveVerdict): string {
  const word = v.plateau === null ? 'too few samples' : v.plateau ? 'plateau' : 'GROWING';
  const lives = v.lives > 1 ? `; ${v.lives} processes (killed and restarted): the curve joins short lives` : '';
  return `${word} (middle third median ${mib(v.middleMedianBytes)} MiB, last third ${mib(v.lastMedianBytes)} MiB, peak ${mib(v.peakBytes)} MiB, ${v.samples} samples${lives})`;
}
