import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SimNetwork, estimateWireBytes, isolateMessage } from '../../sim/network.js';
import { Scheduler } from '../../sim/scheduler.js';
import { WanModel, cutOff } from '../../sim/wan.js';
import { sitesAt } from '../../sim/cities.js';
import { Prng } from '../../sim/prng.js';
import { TraceHash } from '../../sim/stats.js';
import type { WireMessage } from '../../consensus/ports.js';

const SITES = sitesAt(['London', 'Frankfurt', 'Tokyo']);

function world(options: ConstructorParameters<typeof SimNetwork>[2] = {}, seed = 1) {
  const scheduler = new Scheduler();
  const wan = new WanModel(SITES, new Prng(seed));
  const network = new SimNetwork(scheduler, wan, options);
  return { scheduler, wan, network };
}

function heartbeat(from: string, to: string, term = 1): WireMessage {
  return { kind: 'raft', msg: { type: 'heartbeat', from, to, term, commit: 0 } };
}

test('messages arrive after the WAN latency, in order, with the sender name', () => {
  const { scheduler, wan, network } = world();
  const got: Array<[string, number, number]> = [];
  network.transportFor('tokyo').onMessage((from, m) => got.push([from, m.kind === 'raft' ? m.msg.term : -1, scheduler.now()]));
  const london = network.transportFor('london');
  for (let term = 1; term <= 5; term++) london.send('tokyo', heartbeat('london', 'tokyo', term));
  scheduler.runUntil(1000);
  assert.deepEqual(got.map((g) => g[1]), [1, 2, 3, 4, 5]);
  assert.equal(got[0][0], 'london');
  const base = wan.baseOneWayMs('london', 'tokyo');
  assert.ok(got[0][2] >= base && got[0][2] < base + 10);
  const stats = network.stats();
  assert.equal(stats.sent, 5);
  assert.equal(stats.delivered, 5);
  assert.equal(stats.byType.heartbeat.count, 5);
  assert.ok(stats.bytesSent > 0);
});

test('a crashed site neither sends nor receives; in-flight messages to it are lost', () => {
  const { scheduler, network } = world();
  const got: string[] = [];
  network.transportFor('tokyo').onMessage((from) => got.push(from));
  const london = network.transportFor('london');
  london.send('tokyo', heartbeat('london', 'tokyo'));
  scheduler.runUntil(1); // in flight
  network.setSiteUp('tokyo', false);
  network.setSiteUp('tokyo', true); // restarted before the message lands: new process, new connections
  const fresh = network.transportFor('tokyo');
  fresh.onMessage((from) => got.push(`fresh:${from}`));
  scheduler.runUntil(1000);
  assert.deepEqual(got, []);
  assert.equal(network.stats().dropped.receiverDown, 1);
  london.send('tokyo', heartbeat('london', 'tokyo'));
  scheduler.runUntil(2000);
  assert.deepEqual(got, ['fresh:london']);

  network.setSiteUp('london', false);
  london.send('tokyo', heartbeat('london', 'tokyo'));
  network.setSiteUp('london', true);
  london.send('tokyo', heartbeat('london', 'tokyo')); // the zombie transport of the old incarnation
  scheduler.runUntil(3000);
  assert.deepEqual(got, ['fresh:london']);
  assert.equal(network.stats().dropped.senderDown, 2);
  assert.equal(network.isUp('london'), true);
});

test('a partition drops sends and reports the peer unreachable once per window', () => {
  const { scheduler, network } = world({ unreachableAfterMs: 200 });
  const unreachable: Array<[string, number]> = [];
  const london = network.transportFor('london');
  london.onUnreachable((m) => unreachable.push([m, scheduler.now()]));
  let delivered = 0;
  network.transportFor('tokyo').onMessage(() => delivered++);
  const cut = network.partition(cutOff(['tokyo'], ['london', 'frankfurt', 'tokyo']));
  for (let i = 0; i < 10; i++) london.send('tokyo', heartbeat('london', 'tokyo'));
  scheduler.runUntil(500);
  assert.equal(delivered, 0);
  assert.deepEqual(unreachable, [['tokyo', 200]]);
  assert.equal(network.stats().dropped.partition, 10);
  network.heal(cut);
  london.send('tokyo', heartbeat('london', 'tokyo'));
  scheduler.runUntil(1000);
  assert.equal(delivered, 1);
});

