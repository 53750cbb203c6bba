// "What became of write <client>:<seq>": the session table answers exactly for a client's recent
// writes, says "never" for a sequence a later one overtook, and "forgotten" where it cannot know.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Catalog } from '../../agent/catalog/catalog.js';
import { encodeCommand, writeCommand } from '../../agent/catalog/command.js';
import { CatalogFormatError, sessionPut } from '../../agent/catalog/records.js';
import type { Session } from '../../agent/catalog/types.js';
import { SESSION_RECENT_SEQS } from '../../agent/catalog/limits.js';
import { Harness, flavorSpec } from './helpers.js';

function send(harness: Harness, clientId: string, seq: number, op: 'put' | 'delete' = 'put'): number {
  const ops = op === 'put' ? [{ op: 'put' as const, kind: 'flavor' as const, id: `f-${clientId}-${seq}`, spec: flavorSpec() }] : [{ op: 'delete' as const, kind: 'flavor' as const, id: 'absent' }];
  harness.applyBytes(encodeCommand(writeCommand({ clientId, seq, time: 1 }, ops)));
  return harness.index;
}

describe('write fate from the session table', () => {
  it('knows each of a client\'s recent writes: applied (with index and verdict) or skipped', () => {
    const harness = new Harness();
    const i1 = send(harness, 'c', 1);
    const i3 = send(harness, 'c', 3, 'delete'); // rejected: NOT_FOUND
    const i4 = send(harness, 'c', 4);
    const fate = (seq: number) => harness.catalog.writeFate('c', seq);
    assert.deepEqual(fate(1), { type: 'applied', index: i1 });
    assert.deepEqual(fate(3), { type: 'applied', index: i3, rejected: 'NOT_FOUND' });
    const last = fate(4);
    assert.equal(last.type === 'applied' && last.index, i4);
    assert.equal(last.type === 'applied' && last.result?.ok, true, 'the last write keeps its whole result');
    // seq 2 was never sent: before the fix this answered "committed".
    assert.deepEqual(fate(2), { type: 'never', lastSeq: 4 });
    assert.deepEqual(fate(5), { type: 'not-yet', lastSeq: 4 });
    assert.deepEqual(harness.catalog.writeFate('someone-else', 1), { type: 'not-yet', lastSeq: null });
  });

  it('a stale retry of a skipped sequence stays "never"; a duplicate of an applied one keeps its index', () => {
    const harness = new Harness();
    const i1 = send(harness, 'c', 1);
    send(harness, 'c', 3);
    send(harness, 'c', 2); // STALE_SEQUENCE
    send(harness, 'c', 1); // stale too (not the last): no effect
    assert.deepEqual(harness.catalog.writeFate('c', 2), { type: 'never', lastSeq: 3 });
    assert.deepEqual(harness.catalog.writeFate('c', 1), { type: 'applied', index: i1 });
  });

  it(`remembers ${SESSION_RECENT_SEQS} sequences per client; older ones are "forgotten", not guessed`, () => {
    const harness = new Harness();
    const total = SESSION_RECENT_SEQS + 5;
    for (let seq = 1; seq <= total; seq++) send(harness, 'c', seq * 2); // even seqs only
    const oldestKept = (total - SESSION_RECENT_SEQS + 1) * 2;
    assert.equal(harness.catalog.writeFate('c', oldestKept).type, 'applied');
    assert.deepEqual(harness.catalog.writeFate('c', oldestKept + 1), { type: 'never', lastSeq: total * 2 });
    assert.deepEqual(harness.catalog.writeFate('c', oldestKept - 2), { type: 'forgotten', oldestKnownSeq: oldestKept });
    assert.deepEqual(harness.catalog.writeFate('c', oldestKept - 1), { type: 'forgotten', oldestKnownSeq: oldestKept });
    assert.equal(harness.catalog.session('c')?.recent?.length, SESSION_RECENT_SEQS);
  });

  it('a sequence below a new client\'s first one is "forgotten" (an evicted earlier session may have applied it)', () => {
    const harness = new Harness();
    send(harness, 'c', 10);
    assert.deepEqual(harness.catalog.writeFate('c', 9), { type: 'forgotten', oldestKnownSeq: 10 });
  });

  it('once the table has evicted, a client without a session is "forgotten"; before, "not yet"', () => {
    const harness = Harness.withOptions({ maxSessions: 2 });
    send(harness, 'a', 1);
    assert.deepEqual(harness.catalog.writeFate('b', 1), { type: 'not-yet', lastSeq: null });
    send(harness, 'b', 1);
    send(harness, 'c', 1); // evicts a
    assert.deepEqual(harness.catalog.writeFate('a', 1), { type: 'forgotten', oldestKnownSeq: null });
    assert.deepEqual(harness.catalog.writeFate('z', 1), { type: 'forgotten', oldestKnownSeq: null });
  });

  it('the remembered sequences survive load and snapshot restore byte for byte', () => {
    const harness = new Harness();
    for (const seq of [1, 2, 5]) send(harness, 'c', seq);
    const reloaded = new Catalog();
    reloaded.load([...harness.store.entries()]);
    assert.deepEqual(reloaded.writeFate('c', 3), { type: 'never', lastSeq: 5 });
    assert.deepEqual(reloaded.snapshot(), harness.catalog.snapshot());
    const restored = new Catalog();
    restored.restore(harness.catalog.snapshot());
    assert.deepEqual(restored.writeFate('c', 2), harness.catalog.writeFate('c', 2));
  });

  it('a session record from before `recent` existed knows its last sequence only', () => {
    const harness = new Harness();
    send(harness, 'c', 1);
    send(harness, 'c', 2);
    const legacy = { ...harness.catalog.session('c')! };
    delete legacy.recent;
    const records = [...harness.store.entries()].map(([k, v]): [string, Uint8Array] => (k === 's/c' ? [k, encodeSessionRecord(legacy)] : [k, v]));
    const reloaded = new Catalog();
    reloaded.load(records);
    assert.equal(reloaded.writeFate('c', 2).type, 'applied');
    assert.deepEqual(reloaded.writeFate('c', 1), { type: 'forgotten', oldestKnownSeq: 2 });
  });

  it('a malformed remembered sequence is a format error naming the record', () => {
    const harness = new Harness();
    send(harness, 'c', 1);
    const bad = { ...harness.catalog.session('c')!, recent: [[1, 'x']] };
    const records = [...harness.store.entries()].map(([k, v]): [string, Uint8Array] => (k === 's/c' ? [k, encodeSessionRecord(bad)] : [k, v]));
    assert.throws(() => new Catalog().load(records), (e: unknown) => e instanceof CatalogFormatError && /s\/c/.test(e.message));
  });
});

function encodeSessionRecord(session: object): Uint8Array {
  return sessionPut(session as Session).value;
}
