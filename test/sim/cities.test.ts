import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CITIES, REGIONS, citySlug, findCity, isRegion, selectSites, sitesAt } from '../../sim/cities.js';

test('the table has at least 100 real cities with valid fields in every region', () => {
  assert.ok(CITIES.length >= 100, `${CITIES.length} cities`);
  for (const c of CITIES) {
    assert.match(c.country, /^[A-Z]{2}$/, c.name);
    assert.ok(c.lat >= -90 && c.lat <= 90 && c.lon >= -180 && c.lon <= 180, c.name);
    assert.ok(isRegion(c.region), c.name);
  }
  for (const r of REGIONS) assert.ok(CITIES.some((c) => c.region === r), `region ${r} has no city`);
  const slugs = new Set(CITIES.map((c) => citySlug(c.name)));
  assert.equal(slugs.size, CITIES.length, 'slugs are unique');
});

test('a few coordinates are where they should be', () => {
  const london = findCity('London')!;
  assert.ok(Math.abs(london.lat - 51.5) < 0.2 && Math.abs(london.lon) < 0.3);
  const sydney = findCity('sydney')!;
  assert.ok(sydney.lat < -33 && sydney.lon > 151);
  assert.equal(findCity('São Paulo')?.country, 'BR');
  assert.equal(findCity('sao-paulo')?.region, 'sa');
  assert.equal(findCity('Atlantis'), undefined);
});

test('slugs are ascii and hyphenated', () => {
  assert.equal(citySlug('São Paulo'), 'sao-paulo');
  assert.equal(citySlug('St. Louis'), 'st-louis');
  assert.equal(citySlug('Bogotá'), 'bogota');
});

test('selectSites spreads over regions first, then doubles up cities', () => {
  const thirteen = selectSites(13);
  assert.deepEqual(new Set(thirteen.map((s) => s.region)), new Set(REGIONS));
  assert.deepEqual(selectSites(5).map((s) => s.region), ['us-east', 'us-west', 'ca', 'sa', 'eu-west']);
  const hundred = selectSites(100);
  assert.equal(new Set(hundred.map((s) => s.name)).size, 100);
  const many = selectSites(CITIES.length + 3);
  assert.equal(new Set(many.map((s) => s.name)).size, CITIES.length + 3);
  assert.equal(many[CITIES.length].name, `${many[0].name}-2`);
  assert.equal(many[CITIES.length].lat, many[0].lat);
  assert.deepEqual(selectSites(20), selectSites(20), 'no randomness');
  assert.throws(() => selectSites(0), /positive integer/);
});

test('sitesAt names sites after cities and rejects unknown ones by name', () => {
  const s = sitesAt(['New York', 'london', 'New York']);
  assert.deepEqual(s.map((x) => x.name), ['new-york', 'london', 'new-york-2']);
  assert.throws(() => sitesAt(['Paris', 'Gotham', 'Atlantis']), /unknown cities: Gotham, Atlantis/);
});
