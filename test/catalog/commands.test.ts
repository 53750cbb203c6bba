import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Packr } from 'msgpackr';
import { EntryType } from '../../consensus/types.js';
import { Catalog } from '../../agent/catalog/catalog.js';
import { decodeCommand, encodeCommand, writeCommand } from '../../agent/catalog/command.js';
import { MAX_COMMAND_BYTES, MAX_VALUE_DEPTH } from '../../agent/catalog/limits.js';
import { UncarriedKeyError, ValueTooDeepError, encodeCanonical } from '../../agent/catalog/codec.js';
import { Harness, expectOk, flavorSpec } from './helpers.js';

const plainPackr = new Packr({ useRecords: false });

/** An array nested `depth` levels deep. */
function nested(depth: number): unknown {
  let value: unknown = 1;
  for (let i = 0; i < depth; i++) value = [value];
  return value;
}

function field(result: unknown): string | undefined {
  return (result as { field?: string }).field;
}

describe('command decoding', () => {
  it('an empty entry (leader no-op) is a no-op result that still advances the applied index', () => {
    const harness = new Harness();
    const { result, ops } = harness.applyBytes(new Uint8Array());
    assert.deepEqual(result, { ok: true, revisions: [], noop: true });
    assert.deepEqual(ops.map((op) => op.key), ['m/catalog']);
    assert.equal(harness.catalog.appliedIndex, 1);
  });

  it('a ConfChange entry is a no-op for the catalog', () => {
    const harness = new Harness();
    const { result } = harness.applyBytes(new Uint8Array([1, 2, 3]), EntryType.ConfChange);
    assert.deepEqual(result, { ok: true, revisions: [], noop: true });
    assert.equal(harness.catalog.appliedIndex, 1);
  });

  const malformed: Array<[string, Uint8Array, string]> = [
    ['garbage bytes', new Uint8Array([0xc1, 0xff, 0x00]), 'command'],
    ['truncated map', encodeCommand(writeCommand({ clientId: 'c', seq: 1, time: 0 }, [])).slice(0, 5), 'command'],
    ['a number', plainPackr.pack(42), 'command'],
    ['unknown version', plainPackr.pack({ v: 2, clientId: 'c', seq: 1, time: 0, ops: [] }), 'v'],
    ['missing version', plainPackr.pack({ clientId: 'c', seq: 1, time: 0, ops: [] }), 'v'],
    ['missing clientId', plainPackr.pack({ v: 1, seq: 1, time: 0, ops: [] }), 'clientId'],
    ['seq 0', plainPackr.pack({ v: 1, clientId: 'c', seq: 0, time: 0, ops: [] }), 'seq'],
    ['fractional time', plainPackr.pack({ v: 1, clientId: 'c', seq: 1, time: 1.5, ops: [] }), 'time'],
    ['unknown type', plainPackr.pack({ v: 1, clientId: 'c', seq: 1, time: 0, type: 'drop' }), 'type'],
    ['unknown field', plainPackr.pack({ v: 1, clientId: 'c', seq: 1, time: 0, ops: [], x: 1 }), 'x'],
    ['ops not a list', plainPackr.pack({ v: 1, clientId: 'c', seq: 1, time: 0, ops: 'all' }), 'ops'],
    ['op not a map', plainPackr.pack({ v: 1, clientId: 'c', seq: 1, time: 0, ops: [7] }), 'op'],
    ['nested too deep', plainPackr.pack({ v: 1, clientId: 'c', seq: 1, time: 0, ops: [{ op: 'put', kind: 'flavor', id: 'f', spec: nested(MAX_VALUE_DEPTH) }] }), 'command'],
  ];
  for (const [name, bytes, expectedField] of malformed) {
    it(`${name} gives a VALIDATION result, never a throw`, () => {
      const harness = new Harness();
      const { result } = harness.applyBytes(bytes);
      assert.equal(result.ok, false);
      assert.equal(!result.ok && result.code, 'VALIDATION');
      assert.equal(field(result), expectedField);
      assert.equal(harness.catalog.appliedIndex, 1);
    });
  }

  it('unknown version says which version this agent understands', () => {
    const decoded = decodeCommand(plainPackr.pack({ v: 9, clientId: 'c', seq: 1, time: 0, ops: [] }));
    assert.equal(decoded.ok, false);
    assert.match(!decoded.ok ? decoded.failure.message : '', /unsupported command version 9 \(this agent understands 1\)/);
  });

  it('an oversized command is refused', () => {
    const { result } = new Harness().applyBytes(new Uint8Array(MAX_COMMAND_BYTES + 1));
    assert.equal(field(result), 'command');
  });

  it('refuses an entry index that does not increase (broken runtime invariant)', () => {
    const catalog = new Catalog();
    catalog.apply({ index: 5, term: 1, type: EntryType.Normal, data: new Uint8Array() });
    assert.throws(() => catalog.apply({ index: 5, term: 1, type: EntryType.Normal, data: new Uint8Array() }), /must increase/);
  });
});

