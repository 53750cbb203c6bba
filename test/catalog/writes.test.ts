import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Harness, IMAGE_ID, expectOk, flavorSpec, imageSpec, siteSpec } from './helpers.js';

describe('revisions and times', () => {
  it('a resource revision is the log index of the entry that last changed it', () => {
    const harness = new Harness();
    harness.applyBytes(new Uint8Array()); // index 1: leader no-op
    const created = harness.write({ op: 'put', kind: 'flavor', id: 'f', spec: flavorSpec() });
    assert.equal(created.index, 2);
    assert.deepEqual(expectOk(created.result), [2]);
    const flavor = harness.catalog.get('flavor', 'f');
    assert.equal(flavor?.revision, 2);
    assert.equal(flavor?.createdAt, harness.time);
    const createdAt = harness.time;
    expectOk(harness.write({ op: 'patch', kind: 'flavor', id: 'f', spec: { ram: 4096 } }).result);
    const patched = harness.catalog.get('flavor', 'f');
    assert.equal(patched?.revision, 3);
    assert.equal(patched?.createdAt, createdAt);
    assert.equal(patched?.updatedAt, harness.time);
    assert.equal(harness.catalog.appliedIndex, 3);
  });

  it('a put that changes nothing keeps the revision', () => {
    const harness = new Harness();
    expectOk(harness.write({ op: 'put', kind: 'flavor', id: 'f', spec: flavorSpec() }).result);
    const again = harness.write({ op: 'put', kind: 'flavor', id: 'f', spec: { ...flavorSpec(), swap: 0 } });
    assert.deepEqual(expectOk(again.result), [1]);
    assert.equal(harness.catalog.get('flavor', 'f')?.revision, 1);
    assert.ok(!again.ops.some((op) => op.key === 'r/flavor/f'), 'no resource record written');
  });

  it('returned resources are frozen', () => {
    const harness = new Harness();
    expectOk(harness.write({ op: 'put', kind: 'flavor', id: 'f', spec: flavorSpec({ extraSpecs: { a: 'b' } }) }).result);
    const flavor = harness.catalog.get('flavor', 'f');
    assert.ok(flavor);
    assert.throws(() => {
      (flavor.spec.extraSpecs as Record<string, string>).a = 'c';
    }, TypeError);
  });
});

describe('compare-and-set', () => {
  it('0 means must not exist', () => {
    const harness = new Harness();
    expectOk(harness.write({ op: 'put', kind: 'flavor', id: 'f', spec: flavorSpec(), expectedRevision: 0 }).result);
    const { result } = harness.write({ op: 'put', kind: 'flavor', id: 'f', spec: flavorSpec({ vcpus: 4 }), expectedRevision: 0 });
    assert.deepEqual(result, {
      ok: false,
      code: 'CONFLICT',
      kind: 'flavor',
      id: 'f',
      expected: 0,
      current: 1,
      message: 'flavor f already exists (revision 1)',
      opIndex: 0,
    });
    assert.equal(harness.catalog.get('flavor', 'f')?.spec.vcpus, 1);
  });

  it('a matching revision applies, a different one conflicts', () => {
    const harness = new Harness();
    expectOk(harness.write({ op: 'put', kind: 'flavor', id: 'f', spec: flavorSpec() }).result);
    expectOk(harness.write({ op: 'patch', kind: 'flavor', id: 'f', spec: { vcpus: 2 }, expectedRevision: 1 }).result);
    const stale = harness.write({ op: 'patch', kind: 'flavor', id: 'f', spec: { vcpus: 3 }, expectedRevision: 1 }).result;
    assert.equal(!stale.ok && stale.code, 'CONFLICT');
    assert.equal(!stale.ok && stale.code === 'CONFLICT' && stale.current, 2);
    const del = harness.write({ op: 'delete', kind: 'flavor', id: 'f', expectedRevision: 5 }).result;
    assert.equal(!del.ok && del.code, 'CONFLICT');
    expectOk(harness.write({ op: 'delete', kind: 'flavor', id: 'f', expectedRevision: 2 }).result);
    assert.equal(harness.catalog.get('flavor', 'f'), undefined);
  });

  it('an expected revision on an absent resource conflicts with current 0', () => {
    const { result } = new Harness().write({ op: 'put', kind: 'flavor', id: 'f', spec: flavorSpec(), expectedRevision: 7 });
    assert.equal(!result.ok && result.code === 'CONFLICT' && result.current, 0);
  });
});

describe('atomic batches', () => {
  it('one invalid op applies nothing and names its index', () => {
    const harness = new Harness();
    expectOk(harness.write({ op: 'put', kind: 'flavor', id: 'keep', spec: flavorSpec() }).result);
    const before = harness.catalog.snapshot();
    const { result, ops } = harness.write(
      { op: 'put', kind: 'flavor', id: 'a', spec: flavorSpec() },
      { op: 'delete', kind: 'flavor', id: 'keep' },
      { op: 'put', kind: 'flavor', id: 'c', spec: flavorSpec({ ram: -1 }) },
    );
    assert.equal(!result.ok && result.code === 'VALIDATION' && result.opIndex, 2);
    assert.equal(!result.ok && result.code === 'VALIDATION' && result.field, 'spec.ram');
    assert.equal(harness.catalog.get('flavor', 'a'), undefined);
    assert.ok(harness.catalog.get('flavor', 'keep'));
    assert.ok(!ops.some((op) => op.key.startsWith('r/')), 'no resource records');
    // Only the session, the applied index and the audit ring (which records rejected writes too) moved.
    assert.deepEqual(ops.map((op) => op.key).sort(), ['a/0000000000000002', 'm/catalog', 's/test-client']);
    assert.notDeepEqual(harness.catalog.snapshot(), before);
  });

  it('later ops see earlier ones; all revisions equal the entry index', () => {
    const harness = new Harness();
    const { index, result } = harness.write(
      { op: 'put', kind: 'flavor', id: 'a', spec: flavorSpec(), expectedRevision: 0 },
      { op: 'patch', kind: 'flavor', id: 'a', spec: { vcpus: 8 }, expectedRevision: 1 },
      { op: 'put', kind: 'flavor', id: 'b', spec: flavorSpec() },
    );
    assert.deepEqual(expectOk(result), [index, index, index]);
    assert.equal(harness.catalog.get('flavor', 'a')?.spec.vcpus, 8);
  });
});

