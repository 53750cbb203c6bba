import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WanModel, cutBetween, cutFlapping, cutOff, cutOneWay, haversineKm } from '../../sim/wan.js';
import { selectSites, sitesAt } from '../../sim/cities.js';
import { Prng } from '../../sim/prng.js';

const FIVE = sitesAt(['New York', 'London', 'Frankfurt', 'Tokyo', 'New York']);

test('haversine distances match known figures', () => {
  const d = haversineKm(40.71, -74.01, 51.51, -0.13);
  assert.ok(d > 5500 && d < 5640, `NY-London ${d} km`);
  assert.equal(haversineKm(10, 20, 10, 20), 0);
});

test('New York - London one-way is 30-60 ms for any seed; same city is a few ms', () => {
  for (let seed = 0; seed < 20; seed++) {
    const w = new WanModel(FIVE, new Prng(seed));
    const base = w.baseOneWayMs('new-york', 'london');
    assert.ok(base >= 30 && base <= 60, `seed ${seed}: NY-London ${base} ms`);
    assert.ok(Math.abs(w.fibreOneWayMs('new-york', 'london') - 27.9) < 0.5);
    const local = w.baseOneWayMs('new-york', 'new-york-2');
    assert.ok(local > 0.5 && local < 5, `seed ${seed}: same city ${local} ms`);
    const tokyo = w.baseOneWayMs('london', 'tokyo');
    assert.ok(tokyo > 70 && tokyo < 100, `seed ${seed}: London-Tokyo ${tokyo} ms`);
  }
});

test('latency is symmetric, deterministic per seed, and stable when sites are added', () => {
  const a = new WanModel(FIVE, new Prng(3));
  const b = new WanModel(FIVE, new Prng(3));
  const c = new WanModel(FIVE, new Prng(4));
  assert.equal(a.baseOneWayMs('london', 'tokyo'), a.baseOneWayMs('tokyo', 'london'));
  assert.equal(a.baseOneWayMs('london', 'tokyo'), b.baseOneWayMs('london', 'tokyo'));
  assert.notEqual(a.baseOneWayMs('london', 'tokyo'), c.baseOneWayMs('london', 'tokyo'));
  const bigger = new WanModel(sitesAt(['Sydney', 'New York', 'London', 'Frankfurt', 'Tokyo', 'New York']), new Prng(3));
  assert.equal(bigger.baseOneWayMs('london', 'tokyo'), a.baseOneWayMs('london', 'tokyo'));
});

test('jitter is small and links are FIFO without reordering', () => {
  const w = new WanModel(FIVE, new Prng(1));
  const base = w.baseOneWayMs('new-york', 'london');
  let last = 0;
  for (let i = 0; i < 2000; i++) {
    const now = i * 0.01; // sends closer together than the jitter: FIFO has to hold some back
    const plan = w.deliveryPlan('new-york', 'london', now);
    assert.equal(plan.length, 1);
    assert.ok(plan[0] >= last, `message ${i} overtook the one before`);
    last = plan[0];
  }
  const extra: number[] = [];
  for (let i = 0; i < 2000; i++) {
    const now = 1000 + i * 200; // sparse sends: pure jitter
    extra.push(w.deliveryPlan('new-york', 'london', now)[0] - now - base);
  }
  extra.sort((x, y) => x - y);
  assert.ok(extra[0] > 0);
  assert.ok(extra[1000] < 2, `median jitter ${extra[1000]} ms`);
  assert.ok(extra[1990] < 5, `p99.5 jitter ${extra[1990]} ms`);
});

test('reordering, loss and duplication follow their probabilities and can be restored', () => {
  const w = new WanModel(FIVE, new Prng(2));
  w.setLinkFault('reordering', 0.3);
  let overtaken = 0;
  let last = 0;
  for (let i = 0; i < 1000; i++) {
    const [t] = w.deliveryPlan('london', 'tokyo', i * 0.1);
    if (t < last) overtaken++;
    last = Math.max(last, t);
  }
  assert.ok(overtaken > 0, 'some messages arrive out of order');
  w.setLinkFault('reordering', null);
  w.setLinkFault('loss', 0.2);
  let lost = 0;
  for (let i = 0; i < 5000; i++) {
    if (w.deliveryPlan('london', 'tokyo', 200 + i).length === 0) {
      lost++;
      assert.equal(w.lastDropReason, 'loss');
    }
  }
  assert.ok(lost > 850 && lost < 1150, `lost ${lost} / 5000`);
  w.setLinkFault('loss', null);
  w.setLinkFault('duplication', 0.5);
  let dup = 0;
  for (let i = 0; i < 1000; i++) {
    const plan = w.deliveryPlan('london', 'tokyo', 6000 + i);
    if (plan.length === 2) {
      dup++;
      assert.ok(plan[1] >= plan[0]);
    }
  }
  assert.ok(dup > 400 && dup < 600, `duplicated ${dup} / 1000`);
  assert.equal(w.linkFault('duplication'), 0.5);
  w.healAll();
  assert.equal(w.linkFault('duplication'), 0);
  assert.throws(() => w.setLinkFault('loss', 1.5), /\[0, 1\]/);
});

