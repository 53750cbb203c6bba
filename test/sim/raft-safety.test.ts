import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RaftSafetyChecker, entryDigest, type AppliedEntry, type RaftSafetyCheck } from '../../sim/checkers/raft-safety.js';
import { formatFailure } from '../../sim/checkers/failure.js';

const SITES = ['a', 'b', 'c'];

function entry(index: number, term: number, writeIds: string[] = []): AppliedEntry {
  return { index, term, digest: `d${index}t${term}`, writeIds };
}

/** A healthy run: leader a in term 1, three writes, all sites apply all, leader b in term 2. */
function cleanRun(c: RaftSafetyChecker): void {
  c.onLeaderElected({ site: 'a', term: 1, atMs: 100, lastIndex: 0 });
  for (let i = 1; i <= 3; i++) {
    for (const s of SITES) c.onApplied(s, entry(i, 1, [`w${i}`]), 100 + i * 10);
    c.onWriteCommitted({ writeId: `w${i}`, index: i, term: 1, digest: `d${i}t1`, atMs: 105 + i * 10, site: 'a' });
  }
  c.onWriteRefused({ writeId: 'w-refused', atMs: 150, site: 'c', code: 'NO_QUORUM' });
  c.onLeaderElected({ site: 'b', term: 2, atMs: 500, lastIndex: 3, termAt: (i) => (i <= 3 ? 1 : undefined) });
  for (const s of SITES) c.onApplied(s, entry(4, 2), 520);
}

function only(c: RaftSafetyChecker, check: RaftSafetyCheck): void {
  const failing = c.summary().filter((s) => s.verdict === 'fail').map((s) => s.check);
  assert.deepEqual(failing, [check], `expected only ${check} to fail: ${c.failures().map(formatFailure).join('\n')}`);
  for (const f of c.failures()) {
    assert.equal(f.seed, '42');
    assert.ok(Number.isFinite(f.atMs));
  }
}

test('a clean run passes every check', () => {
  const c = new RaftSafetyChecker('42');
  cleanRun(c);
  c.finish(1000, SITES.map((site) => ({ site, appliedIndex: 4, stateDigest: 'S4' })));
  for (let t = 1000; t <= 1500; t += 100) c.onProbe(t, 'b', new Map(SITES.map((s) => [s, 4])));
  const live = c.checkLiveness({ healedAtMs: 1000, leaderWithinMs: 100, convergedWithinMs: 100 });
  assert.deepEqual(live, { leaderAfterMs: 0, convergedAfterMs: 0 });
  assert.deepEqual(c.failures(), []);
  assert.ok(c.summary().every((s) => s.verdict === 'pass'));
  assert.deepEqual(c.leaderTerms(), { terms: 2, highest: 2 });
});

test('two leaders in one term break election safety', () => {
  const c = new RaftSafetyChecker('42');
  c.onLeaderElected({ site: 'a', term: 3, atMs: 10, lastIndex: 0 });
  c.onLeaderElected({ site: 'a', term: 3, atMs: 11, lastIndex: 0 }); // the same leader again is fine
  c.onLeaderElected({ site: 'b', term: 3, atMs: 20, lastIndex: 0 });
  only(c, 'election-safety');
  const f = c.failures()[0];
  assert.deepEqual(f.sites, ['a', 'b']);
  assert.equal(f.atMs, 20);
  assert.match(formatFailure(f), /^\[election-safety\] seed 42 at 20\.0 ms \(sites a, b\): two leaders in term 3/);
});

test('gaps and regressions in a site applied sequence break apply order; restarts and snapshots are allowed', () => {
  const c = new RaftSafetyChecker('42');
  c.onApplied('a', entry(1, 1), 1);
  c.onApplied('a', entry(2, 1), 2);
  c.onRestart('a', 1, 3);
  c.onApplied('a', entry(2, 1), 4); // replays after restart: fine
  c.onSnapshotInstalled('b', 2, 1, 5);
  c.onApplied('b', entry(3, 1), 6);
  assert.deepEqual(c.failures(), []);
  c.onApplied('c', entry(2, 1), 7);
  only(c, 'apply-order');
  assert.match(c.failures()[0].message, /skipped from 0 to 2/);
  c.onApplied('a', entry(1, 1), 8);
  assert.match(c.failures()[1].message, /went back to 1 after 2/);
});

