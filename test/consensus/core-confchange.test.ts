// Membership changes: the ConfChange encoding, the rules of one change at a time, a change in
// force as soon as it is appended (and reverted when truncated), removing the leader, and a
// removed member going quiet.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pack } from 'msgpackr';
import { emptyBootState } from '../../consensus/bootstrap.js';
import { applyConfChange, decodeConfChange, encodeConfChange } from '../../consensus/confchange.js';
import { EntryType } from '../../consensus/types.js';
import { Net, drain, electByHand, founder, sent, tickUntilCampaign } from './core-net.js';

test('ConfChange encoding round-trips, with and without context', () => {
  for (const cc of [
    { type: 'addVoter', member: 'site-1' },
    { type: 'addLearner', member: 'x', context: new Uint8Array([1, 2, 3]) },
    { type: 'promote', member: 'p' },
    { type: 'demote', member: 'q' },
    { type: 'remove', member: 'r' },
  ] as const) {
    const decoded = decodeConfChange(encodeConfChange(cc));
    assert.deepEqual(decoded, cc);
  }
});

test('decoding garbage throws a clear error', () => {
  const cases: Array<[Uint8Array, RegExp]> = [
    [new Uint8Array(), /non-empty/],
    [new Uint8Array([0xc1]), /decodeConfChange/],
    [Uint8Array.from(pack({ a: 1 })), /expected \[format/],
    [Uint8Array.from(pack([2, 0, 'x'])), /unknown format/],
    [Uint8Array.from(pack([1, 9, 'x'])), /unknown change type/],
    [Uint8Array.from(pack([1, 0, ''])), /non-empty string/],
    [Uint8Array.from(pack([1, 0, 'x', 'not-bytes'])), /context must be bytes/],
  ];
  for (const [bytes, pattern] of cases) assert.throws(() => decodeConfChange(bytes), pattern);
  assert.throws(() => encodeConfChange({ type: 'bogus' as 'remove', member: 'x' }), /unknown conf change type/);
});

test('applyConfChange refuses nonsense and never mutates its input', () => {
  const conf = Object.freeze({ voters: ['a', 'b'], learners: ['l'] });
  const bad: Array<[Parameters<typeof applyConfChange>[1], RegExp]> = [
    [{ type: 'addVoter', member: 'a' }, /already a voter/],
    [{ type: 'addLearner', member: 'l' }, /already a learner/],
    [{ type: 'promote', member: 'a' }, /not a learner/],
    [{ type: 'demote', member: 'l' }, /not a voter/],
    [{ type: 'remove', member: 'zz' }, /not a member/],
  ];
  for (const [cc, pattern] of bad) {
    const r = applyConfChange(conf, cc);
    assert.equal(r.ok, false);
    if (!r.ok) assert.match(r.detail, pattern);
  }
  const lone = { voters: ['a'], learners: [] };
  assert.equal(applyConfChange(lone, { type: 'remove', member: 'a' }).ok, false);
  assert.equal(applyConfChange(lone, { type: 'demote', member: 'a' }).ok, false);
  assert.deepEqual(applyConfChange(conf, { type: 'promote', member: 'l' }), { ok: true, conf: { voters: ['a', 'b', 'l'], learners: [] } });
  assert.deepEqual(applyConfChange(conf, { type: 'demote', member: 'b' }), { ok: true, conf: { voters: ['a'], learners: ['l', 'b'] } });
  assert.deepEqual(conf, { voters: ['a', 'b'], learners: ['l'] });
});

test('the leader refuses a change before it has committed an entry of its term', () => {
  const a = founder('a', ['a', 'b', 'c'], { preVote: false });
  electByHand(a, ['b']);
  const r = a.proposeConfChange({ type: 'addLearner', member: 'd' });
  assert.equal(r.ok, false);
  if (!r.ok) assert.equal(r.reason, 'confChangePending');
  // Once its no-op is committed, the same change is accepted.
  const rd = drain(a);
  const noopAppend = sent(rd).find((m) => m.type === 'append' && m.to === 'b');
  assert.ok(noopAppend);
  a.step({ type: 'appendResp', from: 'b', to: 'a', term: 2, index: 4 });
  assert.equal(a.status().commit, 4);
  assert.equal(a.proposeConfChange({ type: 'addLearner', member: 'd' }).ok, true);
});

test('one change at a time: a second change waits until the first is committed', () => {
  const net = new Net(['a', 'b', 'c']);
  net.campaign('a');
  const a = net.node('a');
  assert.ok(a.proposeConfChange({ type: 'addLearner', member: 'd' }).ok);
  const second = a.proposeConfChange({ type: 'addLearner', member: 'e' });
  assert.equal(second.ok, false);
  if (!second.ok) assert.equal(second.reason, 'confChangePending');
  net.stabilize();
  assert.ok(a.proposeConfChange({ type: 'addLearner', member: 'e' }).ok);
});

test('invalid changes are refused with invalidConfChange and a reason', () => {
  const net = new Net(['a', 'b', 'c'], {}, ['l']);
  net.campaign('a');
  const a = net.node('a');
  for (const cc of [
    { type: 'addVoter', member: 'b' },
    { type: 'promote', member: 'c' },
    { type: 'demote', member: 'l' },
    { type: 'remove', member: 'nobody' },
    { type: 'whatever', member: 'x' },
    { type: 'addVoter', member: '' },
  ]) {
    const r = a.proposeConfChange(cc as Parameters<typeof a.proposeConfChange>[0]);
    assert.equal(r.ok, false, JSON.stringify(cc));
    if (!r.ok) {
      assert.equal(r.reason, 'invalidConfChange');
      assert.ok(r.detail && r.detail.length > 0);
    }
  }
  assert.equal(net.node('b').proposeConfChange({ type: 'addLearner', member: 'x' }).ok, false);
});

test('a change is in force on a member as soon as it is appended there, before commit', () => {
  const net = new Net(['a', 'b', 'c']);
  net.campaign('a');
  // b never answers, c is away: the change reaches b but cannot commit.
  net.drops.push((m) => m.from === 'b' && m.type === 'appendResp');
  net.isolated.add('c');
  const r = net.node('a').proposeConfChange({ type: 'addLearner', member: 'd' });
  assert.ok(r.ok);
  assert.deepEqual(net.node('a').conf(), { voters: ['a', 'b', 'c'], learners: ['d'] }, 'in force on the leader at once');
  net.stabilize();
  const b = net.node('b');
  assert.ok(r.ok && b.status().lastIndex >= r.index);
  assert.ok(r.ok && b.status().commit < r.index, 'not committed');
  assert.deepEqual(b.conf(), { voters: ['a', 'b', 'c'], learners: ['d'] });
});

test('truncating an uncommitted change reverts the membership', () => {
  const net = new Net(['a', 'b', 'c', 'd', 'e']);
  net.campaign('a');
  net.run(1);
  // The change reaches b only, and b's acknowledgement is lost.
  net.drops.push((m) => m.from === 'a' && m.type === 'append' && m.to !== 'b');
  net.drops.push((m) => m.from === 'b' && m.type === 'appendResp');
  const r = net.node('a').proposeConfChange({ type: 'remove', member: 'e' });
  assert.ok(r.ok);
  net.stabilize();
  assert.deepEqual(net.node('b').conf().voters, ['a', 'b', 'c', 'd']);
  // a and b are cut off; c wins with d and e and writes its own entry at that index.
  net.drops.length = 0;
  net.isolated.add('a');
  net.isolated.add('b');
  for (let i = 0; i < 50 && net.leaders().length === 0; i++) net.run(1);
  const leader = net.leaders()[0];
  assert.ok(['c', 'd', 'e'].includes(leader));
  net.isolated.delete('b');
  net.run(3);
  assert.deepEqual(net.node('b').conf().voters, ['a', 'b', 'c', 'd', 'e'], 'reverted to the previous membership');
  assert.equal(net.node('b').status().leader, leader);
});

test('removing the leader: it leads until the change commits (without counting itself), then steps down', () => {
  const net = new Net(['a', 'b', 'c']);
  net.campaign('a');
  net.run(1);
  const a = net.node('a');
  net.isolated.add('c');
  const r = a.proposeConfChange({ type: 'remove', member: 'a' });
  assert.ok(r.ok);
  assert.deepEqual(a.conf().voters, ['b', 'c']);
  net.stabilize();
  // b alone is not a majority of {b, c}: still uncommitted, and a still leads.
  assert.equal(a.status().role, 'leader');
  assert.ok(r.ok && a.status().commit < r.index);
  net.isolated.delete('c');
  net.run(1); // the next heartbeat round reaches c again
  assert.notEqual(a.status().role, 'leader', 'stepped down once the removal committed');
  net.run(30);
  const leaders = net.leaders();
  assert.equal(leaders.length, 1);
  assert.ok(['b', 'c'].includes(leaders[0]));
  assert.deepEqual(net.node(leaders[0]).conf(), { voters: ['b', 'c'], learners: [] });
  // The removed member never campaigns again.
  net.isolated.add('a');
  const term = a.status().term;
  for (let i = 0; i < 100; i++) {
    a.tick();
    assert.deepEqual(sent(drain(a)), []);
  }
  assert.equal(a.status().term, term);
});

test('a removed follower stops campaigning once it knows the change is committed', () => {
  const net = new Net(['a', 'b', 'c']);
  net.campaign('a');
  const r = net.node('a').proposeConfChange({ type: 'remove', member: 'c' });
  assert.ok(r.ok);
  net.stabilize();
  const c = net.node('c');
  assert.deepEqual(c.conf().voters, ['a', 'b'], 'the leader still sent c the entry that removes it');
  net.run(2);
  assert.ok(r.ok && c.status().commit >= r.index, 'c learned that its removal is committed');
  assert.ok(!net.node('a').status().progress?.some((p) => p.member === 'c'), 'then the leader forgot c');
  net.isolated.add('c');
  for (let i = 0; i < 100; i++) {
    c.tick();
    assert.deepEqual(sent(drain(c)), []);
  }
  assert.equal(c.status().role, 'follower');
});

test('a voter demoted by an uncommitted entry may still campaign, not counting its own vote', () => {
  const voters4 = ['a', 'b', 'c', 'd'];
  const demoteA = { index: 5, term: 2, type: EntryType.ConfChange, data: encodeConfChange({ type: 'demote', member: 'a' }) };
  const a = founder('a', voters4);
  a.step({ type: 'append', from: 'b', to: 'a', term: 2, logTerm: 1, index: 4, entries: [demoteA], commit: 4 });
  drain(a);
  assert.deepEqual(a.conf(), { voters: ['b', 'c', 'd'], learners: ['a'] });
  tickUntilCampaign(a);
  assert.equal(a.status().role, 'preCandidate', 'needed while its demotion is uncommitted');
  assert.deepEqual(sent(drain(a)).map((m) => m.to), ['b', 'c', 'd']);
  a.step({ type: 'preVoteResp', from: 'b', to: 'a', term: 3, reject: false });
  assert.equal(a.status().role, 'preCandidate', 'one grant of three voters: its own vote does not count');
  a.step({ type: 'preVoteResp', from: 'c', to: 'a', term: 3, reject: false });
  assert.equal(a.status().role, 'candidate');
  drain(a);
  a.step({ type: 'voteResp', from: 'b', to: 'a', term: 3, reject: false });
  a.step({ type: 'voteResp', from: 'c', to: 'a', term: 3, reject: false });
  assert.equal(a.status().role, 'leader');
  // Once its no-op (and so its demotion) commits, it steps down and hands over.
  const rd = drain(a);
  const noop = sent(rd).find((m) => m.type === 'append' && m.to === 'b');
  assert.ok(noop);
  a.step({ type: 'appendResp', from: 'b', to: 'a', term: 3, index: 6 });
  assert.equal(a.status().role, 'leader', 'one voter of three holds it');
  a.step({ type: 'appendResp', from: 'c', to: 'a', term: 3, index: 6 });
  assert.equal(a.status().role, 'follower');
  assert.ok(sent(drain(a)).some((m) => m.type === 'timeoutNow'));

  // A member that knows its demotion is committed stays quiet.
  const quiet = founder('a', voters4);
  quiet.step({ type: 'append', from: 'b', to: 'a', term: 2, logTerm: 1, index: 4, entries: [demoteA], commit: 5 });
  drain(quiet);
  for (let i = 0; i < 100; i++) {
    quiet.tick();
    assert.deepEqual(sent(drain(quiet)), []);
  }
});

test('a site joining from an empty state learns the log and the membership, then is promoted', () => {
  const net = new Net(['a', 'b', 'c']);
  net.campaign('a');
  net.propose('a', 'before-join');
  net.stabilize();
  net.add('d', emptyBootState());
  assert.deepEqual(net.node('d').conf(), { voters: [], learners: [] });
  assert.ok(net.node('a').proposeConfChange({ type: 'addLearner', member: 'd' }).ok);
  net.stabilize();
  net.run(2);
  assert.deepEqual(net.appliedTexts('d'), ['before-join']);
  assert.deepEqual(net.node('d').conf(), { voters: ['a', 'b', 'c'], learners: ['d'] });
  assert.ok(net.node('a').proposeConfChange({ type: 'promote', member: 'd' }).ok);
  net.stabilize();
  assert.deepEqual(net.node('d').conf(), { voters: ['a', 'b', 'c', 'd'], learners: [] });
  net.propose('a', 'after-promotion');
  net.stabilize();
  net.run(1);
  assert.deepEqual(net.appliedTexts('d'), ['before-join', 'after-promotion']);
});