test('a two-halves cut blocks both ways across, not within a side; heal restores', () => {
  const names = ['new-york', 'london', 'frankfurt', 'tokyo', 'new-york-2'];
  const w = new WanModel(FIVE, new Prng(1));
  const id = w.cut(cutBetween(['new-york', 'london'], ['frankfurt', 'tokyo', 'new-york-2']), 0);
  const sideA = new Set(['new-york', 'london']);
  for (const a of names) {
    for (const b of names) {
      if (a === b) continue;
      const across = sideA.has(a) !== sideA.has(b);
      assert.equal(w.isBlocked(a, b, 1), across, `${a} -> ${b}`);
      assert.equal(w.deliveryPlan(a, b, 1).length === 0, across);
    }
  }
  assert.equal(w.lastDropReason, null);
  w.deliveryPlan('london', 'tokyo', 2);
  assert.equal(w.lastDropReason, 'partition');
  assert.equal(w.heal(id), true);
  assert.equal(w.heal(id), false);
  assert.equal(w.isBlocked('london', 'tokyo', 3), false);
});

test('isolating one site or one region cuts exactly its links', () => {
  const sites = selectSites(26); // two cities per region
  const all = sites.map((s) => s.name);
  const w = new WanModel(sites, new Prng(1));
  const one = w.cut(cutOff(['tokyo'], all), 0);
  assert.ok(w.isBlocked('tokyo', 'london', 0) && w.isBlocked('london', 'tokyo', 0));
  assert.equal(w.isBlocked('london', 'frankfurt', 0), false);
  w.heal(one);
  const eu = sites.filter((s) => s.region === 'eu-west').map((s) => s.name);
  assert.equal(eu.length, 2);
  w.cut(cutOff(eu, all), 0);
  assert.equal(w.isBlocked(eu[0], eu[1], 0), false, 'inside the region still talks');
  assert.ok(w.isBlocked(eu[0], 'tokyo', 0) && w.isBlocked('tokyo', eu[1], 0));
});

test('a one-way cut blocks only its direction; overlapping cuts need every heal', () => {
  const w = new WanModel(FIVE, new Prng(1));
  const oneWay = w.cut(cutOneWay(['tokyo'], ['london']), 0);
  assert.equal(w.isBlocked('tokyo', 'london', 0), true);
  assert.equal(w.isBlocked('london', 'tokyo', 0), false);
  const both = w.cut(cutBetween(['tokyo'], ['london']), 0);
  w.heal(oneWay);
  assert.equal(w.isBlocked('tokyo', 'london', 0), true, 'still cut by the second cut');
  w.heal(both);
  assert.equal(w.isBlocked('tokyo', 'london', 0), false);
  assert.equal(w.activeCutCount(), 0);
});

test('a flapping cut alternates blocked and open every period', () => {
  const w = new WanModel(FIVE, new Prng(1));
  w.cut(cutFlapping(['tokyo'], ['london'], 100), 1000);
  assert.equal(w.isBlocked('tokyo', 'london', 1050), true);
  assert.equal(w.isBlocked('london', 'tokyo', 1050), true);
  assert.equal(w.isBlocked('tokyo', 'london', 1150), false);
  assert.equal(w.isBlocked('tokyo', 'london', 1250), true);
  assert.equal(w.isBlocked('tokyo', 'frankfurt', 1050), false);
});

test('bad cuts and configs are clear errors', () => {
  const w = new WanModel(FIVE, new Prng(1));
  assert.throws(() => w.cut(cutBetween(['tokyo'], ['gotham']), 0), /unknown site gotham/);
  assert.throws(() => w.cut({ ...cutBetween(['tokyo'], ['london']), flapPeriodMs: 0 }, 0), /flapPeriodMs/);
  assert.throws(() => w.deliveryPlan('tokyo', 'gotham', 0), /unknown site "gotham"/);
  assert.throws(() => new WanModel(FIVE, new Prng(1), { routeFactorMin: 0.5 }), /routeFactorMin/);
  assert.throws(() => new WanModel(FIVE, new Prng(1), { loss: 2 }), /loss must be in \[0, 1\]/);
  assert.throws(() => new WanModel([FIVE[0], FIVE[0]], new Prng(1)), /duplicate site name/);
});

test('bandwidth adds serialised transmission delay', () => {
  const w = new WanModel(FIVE, new Prng(1), { bandwidthMbps: 8, jitterBaseMs: 0, jitterRatio: 0 });
  const base = w.baseOneWayMs('london', 'frankfurt');
  const [first] = w.deliveryPlan('london', 'frankfurt', 0, 1000); // 8000 bits at 8 Mbit/s = 1 ms
  assert.ok(Math.abs(first - (base + 1)) < 1e-9);
  const [second] = w.deliveryPlan('london', 'frankfurt', 0, 1000);
  assert.ok(Math.abs(second - (base + 2)) < 1e-9, 'queued behind the first');
});

test('quorum RTT floor: nearest majority of voters', () => {
  const w = new WanModel(FIVE, new Prng(1));
  const voters = ['new-york', 'london', 'frankfurt', 'tokyo', 'new-york-2'];
  // From London the 2 nearest other voters are Frankfurt and one of the New Yorks.
  const floor = w.quorumRttMs('london', voters);
  const ny = 2 * w.fibreOneWayMs('london', 'new-york');
  assert.ok(Math.abs(floor - ny) < 1e-9);
  assert.ok(w.quorumRttMs('london', voters, 'model') > floor);
  assert.equal(w.quorumRttMs('london', ['london']), 0);
});
