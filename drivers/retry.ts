// Bounded retries with exponential backoff and jitter, for errors that may clear by themselves.
import { isRetryable } from './errors.js';
import type { Sleep } from './types.js';

export interface RetryPolicy {
  /** Total attempts, the first included (1 = no retry). */
  maxAttempts: number;
  /** Delay before the first retry (before jitter). */
  baseDelayMs: number;
  /** Cap of any one delay. */
  maxDelayMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = { maxAttempts: 4, baseDelayMs: 250, maxDelayMs: 8000 };

/**
 * Delay before retry number `retry` (1 = first retry): the exponential step, of which a random
 * half is kept ("equal jitter"), so retries from many agents spread out but never fire at once.
 */
export function backoffDelayMs(policy: RetryPolicy, retry: number, random: () => number): number {
  const step = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, retry - 1));
  return Math.round(step / 2 + random() * (step / 2));
}

export interface RetryContext {
  policy: RetryPolicy;
  random: () => number;
  sleep: Sleep;
  /** Called before each retry (for logs and tests). */
  onRetry?: (attempt: number, delayMs: number, err: unknown) => void;
  /** Which errors to retry; default: CloudError.retryable. */
  shouldRetry?: (err: unknown) => boolean;
}

export async function withRetry<T>(ctx: RetryContext, attempt: (n: number) => Promise<T>): Promise<T> {
  const shouldRetry = ctx.shouldRetry ?? isRetryable;
  for (let n = 1; ; n++) {
    try {
      return await attempt(n);
    } catch (err) {
      if (n >= ctx.policy.maxAttempts || !shouldRetry(err)) throw err;
      const delayMs = backoffDelayMs(ctx.policy, n, ctx.random);
      ctx.onRetry?.(n, delayMs, err);
      await ctx.sleep(delayMs);
    }
  }
}
