// Book-keeping of the runtime: proposals waiting for their entry to commit, requests forwarded to
// the leader, and reads waiting for the state machine to catch up. Each is bounded.
import { invariant } from './invariant.js';
import type { TimerHandle } from './ports.js';

/** A promise plus the timer that gives up on it; settled exactly once (a second settle is a bug). */
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

  settle(value: T): void {
    invariant(!this.settled, () => `a request was settled twice (the second answer: ${JSON.stringify(value)})`);
    this.settled = true;
    this.timer?.cancel();
    this.resolveFn(value);
  }
}

/** Reads (or anything else) waiting until the applied index reaches a target. */
export class AppliedWaiters {
  private waiting: Array<{ index: number; wake: () => void }> = [];

  constructor(private readonly capacity: number) {}

  /** False (nothing added) when `capacity` reads already wait. */
  add(index: number, wake: () => void): boolean {
    if (this.waiting.length >= this.capacity) return false;
    this.waiting.push({ index, wake });
    return true;
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
 * Forwarded requests recently seen, with their answer once there is one, so that a duplicate the
 * network made is answered again (or left to the original's answer while it is pending) instead of
 * being proposed twice. Bounded: the oldest are forgotten first (a duplicate that late is harmless
 * because the catalog is exactly-once).
 */
export class RecentRequests<T> {
  /** null while the first copy is pending. */
  private readonly answers = new Map<string, T | null>();

  constructor(private readonly capacity: number) {}

  /**
   * `undefined` if `id` is new (it is now remembered as pending); otherwise what the first copy
   * was answered, or null while it is still pending.
   */
  begin(id: string): T | null | undefined {
    if (this.answers.has(id)) return this.answers.get(id);
    this.answers.set(id, null);
    if (this.answers.size > this.capacity) {
      const oldest = this.answers.keys().next().value as string;
      this.answers.delete(oldest);
    }
    return undefined;
  }

  /** Keeps the answer for later duplicates, if `id` is still remembered. */
  finish(id: string, answer: T): void {
    if (this.answers.has(id)) this.answers.set(id, answer);
  }
}
