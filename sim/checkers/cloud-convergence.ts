// Cloud convergence: after the faults heal, every running site's cloud holds exactly its desired
// state — the managed flavors and images the catalog places on it, equal field for field, images
// active with the catalog's digest, quota limits as the catalog sets them, and the quotas the
// catalog names but no longer places there back at the cloud's defaults.
//
// The harness reads the clouds every probe of the quiet period and hands the differences here.
// The clouds converged at the first probe from which every later probe found none; the time from
// the heal to that probe is the run's time to converge. Differences still there at the end are
// failures naming the site, the resource and what differs. A site whose own catalog has not caught
// up with what it should hold cannot be judged (its reconciler works from that catalog; the Raft
// checks own that failure): if it is still behind at the end, the verdict is inconclusive.
// Pure: no clock, no I/O.
import { diffFlavor, diffImage, diffQuota } from '../../drivers/index.js';
import type { CloudFlavor, CloudImage, CloudQuota } from '../../drivers/index.js';
import type { DesiredResource } from '../../agent/reconciler/index.js';
import { FailureLog, type Verdict } from './failure.js';

export const CLOUD_CONVERGENCE_CHECK = 'cloud-convergence';

export type CloudProblem = 'missing' | 'extra' | 'differs' | 'not-active' | 'not-reset';

export interface CloudDifference {
  site: string;
  kind: 'flavor' | 'image' | 'quota';
  id: string;
  problem: CloudProblem;
  /** What differs, for people: "description: cloud "a" ≠ catalog "b"". */
  detail: string;
}

/** One site's cloud as its services hold it (managed flavors and images, the catalog's quota projects). */
export interface ObservedCloud {
  flavors: readonly CloudFlavor[];
  images: readonly CloudImage[];
  /** Quota sets of every project a catalog quota names, placed here or not. */
  quotas: ReadonlyMap<string, CloudQuota>;
  /** The cloud's default quota set of those projects (what a reset leaves). */
  defaultQuotas: ReadonlyMap<string, CloudQuota>;
}

/** Differences shown per resource detail (a flavor that differs in many fields lists a few). */
const MAX_FIELDS_SHOWN = 3;

/** Every way the cloud differs from the site's desired state; empty when they are equal. */
export function diffSiteCloud(site: string, desired: ReadonlyMap<string, DesiredResource>, observed: ObservedCloud): CloudDifference[] {
  const out: CloudDifference[] = [];
  const add = (kind: CloudDifference['kind'], id: string, problem: CloudProblem, detail: string): void => void out.push({ site, kind, id, problem, detail });
  const flavors = new Map(observed.flavors.map((f) => [f.id, f]));
  const images = new Map(observed.images.map((i) => [i.id, i]));
  const desiredQuotaProjects = new Set<string>();

  for (const d of desired.values()) {
    if (d.kind === 'flavor') {
      const have = flavors.get(d.id);
      if (have === undefined) add('flavor', d.id, 'missing', `not in the cloud (catalog revision ${d.revision})`);
      else {
        const diff = diffFlavor(have, d.spec);
        if (!diff.inSync) add('flavor', d.id, 'differs', flavorChanges(diff, have, d));
      }
    } else if (d.kind === 'image') {
      const have = images.get(d.id);
      if (have === undefined) add('image', d.id, 'missing', `not in the cloud (catalog revision ${d.revision})`);
      else {
        const diff = diffImage(have, d.spec);
        if (!diff.inSync) add('image', d.id, 'differs', diff.patch.slice(0, MAX_FIELDS_SHOWN).map((p) => (p.op === 'remove' ? `${p.path} should not be set` : `${p.path} should be ${show(p.value)}`)).join('; '));
        else if (have.status !== 'active') add('image', d.id, 'not-active', `status ${have.status}, not active`);
        else if (d.spec.source.sha512 !== undefined && have.osHashValue !== d.spec.source.sha512) add('image', d.id, 'differs', `stored bits hash ${show(have.osHashValue)}, catalog sha512 ${d.spec.source.sha512}`);
      }
    } else {
      desiredQuotaProjects.add(d.spec.project);
      const have = observed.quotas.get(d.spec.project);
      if (have === undefined) add('quota', d.id, 'missing', 'quota set not read');
      else {
        const diff = diffQuota(have, d.spec);
        const problems = [...diff.missingParts.map((p) => `${p} part missing`), ...diff.changes.map((c) => `${c.part}.${c.field}: cloud ${show(c.from)} ≠ catalog ${show(c.to)}`)];
        if (problems.length > 0) add('quota', d.id, 'differs', problems.slice(0, MAX_FIELDS_SHOWN).join('; '));
      }
    }
  }

  for (const f of observed.flavors) if (!desired.has(`flavor/${f.id}`)) add('flavor', f.id, 'extra', 'managed flavor the catalog does not place here');
  for (const i of observed.images) if (!desired.has(`image/${i.id}`)) add('image', i.id, 'extra', `managed image (${i.status}) the catalog does not place here`);
  for (const [project, have] of observed.quotas) {
    if (desiredQuotaProjects.has(project)) continue;
    const defaults = observed.defaultQuotas.get(project);
    if (defaults === undefined || canonical(have) !== canonical(defaults)) add('quota', project, 'not-reset', 'the catalog no longer places this quota here, but its limits are not the defaults');
  }
  return out;
}

