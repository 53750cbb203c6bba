import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { requiredLiveSites } from '../../agent/catalog/write-path.js';
import { Harness, expectOk, protectionGroupSpec, siteSpec } from './helpers.js';

function withGroup(): Harness {
  const harness = new Harness();
  harness.addTwoSites();
  expectOk(harness.write({ op: 'put', kind: 'protection-group', id: 'pg1', spec: protectionGroupSpec() }).result);
  return harness;
}

describe('protection-group rules', () => {
  it('fills defaults: status active, epoch 0, empty mappings', () => {
    const group = withGroup().catalog.get('protection-group', 'pg1');
    assert.equal(group?.spec.status, 'active');
    assert.equal(group?.spec.failoverEpoch, 0);
    assert.deepEqual(group?.spec.mappings, { networks: { 'net-a': 'net-b' }, flavors: {}, securityGroups: {} });
    assert.equal(group?.placement, undefined);
  });

  it('refuses a site that is not in the catalog', () => {
    const harness = new Harness();
    harness.addTwoSites();
    const { result } = harness.write({ op: 'put', kind: 'protection-group', id: 'pg1', spec: protectionGroupSpec({ primarySite: 'tokyo' }) });
    assert.equal(!result.ok && result.code === 'VALIDATION' && result.field, 'spec.primarySite');
    assert.match(!result.ok ? result.message : '', /tokyo, which is not in the catalog/);
  });

  it('refuses the same primary and secondary site', () => {
    const harness = new Harness();
    harness.addTwoSites();
    const { result } = harness.write({ op: 'put', kind: 'protection-group', id: 'pg1', spec: protectionGroupSpec({ secondarySite: 'paris' }) });
    assert.equal(!result.ok && result.code === 'VALIDATION' && result.field, 'spec.secondarySite');
  });

  it('accepts a site created earlier in the same batch', () => {
    const harness = new Harness();
    harness.addTwoSites();
    expectOk(
      harness.write(
        { op: 'put', kind: 'site', id: 'tokyo', spec: siteSpec('tokyo', 7, { country: 'JP' }) },
        { op: 'put', kind: 'protection-group', id: 'pg2', spec: protectionGroupSpec({ name: 'pg2', secondarySite: 'tokyo' }) },
      ).result,
    );
  });

  it('refuses deleting a site a group names, and allows it once the group is gone', () => {
    const harness = withGroup();
    const { result } = harness.write({ op: 'delete', kind: 'site', id: 'montreal' });
    assert.equal(!result.ok && result.code === 'VALIDATION' && result.field, 'id');
    assert.match(!result.ok ? result.message : '', /site montreal is named by protection group\(s\) pg1/);
    assert.ok(harness.catalog.get('site', 'montreal'));
    expectOk(
      harness.write({ op: 'delete', kind: 'protection-group', id: 'pg1' }, { op: 'delete', kind: 'site', id: 'montreal' }).result,
    );
    assert.equal(harness.catalog.get('site', 'montreal'), undefined);
  });

  it('failoverEpoch never decreases: a lower one given (or a put that leaves it out) keeps the current epoch', () => {
    const harness = withGroup();
    const epoch = () => harness.catalog.get('protection-group', 'pg1')?.spec.failoverEpoch;
    expectOk(harness.write({ op: 'patch', kind: 'protection-group', id: 'pg1', spec: { status: 'failing-over', failoverEpoch: 1 } }).result);
    assert.equal(epoch(), 1);
    expectOk(harness.write({ op: 'patch', kind: 'protection-group', id: 'pg1', spec: { failoverEpoch: 0 } }).result);
    assert.equal(epoch(), 1);
    expectOk(harness.write({ op: 'put', kind: 'protection-group', id: 'pg1', spec: protectionGroupSpec() }).result);
    assert.equal(epoch(), 1);
    expectOk(harness.write({ op: 'patch', kind: 'protection-group', id: 'pg1', spec: { status: 'failed-over', failoverEpoch: 3 } }).result);
    assert.equal(epoch(), 3);
  });

  it('desiredResourcesFor includes the group on its two sites only', () => {
    const harness = withGroup();
    expectOk(harness.write({ op: 'put', kind: 'site', id: 'tokyo', spec: siteSpec('tokyo', 7, { country: 'JP' }) }).result);
    const has = (site: string): boolean => harness.catalog.desiredResourcesFor(site).some((r) => r.kind === 'protection-group');
    assert.equal(has('paris'), true);
    assert.equal(has('montreal'), true);
    assert.equal(has('tokyo'), false);
  });
});

describe('requiredLiveSites', () => {
  it('takes the new spec for put, both specs for patch, the current one for delete', () => {
    const harness = withGroup();
    const { catalog } = harness;
    assert.deepEqual(
      requiredLiveSites([{ op: 'put', kind: 'protection-group', id: 'pgx', spec: protectionGroupSpec({ primarySite: 'a', secondarySite: 'b' }) }], catalog),
      ['a', 'b'],
    );
    assert.deepEqual(requiredLiveSites([{ op: 'patch', kind: 'protection-group', id: 'pg1', spec: { secondarySite: 'tokyo' } }], catalog), [
      'montreal',
      'paris',
      'tokyo',
    ]);
    assert.deepEqual(requiredLiveSites([{ op: 'delete', kind: 'protection-group', id: 'pg1' }], catalog), ['montreal', 'paris']);
    assert.deepEqual(requiredLiveSites([{ op: 'delete', kind: 'protection-group', id: 'absent' }], catalog), []);
  });

  it('ignores other kinds and malformed ops, and deduplicates', () => {
    const { catalog } = withGroup();
    const ops = [
      { op: 'put', kind: 'flavor', id: 'f', spec: { primarySite: 'x' } },
      { op: 'patch', kind: 'protection-group', id: 'pg1', spec: 'junk' },
      { op: 'delete', kind: 'protection-group', id: 'pg1' },
      null,
      { op: 'put', kind: 'protection-group', id: 'pg9', spec: { primarySite: 7, secondarySite: 'paris' } },
    ];
    assert.deepEqual(requiredLiveSites(ops as never, catalog), ['montreal', 'paris']);
  });
});
