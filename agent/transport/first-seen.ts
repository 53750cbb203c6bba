// Remembers which keys were already seen, within a bound, so an event repeated by the same source
// (a non-member peer redialling every second) is logged loudly once and quietly afterwards.

/** Refused peer ids remembered for "warn once"; past this the oldest is forgotten (and may warn again). */
export const MAX_REFUSED_PEERS_REMEMBERED = 1024;

export class FirstSeen {
  // A Set iterates in insertion order, so its first element is the oldest.
  private readonly seen = new Set<string>();

  constructor(private readonly limit: number) {
    if (!Number.isSafeInteger(limit) || limit < 1) throw new Error(`FirstSeen limit must be a positive integer (got ${limit})`);
  }

  /** True the first time `key` is seen (since it was last forgotten); remembers it. */
  firstTime(key: string): boolean {
    if (this.seen.has(key)) return false;
    if (this.seen.size >= this.limit) this.seen.delete(this.seen.values().next().value as string);
    this.seen.add(key);
    return true;
  }

  get size(): number {
    return this.seen.size;
  }
}
