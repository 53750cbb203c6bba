// What the transport counts (exported as metrics by the daemon). Plain numbers, only ever increased.
import type { FrameFault } from './frames.js';

export interface TransportCounters {
  /** Frames delivered to the message handler, and the bytes they took on the wire. */
  framesIn: number;
  bytesIn: number;
  /** Frames handed to a peer's stream (batched writes count each frame). */
  framesOut: number;
  bytesOut: number;
  /** Inbound frames refused, by reason; each closes the stream it came on. */
  badFrames: Record<FrameFault, number>;
  /** Outgoing frames dropped: oldest frames pushed out of a full per-peer queue. */
  dropsQueueFull: number;
  /** Outgoing frames dropped because the peer was unreachable (dial failed, stream lost, in backoff). */
  dropsUnreachable: number;
  /** Messages for a site that is not in the member map (or for this site itself). */
  dropsUnknownMember: number;
  /** Messages that could not be encoded or exceed maxFrameBytes. */
  dropsUnencodable: number;
  /** Messages sent while the transport was not running. */
  dropsNotRunning: number;
  /** Valid inbound messages that arrived before a handler was registered. */
  dropsNoHandler: number;
  /** Dial attempts (one per outbound stream wanted) and those that failed. */
  dials: number;
  dialFailures: number;
  /** Outbound streams opened, and those lost other than by our own close. */
  streamsOpened: number;
  streamsLost: number;
  /** Connections the gater refused (peer not a member). */
  gaterRefusals: number;
  /** onUnreachable calls made (after rate limiting). */
  unreachableReports: number;
  /** Exceptions thrown by the message or unreachable handler (caught, logged). */
  handlerErrors: number;
}

export function createCounters(): TransportCounters {
  return {
    framesIn: 0,
    bytesIn: 0,
    framesOut: 0,
    bytesOut: 0,
    badFrames: { malformed: 0, oversize: 0, version: 0, wrongCluster: 0, wrongIncarnation: 0, nonMember: 0, spoofed: 0, misaddressed: 0 },
    dropsQueueFull: 0,
    dropsUnreachable: 0,
    dropsUnknownMember: 0,
    dropsUnencodable: 0,
    dropsNotRunning: 0,
    dropsNoHandler: 0,
    dials: 0,
    dialFailures: 0,
    streamsOpened: 0,
    streamsLost: 0,
    gaterRefusals: 0,
    unreachableReports: 0,
    handlerErrors: 0,
  };
}
