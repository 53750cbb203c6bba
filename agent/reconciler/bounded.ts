// Runs async jobs with at most `limit` of them in flight: the reconciler's bound on concurrent
// cloud operations, so a catalog of thousands of resources never opens thousands of requests.

/**
 * Runs `job` over every item, at most `limit` at a time; resolves when all have settled. A job is
 * expected to handle its own failures: one that throws anyway is handed to `onUnexpected` and the
 * others carry on.
 */
export async function runBounded<T>(
  items: readonly T[],
  limit: number,
  job: (item: T) => Promise<void>,
  onUnexpected: (item: T, err: unknown) => void,
): Promise<void> {
  if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`concurrency limit must be a positive integer (got ${limit})`);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const item = items[next++] as T;
      try {
        await job(item);
      } catch (err) {
        onUnexpected(item, err);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
