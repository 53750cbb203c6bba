import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { WireMessage } from '../../consensus/ports.js';
import type { Message } from '../../consensus/types.js';
import {
  MAX_ENTRIES_PER_MESSAGE,
  MAX_MEMBER_ID_LENGTH,
  MAX_REQUEST_ID_LENGTH,
  MAX_TEXT_LENGTH,
  validateEntry,
  validateRaftMessage,
  validateWireMessage,
} from '../../agent/transport/validate.js';

function append(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    type: 'append',
    from: 'paris',
    to: 'tokyo',
    term: 3,
    index: 10,
    logTerm: 2,
    commit: 9,
    entries: [
      { index: 11, term: 2, type: 0, data: new Uint8Array([1, 2]) },
      { index: 12, term: 3, type: 1, data: new Uint8Array(0) },
    ],
    ...overrides,
  };
}

function snapshotMsg(chunk: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    type: 'snapshot',
    from: 'paris',
    to: 'tokyo',
    term: 3,
    snapshot: {
      meta: { index: 40, term: 3, conf: { voters: ['paris', 'tokyo'], learners: ['lima'] } },
      offset: 100,
      totalBytes: 200,
      data: new Uint8Array(100),
      done: true,
      ...chunk,
    },
  };
}

const validRaft: Message[] = [
  append() as unknown as Message,
  { type: 'append', from: 'a', to: 'b', term: 1, index: 0, logTerm: 0, commit: 0, entries: [] },
  { type: 'append', from: 'a', to: 'b', term: 1, index: 0, logTerm: 0, commit: 0 },
  { type: 'appendResp', from: 'b', to: 'a', term: 1, index: 5, reject: true, rejectHint: 3, hintTerm: 1 },
  { type: 'vote', from: 'a', to: 'b', term: 4, index: 7, logTerm: 3 },
  { type: 'preVote', from: 'a', to: 'b', term: 5, index: 7, logTerm: 3, transfer: true },
  { type: 'voteResp', from: 'b', to: 'a', term: 4, reject: false },
  { type: 'preVoteResp', from: 'b', to: 'a', term: 5 },
  { type: 'heartbeat', from: 'a', to: 'b', term: 4, commit: 3, readRound: 2 },
  { type: 'heartbeatResp', from: 'b', to: 'a', term: 4, readRound: 2 },
  snapshotMsg() as unknown as Message,
  snapshotMsg({ offset: 0, data: new Uint8Array(50), done: false }) as unknown as Message,
  { type: 'snapshotResp', from: 'b', to: 'a', term: 4, index: 100 },
  { type: 'timeoutNow', from: 'a', to: 'b', term: 4, transfer: true },
  { type: 'heartbeatResp', from: 'b', to: 'a', term: 4, index: 9, logTerm: 4, quorumRtt: 1.75 },
];