test('two sites applying different entries at one index break state machine safety', () => {
  const c = new RaftSafetyChecker('42');
  c.onApplied('a', entry(1, 1), 10);
  c.onApplied('b', entry(1, 1), 11);
  c.onApplied('a', { index: 2, term: 1, digest: 'x' }, 12);
  c.onApplied('c', entry(1, 1), 12);
  c.onApplied('c', { index: 2, term: 2, digest: 'y' }, 13);
  only(c, 'state-machine-safety');
  const f = c.failures()[0];
  assert.deepEqual(f.sites, ['a', 'c']);
  assert.equal(f.atMs, 13);
  assert.equal(f.details?.index, 2);
});

test('a leader missing a committed entry breaks leader completeness', () => {
  const short = new RaftSafetyChecker('42');
  short.onApplied('a', entry(1, 1), 1);
  short.onWriteCommitted({ writeId: 'w', index: 5, term: 2, atMs: 50, site: 'a' });
  short.onLeaderElected({ site: 'c', term: 3, atMs: 60, lastIndex: 4 });
  only(short, 'leader-completeness');
  assert.match(short.failures()[0].message, /last index 4, below committed index 5/);

  const wrongTerm = new RaftSafetyChecker('42');
  wrongTerm.onApplied('a', entry(1, 2), 1);
  wrongTerm.onLeaderElected({ site: 'c', term: 3, atMs: 60, lastIndex: 1, termAt: () => 1 });
  only(wrongTerm, 'leader-completeness');

  // Entries committed in the new leader's own term or later are not required of it.
  const later = new RaftSafetyChecker('42');
  later.onApplied('a', entry(1, 4), 1);
  later.onLeaderElected({ site: 'c', term: 4, atMs: 60, lastIndex: 0 });
  assert.deepEqual(later.failures(), []);
});

test('an acknowledged write replaced by another entry is a lost write (either order)', () => {
  const ackFirst = new RaftSafetyChecker('42');
  ackFirst.onWriteCommitted({ writeId: 'w1', index: 1, term: 1, digest: 'd1t1', atMs: 10, site: 'a' });
  ackFirst.onApplied('b', { index: 1, term: 2, digest: 'other' }, 20);
  only(ackFirst, 'no-lost-write');
  assert.deepEqual(ackFirst.failures()[0].sites, ['a', 'b']);

  const applyFirst = new RaftSafetyChecker('42');
  applyFirst.onApplied('b', { index: 1, term: 1, digest: 'other' }, 5);
  applyFirst.onWriteCommitted({ writeId: 'w1', index: 1, term: 1, digest: 'd1t1', atMs: 10, site: 'a' });
  only(applyFirst, 'no-lost-write');

  const missingId = new RaftSafetyChecker('42');
  missingId.onApplied('b', entry(1, 1, ['someone-else']), 5);
  missingId.onWriteCommitted({ writeId: 'w1', index: 1, term: 1, atMs: 10, site: 'a' });
  missingId.finish(100, [{ site: 'b', appliedIndex: 1 }]);
  only(missingId, 'no-lost-write');

  const nobodyReached = new RaftSafetyChecker('42');
  nobodyReached.onWriteCommitted({ writeId: 'w1', index: 7, term: 1, atMs: 10, site: 'a' });
  nobodyReached.finish(100, [{ site: 'b', appliedIndex: 3 }]);
  only(nobodyReached, 'no-lost-write');
  assert.match(nobodyReached.failures()[0].message, /no site reached the highest acknowledged index 7/);
});

