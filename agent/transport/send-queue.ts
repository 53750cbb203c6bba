// The bounded queue of encoded frames waiting for one peer's stream. When full it drops the
// OLDEST frames: the newest carry the latest term and commit index, and Raft recovers anything
// lost (a missing append is answered by a rejection and re-sent; heartbeats repeat every tick).
export interface FrameBatch {
  /** The frames concatenated (or the single frame itself). */
  bytes: Uint8Array;
  frames: number;
}

export class FrameQueue {
  private readonly ring: Array<Uint8Array | undefined>;
  private head = 0;
  private count = 0;
  private queuedBytes = 0;

  constructor(
    readonly maxFrames: number,
    readonly maxBytes: number,
  ) {
    if (!Number.isSafeInteger(maxFrames) || maxFrames < 1) throw new RangeError(`maxFrames must be a positive integer, got ${maxFrames}`);
    if (!Number.isSafeInteger(maxBytes) || maxBytes < 1) throw new RangeError(`maxBytes must be a positive integer, got ${maxBytes}`);
    this.ring = new Array<Uint8Array | undefined>(maxFrames);
  }

  get length(): number {
    return this.count;
  }

  get bytes(): number {
    return this.queuedBytes;
  }

  /** Appends a frame; returns how many older frames were dropped to make room. */
  push(frame: Uint8Array): number {
    let dropped = 0;
    while (this.count > 0 && (this.count === this.maxFrames || this.queuedBytes + frame.length > this.maxBytes)) {
      this.dropOldest();
      dropped++;
    }
    if (frame.length > this.maxBytes) return dropped + 1; // cannot ever fit: dropped itself
    this.ring[(this.head + this.count) % this.maxFrames] = frame;
    this.count++;
    this.queuedBytes += frame.length;
    return dropped;
  }

  /** Removes the oldest frames up to `maxBatchBytes` (always at least one); null when empty. */
  takeBatch(maxBatchBytes: number): FrameBatch | null {
    if (this.count === 0) return null;
    let total = this.lengthAt(0);
    let frames = 1;
    while (frames < this.count && total + this.lengthAt(frames) <= maxBatchBytes) {
      total += this.lengthAt(frames);
      frames++;
    }
    if (frames === 1) return { bytes: this.shift(), frames };
    const bytes = new Uint8Array(total);
    let offset = 0;
    for (let i = 0; i < frames; i++) {
      const frame = this.shift();
      bytes.set(frame, offset);
      offset += frame.length;
    }
    return { bytes, frames };
  }

  /** Empties the queue; returns how many frames were discarded. */
  clear(): number {
    const discarded = this.count;
    this.ring.fill(undefined);
    this.head = 0;
    this.count = 0;
    this.queuedBytes = 0;
    return discarded;
  }

  /** Length of the i-th oldest queued frame. */
  private lengthAt(i: number): number {
    return (this.ring[(this.head + i) % this.maxFrames] as Uint8Array).length;
  }

  private shift(): Uint8Array {
    const frame = this.ring[this.head] as Uint8Array;
    this.ring[this.head] = undefined;
    this.head = (this.head + 1) % this.maxFrames;
    this.count--;
    this.queuedBytes -= frame.length;
    return frame;
  }

  private dropOldest(): void {
    this.shift();
  }
}