describe('validateRaftMessage', () => {
  it('accepts every well-formed message type', () => {
    for (const msg of validRaft) assert.equal(validateRaftMessage(msg), null, `${msg.type} should be valid`);
  });

  it('treats undefined fields as absent (the encoder may keep them)', () => {
    assert.equal(validateRaftMessage({ ...append(), reject: undefined, snapshot: undefined }), null);
  });

  const bad: Array<[string, unknown, RegExp]> = [
    ['null', null, /not an object/],
    ['an array', [1, 2], /not an object/],
    ['a string', 'append', /not an object/],
    ['a Map-like class instance', new (class Foo { type = 'append'; })(), /not an object/],
    ['unknown type', append({ type: 'gossip' }), /type: not a known Raft message type/],
    ['type as number', append({ type: 3 }), /type/],
    ['prototype key as type', append({ type: 'toString' }), /type/],
    ['missing term', append({ term: undefined }), /term: missing/],
    ['negative term', append({ term: -1 }), /term: not a non-negative safe integer/],
    ['fractional term', append({ term: 1.5 }), /term/],
    ['NaN index', append({ index: Number.NaN }), /index/],
    ['huge commit', append({ commit: 2 ** 53 }), /commit/],
    ['bigint term', append({ term: 3n }), /term/],
    ['string term', append({ term: '3' }), /term/],
    ['empty from', append({ from: '' }), /from: not a site name/],
    ['numeric to', append({ to: 7 }), /to: not a site name/],
    ['over-long from', append({ from: 'x'.repeat(MAX_MEMBER_ID_LENGTH + 1) }), /from/],
    ['unknown field', append({ gossip: 1 }), /gossip: unknown field/],
    ['__proto__-like field', append({ __proto_: 1 }), /unknown field/],
    ['reject as string', { type: 'appendResp', from: 'b', to: 'a', term: 1, reject: 'yes' }, /reject: not a boolean/],
    ['append without commit', append({ commit: undefined }), /commit: missing/],
    ['append without index', append({ index: undefined }), /index: missing/],
    ['vote without logTerm', { type: 'vote', from: 'a', to: 'b', term: 4, index: 7 }, /logTerm: missing/],
    ['snapshot without chunk', { type: 'snapshot', from: 'a', to: 'b', term: 4 }, /snapshot: missing/],
    ['entries not a list', append({ entries: { 0: {} } }), /entries: not a list/],
    ['entry not an object', append({ entries: [5] }), /entries: \[0\]\.not an object/],
    ['entry data as string', append({ entries: [{ index: 11, term: 2, type: 0, data: 'abc' }] }), /\[0\]\.data: not binary data/],
    ['entry data as array', append({ entries: [{ index: 11, term: 2, type: 0, data: [1, 2] }] }), /data: not binary data/],
    ['entry without data', append({ entries: [{ index: 11, term: 2, type: 0 }] }), /data/],
    ['entry with unknown type', append({ entries: [{ index: 11, term: 2, type: 7, data: new Uint8Array() }] }), /type: not a known entry type/],
    ['entry with extra field', append({ entries: [{ index: 11, term: 2, type: 0, data: new Uint8Array(), x: 1 }] }), /x: unknown field/],
    ['entry with negative index', append({ entries: [{ index: -1, term: 2, type: 0, data: new Uint8Array() }] }), /index/],
    ['entries with a gap', append({ entries: [{ index: 11, term: 2, type: 0, data: new Uint8Array() }, { index: 13, term: 2, type: 0, data: new Uint8Array() }] }), /entries\[1\]\.index: 13 does not follow 11/],
    ['entries not following index', append({ index: 4 }), /entries\[0\]\.index: 11 does not follow 4/],
    ['entry term above message term', append({ term: 1, logTerm: 1, entries: [{ index: 11, term: 2, type: 0, data: new Uint8Array() }] }), /above the message term/],
    ['entry terms going down', append({ entries: [{ index: 11, term: 3, type: 0, data: new Uint8Array() }, { index: 12, term: 2, type: 0, data: new Uint8Array() }] }), /below the previous term/],
    ['entry term below logTerm', append({ logTerm: 3, entries: [{ index: 11, term: 2, type: 0, data: new Uint8Array() }] }), /below the previous term/],
    ['entries without index', { type: 'appendResp', from: 'b', to: 'a', term: 1, entries: [{ index: 1, term: 1, type: 0, data: new Uint8Array() }] }, /index: missing/],
    ['chunk past totalBytes', snapshotMsg({ offset: 150 }), /past totalBytes/],
    ['last chunk short of totalBytes', snapshotMsg({ totalBytes: 300 }), /not at totalBytes/],
    ['chunk data as string', snapshotMsg({ data: 'x' }), /snapshot: data: not binary data/],
    ['chunk without done', snapshotMsg({ done: undefined }), /done: missing/],
    ['chunk with unknown field', snapshotMsg({ extra: true }), /extra: unknown field/],
    ['conf voters not a list', snapshotMsg({ meta: { index: 1, term: 1, conf: { voters: 'a', learners: [] } } }), /voters: not a list/],
    ['conf with empty site name', snapshotMsg({ meta: { index: 1, term: 1, conf: { voters: [''], learners: [] } } }), /voters: \[0\]/],
    ['conf listing a site twice', snapshotMsg({ meta: { index: 1, term: 1, conf: { voters: ['a'], learners: ['a'] } } }), /listed twice/],
    ['meta without conf', snapshotMsg({ meta: { index: 1, term: 1 } }), /conf: missing/],
    ['negative quorum round trip', { type: 'heartbeatResp', from: 'b', to: 'a', term: 1, quorumRtt: -1 }, /quorumRtt: not a round trip/],
    ['infinite quorum round trip', { type: 'heartbeatResp', from: 'b', to: 'a', term: 1, quorumRtt: Infinity }, /quorumRtt/],
    ['quorum round trip as string', { type: 'heartbeatResp', from: 'b', to: 'a', term: 1, quorumRtt: '2' }, /quorumRtt/],
  ];
  for (const [name, value, reason] of bad) {
    it(`refuses ${name}`, () => {
      const result = validateRaftMessage(value);
      assert.notEqual(result, null, `${name} should be refused`);
      assert.match(result as string, reason);
    });
  }

  it('bounds the number of entries', () => {
    const entries = Array.from({ length: MAX_ENTRIES_PER_MESSAGE + 1 }, (_, i) => ({ index: 11 + i, term: 2, type: 0, data: new Uint8Array() }));
    assert.match(validateRaftMessage(append({ entries })) as string, /more than/);
  });
});

