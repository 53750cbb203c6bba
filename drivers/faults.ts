// Fault injection for the in-memory cloud and the mock server: latency, 5xx errors, timeouts (with
// the request applied or not: the response may be what was lost) and conflicts. All randomness comes
// from an injected function and all waiting from an injected sleep, so the simulator stays on
// virtual time and a seed replays the same faults.
import { CloudError, ConflictError, type CloudService } from './errors.js';
import type { Sleep } from './types.js';

export interface FaultConfig {
  /** Added to every call: a fixed delay or a uniform range. */
  latencyMs: number | { min: number; max: number };
  /** Probability that a call fails with 503 without being applied. */
  errorRate: number;
  /** Probability that a call times out; half of those are applied before the timeout. */
  timeoutRate: number;
  /** How long a timed-out call hangs before it fails. */
  timeoutMs: number;
  /** Probability that a write fails with a retryable 409 (someone else is changing the resource). */
  conflictRate: number;
}

export const NO_FAULTS: FaultConfig = { latencyMs: 0, errorRate: 0, timeoutRate: 0, timeoutMs: 30_000, conflictRate: 0 };

export type FaultKind = 'error' | 'timeoutBeforeApply' | 'timeoutAfterApply' | 'conflict';

export interface FaultedCall {
  service: CloudService;
  method: string;
  path: string;
  /** Whether the call changes state (conflicts are injected into writes only). */
  write: boolean;
}

/** Faults queued with failNext: at most this many wait at once. */
export const MAX_QUEUED_FAULTS = 1000;

export class FaultInjector {
  private config: FaultConfig;
  private readonly queued: FaultKind[] = [];
  /** Faults injected so far, by kind. */
  readonly counts: Record<FaultKind, number> = { error: 0, timeoutBeforeApply: 0, timeoutAfterApply: 0, conflict: 0 };

  constructor(
    private readonly random: () => number,
    private readonly sleep: Sleep,
    config: Partial<FaultConfig> = {},
  ) {
    this.config = { ...NO_FAULTS, ...config };
    this.checkConfig();
  }

  private checkConfig(): void {
    for (const key of ['errorRate', 'timeoutRate', 'conflictRate'] as const) {
      const v = this.config[key];
      if (!(v >= 0 && v <= 1)) throw new RangeError(`fault ${key} must be within [0, 1] (got ${v})`);
    }
    if (!(this.config.timeoutMs >= 0)) throw new RangeError(`fault timeoutMs must be >= 0 (got ${this.config.timeoutMs})`);
  }

  set(config: Partial<FaultConfig>): void {
    this.config = { ...this.config, ...config };
    this.checkConfig();
  }

  current(): FaultConfig {
    return { ...this.config };
  }

  /** The next calls fail with these faults, in order, whatever the rates say. */
  failNext(...kinds: FaultKind[]): void {
    if (this.queued.length + kinds.length > MAX_QUEUED_FAULTS) throw new RangeError(`at most ${MAX_QUEUED_FAULTS} queued faults`);
    this.queued.push(...kinds);
  }

  /** The delay of one call (drawn when the latency is a range). */
  latency(): number {
    const l = this.config.latencyMs;
    if (typeof l === 'number') return l;
    return l.min + this.random() * (l.max - l.min);
  }

  /** Draws the fault of one call (undefined = none) and counts it. */
  nextFault(write: boolean): FaultKind | undefined {
    const fault = this.draw(write);
    if (fault !== undefined) this.counts[fault]++;
    return fault;
  }

  private draw(write: boolean): FaultKind | undefined {
    const next = this.queued.shift();
    if (next !== undefined) return next;
    const c = this.config;
    if (c.errorRate > 0 && this.random() < c.errorRate) return 'error';
    if (c.timeoutRate > 0 && this.random() < c.timeoutRate) return this.random() < 0.5 ? 'timeoutBeforeApply' : 'timeoutAfterApply';
    if (write && c.conflictRate > 0 && this.random() < c.conflictRate) return 'conflict';
    return undefined;
  }

  /** Runs `apply` the way a faulty cloud would. */
  async run<T>(call: FaultedCall, apply: () => T): Promise<Awaited<T>> {
    const delay = this.latency();
    if (delay > 0) await this.sleep(delay);
    const fault = this.nextFault(call.write);
    if (fault === undefined) return await apply();
    const init = { service: call.service, method: call.method, path: call.path };
    switch (fault) {
      case 'error':
        throw new CloudError({ ...init, code: 'UNAVAILABLE', status: 503, cloudMessage: 'Service Unavailable (injected fault)', retryable: true });
      case 'conflict':
        throw new ConflictError({ ...init, status: 409, cloudMessage: 'The resource is being changed by another request (injected fault)', retryable: true });
      case 'timeoutAfterApply':
        try {
          await apply();
        } catch {
          // Its answer, error or not, is lost with the connection.
        }
        break;
      case 'timeoutBeforeApply':
        break;
    }
    if (this.config.timeoutMs > 0) await this.sleep(this.config.timeoutMs);
    throw new CloudError({ ...init, code: 'TIMEOUT', status: 0, cloudMessage: '', retryable: true, message: `${call.service} ${call.method} ${call.path} timed out (injected fault)` });
  }
}
