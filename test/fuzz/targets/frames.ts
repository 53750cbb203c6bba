// Transport frames as they arrive on a member's stream: bytes pushed in chunks into the real
// FrameReader, every complete body through the real FrameDecoder (msgpack, version, cluster, shape)
// and the inbound stream's sender checks (deliverCompleteFrames), exactly as serveInboundStream
// runs them. An accepted frame must re-encode: what the validator lets through is a real message.
import type { WireMessage } from '../../../consensus/ports.js';
import type { Message } from '../../../consensus/types.js';
import { EntryType } from '../../../consensus/types.js';
import { createCounters } from '../../../agent/transport/counters.js';
import { FrameDecoder, FrameEncoder, FrameError, FrameReader, FRAME_FORMAT_VERSION } from '../../../agent/transport/frames.js';
import { deliverCompleteFrames } from '../../../agent/transport/inbound.js';
import { Packr } from 'msgpackr';
import type { Prng } from '../../../sim/prng.js';
import { concat, randomBytes, type Mutator } from '../mutate.js';
import { accepted, rejected, type FuzzTarget, type Outcome } from '../target.js';

const CLUSTER = 'fuzz-cluster';
const LOCAL = 'site-b';
const REMOTE = 'site-a';
const REMOTE_PEER = '12D3KooWRemote';
/** Small enough that generated length fields cross it often. */
const MAX_FRAME_BYTES = 64 * 1024;

/** A raw encoder that, unlike FrameEncoder, writes whatever envelope it is given (version, cluster, extra fields). */
const rawPackr = new Packr({ useRecords: false, mapsAsObjects: true, moreTypes: false, bundleStrings: false });
const encoder = new FrameEncoder(CLUSTER, REMOTE, MAX_FRAME_BYTES);
const decoder = new FrameDecoder(CLUSTER);
const counters = createCounters();

function frame(body: Uint8Array): Uint8Array {
  const header = new Uint8Array(4);
  new DataView(header.buffer).setUint32(0, body.length);
  return concat(header, body);
}

function raftMessage(rng: Prng, m: Mutator): Message {
  const type = rng.pick(['preVote', 'preVoteResp', 'vote', 'voteResp', 'append', 'appendResp', 'heartbeat', 'heartbeatResp', 'snapshot', 'snapshotResp', 'timeoutNow'] as const);
  const term = rng.int(20);
  const index = rng.int(1000);
  const msg: Message = { type, from: REMOTE, to: LOCAL, term, index, logTerm: Math.min(term, rng.int(20)), commit: rng.int(1000) };
  if (type === 'append') {
    const count = rng.int(5);
    msg.entries = [];
    for (let i = 0; i < count; i++) msg.entries.push({ index: index + 1 + i, term, type: rng.chance(0.9) ? EntryType.Normal : EntryType.ConfChange, data: randomBytes(rng, rng.int(64)) });
  }
  if (type === 'snapshot') {
    const data = randomBytes(rng, rng.int(100));
    msg.snapshot = { meta: { index, term, conf: { voters: [REMOTE, LOCAL], learners: [] } }, offset: 0, totalBytes: data.length, data, done: true };
  }
  if (type.endsWith('Resp')) {
    msg.reject = rng.chance(0.3);
    msg.rejectHint = rng.int(100);
  }
  if (rng.chance(0.1)) msg.readRound = rng.int(10);
  void m;
  return msg;
}

function wireMessage(rng: Prng, m: Mutator): WireMessage {
  switch (rng.int(6)) {
    case 0:
      return { kind: 'propose', id: `${REMOTE}:${rng.int(100)}`, data: randomBytes(rng, rng.int(64)), requireLive: rng.chance(0.5) ? [] : [LOCAL], ...(rng.chance(0.2) ? { confChange: true } : {}) };
    case 1: {
      const outcome = rng.pick([
        { status: 'committed' as const, index: rng.int(100), result: m.any(1, false) },
        { status: 'refused' as const, code: 'NO_QUORUM' as const, message: 'no quorum', leader: '' },
        { status: 'unknown' as const, message: 'timed out' },
      ]);
      return { kind: 'proposeResult', id: `${LOCAL}:${rng.int(100)}`, outcome };
    }
    case 2:
      return { kind: 'readIndex', id: `${REMOTE}:${rng.int(100)}` };
    case 3:
      return { kind: 'readIndexResult', id: `${LOCAL}:${rng.int(100)}`, ok: rng.chance(0.5), index: rng.int(100), ...(rng.chance(0.5) ? { code: 'NO_LEADER' as const, message: 'no leader' } : {}) };
    default:
      return { kind: 'raft', msg: raftMessage(rng, m) };
  }
}

