// The wire format of the Raft protocol stream. One frame:
//
//   u32 big-endian body length | msgpack body { v, cluster, inc?, from, msg }
//
// A fixed 4-byte prefix is read without a varint loop, and 4 GiB is far above any frame size we
// accept. The body carries the format version (checked before anything else in it), the cluster
// id (frames from another cluster are refused), the sender's site name (checked against the
// sender's authenticated peer id by the transport) and the WireMessage itself. `inc` is the cluster
// incarnation (agent/recovery/incarnation.ts), absent for the original one so that agents of the
// original incarnation keep speaking the frames of earlier releases; a frame of another incarnation
// is refused (a member of an earlier life of the cluster, back with its old disk).
import { Packr } from 'msgpackr';
import type { WireMessage } from '../../consensus/ports.js';
import type { MemberId } from '../../consensus/types.js';
import { isPlainObject, validateWireMessage, MAX_MEMBER_ID_LENGTH } from './validate.js';

/**
 * Version of the frame envelope and of the message shapes inside it (consensus/types.ts and
 * ports.ts). Bump it when either changes incompatibly; a peer refuses versions it does not know.
 */
export const FRAME_FORMAT_VERSION = 1;
export const FRAME_HEADER_BYTES = 4;
/**
 * Default bound of one frame body: above the largest Raft append (maxBytesPerAppend, 1 MiB by
 * default) plus its envelope, and above a snapshot chunk (256 KiB by default).
 */
export const DEFAULT_MAX_FRAME_BYTES = 4 * 1024 * 1024;
/** Cluster ids are operator-chosen names or UUIDs. */
export const MAX_CLUSTER_ID_LENGTH = 128;

/** Why a frame was refused; each is counted separately. */
export type FrameFault = 'malformed' | 'oversize' | 'version' | 'wrongCluster' | 'wrongIncarnation' | 'nonMember' | 'spoofed' | 'misaddressed';

export class FrameError extends Error {
  constructor(
    readonly fault: FrameFault,
    message: string,
  ) {
    super(message);
    this.name = 'FrameError';
  }
}

export interface FrameEnvelope {
  v: number;
  cluster: string;
  /** The cluster incarnation; absent for the original (''). */
  inc?: string;
  from: MemberId;
  msg: WireMessage;
}

/**
 * One shared codec: records off (every peer must decode frames on their own, without shared
 * structures), maps as plain objects, no extension types on encode.
 */
function createPackr(): Packr {
  return new Packr({ useRecords: false, mapsAsObjects: true, moreTypes: false, bundleStrings: false });
}

/** Encodes this site's outgoing frames. Reuses one msgpack encoder (its buffers are never handed out twice). */
export class FrameEncoder {
  private readonly packr = createPackr();

  constructor(
    private readonly clusterId: string,
    private readonly from: MemberId,
    readonly maxFrameBytes: number = DEFAULT_MAX_FRAME_BYTES,
    private readonly incarnation = '',
  ) {}

  /** Header and body in one buffer. Throws FrameError('oversize') or the encoder's error. */
  encode(msg: WireMessage): Uint8Array {
    const envelope: FrameEnvelope =
      this.incarnation === ''
        ? { v: FRAME_FORMAT_VERSION, cluster: this.clusterId, from: this.from, msg }
        : { v: FRAME_FORMAT_VERSION, cluster: this.clusterId, inc: this.incarnation, from: this.from, msg };
    const body = this.packr.pack(envelope);
    if (body.length > this.maxFrameBytes) {
      throw new FrameError('oversize', `frame of ${body.length} bytes exceeds maxFrameBytes ${this.maxFrameBytes}`);
    }
    const frame = new Uint8Array(FRAME_HEADER_BYTES + body.length);
    new DataView(frame.buffer).setUint32(0, body.length, false);
    frame.set(body, FRAME_HEADER_BYTES);
    return frame;
  }
}

/**
 * Decodes and checks one frame body: msgpack, version, cluster id, sender name, message shape.
 * Binary fields of the result are views into `body`, which must not be reused by the caller.
 */
export class FrameDecoder {
  private readonly packr = createPackr();

  constructor(
    private readonly clusterId: string,
    private readonly incarnation = '',
  ) {}