test('a refused write that is applied anywhere is caught (either order)', () => {
  const refusedFirst = new RaftSafetyChecker('42');
  refusedFirst.onWriteRefused({ writeId: 'w9', atMs: 10, site: 'c', code: 'NO_QUORUM' });
  refusedFirst.onApplied('a', entry(1, 1, ['w9']), 20);
  only(refusedFirst, 'refused-absent');
  assert.deepEqual(refusedFirst.failures()[0].sites, ['a', 'c']);

  const appliedFirst = new RaftSafetyChecker('42');
  appliedFirst.onApplied('a', entry(1, 1, ['w9']), 5);
  appliedFirst.onWriteRefused({ writeId: 'w9', atMs: 10, site: 'c' });
  only(appliedFirst, 'refused-absent');
});

test('sites at the same applied index with different states disagree', () => {
  const c = new RaftSafetyChecker('42');
  c.finish(100, [
    { site: 'a', appliedIndex: 10, stateDigest: 'X' },
    { site: 'b', appliedIndex: 10, stateDigest: 'X' },
    { site: 'c', appliedIndex: 10, stateDigest: 'Y' },
    { site: 'd', appliedIndex: 9, stateDigest: 'Z' },
  ]);
  only(c, 'final-state-agreement');
  assert.deepEqual(c.failures()[0].sites, ['a', 'c']);
});

test('liveness: no leader or no convergence within the bound after the heal fails', () => {
  const c = new RaftSafetyChecker('42');
  c.onWriteCommitted({ writeId: 'w', index: 5, term: 1, atMs: 1, site: 'a' });
  c.onProbe(900, 'a', new Map([['a', 5], ['b', 5], ['c', 5]]));
  c.onProbe(1000, undefined, new Map([['a', 5], ['b', 3], ['c', 5]]));
  c.onProbe(1500, undefined, new Map([['a', 5], ['b', 3], ['c', 5]]));
  c.onProbe(2500, 'c', new Map([['a', 5], ['b', 4], ['c', 5]]));
  const r = c.checkLiveness({ healedAtMs: 1000, leaderWithinMs: 1000, convergedWithinMs: 1000 });
  assert.deepEqual(r, { leaderAfterMs: 1500, convergedAfterMs: null });
  only(c, 'liveness');
  const [noLeader, noConvergence] = c.failures();
  assert.equal(noLeader.atMs, 2000);
  assert.match(noLeader.message, /no leader within 1000 ms of the heal at 1000 ms \(the first after 1500 ms\)/);
  assert.deepEqual(noConvergence.sites, ['b']);

  const fine = new RaftSafetyChecker('42');
  fine.onProbe(1000, undefined, new Map([['a', 1], ['b', 0]]));
  fine.onProbe(1200, 'a', new Map([['a', 1], ['b', 1]]));
  assert.deepEqual(fine.checkLiveness({ healedAtMs: 1000, leaderWithinMs: 500, convergedWithinMs: 500 }), { leaderAfterMs: 200, convergedAfterMs: 200 });
  assert.deepEqual(fine.failures(), []);
  assert.equal(new RaftSafetyChecker('1').summary().find((s) => s.check === 'liveness')?.verdict, 'skipped');
});

test('failures per check are bounded', () => {
  const c = new RaftSafetyChecker('42');
  for (let t = 1; t <= 100; t++) {
    c.onLeaderElected({ site: 'a', term: t, atMs: t, lastIndex: 0 });
    c.onLeaderElected({ site: 'b', term: t, atMs: t, lastIndex: 0 });
  }
  assert.equal(c.failures().length, 20);
  assert.equal(c.summary().find((s) => s.check === 'election-safety')?.failures, 100);
});

test('entry digests depend on type and data only', () => {
  const data = new Uint8Array([1, 2, 3]);
  assert.equal(entryDigest({ type: 0, data }), entryDigest({ type: 0, data: new Uint8Array([1, 2, 3]) }));
  assert.notEqual(entryDigest({ type: 0, data }), entryDigest({ type: 1, data }));
  assert.notEqual(entryDigest({ type: 0, data }), entryDigest({ type: 0, data: new Uint8Array([1, 2, 4]) }));
  assert.match(entryDigest({ type: 0, data: new Uint8Array() }), /^[0-9a-f]{16}$/);
});
