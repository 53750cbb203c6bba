import { invariant } from '../../consensus/invariant.js';

/** How long a round-trip sample counts: long enough to outlast a burst of load, short enough to follow a route change. */
export const RTT_WINDOW_MS = 5 * 60_000;
/** Samples kept per member; libp2p measures every 10 s, so the window holds about 30. */
export const MAX_RTT_SAMPLES = 64;

/**
 * The lowest round trip seen to one member within the window. The placement of a leader wants the
 * distance between sites, not how busy they are right now: a loaded process answers a ping late,
 * which adds to a sample and never subtracts from it, so the minimum is the least-disturbed
 * estimate. One late sample on a loaded loopback cluster must not move the leadership.
 */
export class MinRttWindow {
  private readonly samples: { atMs: number; rttMs: number }[] = [];

  observe(nowMs: number, rttMs: number): void {
    invariant(Number.isFinite(rttMs) && rttMs >= 0, `round trip ${rttMs} is not a duration`);
    const last = this.samples.at(-1);
    // The connection monitor's value only changes when it measures again: repeat reads are one sample.
    if (last !== undefined && last.rttMs === rttMs && nowMs - last.atMs < RTT_WINDOW_MS) return;
    this.samples.push({ atMs: nowMs, rttMs });
    if (this.samples.length > MAX_RTT_SAMPLES) this.samples.shift();
  }

  /** The minimum over the window, or undefined when no sample is recent. */
  value(nowMs: number): number | undefined {
    while (this.samples.length > 0 && nowMs - this.samples[0]!.atMs > RTT_WINDOW_MS) this.samples.shift();
    let min: number | undefined;
    for (const s of this.samples) if (min === undefined || s.rttMs < min) min = s.rttMs;
    return min;
  }
}
