import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { formatPlacement, parsePlacement, placementSelects } from '../../agent/catalog/placement.js';
import type { Placement, PlacementTarget } from '../../agent/catalog/types.js';
import { Harness, expectOk, flavorSpec, siteSpec } from './helpers.js';

function parse(input: unknown): Placement {
  const parsed = parsePlacement(input);
  if (!parsed.ok) throw new Error(`expected ${JSON.stringify(input)} to parse: ${parsed.message}`);
  return parsed.placement;
}

const toronto: PlacementTarget = { name: 'toronto', region: 'ca-central', country: 'CA', labels: { tier: 'gold', gpu: 'a100' } };
const virginia: PlacementTarget = { name: 'virginia', region: 'us-east', country: 'US', labels: { tier: 'silver' } };
const frankfurt: PlacementTarget = { name: 'frankfurt', region: 'eu-central', country: 'DE', labels: {} };

describe('placement parser', () => {
  it('parses all, site lists and selectors', () => {
    assert.deepEqual(parse('all'), { type: 'all', text: 'all' });
    assert.deepEqual(parse('*'), { type: 'all', text: '*' });
    assert.deepEqual(parse(['b', 'a', 'b']), { type: 'sites', text: 'a, b', sites: ['a', 'b'] });
    assert.deepEqual(parse('country in (CA, us), region != us-east'), {
      type: 'selector',
      text: 'country in (CA, us), region != us-east',
      requirements: [
        { field: 'country', operator: 'in', values: ['CA', 'US'] },
        { field: 'region', operator: '!=', values: ['us-east'] },
      ],
    });
  });

  it('accepts and/AND, not in, notin, == and quoted values', () => {
    const placement = parse('labels.tier = gold AND site not in (a, "b") and region notin (x) and labels.zone == \'\'');
    assert.equal(placement.type, 'selector');
    assert.deepEqual(placement.type === 'selector' && placement.requirements, [
      { field: 'label', key: 'tier', operator: '=', values: ['gold'] },
      { field: 'site', operator: 'notin', values: ['a', 'b'] },
      { field: 'region', operator: 'notin', values: ['x'] },
      { field: 'label', key: 'zone', operator: '=', values: [''] },
    ]);
  });

  it('formats the parsed form back to text that parses to the same form', () => {
    const placement = parse('country in (US, CA),labels.tier!=gold');
    const text = formatPlacement(placement);
    assert.equal(text, 'country in (CA, US), labels.tier != gold');
    const reparsed = parse(text);
    assert.deepEqual(reparsed.type === 'selector' && reparsed.requirements, placement.type === 'selector' && placement.requirements);
  });

  const bad: Array<[unknown, RegExp]> = [
    ['', /empty/],
    ['country in CA', /expected '\(' to open/],
    ['country in (CA', /expected ',' or '\)' at the end/],
    ['country in ()', /expected a value/],
    ['country in (Canada)', /not an ISO 3166-1 alpha-2/],
    ['zone = a', /expected a field/],
    ['region ~ a', /unexpected character/],
    ['region ! a', /did you mean '!='/],
    ['region = a region = b', /comma or "and"/],
    ['region = a,', /expected a field .* at the end/],
    ['labels.-bad = x', /label key/],
    ['site = "unterminated', /unterminated quote/],
    ['region not x (a)', /'in' after 'not'/],
    ['site = "a b"', /site value/],
    [[], /site list is empty/],
    [['ok', 'bad name'], /placement\[1\]/],
    [42, /must be 'all'/],
    ['x'.repeat(2000), /longer than/],
  ];
  for (const [input, message] of bad) {
    it(`refuses ${JSON.stringify(input).slice(0, 40)}`, () => {
      const parsed = parsePlacement(input);
      assert.equal(parsed.ok, false);
      assert.match(!parsed.ok ? parsed.message : '', message);
    });
  }
});

describe('placement evaluator', () => {
  const cases: Array<[string | string[], PlacementTarget, boolean]> = [
    ['all', frankfurt, true],
    [['toronto', 'x'], toronto, true],
    [['toronto', 'x'], virginia, false],
    ['country in (CA, US)', toronto, true],
    ['country in (CA, US)', frankfurt, false],
    ['country in (CA,US), region != us-east', virginia, false],
    ['country in (CA,US), region != us-east', toronto, true],
    ['labels.tier = gold', toronto, true],
    ['labels.tier = gold', virginia, false],
    ['labels.tier = gold', frankfurt, false],
    ['labels.tier != gold', frankfurt, true],
    ['labels.tier notin (gold)', virginia, true],
    ['labels.gpu in (a100, h100)', toronto, true],
    ['site = frankfurt', frankfurt, true],
    ['site != frankfurt and country notin (US)', toronto, true],
    ['labels.constructor = x', frankfurt, false],
    ['labels.constructor != x', frankfurt, true],
  ];
  for (const [input, site, expected] of cases) {
    it(`${JSON.stringify(input)} on ${site.name} is ${expected}`, () => {
      assert.equal(placementSelects(parse(input), site), expected);
    });
  }
});

describe('placement in the catalog', () => {
  it('stores the parsed form at write time and refuses a bad expression with field placement', () => {
    const harness = new Harness();
    const bad = harness.write({ op: 'put', kind: 'flavor', id: 'f', spec: flavorSpec(), placement: 'country in (XX)' }).result;
    assert.equal(!bad.ok && bad.code === 'VALIDATION' && bad.field, 'placement');
    expectOk(harness.write({ op: 'put', kind: 'flavor', id: 'f', spec: flavorSpec(), placement: 'labels.tier = gold' }).result);
    assert.equal(harness.catalog.get('flavor', 'f')?.placement?.type, 'selector');
  });

  it('selects desired resources per site and keeps the placement on a put without one', () => {
    const harness = new Harness();
    harness.addTwoSites();
    expectOk(harness.write({ op: 'put', kind: 'flavor', id: 'ca', spec: flavorSpec(), placement: 'country = CA' }).result);
    expectOk(harness.write({ op: 'put', kind: 'flavor', id: 'every', spec: flavorSpec() }).result);
    expectOk(harness.write({ op: 'put', kind: 'flavor', id: 'ca', spec: flavorSpec({ vcpus: 2 }) }).result);
    const ids = (site: string): string[] => harness.catalog.desiredResourcesFor(site).map((r) => `${r.kind}/${r.id}`);
    assert.deepEqual(ids('montreal'), ['flavor/ca', 'flavor/every']);
    assert.deepEqual(ids('paris'), ['flavor/every']);
    assert.deepEqual(ids('nowhere'), []);
    assert.deepEqual(harness.catalog.list('flavor', { forSite: 'paris' }).map((r) => r.id), ['every']);
    // A site changing its labels changes what it should hold, without touching the flavor.
    expectOk(harness.write({ op: 'put', kind: 'flavor', id: 'gold', spec: flavorSpec(), placement: 'labels.tier = gold' }).result);
    assert.ok(ids('paris').includes('flavor/gold'));
    expectOk(harness.write({ op: 'patch', kind: 'site', id: 'paris', spec: { labels: { tier: 'bronze' } } }).result);
    assert.ok(!ids('paris').includes('flavor/gold'));
  });

  it('evaluates against a stored site spec', () => {
    const harness = new Harness();
    expectOk(harness.write({ op: 'put', kind: 'site', id: 'x', spec: siteSpec('x', 5, { country: 'de', region: 'eu-central' }) }).result);
    const site = harness.catalog.get('site', 'x');
    assert.ok(site);
    assert.equal(placementSelects(parse('country = de'), site.spec), true);
  });
});
