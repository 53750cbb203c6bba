// The blob parts' view of the peer network: byte streams to and from members, one per request.
// The daemon passes streams on the libp2p connections the Raft transport already holds (its own
// protocol id, agent/transport/blob-streams.ts); the simulator can pass modelled ones.
import type { MemberId } from '../../consensus/types.js';
import type { BlobManifest } from './format.js';
import type { BlobIngest, BlobStoreCounters, BlobStoreUsage, IngestExpectation } from './store.js';

/** One request's stream: bytes out with backpressure, bytes in as they arrive. */
export interface ByteStream {
  /** Resolves when the bytes are handed to the connection (waits while the peer is not reading). */
  write(bytes: Uint8Array): Promise<void>;
  /** Ends our side of the stream (the peer reads to the end of it). */
  end(): Promise<void>;
  /** The peer's bytes, as they arrive; ends when the peer ends its side. */
  readonly incoming: AsyncIterable<Uint8Array>;
  /** Drops the stream at once (both sides). */
  abort(reason: Error): void;
}

/**
 * Told when image bits start and stop moving through this site (a chunk being served, a fetch
 * running), so the daemon can size its heap for it (agent/ops/transfer-heap.ts). The simulator
 * passes none.
 */
export interface TransferActivity {
  /** Marks a transfer under way; the returned function marks its end (calling it again does nothing). */
  begin(): () => void;
}

export interface BlobStreams {
  /** Opens a stream to a member on the blob protocol; rejects when it cannot be reached. */
  open(member: MemberId, signal: AbortSignal): Promise<ByteStream>;
  /** Serves every inbound blob stream of a member (strangers never get this far). */
  serve(handler: (stream: ByteStream, member: MemberId) => void): void;
}

/**
 * A site's blob storage as the fetcher, the server and the blob loop use it. The daemon's is the
 * BlobStore over its data directory (store.ts, which also ingests uploads); the simulator's holds
 * modelled chunk bytes (sim/blobs/modelled-store.ts). Whatever the implementation, putChunk stores
 * only bytes that hash to their digest, and readChunk returns only bytes it has verified.
 */
export interface BlobStorage {
  readonly counters: BlobStoreCounters;
  usage(): BlobStoreUsage;
  manifest(root: string): BlobManifest | undefined;
  roots(): string[];
  /** Stores a manifest checked against its root; idempotent. */
  putManifest(root: string, manifest: unknown): Promise<BlobManifest>;
  /** Verified bytes of a chunk, or null when not held (or found damaged). */
  readChunk(digest: string): Promise<Uint8Array | null>;
  /** Stores a chunk after checking it hashes to `digest` (BlobVerifyError otherwise; BlobStoreFullError past the bound). */
  putChunk(digest: string, bytes: Uint8Array): Promise<void>;
  /** Indexes of the blob's chunks not held verified. */
  missing(root: string): Promise<number[]>;
  /** Verified chunk bytes held for a blob (for progress). */
  heldBytes(root: string): number;
  isComplete(root: string): Promise<boolean>;
  /** The blob's bytes in order, each chunk verified. */
  read(root: string): AsyncIterable<Uint8Array>;
  /** Removes every blob not in `keep` and the chunks no kept blob lists. */
  retainOnly(keep: ReadonlySet<string>): Promise<{ blobs: number; bytes: number }>;
}

/** A store that can also take uploads (the daemon's BlobStore; the simulator places blobs itself). */
export interface IngestingBlobStorage extends BlobStorage {
  readonly chunkBytes: number;
  beginIngest(expect?: IngestExpectation): BlobIngest;
}

export function canIngest(store: BlobStorage): store is IngestingBlobStorage {
  return typeof (store as Partial<IngestingBlobStorage>).beginIngest === 'function';
}
