// Book-keeping of the runtime: proposals waiting for their entry to commit, requests forwarded to
// the leader, and reads waiting for the state machine to catch up. Each is bounded.
import type { TimerHandle } from './ports.js';

/** A promise plus the timer that gives up on it; settled exactly once. */
export class Waiter<T> {
  private settled = false;
  private timer: TimerHandle | null = null;
  readonly promise: Promise<T>;
  private resolveFn!: (value: T) => void;

  constructor() {
    this.promise = new Promise<T>((resolve) => {
      this.resolveFn = resolve;
    });
  }

  armTimer(timer: TimerHandle): void {
    this.timer = timer;
  }

  get done(): boolean {
    return this.settled;
  }

  settle(value: T): boolean {
    if (this.settled) return false;
    this.settled = true;
    this.timer?.cancel();
    this.resolveFn(value);
    return true;
  }
}

/** Reads (or anything else) waiting until the applied index reaches a target. */
export class AppliedWaiters {
  private waiting: Array<{ index: number; wake: () => void }> = [];

  add(index: number, wake: () => void): void {
    this.waiting.push({ index, wake });
  }

  /** Wakes everyone whose target is at or below `applied`. */
  release(applied: number): void {
    if (this.waiting.length === 0) return;
    const still: typeof this.waiting = [];
    for (const w of this.waiting) {
      if (w.index <= applied) w.wake();
      else still.push(w);
    }
    this.waiting = still;
  }

  get size(): number {
    return this.waiting.length;
  }
}

/**
 * Ids recently seen, to ignore a duplicated forwarded request. Bounded: the oldest are
 * forgotten first (a duplicate that late is harmless because the catalog is exactly-once).
 */
export class RecentIds {
  private readonly ids = new Set<string>();

  constructor(private readonly capacity: number) {}

  /** True if `id` was new (and is now remembered). */
  remember(id: string): boolean {
    if (this.ids.has(id)) return false;
    this.ids.add(id);
    if (this.ids.size > this.capacity) {
      const oldest = this.ids.values().next().value as string;
      this.ids.delete(oldest);
    }
    return true;
  }
}
