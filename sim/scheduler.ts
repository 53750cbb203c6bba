// The simulator's event loop on virtual time. Events are ordered by (time, seq): seq is the order
// of scheduling, so two events at the same virtual time always run in the order they were
// scheduled and a run is reproducible. The heap is kept in parallel arrays (no object per heap
// slot); the hot path `atCall(time, fn, arg)` allocates nothing but what the caller passes.
//
// Async code (the replica awaits its store) continues in microtasks. The synchronous run methods
// never let microtasks run between events, so they suit synchronous code only; the `...Async`
// variants yield to the Node event loop after every event (setImmediate: ordering only, no clock),
// so every promise chain an event started settles at that event's virtual time, before the next
// event — the way Node drains microtasks between two timer callbacks.
import type { Clock, TimerHandle } from '../consensus/ports.js';

export type EventFn<A> = (arg: A) => void;

const INITIAL_HEAP_CAPACITY = 1024;
/** Rebuild the heap once this many cancelled timers sit in it and they are over half of it. */
const CANCELLED_COMPACTION_THRESHOLD = 4096;

/** Something that can silence all its timers at once (a crashed site's clock). */
interface TimerOwner {
  readonly stopped: boolean;
}

/** A cancellable one-shot event; the handle returned by at/after/setTimer. */
export class ScheduledTimer implements TimerHandle {
  cancelled = false;
  fired = false;
  constructor(
    private readonly scheduler: Scheduler,
    readonly time: number,
    private readonly callback: () => void,
    private readonly owner: TimerOwner | null,
  ) {}

  cancel(): void {
    if (this.cancelled || this.fired) return;
    this.cancelled = true;
    this.scheduler.noteCancelled();
  }

  /** Called by the scheduler only. */
  fire(): void {
    this.fired = true;
    if (this.owner !== null && this.owner.stopped) return;
    this.callback();
  }
}

function fireTimer(timer: ScheduledTimer): void {
  timer.fire();
}

function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

export class Scheduler {
  private times = new Float64Array(INITIAL_HEAP_CAPACITY);
  private seqs = new Float64Array(INITIAL_HEAP_CAPACITY);
  private fns: Array<EventFn<any>> = [];
  private args: unknown[] = [];
  private size = 0;
  private nextSeq = 0;
  private current = 0;
  private executed = 0;
  private cancelledInHeap = 0;

  /** Current virtual time in milliseconds. */
  now(): number {
    return this.current;
  }

  /** Events run so far (cancelled timers not counted). */
  get eventCount(): number {
    return this.executed;
  }

  /** Events waiting (cancelled timers not yet dropped included). */
  get pendingCount(): number {
    return this.size;
  }

  /** Time of the next event, or undefined when nothing is scheduled. */
  nextEventTime(): number | undefined {
    return this.size > 0 ? this.times[0] : undefined;
  }

  /** Hot path: run fn(arg) at virtual time `time`. Not cancellable. */
  atCall<A>(time: number, fn: EventFn<A>, arg: A): void {
    if (!(time >= this.current)) {
      throw new RangeError(`cannot schedule at ${time} ms: virtual time is already ${this.current} ms`);
    }
    this.push(time, fn, arg);
  }

  afterCall<A>(delayMs: number, fn: EventFn<A>, arg: A): void {
    if (!(delayMs >= 0)) throw new RangeError(`delay must be >= 0 ms, got ${delayMs}`);
    this.push(this.current + delayMs, fn, arg);
  }

  /** Run fn at virtual time `time`; the handle cancels it. */
  at(time: number, fn: () => void): ScheduledTimer {
    return this.timerAt(time, fn, null);
  }

  after(delayMs: number, fn: () => void): ScheduledTimer {
    if (!(delayMs >= 0)) throw new RangeError(`delay must be >= 0 ms, got ${delayMs}`);
    return this.timerAt(this.current + delayMs, fn, null);
  }

  /** A timer that does not fire if `owner.stopped` is true when it comes due. */
  timerAt(time: number, fn: () => void, owner: TimerOwner | null): ScheduledTimer {
    if (!(time >= this.current)) {
      throw new RangeError(`cannot schedule at ${time} ms: virtual time is already ${this.current} ms`);
    }
    const timer = new ScheduledTimer(this, time, fn, owner);
    this.push(time, fireTimer, timer);
    return timer;
  }

  /** Runs the next event; false when there is none. */
  step(): boolean {
    if (this.size === 0) return false;
    this.runNext();
    return true;
  }

