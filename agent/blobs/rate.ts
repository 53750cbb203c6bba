// A byte-rate cap shared by every transfer of one direction of a site (config
// blobs.maxBytesPerSecond): a token bucket holding at most one second of bytes.
export interface RateClock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

export class ByteRateLimit {
  private tokens: number;
  private last: number;

  constructor(
    private readonly bytesPerSecond: number,
    private readonly clock: RateClock,
  ) {
    if (!(bytesPerSecond > 0)) throw new Error(`byte rate must be positive, got ${bytesPerSecond}`);
    this.tokens = bytesPerSecond;
    this.last = clock.now();
  }

  /** Waits until `bytes` may pass; many callers share the bucket (each waits its turn of tokens). */
  async take(bytes: number): Promise<void> {
    for (;;) {
      const now = this.clock.now();
      this.tokens = Math.min(this.bytesPerSecond, this.tokens + ((now - this.last) * this.bytesPerSecond) / 1000);
      this.last = now;
      // A piece bigger than the bucket passes once the bucket is full, leaving a debt.
      if (this.tokens >= Math.min(bytes, this.bytesPerSecond)) {
        this.tokens -= bytes;
        return;
      }
      await this.clock.sleep(Math.max(1, Math.ceil(((Math.min(bytes, this.bytesPerSecond) - this.tokens) * 1000) / this.bytesPerSecond)));
    }
  }
}

export const realRateClock: RateClock = {
  now: () => performance.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};
