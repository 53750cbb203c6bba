// Broken invariants stop the member with a clear "raft invariant: ..." error instead of being
// silently repaired; misuse of the Ready protocol is refused the same way.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bootstrapState } from '../../consensus/bootstrap.js';
import { Raft } from '../../consensus/raft.js';
import { EntryType, type Entry } from '../../consensus/types.js';
import { Net, drain, founder, makeConfig } from './core-net.js';

const voters = ['a', 'b', 'c'];
const boot = (): ReturnType<typeof bootstrapState> => bootstrapState(voters);
const normal = (index: number, term: number): Entry => ({ index, term, type: EntryType.Normal, data: new Uint8Array() });

test('an append that would truncate a committed entry throws', () => {
  const b = founder('b', voters);
  b.step({ type: 'append', from: 'a', to: 'b', term: 2, logTerm: 1, index: 3, entries: [normal(4, 2), normal(5, 2)], commit: 5 });
  drain(b);
  assert.equal(b.status().commit, 5);
  assert.throws(
    () => b.step({ type: 'append', from: 'a', to: 'b', term: 2, logTerm: 1, index: 3, entries: [normal(4, 1)], commit: 5 }),
    { name: 'InvariantError', message: /^raft invariant: a sent entry 4 of term 1, which would truncate committed entry of term 2/ },
  );
});

test('two leaders in one term throw', () => {
  const net = new Net(voters);
  net.campaign('a');
  const a = net.node('a');
  assert.throws(
    () => a.step({ type: 'heartbeat', from: 'b', to: 'a', term: a.status().term, commit: 0 }),
    /raft invariant: two leaders in term 2: a and b/,
  );
});

test('inconsistent boot states are refused', () => {
  const cfg = makeConfig('a', 1);
  assert.throws(() => new Raft(cfg, { ...boot(), hardState: { term: 1, vote: '', commit: 9 } }), /raft invariant: boot commit 9 is beyond the last log index 3/);
  assert.throws(() => new Raft(cfg, { ...boot(), applied: 3, hardState: { term: 1, vote: '', commit: 2 } }), /raft invariant: boot applied 3 is beyond commit 2/);
  const gap = [...boot().entries, normal(5, 1)];
  assert.throws(() => new Raft(cfg, { ...boot(), entries: gap }), /raft invariant: log is not contiguous/);
  const snapshot = { meta: { index: 5, term: 1, conf: { voters, learners: [] } }, data: new Uint8Array() };
  assert.throws(() => new Raft(cfg, { ...boot(), snapshot, entries: [normal(8, 1)] }), /raft invariant: boot log starts at 8 but the snapshot ends at 5/);
  const twice = [...boot().entries, { ...boot().entries[0], index: 4 }];
  assert.throws(() => new Raft(cfg, { ...boot(), entries: twice }), /raft invariant: conf change entry 4 is invalid: a is already a voter/);
});

test('an unreadable membership entry from the leader throws', () => {
  const b = founder('b', voters);
  const garbage: Entry = { index: 4, term: 2, type: EntryType.ConfChange, data: new Uint8Array([0xc1, 0xff]) };
  assert.throws(
    () => b.step({ type: 'append', from: 'a', to: 'b', term: 2, logTerm: 1, index: 3, entries: [garbage], commit: 3 }),
    /raft invariant: conf change entry 4 is unreadable/,
  );
});

test('the Ready protocol: one outstanding Ready, advanced with that same Ready', () => {
  const a = founder('a', voters);
  a.step({ type: 'heartbeat', from: 'b', to: 'a', term: 2, commit: 3 });
  assert.ok(a.hasReady());
  const rd = a.ready();
  assert.equal(a.hasReady(), false, 'nothing more is offered while a Ready is outstanding');
  assert.throws(() => a.ready(), /ready\(\) called before advance\(\)/);
  assert.throws(() => a.advance({ ...rd }), /not the outstanding one/);
  a.advance(rd);
  assert.equal(a.hasReady(), false);
});

test('bad configuration and bad input get clear errors', () => {
  assert.throws(() => new Raft({ ...makeConfig('a', 1), electionTimeoutTicks: 0 }, boot()), /electionTimeoutTicks must be a positive integer/);
  assert.throws(() => new Raft({ ...makeConfig('a', 1), heartbeatTicks: 10 }, boot()), /heartbeatTicks must be smaller/);
  assert.throws(() => new Raft({ ...makeConfig('', 1) }, boot()), /id must be a non-empty string/);
  const a = founder('a', voters);
  assert.throws(() => a.propose('text' as unknown as Uint8Array), /propose: data must be a Uint8Array/);
  assert.throws(() => bootstrapState([]), /at least one voter/);
  assert.throws(() => bootstrapState(['a', 'a']), /listed twice/);
});