  /**
   * Runs every event due at or before `time` (synchronously), then sets the clock to `time`.
   * Stops early after `maxEvents` events (a runaway guard) and then leaves the clock at the last event.
   * Returns the number of events run.
   */
  runUntil(time: number, maxEvents = Infinity): number {
    this.checkTarget(time);
    let ran = 0;
    while (this.size > 0 && this.times[0] <= time) {
      if (ran >= maxEvents) return ran;
      this.runNext();
      ran++;
    }
    this.current = time;
    return ran;
  }

  runFor(durationMs: number, maxEvents = Infinity): number {
    return this.runUntil(this.current + durationMs, maxEvents);
  }

  /** Runs events while `pred()` holds (checked before each) and events remain. Returns events run. */
  runWhile(pred: () => boolean, maxEvents = Infinity): number {
    let ran = 0;
    while (this.size > 0 && ran < maxEvents && pred()) {
      this.runNext();
      ran++;
    }
    return ran;
  }

  /** runUntil for async code: microtasks settle after each event, at that event's virtual time. */
  async runUntilAsync(time: number, maxEvents = Infinity): Promise<number> {
    this.checkTarget(time);
    let ran = 0;
    await yieldToEventLoop(); // settle what the caller started before the first event
    while (this.size > 0 && this.times[0] <= time) {
      if (ran >= maxEvents) return ran;
      this.runNext();
      ran++;
      await yieldToEventLoop();
    }
    this.current = time;
    return ran;
  }

  async runForAsync(durationMs: number, maxEvents = Infinity): Promise<number> {
    return this.runUntilAsync(this.current + durationMs, maxEvents);
  }

  /** runWhile for async code. */
  async runWhileAsync(pred: () => boolean, maxEvents = Infinity): Promise<number> {
    let ran = 0;
    await yieldToEventLoop();
    while (this.size > 0 && ran < maxEvents && pred()) {
      this.runNext();
      ran++;
      await yieldToEventLoop();
    }
    return ran;
  }

  /** Called by ScheduledTimer.cancel(). */
  noteCancelled(): void {
    this.cancelledInHeap++;
    if (this.cancelledInHeap >= CANCELLED_COMPACTION_THRESHOLD && this.cancelledInHeap * 2 > this.size) {
      this.dropCancelled();
    }
  }

  private checkTarget(time: number): void {
    if (!(time >= this.current)) throw new RangeError(`cannot run until ${time} ms: virtual time is already ${this.current} ms`);
  }

  private runNext(): void {
    const time = this.times[0];
    const fn = this.fns[0];
    const arg = this.args[0];
    this.removeRoot();
    this.current = time;
    if (fn === fireTimer && (arg as ScheduledTimer).cancelled) {
      this.cancelledInHeap--;
      return;
    }
    this.executed++;
    fn(arg);
  }

  private push(time: number, fn: EventFn<any>, arg: unknown): void {
    if (this.size === this.times.length) this.grow();
    const seq = this.nextSeq++;
    // Sift up with a hole: move parents down until the new event's place is found.
    let i = this.size++;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const pt = this.times[parent];
      if (pt < time || (pt === time && this.seqs[parent] < seq)) break;
      this.moveSlot(parent, i);
      i = parent;
    }
    this.times[i] = time;
    this.seqs[i] = seq;
    this.fns[i] = fn;
    this.args[i] = arg;
  }

  private removeRoot(): void {
    const last = --this.size;
    if (last === 0) {
      this.fns[0] = undefined as never;
      this.args[0] = undefined;
      return;
    }
    const time = this.times[last];
    const seq = this.seqs[last];
    const fn = this.fns[last];
    const arg = this.args[last];
    this.fns[last] = undefined as never;
    this.args[last] = undefined;
    this.siftDownFrom(0, time, seq, fn, arg);
  }

  private siftDownFrom(start: number, time: number, seq: number, fn: EventFn<any>, arg: unknown): void {
    const size = this.size;
    const times = this.times;
    const seqs = this.seqs;
    let i = start;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= size) break;
      const right = child + 1;
      if (right < size && (times[right] < times[child] || (times[right] === times[child] && seqs[right] < seqs[child]))) {
        child = right;
      }
      if (time < times[child] || (time === times[child] && seq < seqs[child])) break;
      this.moveSlot(child, i);
      i = child;
    }
    times[i] = time;
    seqs[i] = seq;
    this.fns[i] = fn;
    this.args[i] = arg;
  }

  private moveSlot(from: number, to: number): void {
    this.times[to] = this.times[from];
    this.seqs[to] = this.seqs[from];
    this.fns[to] = this.fns[from];
    this.args[to] = this.args[from];
  }

  private grow(): void {
    const capacity = this.times.length * 2;
    const times = new Float64Array(capacity);
    times.set(this.times);
    const seqs = new Float64Array(capacity);
    seqs.set(this.seqs);
    this.times = times;
    this.seqs = seqs;
  }

  /** Removes cancelled timers and re-heapifies; (time, seq) is a total order, so pop order is unchanged. */
  private dropCancelled(): void {
    let kept = 0;
    for (let i = 0; i < this.size; i++) {
      const fn = this.fns[i];
      const arg = this.args[i];
      if (fn === fireTimer && (arg as ScheduledTimer).cancelled) continue;
      this.times[kept] = this.times[i];
      this.seqs[kept] = this.seqs[i];
      this.fns[kept] = fn;
      this.args[kept] = arg;
      kept++;
    }
    for (let i = kept; i < this.size; i++) {
      this.fns[i] = undefined as never;
      this.args[i] = undefined;
    }
    this.size = kept;
    this.cancelledInHeap = 0;
    for (let i = (kept >> 1) - 1; i >= 0; i--) {
      this.siftDownFrom(i, this.times[i], this.seqs[i], this.fns[i], this.args[i]);
    }
  }
}

