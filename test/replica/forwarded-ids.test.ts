// Forwarded requests carry ids the leader remembers (to drop copies the network made). These ids
// must not repeat when a follower restarts, and a copy must never be proposed twice nor leave its
// caller without an answer.
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { Catalog, encodeCommand, putOp, writeCommand } from '../../agent/catalog/index.js';
import type { WireMessage } from '../../consensus/ports.js';
import { refused } from '../../consensus/replica-refusals.js';
import { MemoryLogStore } from '../../storage/memory-store.js';
import { flavorSpec } from '../catalog/helpers.js';
import { TestCluster } from './harness.js';

function flavorWrite(clientId: string, seq: number): Uint8Array {
  return encodeCommand(writeCommand({ clientId, seq, time: 0 }, [putOp('flavor', `${clientId}-${seq}`, flavorSpec())]));
}

describe('forwarded request ids', () => {
  it('after a follower restarts, every write forwarded through it commits (its ids do not repeat)', async () => {
    const c = new TestCluster<Catalog>({ voters: ['a', 'b', 'c'], makeStateMachine: () => new Catalog(), seed: 21 });
    await c.start();
    const leader = await c.waitForLeader();
    const follower = ['a', 'b', 'c'].find((n) => n !== leader.name)!;
    const ids: string[] = [];
    c.net.onSend = (from, _to, m) => void (from === follower && m.kind === 'propose' && ids.push(m.id));
    for (let i = 1; i <= 10; i++) {
      assert.equal((await c.run(c.site(follower).replica.propose(flavorWrite('first', i)))).status, 'committed');
    }
    await c.clock.advance(500);
    const store = await c.crash(follower);
    await c.startSite(follower, new MemoryLogStore({ disk: store.disk }), false);
    await c.clock.advance(2000);
    for (let i = 1; i <= 10; i++) {
      const outcome = await c.run(c.site(follower).replica.propose(flavorWrite('second', i)));
      assert.equal(outcome.status, 'committed', `write ${i} after the restart: ${JSON.stringify(outcome)}`);
    }
    assert.equal(ids.length, 20);
    assert.equal(new Set(ids).size, 20, `ids repeat across the restart: ${ids.join(' ')}`);
    await c.stopAll();
  });

  it('a late copy of a forwarded write is answered with the first answer and not proposed again', async () => {
    const c = new TestCluster<Catalog>({ voters: ['a', 'b', 'c'], makeStateMachine: () => new Catalog(), seed: 22 });
    await c.start();
    const leader = await c.waitForLeader();
    const follower = ['a', 'b', 'c'].find((n) => n !== leader.name)!;
    const proposals: WireMessage[] = [];
    const answers: WireMessage[] = [];
    c.net.onSend = (from, to, m) => {
      if (from === follower && m.kind === 'propose') proposals.push(m);
      if (to === follower && m.kind === 'proposeResult') answers.push(m);
    };
    const first = await c.run(c.site(follower).replica.propose(flavorWrite('late', 1)));
    assert.equal(first.status, 'committed');
    const lastIndex = leader.replica.status().lastIndex;

    c.net.inject(follower, leader.name, proposals[0]);
    await c.clock.advance(1000);
    assert.equal(answers.length, 2, 'the copy is answered');
    assert.deepEqual(answers[1], answers[0]);
    assert.equal(leader.replica.status().lastIndex, lastIndex, 'nothing was proposed for the copy');
    await c.stopAll();
  });

  it('a copy that arrives while the first is pending is left to the first answer', async () => {
    const c = new TestCluster<Catalog>({ voters: ['a', 'b', 'c'], makeStateMachine: () => new Catalog(), seed: 23 });
    await c.start();
    const leader = await c.waitForLeader();
    const follower = ['a', 'b', 'c'].find((n) => n !== leader.name)!;
    const answers: WireMessage[] = [];
    let copied = false;
    c.net.onSend = (from, to, m) => {
      if (from === follower && m.kind === 'propose' && !copied) {
        copied = true;
        c.net.inject(from, to, m);
      }
      if (to === follower && m.kind === 'proposeResult') answers.push(m);
    };
    const lastIndex = leader.replica.status().lastIndex;
    const outcome = await c.run(c.site(follower).replica.propose(flavorWrite('twin', 1)));
    assert.equal(outcome.status, 'committed');
    await c.clock.advance(1000);
    assert.equal(answers.length, 1, 'one answer, for the first copy');
    assert.equal(leader.replica.status().lastIndex, lastIndex + 1, 'one entry for two copies');
    await c.stopAll();
  });

  // docs/findings.md, S3: with ids counted from 1 in every process, the simulator saw a write that
  // was never proposed answered "rejected" with the result of the previous process's request.
  it('an answer meant for the previous process on the follower does not settle a write of the new one', async () => {
    const c = new TestCluster<Catalog>({ voters: ['a', 'b', 'c'], makeStateMachine: () => new Catalog(), seed: 31 });
    await c.start();
    const leader = await c.waitForLeader();
    const follower = ['a', 'b', 'c'].find((n) => n !== leader.name)!;
    const answers: WireMessage[] = [];
    c.net.onSend = (_from, to, m) => void (to === follower && m.kind === 'proposeResult' && answers.push(m));
    const first = await c.run(c.site(follower).replica.propose(flavorWrite('old', 1)));
    assert.equal(first.status, 'committed');
    assert.equal(answers.length, 1);
    const firstIndex = first.status === 'committed' ? first.index : -1;

    const store = await c.crash(follower);
    const back = await c.startSite(follower, new MemoryLogStore({ disk: store.disk }), false);
    await c.clock.advance(2000);
    // The new process forwards its first write; the old answer arrives before the real one.
    const pending = back.replica.propose(flavorWrite('new', 1));
    c.net.inject(leader.name, follower, answers[0]);
    const second = await c.run(pending);
    assert.equal(second.status, 'committed', JSON.stringify(second));
    assert.notEqual(second.status === 'committed' && second.index, firstIndex, 'settled with the old answer');
    await c.clock.advance(500);
    assert.ok(leader.sm.get('flavor', 'new-1'), 'the new write was proposed and applied');
    await c.stopAll();
  });

  it("an answer from a site the write is no longer with is ignored: a copy of the first hop's refusal does not settle a write the next leader commits", async () => {
    const c = new TestCluster<Catalog>({ voters: ['a', 'b', 'c'], makeStateMachine: () => new Catalog(), seed: 24 });
    await c.start();
    const leader = await c.waitForLeader();
    const [follower, other] = ['a', 'b', 'c'].filter((n) => n !== leader.name);
    let injected = false;
    c.net.onSend = (from, _to, m) => {
      if (from === follower && m.kind === 'propose' && !injected) {
        injected = true;
        // What a duplicated answer of an earlier hop looks like: a definite refusal naming the leader.
        c.net.inject(other, follower, { kind: 'proposeResult', id: m.id, outcome: refused('NO_LEADER', `site ${other} is no longer the leader`, leader.name) });
      }
    };
    const outcome = await c.run(c.site(follower).replica.propose(flavorWrite('hop', 1)));
    assert.ok(injected);
    assert.equal(outcome.status, 'committed', JSON.stringify(outcome));
    await c.stopAll();
  });
});
