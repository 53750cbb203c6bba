// A stored or replicated catalog record nested deeper than MAX_VALUE_DEPTH is refused where it is
// read (restore of a snapshot image, load at open) with a CatalogFormatError naming the record,
// instead of being accepted and making the next snapshot() throw.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Packr } from 'msgpackr';
import { Catalog } from '../../agent/catalog/catalog.js';
import { MAX_VALUE_DEPTH } from '../../agent/catalog/limits.js';
import { CatalogFormatError, resourceKey } from '../../agent/catalog/records.js';
import { SNAPSHOT_FORMAT } from '../../agent/catalog/snapshot-image.js';
import { CATALOG_RECORD_VERSION, CATALOG_SNAPSHOT_VERSION } from '../../agent/catalog/types.js';

/** Not the canonical encoder (which refuses deep values): writes what a corrupt store or a bad peer could hold. */
const plainPackr = new Packr({ useRecords: false });

/** `levels` objects nested in one another around a string. */
function nested(levels: number): unknown {
  let value: unknown = 'x';
  for (let i = 0; i < levels; i++) value = { a: value };
  return value;
}

/**
 * A flavor record whose extraSpecs nest `levels` objects: the record body is depth 0, resource 1,
 * spec 2, extraSpecs 3, so its deepest object sits at depth 2 + levels.
 */
function flavorRecord(levels: number): [string, Uint8Array] {
  const key = resourceKey('flavor', 'deep');
  const resource = { kind: 'flavor', id: 'deep', spec: { name: 'deep', extraSpecs: nested(levels) }, revision: 1, createdAt: 0, updatedAt: 0 };
  return [key, new Uint8Array(plainPackr.pack({ v: CATALOG_RECORD_VERSION, resource }))];
}

function image(records: Array<[string, Uint8Array]>): Uint8Array {
  return new Uint8Array(plainPackr.pack({ format: SNAPSHOT_FORMAT, v: CATALOG_SNAPSHOT_VERSION, records }));
}

/** The most levels a record may nest: objects at depths 0 .. MAX_VALUE_DEPTH - 1. */
const DEEPEST_ALLOWED = MAX_VALUE_DEPTH - 3;

describe('catalog records nested too deep', () => {
  it('a record at the depth limit restores, and the restored catalog snapshots', () => {
    const catalog = new Catalog();
    catalog.restore(image([flavorRecord(DEEPEST_ALLOWED)]));
    assert.ok(catalog.get('flavor', 'deep'));
    const again = new Catalog();
    again.restore(catalog.snapshot());
    assert.deepEqual(again.get('flavor', 'deep'), catalog.get('flavor', 'deep'));
  });

  it('restore refuses a record one level deeper, naming it, and keeps the previous state', () => {
    const catalog = new Catalog();
    catalog.restore(image([flavorRecord(DEEPEST_ALLOWED)]));
    const before = catalog.snapshot();
    assert.throws(
      () => catalog.restore(image([flavorRecord(DEEPEST_ALLOWED + 1)])),
      (error: unknown) => error instanceof CatalogFormatError && error.message.includes('r/flavor/deep') && error.message.includes(`nested more than ${MAX_VALUE_DEPTH} levels`),
    );
    assert.deepEqual(catalog.snapshot(), before);
  });

  it('load (what open reads from the store) refuses it too, however deep', () => {
    for (const levels of [DEEPEST_ALLOWED + 1, 200, 1_000]) {
      const catalog = new Catalog();
      assert.throws(() => catalog.load([flavorRecord(levels)]), CatalogFormatError, `${levels} levels`);
      assert.doesNotThrow(() => catalog.snapshot());
    }
  });
});