function flavorChanges(diff: ReturnType<typeof diffFlavor>, have: CloudFlavor, d: Extract<DesiredResource, { kind: 'flavor' }>): string {
  const parts = diff.immutable.map((c) => `${c.field}: cloud ${show(c.from)} ≠ catalog ${show(c.to)}`);
  if (diff.descriptionChanged) parts.push(`description: cloud ${show(have.description ?? null)} ≠ catalog ${show(d.spec.description ?? null)}`);
  for (const key of Object.keys(diff.extraSpecsToSet)) parts.push(`extra spec ${key} should be ${show(diff.extraSpecsToSet[key])}`);
  for (const key of diff.extraSpecsToRemove) parts.push(`extra spec ${key} should not be set`);
  if (diff.accessToAdd.length + diff.accessToRemove.length > 0) parts.push('access list differs');
  return `${parts.slice(0, MAX_FIELDS_SHOWN).join('; ')} (catalog revision ${d.revision})`;
}

export interface CloudProbeResult {
  atMs: number;
  /** Sites whose clouds were compared (the running ones). */
  sitesChecked: number;
  differences: CloudDifference[];
  /** Running sites whose own catalog does not yet say what they should hold (not compared). */
  behind: string[];
}

export interface CloudConvergenceResult {
  verdict: Verdict;
  /** From the heal to the probe from which every cloud stayed equal to its desired state. */
  convergedAfterMs: number | null;
  probes: number;
  /** Differences found by the last probe. */
  remaining: number;
  /** Sites whose catalog was still behind at the last probe (not judged). */
  behind: string[];
}

/** Failures listed per site (each names up to this many of its resources). */
const MAX_RESOURCES_PER_FAILURE = 4;

export class CloudConvergenceChecker {
  private convergedSinceMs: number | null = null;
  private last: CloudProbeResult | null = null;
  private probes = 0;
  private readonly problems: Array<{ atMs: number; sites: string[]; message: string }> = [];

  constructor(readonly healedAtMs: number) {}

  onProbe(probe: CloudProbeResult): void {
    this.probes++;
    this.last = probe;
    if (probe.differences.length > 0 || probe.behind.length > 0) this.convergedSinceMs = null;
    else this.convergedSinceMs ??= probe.atMs;
  }

  /** Something outside the clouds made the check impossible (the simulator's own cloud resources were refused). */
  onProblem(atMs: number, sites: string[], message: string): void {
    this.problems.push({ atMs, sites, message });
  }

  /** Verdict at the end of the run; failures go to `log` under CLOUD_CONVERGENCE_CHECK. */
  finish(log: FailureLog, endMs: number): CloudConvergenceResult {
    for (const p of this.problems) log.add(CLOUD_CONVERGENCE_CHECK, p.atMs, p.sites, p.message);
    const remaining = this.last?.differences ?? [];
    if (this.last === null) {
      log.add(CLOUD_CONVERGENCE_CHECK, endMs, [], 'the clouds were never compared with their desired state (no probe ran after the heal)');
    }
    const bySite = new Map<string, CloudDifference[]>();
    for (const d of remaining) {
      const list = bySite.get(d.site);
      if (list) list.push(d);
      else bySite.set(d.site, [d]);
    }
    for (const [site, diffs] of [...bySite].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
      const shown = diffs.slice(0, MAX_RESOURCES_PER_FAILURE).map((d) => `${d.kind} ${d.id} ${d.problem}: ${d.detail}`);
      const more = diffs.length > MAX_RESOURCES_PER_FAILURE ? `; … ${diffs.length - MAX_RESOURCES_PER_FAILURE} more` : '';
      log.add(
        CLOUD_CONVERGENCE_CHECK,
        this.last!.atMs,
        [site],
        `${site}'s cloud differs from its desired state ${((this.last!.atMs - this.healedAtMs) / 1000).toFixed(1)} s after the heal: ${shown.join('; ')}${more}`,
        { resources: diffs.map((d) => `${d.kind}/${d.id}`) },
      );
    }
    const failed = log.countFor(CLOUD_CONVERGENCE_CHECK) > 0;
    const behind = this.last?.behind ?? [];
    return {
      verdict: failed ? 'fail' : behind.length > 0 ? 'inconclusive' : 'pass',
      convergedAfterMs: failed || this.convergedSinceMs === null ? null : Math.max(0, this.convergedSinceMs - this.healedAtMs),
      probes: this.probes,
      remaining: remaining.length,
      behind: [...behind],
    };
  }
}

function show(v: unknown): string {
  return v === undefined ? 'unset' : JSON.stringify(v);
}

/** JSON with sorted keys: two quota sets are equal when this is. */
function canonical(v: unknown): string {
  return JSON.stringify(v, (_k, value: unknown) =>
    value !== null && typeof value === 'object' && !Array.isArray(value) ? Object.fromEntries(Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1))) : value,
  );
}
