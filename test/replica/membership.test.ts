// Membership through the runtime: a site with an empty store joins as a learner, catches up, is
// promoted, and the old leader can be removed; a crashed site restarts from its store and catches up.
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { Catalog, putOp, encodeCommand, writeCommand } from '../../agent/catalog/index.js';
import { MemoryLogStore } from '../../storage/memory-store.js';
import { flavorSpec } from '../catalog/helpers.js';
import { TestCluster } from './harness.js';

function flavorWrite(seq: number): Uint8Array {
  return encodeCommand(writeCommand({ clientId: 'm', seq, time: 0 }, [putOp('flavor', `f${seq}`, flavorSpec())]));
}

describe('membership through the replica runtime', () => {
  it('a new site joins as a learner, catches up, is promoted, and the leader itself is removed', async () => {
    const c = new TestCluster<Catalog>({ voters: ['a', 'b', 'c'], makeStateMachine: () => new Catalog(), seed: 3 });
    await c.start();
    const leader = await c.waitForLeader();
    for (let i = 1; i <= 20; i++) assert.equal((await c.run(leader.replica.propose(flavorWrite(i)))).status, 'committed');

    const d = await c.startSite('d', new MemoryLogStore(), false);
    const added = await c.run(c.site('b').replica.proposeConfChange({ type: 'addLearner', member: 'd' }));
    assert.equal(added.status, 'committed', JSON.stringify(added));
    await c.clock.advance(2000);
    assert.ok(d.sm.get('flavor', 'f20'), 'the learner caught up');
    assert.deepEqual(d.replica.conf().learners, ['d']);

    const promoted = await c.run(leader.replica.proposeConfChange({ type: 'promote', member: 'd' }));
    assert.equal(promoted.status, 'committed', JSON.stringify(promoted));
    assert.deepEqual([...c.leader()!.replica.conf().voters].sort(), ['a', 'b', 'c', 'd']);

    const bad = await c.run(leader.replica.proposeConfChange({ type: 'promote', member: 'zz' }));
    assert.equal(bad.status === 'refused' && bad.code, 'INVALID');

    const removed = await c.run(c.site('d').replica.proposeConfChange({ type: 'remove', member: leader.name }));
    assert.equal(removed.status, 'committed', JSON.stringify(removed));
    await c.clock.advance(5000);
    const next = c.leader();
    assert.ok(next && next.name !== leader.name, 'a remaining voter leads');
    assert.equal((await c.run(c.site('d').replica.propose(flavorWrite(21)))).status, 'committed');
    await c.stopAll();
  });

  it('an applied membership entry is reported with its own index and term', async () => {
    const seen: Array<{ site: string; index: number; term: number; member: string }> = [];
    const c = new TestCluster<Catalog>({
      voters: ['a', 'b', 'c'],
      makeStateMachine: () => new Catalog(),
      seed: 7,
      hooks: (site) => ({ onConfChangeApplied: (change, entry) => seen.push({ site, index: entry.index, term: entry.term, member: change.member }) }),
    });
    await c.start();
    const leader = await c.waitForLeader();
    const added = await c.run(leader.replica.proposeConfChange({ type: 'addLearner', member: 'd' }));
    assert.equal(added.status, 'committed', JSON.stringify(added));
    await c.clock.advance(1000);
    const { term } = leader.replica.status();
    assert.ok(term > 0);
    const index = added.status === 'committed' ? added.index : -1;
    const forD = seen.filter((s) => s.member === 'd');
    assert.deepEqual(forD.map((s) => s.site).sort(), ['a', 'b', 'c'], JSON.stringify(seen));
    for (const s of forD) assert.deepEqual([s.index, s.term], [index, term], `${s.site}: ${JSON.stringify(s)}`);
    await c.stopAll();
  });

  it('a crashed site restarts from its store and catches up', async () => {
    const c = new TestCluster<Catalog>({ voters: ['a', 'b', 'c'], makeStateMachine: () => new Catalog(), seed: 5 });
    await c.start();
    const leader = await c.waitForLeader();
    const victim = ['a', 'b', 'c'].find((n) => n !== leader.name)!;
    for (let i = 1; i <= 5; i++) await c.run(leader.replica.propose(flavorWrite(i)));
    await c.clock.advance(500);
    const store = await c.crash(victim);
    for (let i = 6; i <= 10; i++) assert.equal((await c.run(leader.replica.propose(flavorWrite(i)))).status, 'committed');
    // Applied state is written without fsync to the state store (it is rebuilt from the synced log),
    // so after a crash it may be behind the log's commit index; the replica applies the rest again.
    const durable = store.disk.image;
    assert.ok(durable.appliedIndex <= durable.hardState.commit, 'the applied state is no further than the log');
    const back = await c.startSite(victim, new MemoryLogStore({ disk: store.disk }), false);
    await c.clock.advance(2000);
    assert.equal(back.sm.appliedIndex, back.replica.appliedIndex, 'catalog and replica agree on the applied index');
    for (const id of ['f1', 'f5', 'f10']) assert.ok(back.sm.get('flavor', id), `${id} after catching up`);
    await c.stopAll();
  });
});