describe('exactly-once sessions', () => {
  it('the same clientId and seq twice applies once and returns the same result', () => {
    const harness = new Harness();
    const bytes = encodeCommand(writeCommand({ clientId: 'cli-1', seq: 1, time: 5 }, [{ op: 'put', kind: 'flavor', id: 'f', spec: flavorSpec() }]));
    const first = harness.applyBytes(bytes);
    const second = harness.applyBytes(bytes);
    assert.deepEqual(expectOk(first.result), [1]);
    assert.deepEqual(second.result, first.result);
    assert.deepEqual(second.ops.map((op) => op.key), ['m/catalog'], 'a retry changes nothing but the applied index');
    assert.equal(harness.catalog.get('flavor', 'f')?.revision, 1);
    assert.equal(harness.catalog.session('cli-1')?.lastSeq, 1);
  });

  it('a retried failure returns the same failure', () => {
    const harness = new Harness();
    const bytes = encodeCommand(writeCommand({ clientId: 'cli-1', seq: 3, time: 5 }, [{ op: 'delete', kind: 'flavor', id: 'nope' }]));
    const first = harness.applyBytes(bytes);
    // Meanwhile someone creates it; the retry still reports what the original did.
    expectOk(harness.write({ op: 'put', kind: 'flavor', id: 'nope', spec: flavorSpec() }).result);
    const retry = harness.applyBytes(bytes);
    assert.equal(!first.result.ok && first.result.code, 'NOT_FOUND');
    assert.deepEqual(retry.result, first.result);
    assert.ok(harness.catalog.get('flavor', 'nope'));
  });

  it('an older sequence number is STALE_SEQUENCE and applies nothing', () => {
    const harness = new Harness();
    const put = (seq: number, id: string): Uint8Array =>
      encodeCommand(writeCommand({ clientId: 'cli-1', seq, time: 5 }, [{ op: 'put', kind: 'flavor', id, spec: flavorSpec() }]));
    expectOk(harness.applyBytes(put(5, 'a')).result);
    const stale = harness.applyBytes(put(4, 'b')).result;
    assert.equal(!stale.ok && stale.code, 'STALE_SEQUENCE');
    assert.equal(!stale.ok && stale.code === 'STALE_SEQUENCE' && stale.lastSeq, 5);
    assert.equal(harness.catalog.get('flavor', 'b'), undefined);
    expectOk(harness.applyBytes(put(9, 'c')).result); // gaps are fine
  });

  it('evicts the least recently used session, the same one on every site', () => {
    const runs = [0, 1].map(() => {
      const harness = Harness.withOptions({ maxSessions: 3 });
      const send = (clientId: string, seq: number): void => {
        harness.applyBytes(encodeCommand(writeCommand({ clientId, seq, time: 1 }, [{ op: 'delete', kind: 'flavor', id: 'x' }])));
      };
      send('a', 1);
      send('b', 1);
      send('c', 1);
      send('a', 2); // a is now the most recent
      const before = new Set(harness.store.keys());
      send('d', 1); // evicts b
      return { harness, before };
    });
    for (const { harness, before } of runs) {
      assert.equal(harness.catalog.session('b'), undefined);
      assert.ok(harness.catalog.session('a') && harness.catalog.session('c') && harness.catalog.session('d'));
      assert.ok(before.has('s/b') && !harness.store.has('s/b'), 'the eviction is a record delete');
      assert.equal(harness.catalog.stats().sessions, 3);
    }
    assert.deepEqual(runs[0].harness.catalog.snapshot(), runs[1].harness.catalog.snapshot());
  });

  it('sessions survive load with their LRU order', () => {
    const harness = Harness.withOptions({ maxSessions: 2 });
    const send = (clientId: string, seq: number): void => {
      harness.applyBytes(encodeCommand(writeCommand({ clientId, seq, time: 1 }, [{ op: 'delete', kind: 'flavor', id: 'x' }])));
    };
    send('old', 1);
    send('new', 1);
    send('old', 2);
    const reloaded = new Catalog({ maxSessions: 2 });
    reloaded.load([...harness.store.entries()]);
    reloaded.apply({
      index: harness.index + 1,
      term: 1,
      type: EntryType.Normal,
      data: encodeCommand(writeCommand({ clientId: 'third', seq: 1, time: 1 }, [{ op: 'delete', kind: 'flavor', id: 'x' }])),
    });
    assert.equal(reloaded.session('new'), undefined, 'new was least recently used');
    assert.ok(reloaded.session('old'));
  });
});