describe('validateEntry', () => {
  it('accepts both entry types and refuses a term as float', () => {
    assert.equal(validateEntry({ index: 1, term: 1, type: 0, data: new Uint8Array() }), null);
    assert.equal(validateEntry({ index: 1, term: 1, type: 1, data: new Uint8Array([9]) }), null);
    assert.match(validateEntry({ index: 1, term: 0.5, type: 0, data: new Uint8Array() }) as string, /term/);
  });
});

const validWire: WireMessage[] = [
  { kind: 'raft', msg: validRaft[0] },
  { kind: 'propose', id: 'paris:1', data: new Uint8Array([1]), requireLive: [] },
  { kind: 'propose', id: 'paris:2', data: new Uint8Array([1]), requireLive: ['tokyo', 'lima'], confChange: true },
  { kind: 'proposeResult', id: 'paris:1', outcome: { status: 'committed', index: 5, result: { ok: [1, 'x'] } } },
  { kind: 'proposeResult', id: 'paris:1', outcome: { status: 'committed', index: 5, result: undefined } },
  { kind: 'proposeResult', id: 'paris:1', outcome: { status: 'refused', code: 'NO_QUORUM', message: 'no', leader: '' } },
  { kind: 'proposeResult', id: 'paris:1', outcome: { status: 'refused', code: 'PEER_UNREACHABLE', message: 'x', member: 'lima' } },
  { kind: 'proposeResult', id: 'paris:1', outcome: { status: 'unknown', message: 'timed out' } },
  { kind: 'readIndex', id: 'r1' },
  { kind: 'readIndexResult', id: 'r1', ok: true, index: 8 },
  { kind: 'readIndexResult', id: 'r1', ok: false, index: 0, code: 'NO_LEADER', message: 'none' },
];

describe('validateWireMessage', () => {
  it('accepts every well-formed kind', () => {
    for (const msg of validWire) assert.equal(validateWireMessage(msg), null, JSON.stringify(msg));
  });

  const bad: Array<[string, unknown, RegExp]> = [
    ['null', null, /not an object/],
    ['unknown kind', { kind: 'gossip' }, /kind: not a known message kind/],
    ['no kind', { id: 'x' }, /kind/],
    ['raft without msg', { kind: 'raft' }, /msg: missing/],
    ['raft with a bad message', { kind: 'raft', msg: append({ term: -2 }) }, /msg: term/],
    ['raft with extra field', { kind: 'raft', msg: append(), via: 'x' }, /via: unknown field/],
    ['propose with string data', { kind: 'propose', id: 'a', data: 'abc', requireLive: [] }, /data: not binary data/],
    ['propose without requireLive', { kind: 'propose', id: 'a', data: new Uint8Array() }, /requireLive: missing/],
    ['propose with bad requireLive', { kind: 'propose', id: 'a', data: new Uint8Array(), requireLive: [3] }, /requireLive: \[0\]/],
    ['propose with empty id', { kind: 'propose', id: '', data: new Uint8Array(), requireLive: [] }, /id: not a request id/],
    ['propose with over-long id', { kind: 'propose', id: 'x'.repeat(MAX_REQUEST_ID_LENGTH + 1), data: new Uint8Array(), requireLive: [] }, /id/],
    ['propose with confChange as number', { kind: 'propose', id: 'a', data: new Uint8Array(), requireLive: [], confChange: 1 }, /confChange: not a boolean/],
    ['proposeResult with unknown status', { kind: 'proposeResult', id: 'a', outcome: { status: 'maybe' } }, /status: not a known outcome/],
    ['refused with unknown code', { kind: 'proposeResult', id: 'a', outcome: { status: 'refused', code: 'NOPE', message: '' } }, /code: not a known refusal code/],
    ['refused without message', { kind: 'proposeResult', id: 'a', outcome: { status: 'refused', code: 'BUSY' } }, /message: missing/],
    ['refused with over-long message', { kind: 'proposeResult', id: 'a', outcome: { status: 'refused', code: 'BUSY', message: 'x'.repeat(MAX_TEXT_LENGTH + 1) } }, /message: not a text/],
    ['committed with bad index', { kind: 'proposeResult', id: 'a', outcome: { status: 'committed', index: -3 } }, /index/],
    ['outcome as array', { kind: 'proposeResult', id: 'a', outcome: [] }, /outcome: not an object/],
    ['readIndex with numeric id', { kind: 'readIndex', id: 5 }, /id/],
    ['readIndexResult without ok', { kind: 'readIndexResult', id: 'a', index: 1 }, /ok: missing/],
    ['readIndexResult with bad code', { kind: 'readIndexResult', id: 'a', ok: false, index: 0, code: 'WHAT' }, /code/],
  ];
  for (const [name, value, reason] of bad) {
    it(`refuses ${name}`, () => {
      const result = validateWireMessage(value);
      assert.notEqual(result, null, `${name} should be refused`);
      assert.match(result as string, reason);
    });
  }
});