function generate(rng: Prng, m: Mutator): Uint8Array {
  const frames: Uint8Array[] = [];
  const count = 1 + (rng.chance(0.8) ? 0 : rng.int(3));
  for (let i = 0; i < count; i++) {
    const envelope: Record<string, unknown> = { v: FRAME_FORMAT_VERSION, cluster: CLUSTER, from: REMOTE, msg: wireMessage(rng, m) };
    const shaped = rng.chance(0.75) ? m.tree(envelope, true) : envelope;
    let body: Uint8Array;
    try {
      body = rawPackr.pack(shaped);
    } catch {
      body = rawPackr.pack(envelope);
    }
    frames.push(rng.chance(0.05) ? concat(msgpackExtension(rng), body) : frame(body));
  }
  return concat(...frames);
}

/** msgpack extension records (msgpackr decodes some of its own types from them): a header and a bare ext. */
function msgpackExtension(rng: Prng): Uint8Array {
  const type = rng.pick([0x00, 0x01, 0x65, 0x69, 0x6f, 0x70, 0x72, 0x73, 0x74, 0x78, 0xff, 0x42, 0x62]);
  const data = randomBytes(rng, rng.int(20));
  const body = concat(Uint8Array.of(0xc7, data.length, type), data);
  return frame(body);
}

function seeds(): Uint8Array[] {
  const messages: WireMessage[] = [
    { kind: 'raft', msg: { type: 'heartbeat', from: REMOTE, to: LOCAL, term: 3, commit: 10 } },
    { kind: 'raft', msg: { type: 'append', from: REMOTE, to: LOCAL, term: 3, index: 10, logTerm: 2, commit: 9, entries: [{ index: 11, term: 3, type: EntryType.Normal, data: Uint8Array.of(1, 2, 3) }] } },
    { kind: 'propose', id: `${REMOTE}:1`, data: Uint8Array.of(0x80), requireLive: [LOCAL] },
    { kind: 'readIndexResult', id: `${LOCAL}:2`, ok: false, index: 0, code: 'NO_QUORUM', message: 'x' },
  ];
  return messages.map((msg) => encoder.encode(msg));
}

function run(input: Uint8Array): Outcome {
  const reader = new FrameReader(MAX_FRAME_BYTES);
  const delivered: WireMessage[] = [];
  // Split into chunks the way a stream might deliver them (derived from the input, so replayable).
  const step = 1 + ((input[0] ?? 0) % 7) * 37;
  try {
    for (let at = 0; at < input.length; at += step) {
      reader.push(input.subarray(at, at + step));
      deliverCompleteFrames(reader, REMOTE_PEER, {
        decoder,
        localMember: LOCAL,
        counters,
        memberForPeer: (peer) => (peer === REMOTE_PEER ? REMOTE : undefined),
        deliver: (_from, message) => delivered.push(message),
      });
    }
  } catch (error) {
    if (error instanceof FrameError) return rejected(error.fault, error.message);
    throw error;
  }
  for (const message of delivered) encoder.encode(message);
  if (delivered.length === 0) return rejected('incomplete', reader.bufferedBytes === 0 ? 'empty' : 'partial frame');
  return accepted();
}

export const framesTarget: FuzzTarget = {
  name: 'frames',
  covers: 'agent/transport: FrameReader, FrameDecoder, validateWireMessage, deliverCompleteFrames',
  maxInputBytes: 256 * 1024,
  dictionary: ['kind', 'raft', 'propose', 'msg', 'entries', 'snapshot', 'cluster', 'from', 'to', 'term', 'index', 'type', 'append', 'data', 'outcome', 'status', 'v'],
  seeds,
  generate,
  run,
};
