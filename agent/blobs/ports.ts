// The blob parts' view of the peer network: byte streams to and from members, one per request.
// The daemon passes streams on the libp2p connections the Raft transport already holds (its own
// protocol id, agent/transport/blob-streams.ts); the simulator can pass modelled ones.
import type { MemberId } from '../../consensus/types.js';

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

export interface BlobStreams {
  /** Opens a stream to a member on the blob protocol; rejects when it cannot be reached. */
  open(member: MemberId, signal: AbortSignal): Promise<ByteStream>;
  /** Serves every inbound blob stream of a member (strangers never get this far). */
  serve(handler: (stream: ByteStream, member: MemberId) => void): void;
}
