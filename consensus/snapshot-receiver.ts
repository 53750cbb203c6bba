// The follower's side of a chunked snapshot transfer: it accepts chunks in order, keeps what it
// has so an interrupted transfer of the same snapshot resumes, and assembles the image at the end.
import type { Snapshot, SnapshotChunk, SnapshotMeta } from './types.js';

/** Largest snapshot image a member will buffer; a bigger transfer is refused (restarted at 0). */
export const MAX_SNAPSHOT_BYTES = 1 << 30;

export type ChunkOutcome =
  /** Acknowledge `offset` bytes received (the leader continues from there). */
  | { kind: 'ack'; offset: number }
  | { kind: 'complete'; snapshot: Snapshot };

export class SnapshotReceiver {
  private meta: SnapshotMeta | null = null;
  private totalBytes = 0;
  private chunks: Uint8Array[] = [];
  private received = 0;

  accept(chunk: SnapshotChunk): ChunkOutcome {
    if (chunk.totalBytes > MAX_SNAPSHOT_BYTES || chunk.offset + chunk.data.byteLength > chunk.totalBytes) {
      this.forget();
      return { kind: 'ack', offset: 0 };
    }
    if (!this.isSameSnapshot(chunk)) {
      // A different snapshot: only its first chunk can start a new transfer.
      if (chunk.offset !== 0) return { kind: 'ack', offset: 0 };
      this.meta = chunk.meta;
      this.totalBytes = chunk.totalBytes;
      this.chunks = [];
      this.received = 0;
    }
    if (chunk.offset !== this.received) {
      // A duplicate or a gap: tell the leader where we really are.
      return { kind: 'ack', offset: this.received };
    }
    if (chunk.data.byteLength > 0) this.chunks.push(chunk.data);
    this.received += chunk.data.byteLength;
    if (this.received < this.totalBytes || !chunk.done) return { kind: 'ack', offset: this.received };
    const snapshot: Snapshot = { meta: chunk.meta, data: this.assemble() };
    this.forget();
    return { kind: 'complete', snapshot };
  }

  forget(): void {
    this.meta = null;
    this.totalBytes = 0;
    this.chunks = [];
    this.received = 0;
  }

  private isSameSnapshot(chunk: SnapshotChunk): boolean {
    return (
      this.meta !== null &&
      this.meta.index === chunk.meta.index &&
      this.meta.term === chunk.meta.term &&
      this.totalBytes === chunk.totalBytes
    );
  }

  private assemble(): Uint8Array {
    const image = new Uint8Array(this.totalBytes);
    let at = 0;
    for (const part of this.chunks) {
      image.set(part, at);
      at += part.byteLength;
    }
    return image;
  }
}