describe('canonical encoding of hostile values', () => {
  it('refuses a value nested deeper than MAX_VALUE_DEPTH with an error, not a stack overflow', () => {
    assert.throws(() => encodeCanonical(nested(1500)), ValueTooDeepError);
    assert.throws(() => encodeCanonical({ spec: nested(MAX_VALUE_DEPTH) }), ValueTooDeepError);
    assert.doesNotThrow(() => encodeCanonical(nested(MAX_VALUE_DEPTH)));
  });

  it("refuses the key '__proto__' (msgpackr would decode it as '__proto_') and carries the other Object.prototype names as data", () => {
    assert.throws(() => encodeCanonical(JSON.parse('{"extraSpecs":{"__proto__":"x"}}')), UncarriedKeyError);
    const names = { constructor: 'a', toString: 'b', hasOwnProperty: 'c', valueOf: 'd' };
    const harness = new Harness();
    expectOk(harness.write({ op: 'put', kind: 'flavor', id: 'f', spec: flavorSpec({ extraSpecs: names }) }).result);
    assert.deepEqual(harness.catalog.get('flavor', 'f')?.spec.extraSpecs, names);
    expectOk(harness.write({ op: 'patch', kind: 'flavor', id: 'f', spec: { extraSpecs: { toString: 'changed', valueOf: null } } }).result);
    assert.deepEqual(harness.catalog.get('flavor', 'f')?.spec.extraSpecs, { constructor: 'a', toString: 'changed', hasOwnProperty: 'c' });
  });

  for (const name of ['constructor', 'toString', 'hasOwnProperty', 'valueOf']) {
    it(`a spec field named ${name} is an unknown field (VALIDATION), as put and as patch`, () => {
      const harness = new Harness();
      const put = harness.write({ op: 'put', kind: 'flavor', id: 'f', spec: { ...flavorSpec(), [name]: { x: 1 } } }).result;
      assert.equal(!put.ok && put.code === 'VALIDATION' && put.field, `spec.${name}`);
      expectOk(harness.write({ op: 'put', kind: 'flavor', id: 'f', spec: flavorSpec() }).result);
      const patch = harness.write({ op: 'patch', kind: 'flavor', id: 'f', spec: { [name]: { x: 1 } } }).result;
      assert.equal(!patch.ok && patch.code === 'VALIDATION' && patch.field, `spec.${name}`);
    });
  }
});
