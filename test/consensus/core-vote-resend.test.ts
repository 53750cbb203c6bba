// A (pre-)candidate asks the voters that have not answered again every VOTE_RESEND_HEARTBEATS
// heartbeat intervals, so one lost request or answer on the WAN does not cost a whole election
// timeout (issue 16: election tails across a WAN).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { VOTE_RESEND_HEARTBEATS } from '../../consensus/raft.js';
import type { Message } from '../../consensus/types.js';
import { drain, founder, sent, tickUntilCampaign } from './core-net.js';

function requestsTo(msgs: Message[], type: Message['type']): string[] {
  return msgs.filter((m) => m.type === type).map((m) => m.to).sort();
}

test('a pre-candidate asks again only the voters that have not answered', () => {
  const a = founder('a', ['a', 'b', 'c', 'd', 'e']);
  tickUntilCampaign(a);
  assert.equal(a.status().role, 'preCandidate');
  assert.deepEqual(requestsTo(sent(drain(a)), 'preVote'), ['b', 'c', 'd', 'e']);
  const term = a.status().term + 1;
  a.step({ type: 'preVoteResp', from: 'b', to: 'a', term, reject: false });
  a.step({ type: 'preVoteResp', from: 'c', to: 'a', term: a.status().term, reject: true });
  for (let i = 1; i < VOTE_RESEND_HEARTBEATS; i++) {
    a.tick();
    assert.deepEqual(requestsTo(sent(drain(a)), 'preVote'), [], 'not before the resend interval');
  }
  a.tick();
  assert.deepEqual(requestsTo(sent(drain(a)), 'preVote'), ['d', 'e'], 'the unanswered ones, again');
  a.step({ type: 'preVoteResp', from: 'd', to: 'a', term, reject: false });
  assert.equal(a.status().role, 'candidate', 'the resent request won the pre-vote');
});

test('a candidate resends its vote request in the same term; a lost answer no longer costs a new term', () => {
  const a = founder('a', ['a', 'b', 'c'], { preVote: false });
  tickUntilCampaign(a);
  assert.equal(a.status().role, 'candidate');
  const term = a.status().term;
  assert.deepEqual(requestsTo(sent(drain(a)), 'vote'), ['b', 'c']);
  for (let i = 0; i < VOTE_RESEND_HEARTBEATS; i++) a.tick();
  const again = sent(drain(a)).filter((m) => m.type === 'vote');
  assert.deepEqual(again.map((m) => m.to).sort(), ['b', 'c']);
  assert.ok(again.every((m) => m.term === term), 'same term');
  a.step({ type: 'voteResp', from: 'c', to: 'a', term, reject: false });
  assert.equal(a.status().role, 'leader');
  assert.equal(a.status().term, term);
});

test('a voter grants the same candidate twice in one term, and nobody else', () => {
  const b = founder('b', ['a', 'b', 'c'], { preVote: false });
  const index = b.status().lastIndex;
  const logTerm = b.entries(index, index + 1)[0].term;
  const req: Message = { type: 'vote', from: 'a', to: 'b', term: 2, index, logTerm };
  b.step(req);
  b.step({ ...req });
  const answers = sent(drain(b)).filter((m) => m.type === 'voteResp');
  assert.equal(answers.length, 2);
  assert.ok(answers.every((m) => m.reject === false));
  b.step({ type: 'vote', from: 'c', to: 'b', term: 2, index, logTerm });
  assert.equal(sent(drain(b)).find((m) => m.type === 'voteResp')?.reject, true);
});