/**
 * The Clock port for one simulated site. Its local clock runs at `rate` times virtual time (1.02 =
 * 2 % fast), so a timer of d local ms fires after d / rate virtual ms. A rate change re-anchors
 * the local clock (it never jumps) and applies to timers set afterwards; timers already set keep
 * their virtual deadline (a simplification: real drift changes slowly).
 * `stop()` (a crash) silences every timer this clock ever set; a restarted site gets a new clock.
 */
export class SiteClock implements Clock {
  private anchorVirtualMs: number;
  private anchorLocalMs: number;
  private rateValue: number;
  private stoppedFlag = false;
  /**
   * Local time never reads below the deadline of a timer that fired: local -> virtual -> local
   * rounding could otherwise put now() a few ulps early inside the callback, and code waiting for
   * the rest would set a timer too small to move virtual time (a zero-delay loop).
   */
  private floorLocalMs = -Infinity;

  constructor(
    private readonly scheduler: Scheduler,
    options: { rate?: number; offsetMs?: number } = {},
  ) {
    this.rateValue = checkRate(options.rate ?? 1);
    this.anchorVirtualMs = scheduler.now();
    this.anchorLocalMs = options.offsetMs ?? 0;
  }

  get rate(): number {
    return this.rateValue;
  }

  get stopped(): boolean {
    return this.stoppedFlag;
  }

  now(): number {
    const computed = this.anchorLocalMs + (this.scheduler.now() - this.anchorVirtualMs) * this.rateValue;
    return computed > this.floorLocalMs ? computed : this.floorLocalMs;
  }

  setTimer(delayMs: number, callback: () => void): TimerHandle {
    if (Number.isNaN(delayMs)) throw new RangeError('setTimer: delay is NaN');
    // Like setTimeout, a negative delay means "as soon as possible".
    const localDelay = delayMs > 0 ? delayMs : 0;
    const deadline = this.now() + localDelay;
    return this.scheduler.timerAt(
      this.scheduler.now() + localDelay / this.rateValue,
      () => {
        if (deadline > this.floorLocalMs) this.floorLocalMs = deadline;
        callback();
      },
      this,
    );
  }

  setRate(rate: number): void {
    const checked = checkRate(rate);
    this.anchorLocalMs = this.now();
    this.anchorVirtualMs = this.scheduler.now();
    this.rateValue = checked;
  }

  /** Silences all timers of this clock for good (the site crashed). */
  stop(): void {
    this.stoppedFlag = true;
  }
}

/** Clock rates outside this range are a configuration mistake, not drift. */
export const MIN_CLOCK_RATE = 0.5;
export const MAX_CLOCK_RATE = 2;

function checkRate(rate: number): number {
  if (!(rate >= MIN_CLOCK_RATE && rate <= MAX_CLOCK_RATE)) {
    throw new RangeError(`clock rate must be in [${MIN_CLOCK_RATE}, ${MAX_CLOCK_RATE}], got ${rate}`);
  }
  return rate;
}
