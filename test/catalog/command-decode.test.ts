// The two ways the catalog decodes an entry (CatalogOptions.commandDecode): 'shared' (the
// simulator: one frozen decode serves every site that applies the same entry object) and 'own' (the
// daemon: each site decodes its own bytes once, nothing remembered or frozen). Both must make the
// same state, results and records from the same log; the records of an apply must be exactly the
// canonical encodings of what the catalog holds (no copy of a value was needed to encode it).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Catalog } from '../../agent/catalog/catalog.js';
import { encodeCanonical } from '../../agent/catalog/codec.js';
import { decodeCommand, decodeOwnCommand, encodeCommand, writeCommand } from '../../agent/catalog/command.js';
import { CATALOG_RECORD_VERSION } from '../../agent/catalog/types.js';
import { EntryType, type Entry } from '../../consensus/types.js';
import { flavorSpec } from './helpers.js';

function entries(): Entry[] {
  const ops = [
    [{ op: 'put', kind: 'flavor', id: 'a', spec: flavorSpec({ name: 'a', description: 'first', accessProjects: ['p2', 'p1'], isPublic: false }) }],
    [{ op: 'put', kind: 'flavor', id: 'b', spec: flavorSpec({ name: 'b' }), placement: 'region = eu' }],
    [{ op: 'patch', kind: 'flavor', id: 'a', spec: { description: 'second' } }],
    [{ op: 'put', kind: 'flavor', id: 'c', spec: { name: 'c' } }], // rejected: vcpus missing
    [{ op: 'delete', kind: 'flavor', id: 'b' }],
  ];
  return ops.map((list, i) => ({
    index: i + 1,
    term: 1,
    type: EntryType.Normal,
    data: encodeCommand(writeCommand({ clientId: `client-${i % 2}`, seq: Math.floor(i / 2) + 1, time: 1000 + i, audit: { site: 's1' } }, list as never)),
  }));
}

describe('catalog command decode', () => {
  it("'own' and 'shared' give the same results, records and state", () => {
    const own = new Catalog({ commandDecode: 'own' });
    const shared = new Catalog({ commandDecode: 'shared' });
    for (const entry of entries()) {
      const a = own.apply(entry);
      const b = shared.apply(entry);
      assert.deepEqual(a.result, b.result);
      assert.deepEqual(
        a.ops.map((op) => [op.type, op.key, op.type === 'put' ? op.value : null]),
        b.ops.map((op) => [op.type, op.key, op.type === 'put' ? op.value : null]),
      );
    }
    assert.deepEqual(own.records(), shared.records());
  });

  it('an own decode is a fresh, unfrozen value; a shared one is frozen and served again', () => {
    const data = entries()[0]!.data;
    const first = decodeOwnCommand(data);
    assert.notEqual(decodeOwnCommand(data), first);
    assert.equal(Object.isFrozen(first), false);
    const shared = decodeCommand(data);
    assert.equal(decodeCommand(data), shared);
    assert.equal(Object.isFrozen(shared), true);
    assert.deepEqual(first, shared);
  });

  it('stores every record as the canonical encoding of the value the catalog holds', () => {
    const catalog = new Catalog();
    for (const entry of entries()) {
      for (const op of catalog.apply(entry).ops) {
        if (op.type !== 'put' || !op.key.startsWith('r/flavor/')) continue;
        const resource = catalog.get('flavor', op.key.slice('r/flavor/'.length));
        assert.ok(resource !== undefined);
        assert.deepEqual(op.value, encodeCanonical({ resource, v: CATALOG_RECORD_VERSION }));
        assert.deepEqual(Object.keys(resource.spec), Object.keys(resource.spec).sort(), 'a flavor spec is built in sorted key order');
        assert.deepEqual(Object.keys(resource.placement!), Object.keys(resource.placement!).sort(), 'a placement is built in sorted key order');
      }
    }
    const session = catalog.session('client-0');
    assert.ok(session !== undefined);
    assert.deepEqual(Object.keys(session), Object.keys(session).sort(), 'a session is built in sorted key order');
  });
});
