// Fewer yamux window updates on the Raft streams. @chainsafe/libp2p-yamux (8.x) answers every data
// frame it receives with a window-update frame, and each of those is its own Noise message and its
// own socket write: on a follower one per append received, on the leader one per append response.
// The protocol does not ask for that: a receiver may return window whenever it likes, and Go's yamux
// (hashicorp/yamux, what the spec came from) returns it only once half the window is used. Raft
// frames are small, so with this a stream sends an update about once per 128 KiB instead of once
// per frame. Only a stream in the established state that owes no flags is held back; everything
// else (opening and acknowledging the stream, a paused stream, a larger window) is the library's own
// code. If the library's stream does not look like what this was written against, nothing is changed.
import type { Stream } from '@libp2p/interface';

/** The fields of a yamux stream this relies on (YamuxStream in @chainsafe/libp2p-yamux 8.x). */
interface YamuxStreamFields {
  state: number;
  recvWindow: number;
  recvWindowCapacity: number;
  sendWindowUpdate(): void;
}

/** StreamState.Established in @chainsafe/libp2p-yamux 8.x. */
const YAMUX_ESTABLISHED = 3;

function looksLikeYamuxStream(stream: unknown): stream is YamuxStreamFields {
  const s = stream as Partial<YamuxStreamFields> | null;
  return (
    s !== null &&
    typeof s === 'object' &&
    typeof s.sendWindowUpdate === 'function' &&
    typeof s.state === 'number' &&
    typeof s.recvWindow === 'number' &&
    typeof s.recvWindowCapacity === 'number'
  );
}

/**
 * Makes `stream` return receive window only once half of it is used (see above). Returns false,
 * changing nothing, when the stream is not a yamux stream of the expected shape.
 */
export function returnWindowAtHalf(stream: Stream): boolean {
  if (!looksLikeYamuxStream(stream)) return false;
  const library = stream.sendWindowUpdate;
  stream.sendWindowUpdate = function sendWindowUpdateAtHalf(this: YamuxStreamFields): void {
    const used = this.recvWindow - this.recvWindowCapacity;
    if (this.state === YAMUX_ESTABLISHED && used < this.recvWindow / 2) return;
    library.call(this);
  };
  return true;
}
