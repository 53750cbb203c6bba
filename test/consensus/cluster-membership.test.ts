// Membership, one voter at a time, effective when the ConfChange entry is appended. Election safety
// (one leader per term) is checked by the harness on every input throughout these scenarios.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ConfChange } from '../../consensus/types.js';
import { Cluster } from './harness.js';

/** Proposes a membership step at the leader and waits for it to commit. */
function change(c: Cluster, cc: ConfChange): number {
  const r = c.proposeConfChange(cc);
  assert.ok(r.ok, `${cc.type} ${cc.member} refused: ${r.ok ? '' : `${r.reason} ${r.detail ?? ''}`}`);
  c.waitFor(`${cc.type} ${cc.member} to commit`, () => c.isCommitted(r.index, r.term));
  return r.index;
}

/** True if a proposal at the leader commits within `ticks` ticks. */
function commitsWithin(c: Cluster, data: string, ticks: number): boolean {
  const r = c.propose(data);
  assert.ok(r.ok, `proposal refused: ${r.ok ? '' : r.reason}`);
  for (let i = 0; i < ticks; i++) {
    c.settle();
    if (c.isCommitted(r.index, r.term)) return true;
    c.tickAll();
  }
  return false;
}

describe('membership', () => {
  test('add a voter: join as a learner, catch up, then promote; the quorum grows only on promotion', () => {
    const c = new Cluster({ voters: ['a', 'b', 'c'], seed: 11 });
    const leader = c.electLeader();
    for (let i = 0; i < 5; i++) c.write(`before-${i}`);
    c.addMember('d');
    const added = change(c, { type: 'addLearner', member: 'd' });
    c.waitApplied(added, ['d']);
    assert.deepEqual(c.raft('d').conf().learners, ['d']);
    assert.ok(!c.raft('d').conf().voters.includes('d'));
    const progress = c.raft(leader).status().progress?.find((p) => p.member === 'd');
    assert.equal(progress?.isLearner, true);

    // A learner does not count: with the two other voters down, nothing commits.
    const others = ['a', 'b', 'c'].filter((id) => id !== leader);
    others.forEach((id) => c.crash(id));
    assert.equal(commitsWithin(c, 'learner-alone', 15), false, 'a learner must not make a quorum');
    others.forEach((id) => c.restart(id));
    c.electLeader();

    const promoted = change(c, { type: 'promote', member: 'd' });
    c.waitApplied(promoted, c.ids());
    for (const id of c.ids()) assert.deepEqual([...c.raft(id).conf().voters].sort(), ['a', 'b', 'c', 'd'], `conf at ${id}`);

    // Four voters: quorum is three. Two down -> stuck; one down -> commits.
    const l2 = c.electLeader();
    const rest = c.ids().filter((id) => id !== l2);
    c.crash(rest[0]);
    assert.equal(commitsWithin(c, 'three-of-four', 30), true, 'three of four voters make a quorum');
    c.crash(rest[1]);
    assert.equal(commitsWithin(c, 'two-of-four', 15), false, 'two of four voters are not a quorum');
  });

  test('remove a voter: the rest commit without it and it never disrupts them', () => {
    const c = new Cluster({ voters: ['a', 'b', 'c'], seed: 12 });
    const leader = c.electLeader();
    c.write('x');
    const victim = ['a', 'b', 'c'].find((id) => id !== leader)!;
    const removed = change(c, { type: 'remove', member: victim });
    c.waitApplied(removed, ['a', 'b', 'c'].filter((id) => id !== victim));
    assert.ok(!c.raft(leader).conf().voters.includes(victim));
    const term = c.raft(leader).status().term;
    // The removed member keeps ticking (it is not told to stop) yet must not depose anyone.
    c.runTicks(60);
    assert.equal(c.leader(), leader);
    assert.equal(c.raft(leader).status().term, term, 'the removed member must not force a new term');
    const survivor = ['a', 'b', 'c'].find((id) => id !== leader && id !== victim)!;
    c.crash(victim);
    c.write('two-voters');
    c.crash(survivor);
    assert.equal(commitsWithin(c, 'one-of-two', 15), false, 'two voters need both');
  });

  test('remove the leader itself: it hands over, a new leader emerges among the rest, the old one stays out', () => {
    const c = new Cluster({ voters: ['a', 'b', 'c'], seed: 13 });
    const old = c.electLeader();
    c.write('x');
    const r = c.proposeConfChange({ type: 'remove', member: old });
    assert.ok(r.ok, 'a leader may remove itself');
    const rest = ['a', 'b', 'c'].filter((id) => id !== old);
    c.waitFor('a new leader among the rest', () => {
      const l = c.leader();
      return l !== undefined && rest.includes(l) && c.isCommitted(r.index, r.term);
    });
    const next = c.leader()!;
    c.write('after-removal');
    assert.notEqual(c.raft(old).status().role, 'leader');
    const term = c.raft(next).status().term;
    c.runTicks(60);
    assert.equal(c.leader(), next);
    assert.equal(c.raft(next).status().term, term, 'the removed leader must not force a new term');
    assert.notEqual(c.raft(old).status().role, 'leader');
    assert.ok(!c.raft(old).conf().voters.includes(old), 'the old leader knows it was removed');
    for (const id of rest) assert.deepEqual([...c.raft(id).conf().voters].sort(), rest);
  });

  test('a change while a member is crashed commits with the quorum; the crashed member catches up on restart', () => {
    const c = new Cluster({ voters: ['a', 'b', 'c', 'd', 'e'], seed: 14 });
    const leader = c.electLeader();
    c.write('x');
    const down = c.ids().find((id) => id !== leader)!;
    c.crash(down);
    c.addMember('f');
    change(c, { type: 'addLearner', member: 'f' });
    const promoted = change(c, { type: 'promote', member: 'f' });
    c.restart(down);
    c.waitApplied(promoted, c.ids());
    for (const id of c.ids()) assert.ok(c.raft(id).conf().voters.includes('f'), `${id} sees f as voter`);
    assert.equal(c.raft(down).conf().voters.length, 6);
  });

  test('leader crashes around a sequence of changes: one leader per term throughout', () => {
    const c = new Cluster({ voters: ['a', 'b', 'c'], seed: 15 });
    c.electLeader();
    const steps: ConfChange[] = [
      { type: 'addLearner', member: 'd' },
      { type: 'promote', member: 'd' },
      { type: 'demote', member: 'a' },
      { type: 'remove', member: 'a' },
      { type: 'addLearner', member: 'e' },
      { type: 'promote', member: 'e' },
    ];
    c.addMember('d');
    c.addMember('e');
    for (const cc of steps) {
      const leader = c.electLeader();
      change(c, cc);
      if (cc.member !== leader && c.raft(leader).conf().voters.length >= 3) {
        c.crash(leader);
        c.electLeader();
        c.restart(leader);
      }
    }
    c.write('done');
    const final = c.raft(c.electLeader()).conf();
    assert.deepEqual([...final.voters].sort(), ['b', 'c', 'd', 'e']);
    assert.deepEqual(final.learners, []);
    assert.ok(c.checker.leadersElected >= 3, `elections seen: ${c.checker.leadersElected}`);
  });

  test('a member demoted by an uncommitted entry of its own log still helps elect a leader', () => {
    // Four voters, one down: three must be enough. The old leader appended "demote me" and lost its
    // quorum before anyone got the entry, so it holds the longest log: the others cannot win without
    // its vote, and it refuses them (their logs are behind). Raft stays live only if that member may
    // still campaign, counting votes in its latest configuration (Raft dissertation, section 4.2.2).
    const c = new Cluster({ voters: ['a', 'b', 'c', 'd'], seed: 19 });
    const old = c.electLeader();
    c.write('x');
    const others = c.ids().filter((id) => id !== old);
    c.crash(others[2]);
    c.bus.partition([old], others);
    const r = c.proposeConfChange({ type: 'demote', member: old }, old);
    assert.ok(r.ok);
    c.waitFor('the old leader to lose its quorum', () => c.raft(old).status().role !== 'leader', 60);
    assert.ok(c.raft(old).status().lastIndex > c.raft(others[0]).status().lastIndex, 'the old leader holds the longest log');
    c.bus.heal();
    c.waitFor('a leader with three of four voters up', () => c.leader() !== undefined, 200);
    c.write('after');
  });

  test('a second change is refused (confChangePending) while the first is uncommitted', () => {
    const c = new Cluster({ voters: ['a', 'b', 'c'], seed: 16 });
    const leader = c.electLeader();
    c.write('x');
    c.addMember('d');
    c.addMember('e');
    c.bus.partition([leader], ['a', 'b', 'c', 'd', 'e'].filter((id) => id !== leader));
    const first = c.proposeConfChange({ type: 'addLearner', member: 'd' }, leader);
    assert.ok(first.ok);
    c.settle();
    assert.equal(c.isCommitted(first.index, first.term), false);
    const second = c.proposeConfChange({ type: 'addLearner', member: 'e' }, leader);
    assert.equal(second.ok, false);
    assert.equal(!second.ok && second.reason, 'confChangePending');
    c.bus.heal();
    c.waitFor('the first change to commit', () => c.isCommitted(first.index, first.term));
    const third = c.proposeConfChange({ type: 'addLearner', member: 'e' });
    assert.ok(third.ok, 'accepted once the first committed');
  });

  test('a change that makes no sense is refused (invalidConfChange) and the log is untouched', () => {
    const c = new Cluster({ voters: ['a', 'b', 'c'], seed: 17 });
    const leader = c.electLeader();
    const last = c.raft(leader).status().lastIndex;
    for (const cc of [
      { type: 'remove', member: 'nobody' },
      { type: 'promote', member: 'a' },
      { type: 'addVoter', member: 'b' },
    ] as ConfChange[]) {
      const r = c.proposeConfChange(cc, leader);
      assert.equal(r.ok, false, `${cc.type} ${cc.member}`);
      assert.equal(!r.ok && r.reason, 'invalidConfChange');
    }
    assert.equal(c.raft(leader).status().lastIndex, last);
    const follower = c.ids().find((id) => id !== leader)!;
    const r = c.proposeConfChange({ type: 'addLearner', member: 'z' }, follower);
    assert.equal(!r.ok && r.reason, 'notLeader');
  });
});
