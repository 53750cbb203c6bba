// The inbound half: a member's stream on the Raft protocol, read frame by frame. Every frame is
// decoded and checked (format, cluster, shape, and that its sender is the member whose key
// authenticated the connection) before the message reaches the handler. The first bad frame
// closes the stream: a peer that sends one is broken or hostile, and its next frames cannot be
// trusted to be aligned either.
import type { Stream } from '@libp2p/interface';
import type { Logger, WireMessage } from '../../consensus/ports.js';
import type { MemberId } from '../../consensus/types.js';
import type { TransportCounters } from './counters.js';
import { FRAME_HEADER_BYTES, FrameError, FrameReader, type FrameDecoder, type FrameEnvelope } from './frames.js';

export interface InboundDeps {
  localMember: MemberId;
  maxFrameBytes: number;
  decoder: FrameDecoder;
  /** The site name of a peer id in the current member map. */
  memberForPeer(peerId: string): MemberId | undefined;
  deliver(from: MemberId, message: WireMessage): void;
  counters: TransportCounters;
  logger: Logger;
}

export function serveInboundStream(stream: Stream, remotePeer: string, deps: InboundDeps): void {
  if (deps.memberForPeer(remotePeer) === undefined) {
    refuseStream(stream, remotePeer, new FrameError('nonMember', `peer ${remotePeer} is not a member`), deps);
    return;
  }
  const reader = new FrameReader(deps.maxFrameBytes);
  const onMessage = (evt: { data: Uint8Array | Iterable<Uint8Array> }): void => {
    const data = evt.data;
    if (data instanceof Uint8Array) reader.push(data);
    else for (const chunk of data) reader.push(chunk);
    try {
      deliverCompleteFrames(reader, remotePeer, deps);
    } catch (err) {
      stream.removeEventListener('message', onMessage);
      refuseStream(stream, remotePeer, err, deps);
    }
  };
  stream.addEventListener('message', onMessage);
  // The member closed its end (it is stopping or dropped the link): close ours so the stream is
  // released now rather than when the connection goes.
  stream.addEventListener('remoteCloseWrite', () => {
    stream.close().catch((err: Error) => stream.abort(err));
  });
}

/** Decodes, checks and delivers every complete frame `reader` holds; throws FrameError on the first bad one. Exported for the fuzzer. */
export function deliverCompleteFrames(reader: FrameReader, remotePeer: string, deps: Pick<InboundDeps, 'decoder' | 'memberForPeer' | 'localMember' | 'counters' | 'deliver'>): void {
  for (let body = reader.next(); body !== null; body = reader.next()) {
    const envelope = deps.decoder.decode(body);
    // Looked up per frame: membership may change while the stream is open.
    const member = deps.memberForPeer(remotePeer);
    if (member === undefined) throw new FrameError('nonMember', `peer ${remotePeer} is no longer a member`);
    checkSender(envelope, member, deps.localMember);
    deps.counters.framesIn++;
    deps.counters.bytesIn += FRAME_HEADER_BYTES + body.length;
    deps.deliver(member, envelope.msg);
  }
}

/** A member speaks only for itself, and only to us. */
function checkSender(envelope: FrameEnvelope, member: MemberId, localMember: MemberId): void {
  if (envelope.from !== member) {
    throw new FrameError('spoofed', `frame claims to be from ${envelope.from} but the connection is ${member}'s`);
  }
  const msg = envelope.msg;
  if (msg.kind !== 'raft') return;
  if (msg.msg.from !== member) {
    throw new FrameError('spoofed', `raft message claims to be from ${msg.msg.from} but the connection is ${member}'s`);
  }
  if (msg.msg.to !== localMember) {
    throw new FrameError('misaddressed', `raft message is for ${msg.msg.to}, this site is ${localMember}`);
  }
}

function refuseStream(stream: Stream, remotePeer: string, err: unknown, deps: InboundDeps): void {
  const fault = err instanceof FrameError ? err.fault : 'malformed';
  const reason = err instanceof Error ? err.message : String(err);
  deps.counters.badFrames[fault]++;
  deps.logger.warn(
    { peerId: remotePeer, member: deps.memberForPeer(remotePeer), fault, reason },
    'refused a frame from a peer; closing its stream',
  );
  stream.abort(err instanceof Error ? err : new Error(reason));
}
