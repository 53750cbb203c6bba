// Property 1: a message from a later term makes any member adopt it and follow; a message from an
// earlier term is ignored, or answered with the current term so that its sender steps down.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { drain, electByHand, founder, sent, tickUntilCampaign } from './core-net.js';

const voters = ['a', 'b', 'c'];
const noPreVote = { preVote: false };

test('a follower adopts a higher term from a heartbeat and follows its sender', () => {
  const a = founder('a', voters);
  drain(a);
  a.step({ type: 'heartbeat', from: 'b', to: 'a', term: 5, commit: 0 });
  const st = a.status();
  assert.equal(st.term, 5);
  assert.equal(st.role, 'follower');
  assert.equal(st.leader, 'b');
  assert.equal(st.vote, '');
  const rd = drain(a);
  assert.deepEqual(rd.hardState, { term: 5, vote: '', commit: 3 });
});

test('a candidate that sees a higher term becomes a follower of that term', () => {
  const a = founder('a', voters, noPreVote);
  tickUntilCampaign(a);
  assert.equal(a.status().role, 'candidate');
  assert.equal(a.status().term, 2);
  a.step({ type: 'append', from: 'c', to: 'a', term: 4, logTerm: 1, index: 3, entries: [], commit: 3 });
  assert.equal(a.status().role, 'follower');
  assert.equal(a.status().term, 4);
  assert.equal(a.status().leader, 'c');
});

test('a leader that sees a higher term in a response steps down', () => {
  const a = founder('a', voters, noPreVote);
  const term = electByHand(a, ['b']);
  assert.equal(term, 2);
  a.step({ type: 'appendResp', from: 'c', to: 'a', term: 7, index: 0, reject: true });
  assert.equal(a.status().role, 'follower');
  assert.equal(a.status().term, 7);
  assert.equal(a.status().leader, '');
});

test('a stale append is answered with the current term, which deposes the stale leader', () => {
  // b is a follower at term 5; a still believes it leads term 2.
  const a = founder('a', voters, noPreVote);
  electByHand(a, ['b']);
  drain(a);
  const b = founder('b', voters);
  b.step({ type: 'heartbeat', from: 'c', to: 'b', term: 5, commit: 0 });
  drain(b);

  b.step({ type: 'append', from: 'a', to: 'b', term: 2, logTerm: 1, index: 3, entries: [], commit: 3 });
  assert.equal(b.status().term, 5, 'the stale message changed nothing');
  assert.equal(b.status().leader, 'c', 'the stale leader was not followed');
  const answers = sent(drain(b));
  assert.equal(answers.length, 1);
  assert.equal(answers[0].type, 'appendResp');
  assert.equal(answers[0].term, 5);
  assert.equal(answers[0].to, 'a');

  a.step(answers[0]);
  assert.equal(a.status().role, 'follower');
  assert.equal(a.status().term, 5);
});

test('stale vote traffic is ignored or rejected with the current term', () => {
  const a = founder('a', voters, noPreVote);
  a.step({ type: 'heartbeat', from: 'b', to: 'a', term: 4, commit: 0 });
  drain(a);
  a.step({ type: 'vote', from: 'c', to: 'a', term: 3, logTerm: 9, index: 99 });
  const answers = sent(drain(a));
  assert.equal(a.status().vote, '', 'no vote was cast for a stale term');
  assert.equal(answers.length, 1);
  assert.deepEqual({ type: answers[0].type, term: answers[0].term, reject: answers[0].reject }, { type: 'voteResp', term: 4, reject: true });

  // A stale vote response does not count toward a later election.
  const c = founder('c', voters, noPreVote);
  tickUntilCampaign(c); // candidate at term 2
  drain(c);
  c.step({ type: 'voteResp', from: 'a', to: 'c', term: 1, reject: false });
  assert.equal(c.status().role, 'candidate');
  c.step({ type: 'voteResp', from: 'a', to: 'c', term: 2, reject: false });
  assert.equal(c.status().role, 'leader');
});

test('a stale heartbeat neither resets the election timer nor names a leader', () => {
  const a = founder('a', voters, noPreVote);
  a.step({ type: 'heartbeat', from: 'b', to: 'a', term: 3, commit: 0 });
  // Keep a's follower timer running with stale heartbeats only: it must still campaign in time.
  let ticks = 0;
  while (a.status().role === 'follower' && ticks < 100) {
    a.tick();
    ticks++;
    a.step({ type: 'heartbeat', from: 'c', to: 'a', term: 2, commit: 0 });
  }
  assert.equal(a.status().role, 'candidate');
  assert.ok(ticks < 20, `campaigned after ${ticks} ticks despite stale heartbeats`);
});
