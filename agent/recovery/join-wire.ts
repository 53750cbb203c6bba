// The join protocol: the one exchange a site that is not yet a member may have with a member.
//
//   joiner: u32 big-endian length | msgpack { v, cluster, inc, site, secret }   (then ends its side)
//   member: u32 big-endian length | msgpack { v, ok: true, index }
//           u32 big-endian length | msgpack { v, ok: false, code, message, leader? }
//
// The joiner's peer id is the connection's (Noise authenticated it); the member that leads redeems
// the token through the log under that id. Messages are small and strictly shaped; anything else
// is a JoinWireError and closes the stream. The framing is agent/net/framing.ts.
import { decodeFrameMap, encodeFrame, FrameError } from '../net/framing.js';

export const JOIN_PROTOCOL = '/stackraft/join/1.0.0';
export const JOIN_WIRE_VERSION = 1;
/** Join streams one connection may carry at once (a joiner needs one at a time). */
export const MAX_JOIN_STREAMS_PER_CONNECTION = 2;

export interface JoinRequest {
  cluster: string;
  /** The cluster incarnation ('' for the original). */
  inc: string;
  site: string;
  secret: string;
}

/**
 * EXPIRED, USED, BAD_SECRET, UNKNOWN_SITE, WRONG_CLUSTER: the token cannot be used (final).
 * NOT_LEADER (with `leader` when known), NO_LEADER, BUSY, RETRY: ask again, there or later.
 * BAD_REQUEST: the request was malformed.
 */
export type JoinRefusalCode = 'EXPIRED' | 'USED' | 'BAD_SECRET' | 'UNKNOWN_SITE' | 'WRONG_CLUSTER' | 'NOT_LEADER' | 'NO_LEADER' | 'BUSY' | 'RETRY' | 'BAD_REQUEST';
export const FINAL_JOIN_REFUSALS: readonly JoinRefusalCode[] = ['EXPIRED', 'USED', 'BAD_SECRET', 'UNKNOWN_SITE', 'WRONG_CLUSTER'];
const REFUSAL_CODES: readonly JoinRefusalCode[] = [...FINAL_JOIN_REFUSALS, 'NOT_LEADER', 'NO_LEADER', 'BUSY', 'RETRY', 'BAD_REQUEST'];

export type JoinAnswer = { ok: true; index: number } | { ok: false; code: JoinRefusalCode; message: string; leader?: string };

export class JoinWireError extends FrameError {
  override readonly name = 'JoinWireError';
}

const MAX_FIELD_CHARS = 256;
const MAX_MESSAGE_CHARS = 2048;
export function encodeJoinRequest(request: JoinRequest): Uint8Array {
  return encodeFrame({ v: JOIN_WIRE_VERSION, ...request });
}

export function encodeJoinAnswer(answer: JoinAnswer): Uint8Array {
  return encodeFrame({ v: JOIN_WIRE_VERSION, ...answer });
}

function unpackObject(body: Uint8Array, keys: readonly string[]): Record<string, unknown> {
  const o = decodeFrameMap(body, JOIN_WIRE_VERSION, 'join message', (message) => new JoinWireError(message));
  const unknown = Object.keys(o).find((k) => !keys.includes(k));
  if (unknown !== undefined) throw new JoinWireError(`unknown field ${JSON.stringify(unknown.slice(0, 40))}`);
  return o;
}

function text(o: Record<string, unknown>, key: string, max = MAX_FIELD_CHARS): string {
  const value = o[key];
  if (typeof value !== 'string' || value.length > max) throw new JoinWireError(`${key}: expected a string of at most ${max} characters`);
  return value;
}

export function decodeJoinRequest(body: Uint8Array): JoinRequest {
  const o = unpackObject(body, ['v', 'cluster', 'inc', 'site', 'secret']);
  return { cluster: text(o, 'cluster'), inc: text(o, 'inc'), site: text(o, 'site'), secret: text(o, 'secret') };
}

export function decodeJoinAnswer(body: Uint8Array): JoinAnswer {
  const o = unpackObject(body, ['v', 'ok', 'index', 'code', 'message', 'leader']);
  if (o.ok === true) {
    if (typeof o.index !== 'number' || !Number.isSafeInteger(o.index) || o.index < 0) throw new JoinWireError('index: expected a log index');
    return { ok: true, index: o.index };
  }
  if (o.ok !== false) throw new JoinWireError('ok is neither true nor false');
  const code = text(o, 'code') as JoinRefusalCode;
  if (!REFUSAL_CODES.includes(code)) throw new JoinWireError(`unknown refusal code ${JSON.stringify(code.slice(0, 40))}`);
  return { ok: false, code, message: text(o, 'message', MAX_MESSAGE_CHARS), ...(o.leader === undefined ? {} : { leader: text(o, 'leader') }) };
}