test('a cut drops messages already in flight on its links', () => {
  const { scheduler, network } = world();
  let delivered = 0;
  network.transportFor('tokyo').onMessage(() => delivered++);
  network.transportFor('london').send('tokyo', heartbeat('london', 'tokyo'));
  scheduler.runUntil(5);
  network.partition(cutOff(['tokyo'], ['london', 'frankfurt', 'tokyo']));
  scheduler.runUntil(1000);
  assert.equal(delivered, 0);
  assert.equal(network.stats().dropped.cutInFlight, 1);
  network.heal();
});

test('sending to an unknown site is counted, never thrown', () => {
  const { scheduler, network } = world();
  network.transportFor('london').send('gotham', heartbeat('london', 'gotham'));
  scheduler.runUntil(100);
  assert.equal(network.stats().dropped.unknownSite, 1);
  assert.throws(() => network.transportFor('gotham'), /unknown site "gotham"/);
});

test('isolate mode: a receiver cannot mutate a message, a sender cannot change one in flight', () => {
  const { scheduler, network } = world({ messageIsolation: 'isolate' });
  const errors: string[] = [];
  let seenTerm = 0;
  network.transportFor('frankfurt').onMessage((_from, m) => {
    if (m.kind !== 'raft') return;
    seenTerm = m.msg.term;
    try {
      m.msg.term = 99;
    } catch (err) {
      errors.push((err as Error).name);
    }
  });
  const msg = heartbeat('london', 'frankfurt', 3);
  network.transportFor('london').send('frankfurt', msg);
  if (msg.kind === 'raft') msg.msg.term = 42; // the sender reuses its object
  scheduler.runUntil(1000);
  assert.equal(seenTerm, 3);
  assert.deepEqual(errors, ['TypeError']);
  const data = new Uint8Array([1, 2, 3]);
  const copy = isolateMessage({ kind: 'propose', id: 'w1', data, requireLive: [] } as WireMessage);
  assert.ok(copy.kind === 'propose' && copy.data !== data && copy.data[2] === 3);
});

test('the same seed and sends give the same delivery trace hash', () => {
  const runOnce = (seed: number): string => {
    const trace = new TraceHash();
    const { scheduler, network } = world({ trace }, seed);
    network.setLinkFault('duplication', 0.2);
    network.setLinkFault('loss', 0.1);
    for (const s of ['london', 'frankfurt', 'tokyo']) network.transportFor(s).onMessage(() => {});
    const p = new Prng(seed).fork('workload');
    for (let i = 0; i < 300; i++) {
      const from = p.pick(['london', 'frankfurt', 'tokyo']);
      const to = p.pick(['london', 'frankfurt', 'tokyo'].filter((x) => x !== from));
      scheduler.at(i, () => network.transportFor(from).send(to, heartbeat(from, to, i)));
    }
    scheduler.runUntil(5000);
    return trace.hex();
  };
  assert.equal(runOnce(8), runOnce(8));
  assert.notEqual(runOnce(8), runOnce(9));
});

test('wire size estimate counts entry and payload bytes', () => {
  const small = estimateWireBytes(heartbeat('a', 'b'));
  const withEntries = estimateWireBytes({
    kind: 'raft',
    msg: { type: 'append', from: 'a', to: 'b', term: 1, entries: [{ index: 1, term: 1, type: 0, data: new Uint8Array(1000) }] },
  });
  assert.ok(withEntries >= small + 1000);
  assert.ok(estimateWireBytes({ kind: 'propose', id: 'x', data: new Uint8Array(500), requireLive: [] }) > 500);
});
