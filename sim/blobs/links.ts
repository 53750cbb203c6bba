// Each site's access link to the WAN: an uplink and a downlink capacity, drawn per site from the
// run's seed (uniform in [minGbps, maxGbps), a fork per site name, so adding a site moves no other
// site's draw). A transfer is a flow of bytes from one site to another, and every flow that is
// sending shares both ends fairly: its rate is the smaller of its equal share of the sender's uplink
// and its equal share of the receiver's downlink. Capacity a flow cannot use at one end (because its
// other end holds it back) is not handed to the others, so this never models a transfer faster than
// max-min fair sharing would (it is the lower bound of every flow's max-min rate). The WAN core is
// not a bottleneck; its latency is added by the streams (streams.ts). Rates change only when a flow
// starts or drains, and only for the flows sharing one of its two ends: a fluid model, one event per
// drain, no per-packet work.
import type { Prng } from '../prng.js';
import type { Scheduler, ScheduledTimer } from '../scheduler.js';

export interface AccessLinkConfig {
  minGbps: number;
  maxGbps: number;
}

export const DEFAULT_ACCESS_LINKS: AccessLinkConfig = { minGbps: 1, maxGbps: 10 };

/** Bytes per virtual millisecond of a link of `gbps` gigabits per second. */
function bytesPerMs(gbps: number): number {
  return (gbps * 1e9) / 8 / 1000;
}

export class Flow {
  /** Bytes queued and not yet sent. */
  remaining = 0;
  /** Bytes per ms while sending. */
  rate = 0;
  lastUpdate = 0;
  drainTimer: ScheduledTimer | null = null;
  closed = false;

  constructor(
    readonly from: number,
    readonly to: number,
    /** Called when every queued byte has been sent. */
    readonly onDrained: () => void,
  ) {}
}

export interface LinkStats {
  /** Bytes every site's uplink sent, by site index. */
  sentBytes: Float64Array;
  receivedBytes: Float64Array;
}

export class AccessLinks {
  /** Bytes per ms of each site's uplink and downlink. */
  readonly uplink: Float64Array;
  readonly downlink: Float64Array;
  readonly stats: LinkStats;
  /** Sending flows at each site's uplink and downlink. */
  private readonly up: Array<Set<Flow>>;
  private readonly down: Array<Set<Flow>>;

  constructor(
    private readonly scheduler: Scheduler,
    siteNames: readonly string[],
    prng: Prng,
    config: AccessLinkConfig = DEFAULT_ACCESS_LINKS,
  ) {
    if (!(config.minGbps > 0 && config.maxGbps >= config.minGbps)) throw new RangeError(`access links: need 0 < minGbps <= maxGbps, got ${config.minGbps}, ${config.maxGbps}`);
    const n = siteNames.length;
    this.uplink = new Float64Array(n);
    this.downlink = new Float64Array(n);
    siteNames.forEach((name, i) => {
      const draw = prng.fork(`access-link/${name}`);
      this.uplink[i] = bytesPerMs(draw.uniform(config.minGbps, config.maxGbps));
      this.downlink[i] = bytesPerMs(draw.uniform(config.minGbps, config.maxGbps));
    });
    this.up = Array.from({ length: n }, () => new Set<Flow>());
    this.down = Array.from({ length: n }, () => new Set<Flow>());
    this.stats = { sentBytes: new Float64Array(n), receivedBytes: new Float64Array(n) };
  }

  /** Uplink and downlink of a site in bytes per second. */
  capacity(index: number): { uplinkBytesPerSec: number; downlinkBytesPerSec: number } {
    return { uplinkBytesPerSec: this.uplink[index]! * 1000, downlinkBytesPerSec: this.downlink[index]! * 1000 };
  }

  /** Queues `bytes` on the flow; it starts sending at once if it was idle. */
  send(flow: Flow, bytes: number): void {
    if (flow.closed) return;
    this.stats.sentBytes[flow.from]! += bytes;
    this.stats.receivedBytes[flow.to]! += bytes;
    if (flow.remaining > 0) {
      this.settle(flow);
      flow.remaining += bytes;
      this.schedule(flow);
      return;
    }
    flow.remaining = bytes;
    flow.lastUpdate = this.scheduler.now();
    this.up[flow.from]!.add(flow);
    this.down[flow.to]!.add(flow);
    this.reshare(flow.from, flow.to);
  }

  /** Drops a flow (its stream was cut): what it had queued is never sent. */
  close(flow: Flow): void {
    if (flow.closed) return;
    flow.closed = true;
    flow.drainTimer?.cancel();
    if (this.up[flow.from]!.delete(flow)) {
      this.down[flow.to]!.delete(flow);
      this.reshare(flow.from, flow.to);
    }
  }

  /** Recomputes the rates of every flow at the uplink of `from` and the downlink of `to`. */
  private reshare(from: number, to: number): void {
    const touched = new Set<Flow>([...this.up[from]!, ...this.down[to]!]);
    for (const flow of touched) this.settle(flow);
    for (const flow of touched) {
      flow.rate = Math.min(this.uplink[flow.from]! / this.up[flow.from]!.size, this.downlink[flow.to]! / this.down[flow.to]!.size);
      this.schedule(flow);
    }
  }

  /** Counts the bytes sent since the last update at the flow's current rate. */
  private settle(flow: Flow): void {
    const now = this.scheduler.now();
    flow.remaining = Math.max(0, flow.remaining - flow.rate * (now - flow.lastUpdate));
    flow.lastUpdate = now;
  }

  private schedule(flow: Flow): void {
    flow.drainTimer?.cancel();
    flow.drainTimer = this.scheduler.at(this.scheduler.now() + flow.remaining / flow.rate, () => this.drained(flow));
  }

  private drained(flow: Flow): void {
    flow.drainTimer = null;
    flow.remaining = 0;
    this.up[flow.from]!.delete(flow);
    this.down[flow.to]!.delete(flow);
    this.reshare(flow.from, flow.to);
    flow.onDrained();
  }
}
