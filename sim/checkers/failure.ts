// What every checker reports when an invariant breaks: enough to replay and to look in the right place.

export interface CheckFailure {
  /** The checker and property, e.g. 'election-safety', 'linearizability'. */
  check: string;
  /** The run's seed (as given on the command line) so the failure can be replayed. */
  seed: string;
  /** Virtual time of the observation that broke the invariant. */
  atMs: number;
  /** Sites involved (the two leaders of one term, the sites whose logs diverge, …). */
  sites: string[];
  message: string;
  /** Extra facts (indices, terms, digests, operation ids). Plain data, JSON-printable. */
  details?: Record<string, unknown>;
}

export type Verdict = 'pass' | 'fail' | 'inconclusive' | 'skipped';

/** Bound on failures kept per check: the first ones explain a run; thousands of repeats do not. */
export const MAX_FAILURES_PER_CHECK = 20;

/** Collects failures with the per-check bound, counting what it had to leave out. */
export class FailureLog {
  private readonly kept: CheckFailure[] = [];
  private readonly perCheck = new Map<string, number>();
  private omitted = 0;

  constructor(readonly seed: string) {}

  add(check: string, atMs: number, sites: string[], message: string, details?: Record<string, unknown>): void {
    const n = this.perCheck.get(check) ?? 0;
    this.perCheck.set(check, n + 1);
    if (n >= MAX_FAILURES_PER_CHECK) {
      this.omitted++;
      return;
    }
    const failure: CheckFailure = { check, seed: this.seed, atMs, sites: [...new Set(sites)].sort(), message };
    if (details) failure.details = details;
    this.kept.push(failure);
  }

  failures(): CheckFailure[] {
    return [...this.kept];
  }

  /** Total failures seen for a check, including those not kept. */
  countFor(check: string): number {
    return this.perCheck.get(check) ?? 0;
  }

  get omittedCount(): number {
    return this.omitted;
  }
}

/** "[election-safety] seed 42 at 1234.5 ms (sites a, b): two leaders in term 7". */
export function formatFailure(f: CheckFailure): string {
  const sites = f.sites.length > 0 ? ` (sites ${f.sites.join(', ')})` : '';
  return `[${f.check}] seed ${f.seed} at ${f.atMs.toFixed(1)} ms${sites}: ${f.message}`;
}
