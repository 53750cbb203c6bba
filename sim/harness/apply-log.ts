// The first application of each log index by any site's state machine: what a write did (its
// result) and when its effect first became visible. It resolves "unknown" client outcomes after
// the run, and gives each workload key its sequence of committed values (for checking local reads).
// Sites apply in index order and a snapshot only covers what its sender applied, so first
// applications normally arrive in index order; the log does not rely on it.
import type { RegisterValue } from '../checkers/linearizability.js';
import { changesOf, type EntryFacts } from './entries.js';

export interface FirstApply {
  index: number;
  term: number;
  atMs: number;
  /** The catalog's CommandResult (ok, or the refusal code and op index). */
  result: unknown;
}

export interface KeyChange {
  index: number;
  value: RegisterValue;
}

export class ApplyLog {
  private highest = 0;
  /** Term of the entry first applied at each index (index 0 unused). */
  private readonly terms: number[] = [0];
  /** First entry that carried each write id: where the write executed (later copies are duplicates). */
  readonly byWriteId = new Map<string, FirstApply>();
  readonly keyChanges = new Map<string, KeyChange[]>();

  get highestIndex(): number {
    return this.highest;
  }

  has(index: number): boolean {
    return this.terms[index] !== undefined;
  }

  note(index: number, term: number, facts: EntryFacts, result: unknown, atMs: number): void {
    if (this.has(index)) return;
    this.terms[index] = term;
    if (index > this.highest) this.highest = index;
    if (facts.writeId === undefined) return;
    const earlier = this.byWriteId.get(facts.writeId);
    if (earlier !== undefined && earlier.index < index) return;
    // Normally indexes arrive in order; a site that skipped entries (a bug) can break that.
    if (earlier !== undefined) this.dropChangesAt(earlier.index);
    this.byWriteId.set(facts.writeId, { index, term, atMs, result });
    if (!isOk(result) || facts.ops === undefined) return;
    for (const change of changesOf(facts.ops)) {
      let list = this.keyChanges.get(change.key);
      if (!list) this.keyChanges.set(change.key, (list = []));
      let at = list.length;
      while (at > 0 && list[at - 1].index > index) at--;
      const value = change.keepValue === true ? (list[at - 1]?.value ?? null) : change.value;
      list.splice(at, 0, { index, value });
    }
  }

  private dropChangesAt(index: number): void {
    for (const [key, list] of this.keyChanges) this.keyChanges.set(key, list.filter((c) => c.index !== index));
  }

  /** Term of the entry first applied at `index`, if any site applied it. */
  termOf(index: number): number | undefined {
    return this.terms[index];
  }

  /** The key's value and revision after applying every index up to `index`. */
  valueAt(key: string, index: number): { value: RegisterValue; revision: number } {
    const list = this.keyChanges.get(key);
    if (!list || list.length === 0 || list[0].index > index) return { value: null, revision: 0 };
    let lo = 0;
    let hi = list.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (list[mid].index <= index) lo = mid;
      else hi = mid - 1;
    }
    const change = list[lo];
    return change.value === null ? { value: null, revision: 0 } : { value: change.value, revision: change.index };
  }
}

export function isOk(result: unknown): boolean {
  return typeof result === 'object' && result !== null && (result as { ok?: unknown }).ok === true;
}