  decode(body: Uint8Array): FrameEnvelope {
    let value: unknown;
    try {
      value = this.packr.unpack(body);
    } catch (err) {
      throw new FrameError('malformed', `undecodable msgpack: ${(err as Error).message}`);
    }
    if (!isPlainObject(value)) throw new FrameError('malformed', 'frame body is not a map');
    if (value.v !== FRAME_FORMAT_VERSION) {
      throw new FrameError('version', `frame format version ${describe(value.v)} is not ${FRAME_FORMAT_VERSION}`);
    }
    const cluster = value.cluster;
    if (typeof cluster !== 'string' || cluster.length > MAX_CLUSTER_ID_LENGTH) {
      throw new FrameError('malformed', 'cluster: not a cluster id');
    }
    if (cluster !== this.clusterId) {
      throw new FrameError('wrongCluster', `frame is for cluster ${JSON.stringify(cluster)}, not ${JSON.stringify(this.clusterId)}`);
    }
    const inc = value.inc ?? '';
    if (typeof inc !== 'string' || inc.length > MAX_CLUSTER_ID_LENGTH) throw new FrameError('malformed', 'inc: not a cluster incarnation');
    if (inc !== this.incarnation) {
      throw new FrameError(
        'wrongIncarnation',
        `different cluster incarnation: the frame is from incarnation ${describeIncarnation(inc)}, this site is in ${describeIncarnation(this.incarnation)} (a member of an earlier life of the cluster, back with its old disk?)`,
      );
    }
    const from = value.from;
    if (typeof from !== 'string' || from.length === 0 || from.length > MAX_MEMBER_ID_LENGTH) {
      throw new FrameError('malformed', 'from: not a site name');
    }
    for (const key in value) {
      if (key !== 'v' && key !== 'cluster' && key !== 'inc' && key !== 'from' && key !== 'msg') {
        throw new FrameError('malformed', `${key}: unknown envelope field`);
      }
    }
    const reason = validateWireMessage(value.msg);
    if (reason !== null) throw new FrameError('malformed', `msg.${reason}`);
    return value as unknown as FrameEnvelope;
  }
}

function describeIncarnation(inc: string): string {
  return inc === '' ? 'original (none)' : inc;
}

function describe(value: unknown): string {
  return typeof value === 'number' ? String(value) : typeof value;
}

/**
 * Reassembles frame bodies from the chunks a stream delivers. Holds at most one frame in progress
 * plus one chunk; a header announcing more than maxFrameBytes is refused before its body arrives.
 */
export class FrameReader {
  private chunks: Uint8Array[] = [];
  /** Read position inside chunks[0]. */
  private head = 0;
  private buffered = 0;
  /** Body length of the frame being assembled; -1 while its header is incomplete. */
  private expected = -1;

  constructor(readonly maxFrameBytes: number = DEFAULT_MAX_FRAME_BYTES) {}

  get bufferedBytes(): number {
    return this.buffered;
  }

  push(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.buffered += chunk.length;
  }

  /** The next complete body, or null until more bytes arrive. Throws FrameError on a bad header. */
  next(): Uint8Array | null {
    if (this.expected < 0) {
      if (this.buffered < FRAME_HEADER_BYTES) return null;
      const header = this.copy(FRAME_HEADER_BYTES);
      const length = ((header[0] << 24) >>> 0) + (header[1] << 16) + (header[2] << 8) + header[3];
      if (length === 0) throw new FrameError('malformed', 'empty frame');
      if (length > this.maxFrameBytes) {
        throw new FrameError('oversize', `frame of ${length} bytes exceeds maxFrameBytes ${this.maxFrameBytes}`);
      }
      this.expected = length;
    }
    if (this.buffered < this.expected) return null;
    // Always a copy: decoded binary fields (log entries) are views into it and may be kept for
    // long, so it must neither alias a buffer the stream layers could reuse nor pin a larger one.
    const body = this.copy(this.expected);
    this.expected = -1;
    return body;
  }

  /** Consumes `n` buffered bytes into a new buffer. */
  private copy(n: number): Uint8Array {
    const out = new Uint8Array(n);
    let filled = 0;
    while (filled < n) {
      const chunk = this.chunks[0];
      const count = Math.min(n - filled, chunk.length - this.head);
      out.set(chunk.subarray(this.head, this.head + count), filled);
      filled += count;
      this.advance(count);
    }
    return out;
  }

  private advance(n: number): void {
    this.head += n;
    this.buffered -= n;
    if (this.head === this.chunks[0].length) {
      this.chunks.shift();
      this.head = 0;
    }
  }
}
