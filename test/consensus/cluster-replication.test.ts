// Replication liveness: a follower whose acknowledgements were lost must still catch up (learn the
// entries' commit and apply them) once its link heals, with or without later writes, and with its
// pipelining window full. A WAN loses acks; a one-way cut (follower -> leader) loses only acks.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Cluster } from './harness.js';

describe('replication after lost acknowledgements', () => {
  test('an idle cluster: the follower applies the write once its acks get through again', () => {
    const c = new Cluster({ voters: ['a', 'b', 'c'], seed: 41 });
    const leader = c.electLeader();
    const follower = c.ids().find((id) => id !== leader)!;
    c.write('before');
    c.bus.cut(follower, leader);
    const w = c.write('while-cut');
    assert.equal(c.member(follower).disk.entry(w.index)?.term, w.term, 'the follower holds the entry');
    c.bus.heal();
    c.waitFor(`${follower} to apply the write without any further write`, () => c.member(follower).disk.appliedIndex >= w.index, 60);
  });

  test('a full inflight window: the follower catches up once its acks get through again', () => {
    const c = new Cluster({ voters: ['a', 'b', 'c'], seed: 42, config: { maxInflightAppends: 4 } });
    const leader = c.electLeader();
    const follower = c.ids().find((id) => id !== leader)!;
    c.bus.cut(follower, leader);
    let last = 0;
    // One append per write: more appends than the window holds go unacknowledged.
    for (let i = 0; i < 8; i++) last = c.write(`w${i}`).index;
    c.bus.heal();
    const after = c.write('after-heal').index;
    c.waitFor(`${follower} to apply ${after}`, () => c.member(follower).disk.appliedIndex >= Math.max(last, after), 60);
  });

  test('a full inflight window and a leader that compacted past the lost acks: the follower gets a snapshot', () => {
    const c = new Cluster({ voters: ['a', 'b', 'c'], seed: 43, config: { maxInflightAppends: 2 } });
    const leader = c.electLeader();
    const follower = c.ids().find((id) => id !== leader)!;
    c.bus.cut(follower, leader);
    let last = 0;
    for (let i = 0; i < 6; i++) last = c.write(`w${i}`).index;
    assert.ok(c.member(follower).disk.lastIndex() < last, 'the window filled: the follower missed later writes');
    c.waitApplied(last, c.ids().filter((id) => id !== follower));
    c.compact(leader, 0);
    c.bus.heal();
    c.waitFor(`${follower} to catch up by snapshot`, () => c.member(follower).disk.appliedIndex >= last, 60);
  });
});
