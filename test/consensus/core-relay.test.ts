// Relayed replication (consensus/relay-plan.ts, relay-feeds.ts; DESIGN.md "Relays"): learners are
// fed by live voters, which forward only committed entries; a relay that dies or loses its learner
// is replaced; the leader's traffic per entry does not grow with the learners.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Message } from '../../consensus/types.js';
import { Net } from './core-net.js';

const LEARNERS = ['l1', 'l2', 'l3', 'l4', 'l5', 'l6'];

function settled(net: Net, leader = 'a'): void {
  net.campaign(leader);
  net.run(3); // learners answer the leader, then get a relay at the next heartbeat
}

function appendsFrom(net: Net, from: string, since: number): Message[] {
  return net.delivered.slice(since).filter((m) => m.from === from && m.type === 'append');
}

test('learners are fed by relays: the leader sends appends to its voters only', () => {
  const net = new Net(['a', 'b', 'c'], {}, LEARNERS);
  settled(net);
  const since = net.delivered.length;
  for (let i = 0; i < 5; i++) {
    net.propose('a', `w${i}`);
    net.stabilize();
  }
  net.run(2);
  const fromLeader = appendsFrom(net, 'a', since);
  assert.ok(fromLeader.length > 0);
  assert.deepEqual([...new Set(fromLeader.map((m) => m.to))].sort(), ['b', 'c'], 'no append from the leader to a learner');
  for (const l of LEARNERS) {
    assert.deepEqual(net.appliedTexts(l), ['w0', 'w1', 'w2', 'w3', 'w4'], `${l} applied everything`);
    assert.equal(net.node(l).status().leader, 'a', `${l} names the leader, not its relay`);
    const relayed = net.delivered.slice(since).filter((m) => m.to === l && m.type === 'append');
    assert.ok(relayed.length > 0 && relayed.every((m) => (m.from === 'b' || m.from === 'c') && m.leader === 'a'), `${l} is fed by b or c`);
  }
  // The leader still knows how far every learner got (from the relays' reports).
  const progress = net.node('a').status().progress ?? [];
  const last = net.node('a').status().lastIndex;
  for (const l of LEARNERS) {
    const p = progress.find((x) => x.member === l);
    assert.equal(p?.match, last, `${l}'s match as the relays report it`);
    assert.equal(p?.recentActive, true);
  }
});

test('without relayLearners the leader feeds every learner itself (the baseline)', () => {
  const net = new Net(['a', 'b', 'c'], { relayLearners: false }, LEARNERS);
  settled(net);
  const since = net.delivered.length;
  net.propose('a', 'x');
  net.stabilize();
  const targets = new Set(appendsFrom(net, 'a', since).map((m) => m.to));
  for (const l of LEARNERS) assert.ok(targets.has(l), `leader sent to ${l}`);
});

test('a relay forwards only committed entries', () => {
  const net = new Net(['a', 'b', 'c'], {}, LEARNERS);
  settled(net);
  const committedBefore = net.node('a').status().commit;
  // The voters' acknowledgements are lost: b and c hold the entry, nobody may commit it.
  net.drops.push((m) => m.to === 'a' && (m.type === 'appendResp' || m.type === 'heartbeatResp'));
  const idx = net.propose('a', 'uncommitted');
  net.stabilize();
  assert.ok(net.node('b').status().lastIndex >= idx && net.node('c').status().lastIndex >= idx, 'the relays hold it');
  for (let i = 0; i < 3; i++) {
    net.tick('b');
    net.tick('c');
    net.stabilize();
  }
  for (const l of LEARNERS) {
    assert.ok(net.node(l).status().lastIndex < idx, `${l} never received the uncommitted entry`);
    assert.equal(net.node(l).status().commit, committedBefore);
  }
  net.drops.length = 0;
  net.run(3);
  for (const l of LEARNERS) assert.deepEqual(net.appliedTexts(l), ['uncommitted'], `${l} gets it once committed`);
});

test('a relay that dies is replaced: its learners keep up through another voter', () => {
  const net = new Net(['a', 'b', 'c', 'd', 'e'], {}, LEARNERS);
  settled(net);
  const victim = 'b';
  const fedByVictim = LEARNERS.filter((l) => net.delivered.some((m) => m.from === victim && m.to === l && m.type === 'append'));
  assert.ok(fedByVictim.length > 0, 'b relays to someone');
  net.isolated.add(victim);
  net.run(25); // past an election timeout (the leader's view of b ages out), then re-planned
  const since = net.delivered.length;
  net.propose('a', 'after');
  net.stabilize();
  net.run(2);
  for (const l of LEARNERS) {
    assert.deepEqual(net.appliedTexts(l), ['after'], `${l} keeps up`);
    const feeders = new Set(net.delivered.slice(since).filter((m) => m.to === l && m.type === 'append').map((m) => m.from));
    assert.ok(!feeders.has(victim) && !feeders.has('a'), `${l} is fed by a live relay (${[...feeders].join(',')})`);
  }
});

test('a relay cut off from its learner gives it up; another voter takes it', () => {
  const net = new Net(['a', 'b', 'c'], {}, ['l1']);
  settled(net);
  const relay = net.delivered.filter((m) => m.to === 'l1' && m.type === 'append' && m.leader === 'a').at(-1)?.from;
  assert.ok(relay === 'b' || relay === 'c', `l1 is relayed (${relay})`);
  const other = relay === 'b' ? 'c' : 'b';
  net.drops.push((m) => (m.from === relay && m.to === 'l1') || (m.from === 'l1' && m.to === relay));
  net.run(40);
  const since = net.delivered.length;
  net.propose('a', 'x');
  net.stabilize();
  net.run(2);
  assert.deepEqual(net.appliedTexts('l1'), ['x']);
  const feeders = new Set(net.delivered.slice(since).filter((m) => m.to === 'l1' && m.type === 'append').map((m) => m.from));
  assert.deepEqual([...feeders], [other], 'the other voter relays now');
});

test('a new leader re-plans the relays; learners follow it and keep up', () => {
  const net = new Net(['a', 'b', 'c'], {}, LEARNERS);
  settled(net);
  net.propose('a', 'one');
  net.stabilize();
  net.isolated.add('a');
  net.run(40);
  const [leader] = net.leaders();
  assert.ok(leader === 'b' || leader === 'c', `new leader ${leader}`);
  net.propose(leader, 'two');
  net.stabilize();
  net.run(3);
  for (const l of LEARNERS) {
    assert.deepEqual(net.appliedTexts(l), ['one', 'two']);
    assert.equal(net.node(l).status().leader, leader);
  }
});

test("the leader's appends per entry do not grow with the learners", () => {
  const countFor = (learners: number): number => {
    const names = Array.from({ length: learners }, (_, i) => `l${i}`);
    const net = new Net(['a', 'b', 'c', 'd', 'e'], {}, names);
    settled(net);
    const since = net.delivered.length;
    for (let i = 0; i < 10; i++) {
      net.propose('a', `w${i}`);
      net.stabilize();
    }
    const count = appendsFrom(net, 'a', since).length;
    net.run(2); // the relays learn the last commit from the next heartbeat
    for (const l of names) assert.equal(net.appliedTexts(l).length, 10);
    return count;
  };
  const few = countFor(4);
  const many = countFor(40);
  assert.equal(many, few, `appends from the leader for 10 entries: ${few} with 4 learners, ${many} with 40`);
});
