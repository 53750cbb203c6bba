// The blob protocol's streams on the site's libp2p connections: a protocol id of its own, so a
// transfer never queues behind (or in front of) Raft frames, and yamux gives each request its own
// stream with its own flow control (backpressure is the stream's window).
import '../runtime/promise-shim.js';
import type { Stream } from '@libp2p/interface';
import type { MemberId } from '../../consensus/types.js';
import type { BlobStreams, ByteStream } from '../blobs/ports.js';

export const BLOB_PROTOCOL = '/stackraft/blob/1.0.0';
/** Blob streams one connection may carry at once, each way (the fetcher's per-peer limit stays below). */
export const MAX_BLOB_STREAMS_PER_CONNECTION = 64;

export function byteStreamOf(stream: Stream): ByteStream {
  return {
    async write(bytes) {
      if (!stream.send(bytes)) await stream.onDrain();
    },
    async end() {
      await stream.close();
    },
    incoming: flatten(stream),
    abort: (reason) => stream.abort(reason),
  };
}

/** Yields the stream's buffers as they are: a Uint8ArrayList's subarray() would copy them into one. */
async function* flatten(stream: Stream): AsyncGenerator<Uint8Array> {
  for await (const piece of stream) {
    if (piece instanceof Uint8Array) yield piece;
    else yield* piece;
  }
}

/** What the blob streams need of the Raft transport: dialing a member on a protocol, and who a peer is. */
export interface BlobStreamHost {
  dialMember(member: MemberId, protocol: string, signal: AbortSignal): Promise<Stream>;
  handleProtocol(protocol: string, maxStreams: number, handler: (stream: Stream, peerId: string) => void): Promise<void>;
  memberForPeer(peerId: string): MemberId | undefined;
}

export function libp2pBlobStreams(host: BlobStreamHost): BlobStreams {
  return {
    async open(member, signal) {
      return byteStreamOf(await host.dialMember(member, BLOB_PROTOCOL, signal));
    },
    serve(handler) {
      void host.handleProtocol(BLOB_PROTOCOL, MAX_BLOB_STREAMS_PER_CONNECTION, (stream, peerId) => {
        const member = host.memberForPeer(peerId);
        if (member === undefined) {
          stream.abort(new Error(`peer ${peerId} is not a member`));
          return;
        }
        handler(byteStreamOf(stream), member);
      });
    },
  };
}
