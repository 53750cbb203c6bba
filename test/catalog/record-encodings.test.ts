// Record encodings are memoised by the identity of a frozen value: a snapshot re-encodes only what
// changed since the last one. A value that is not frozen (it could still change) is encoded anew
// every time, and the memoised bytes are the bytes a fresh encoding gives.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { deepFreeze, encodeCanonical } from '../../agent/catalog/codec.js';
import { resourcePut, syncDigestPut } from '../../agent/catalog/records.js';
import { CATALOG_RECORD_VERSION, type Resource, type SiteSyncDigest } from '../../agent/catalog/types.js';
import { Harness, flavorSpec } from './helpers.js';

function flavor(id: string): Resource {
  return { kind: 'flavor', id, revision: 3, createdAt: 1, updatedAt: 2, spec: flavorSpec({ name: id }), placement: { all: true } } as unknown as Resource;
}

describe('record encodings', () => {
  it('gives a frozen value the same bytes object each time, equal to a fresh encoding', () => {
    const resource = deepFreeze(flavor('f1'));
    const first = resourcePut(resource).value;
    assert.equal(resourcePut(resource).value, first);
    assert.deepEqual(first, encodeCanonical({ v: CATALOG_RECORD_VERSION, resource }));
  });

  it('encodes a value that is not frozen every time (a change shows)', () => {
    const digest: SiteSyncDigest = { site: 'paris', through: 4, throughAt: 10 };
    const before = syncDigestPut(digest).value;
    digest.through = 5;
    const after = syncDigestPut(digest).value;
    assert.notDeepEqual(after, before);
    assert.deepEqual(after, encodeCanonical({ v: CATALOG_RECORD_VERSION, syncDigest: { site: 'paris', through: 5, throughAt: 10 } }));
  });

  it('a snapshot holds the bytes the applies stored, record for record', () => {
    const harness = new Harness();
    harness.write({ op: 'put', kind: 'flavor', id: 'a', spec: flavorSpec({ name: 'a' }) });
    harness.write({ op: 'put', kind: 'flavor', id: 'b', spec: flavorSpec({ name: 'b' }) });
    harness.write({ op: 'patch', kind: 'flavor', id: 'a', spec: { description: 'changed' } });
    const records = new Map(harness.catalog.records());
    assert.deepEqual([...records.keys()].sort(), [...harness.store.keys()].sort());
    for (const [key, value] of harness.store) assert.deepEqual(records.get(key), value, key);
    const reloaded = new Harness();
    reloaded.catalog.load([...records]);
    assert.deepEqual(new Map(reloaded.catalog.records()), records);
  });
});