describe('patch and delete', () => {
  it('patch is a JSON merge patch: nested maps merge, null removes a key or resets it to its default, placement may change', () => {
    const harness = new Harness();
    expectOk(
      harness.write({ op: 'put', kind: 'flavor', id: 'f', spec: flavorSpec({ swap: 512, extraSpecs: { a: '1', b: '2' } }), placement: ['x'] })
        .result,
    );
    expectOk(harness.write({ op: 'patch', kind: 'flavor', id: 'f', spec: { swap: null, extraSpecs: { c: '3', a: null } } }).result);
    let flavor = harness.catalog.get('flavor', 'f');
    assert.equal(flavor?.spec.swap, 0);
    assert.deepEqual(flavor?.spec.extraSpecs, { b: '2', c: '3' });
    assert.deepEqual(flavor?.placement, { type: 'sites', text: 'x', sites: ['x'] });
    expectOk(harness.write({ op: 'patch', kind: 'flavor', id: 'f', placement: 'all' }).result);
    flavor = harness.catalog.get('flavor', 'f');
    assert.equal(flavor?.placement?.type, 'all');
    assert.equal(flavor?.spec.vcpus, 1);
  });

  it('patch validates the merged spec and refuses removing a required field', () => {
    const harness = new Harness();
    expectOk(harness.write({ op: 'put', kind: 'flavor', id: 'f', spec: flavorSpec() }).result);
    const removed = harness.write({ op: 'patch', kind: 'flavor', id: 'f', spec: { vcpus: null } }).result;
    assert.equal(!removed.ok && removed.code === 'VALIDATION' && removed.field, 'spec.vcpus');
    const unknown = harness.write({ op: 'patch', kind: 'flavor', id: 'f', spec: { cores: 2 } }).result;
    assert.equal(!unknown.ok && unknown.code === 'VALIDATION' && unknown.field, 'spec.cores');
  });

  it('patch and delete of an absent resource are NOT_FOUND', () => {
    const harness = new Harness();
    const patch = harness.write({ op: 'patch', kind: 'flavor', id: 'nope', spec: { vcpus: 2 } }).result;
    assert.equal(!patch.ok && patch.code, 'NOT_FOUND');
    const del = harness.write({ op: 'delete', kind: 'flavor', id: 'nope' }).result;
    assert.deepEqual(del, { ok: false, code: 'NOT_FOUND', kind: 'flavor', id: 'nope', message: 'flavor nope does not exist', opIndex: 0 });
  });

  it('delete removes the record and returns the deleting index', () => {
    const harness = new Harness();
    expectOk(harness.write({ op: 'put', kind: 'flavor', id: 'f', spec: flavorSpec() }).result);
    const { index, result, ops } = harness.write({ op: 'delete', kind: 'flavor', id: 'f' });
    assert.deepEqual(expectOk(result), [index]);
    assert.ok(ops.some((op) => op.type === 'del' && op.key === 'r/flavor/f'));
    assert.deepEqual(harness.catalog.list('flavor'), []);
  });

  it('image data fields are immutable and a protected image cannot be deleted', () => {
    const harness = new Harness();
    expectOk(harness.write({ op: 'put', kind: 'image', id: IMAGE_ID, spec: imageSpec({ protected: true }) }).result);
    const format = harness.write({ op: 'patch', kind: 'image', id: IMAGE_ID, spec: { diskFormat: 'raw' } }).result;
    assert.equal(!format.ok && format.code === 'VALIDATION' && format.field, 'spec.diskFormat');
    const source = harness.write({ op: 'patch', kind: 'image', id: IMAGE_ID, spec: { source: { url: 'https://x.org/other', sha256: 'b'.repeat(64) } } }).result;
    assert.equal(!source.ok && source.code === 'VALIDATION' && source.field, 'spec.source');
    expectOk(harness.write({ op: 'patch', kind: 'image', id: IMAGE_ID, spec: { name: 'renamed', tags: ['lts'] } }).result);
    const del = harness.write({ op: 'delete', kind: 'image', id: IMAGE_ID }).result;
    assert.match(!del.ok ? del.message : '', /protected/);
    expectOk(harness.write({ op: 'patch', kind: 'image', id: IMAGE_ID, spec: { protected: false } }, { op: 'delete', kind: 'image', id: IMAGE_ID }).result);
    assert.equal(harness.catalog.get('image', IMAGE_ID), undefined);
  });

  it('lists are sorted by id', () => {
    const harness = new Harness();
    expectOk(
      harness.write(
        { op: 'put', kind: 'site', id: 'b', spec: siteSpec('b', 1) },
        { op: 'put', kind: 'site', id: 'a', spec: siteSpec('a', 2) },
        { op: 'put', kind: 'site', id: 'c', spec: siteSpec('c', 3) },
      ).result,
    );
    assert.deepEqual(harness.catalog.sites().map((site) => site.id), ['a', 'b', 'c']);
  });
});
