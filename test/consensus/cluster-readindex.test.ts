// ReadIndex: a leader answers a linearizable read with an index only once it knows it is still the
// leader (a quorum answered a heartbeat round sent after the read) and only after it has committed
// an entry of its own term (before that, its commit index may lag what was committed before it).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { MemberId } from '../../consensus/types.js';
import { Cluster } from './harness.js';

function servedReads(c: Cluster, id: MemberId, ctx: string) {
  return c.member(id).readStates.filter((rs) => rs.ctx === ctx);
}

/** Index of the first entry `id` appended in its current term (its no-op as a new leader). */
function firstEntryOfTerm(c: Cluster, id: MemberId): number {
  const s = c.raft(id).status();
  const log = c.raft(id).entries(s.firstIndex, s.lastIndex + 1);
  const first = log.find((e) => e.term === s.term);
  assert.ok(first, `${id} has an entry of its term ${s.term}`);
  return first.index;
}

describe('ReadIndex', () => {
  test('a new leader does not serve a read before it commits an entry of its term', () => {
    const c = new Cluster({ voters: ['a', 'b', 'c'], seed: 21 });
    const l1 = c.electLeader();
    const x = c.write('x');
    c.waitApplied(x.index);
    c.crash(l1);
    // The next leader's appends are lost: it is elected but cannot commit its no-op.
    c.bus.intercept = (m) => (m.type === 'append' ? 'drop' : 'deliver');
    c.waitFor('a new leader', () => c.leader() !== undefined);
    const l2 = c.leader()!;
    const own = firstEntryOfTerm(c, l2);
    const early = c.raft(l2).readIndex('early');
    for (let i = 0; i < 5; i++) {
      c.tickAll();
      c.settle();
    }
    assert.equal(c.raft(l2).status().role, 'leader', 'still leader: heartbeats flow');
    assert.ok(c.raft(l2).status().commit < own, 'its own entry is not committed');
    assert.deepEqual(servedReads(c, l2, 'early'), [], 'read served before the leader committed an entry of its term');

    c.bus.intercept = null;
    c.waitFor('the new leader to commit its own entry', () => c.raft(l2).status().commit >= own);
    const ctx = early.ok ? 'early' : 'again';
    if (!early.ok) assert.ok(c.raft(l2).readIndex('again').ok);
    c.waitFor('the read to be served', () => servedReads(c, l2, ctx).length > 0);
    const [rs] = servedReads(c, l2, ctx);
    assert.ok(rs.index >= own && rs.index >= x.index, `read index ${rs.index} covers ${x.index} and own entry ${own}`);
  });

  for (const checkQuorum of [true, false]) {
    test(`a deposed leader cut off from the quorum never serves a read (checkQuorum=${checkQuorum})`, () => {
      const ids = ['a', 'b', 'c', 'd', 'e'];
      const c = new Cluster({ voters: ids, seed: 22, config: { checkQuorum } });
      const l1 = c.electLeader();
      c.write('x');
      const rest = ids.filter((id) => id !== l1);
      c.bus.partition([l1], rest);
      const r = c.raft(l1).readIndex('stale');
      assert.ok(r.ok || r.reason === 'noQuorum' || r.reason === 'notLeader', `unexpected refusal ${!r.ok && r.reason}`);
      c.waitFor('a leader on the majority side', () => {
        const l = c.leader();
        return l !== undefined && l !== l1;
      });
      const y = c.write('y');
      c.runTicks(30);
      assert.deepEqual(servedReads(c, l1, 'stale'), [], 'the deposed leader served a read');
      if (checkQuorum) assert.notEqual(c.raft(l1).status().role, 'leader', 'checkQuorum: it stepped down');
      c.bus.heal();
      c.runTicks(20);
      for (const rs of servedReads(c, l1, 'stale')) {
        assert.ok(rs.index >= y.index, `stale read served at ${rs.index} < ${y.index} committed meanwhile`);
      }
    });
  }

  test('a read is served only after a quorum answers a heartbeat round', () => {
    const ids = ['a', 'b', 'c', 'd', 'e'];
    const c = new Cluster({ voters: ids, seed: 23 });
    const leader = c.electLeader();
    const x = c.write('x');
    const followers = ids.filter((id) => id !== leader);
    const answering = new Set<MemberId>();
    // Responses from followers not in `answering` are lost (no write is in flight, so only the
    // heartbeat round can confirm the read).
    c.bus.intercept = (m) =>
      m.to === leader && (m.type === 'heartbeatResp' || m.type === 'appendResp') && !answering.has(m.from) ? 'drop' : 'deliver';
    assert.ok(c.raft(leader).readIndex('q').ok);
    const phases: Array<[number, boolean]> = [
      [0, false],
      [1, false],
      [2, true],
    ];
    for (const [count, served] of phases) {
      followers.slice(0, count).forEach((id) => answering.add(id));
      for (let i = 0; i < 3 && servedReads(c, leader, 'q').length === 0; i++) {
        c.tickAll();
        c.settle();
      }
      assert.equal(servedReads(c, leader, 'q').length > 0, served, `${count} of 4 followers answering`);
    }
    const [rs] = servedReads(c, leader, 'q');
    assert.ok(rs.index >= x.index);
    assert.ok(c.member(leader).disk.appliedIndex >= rs.index || c.raft(leader).status().commit >= rs.index);
  });

  test('a served read index is at or past every write acknowledged before the read, across a leader change', () => {
    const c = new Cluster({ voters: ['a', 'b', 'c'], seed: 24 });
    const l1 = c.electLeader();
    let acked = 0;
    for (let i = 0; i < 5; i++) acked = c.write(`w${i}`).index;
    // Writes proposed but not yet acknowledged do not bound the read; acknowledged ones do.
    for (let i = 0; i < 3; i++) assert.ok(c.propose(`inflight${i}`).ok);
    assert.ok(c.raft(l1).readIndex('r1').ok);
    c.waitFor('r1', () => servedReads(c, l1, 'r1').length > 0);
    assert.ok(servedReads(c, l1, 'r1')[0].index >= acked);

    c.crash(l1);
    const l2 = c.electLeader();
    for (let i = 0; i < 3; i++) acked = c.write(`v${i}`).index;
    assert.ok(c.raft(l2).readIndex('r2').ok);
    c.waitFor('r2', () => servedReads(c, l2, 'r2').length > 0);
    const rs = servedReads(c, l2, 'r2')[0];
    assert.ok(rs.index >= acked, `read index ${rs.index} < acknowledged ${acked}`);
    c.waitApplied(rs.index, [l2]);

    const follower = c.ids().find((id) => id !== l2 && c.member(id).raft)!;
    const refused = c.raft(follower).readIndex('at-follower');
    assert.equal(!refused.ok && refused.reason, 'notLeader');
    assert.equal(!refused.ok && refused.leader, l2, 'the refusal names the leader');
  });
});
