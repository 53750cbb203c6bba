// The audit ring: every applied write is recorded with who, from where, why and what; a malformed
// stamp is refused (VALIDATION) and records nothing; the ring is bounded, evicts oldest first, says
// after which index it is complete, and survives a snapshot and a reload from the stored records.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Catalog } from '../../agent/catalog/catalog.js';
import { encodeCommand, writeCommand } from '../../agent/catalog/command.js';
import { MAX_AUDIT_OPERATOR_CHARS, type AuditStamp } from '../../agent/catalog/audit.js';
import type { WriteOp } from '../../agent/catalog/types.js';
import { Harness, expectOk, flavorSpec } from './helpers.js';

function stampedWrite(harness: Harness, audit: AuditStamp | Record<string, unknown> | undefined, ops: WriteOp[], forced?: string) {
  harness.time += 1000;
  const envelope = { clientId: harness.clientId, seq: ++harness.seq, time: harness.time, ...(forced ? { forced } : {}), ...(audit ? { audit: audit as AuditStamp } : {}) };
  return harness.applyBytes(encodeCommand(writeCommand(envelope, ops)));
}

const put = (id: string, extra: Record<string, unknown> = {}): WriteOp => ({ op: 'put', kind: 'flavor', id, spec: flavorSpec({ name: id, ...extra }) });

describe('audit ring', () => {
  it('records who, from where, why and what for a committed write, and rejected writes with their code', () => {
    const h = new Harness();
    const ok = stampedWrite(h, { operator: 'alice', host: 'ops-1.example.net', site: 'paris', reason: 'new size for batch jobs' }, [put('m1'), put('m2')]);
    expectOk(ok.result);
    const bad = stampedWrite(h, { operator: 'bob' }, [put('m3', { ram: -5 })]);
    assert.equal(!bad.result.ok && bad.result.code, 'VALIDATION');
    const entries = h.catalog.auditEntries();
    assert.equal(entries.length, 2);
    assert.deepEqual(entries[0], {
      index: ok.index,
      time: h.time - 1000,
      clientId: 'test-client',
      seq: 1,
      operator: 'alice',
      host: 'ops-1.example.net',
      site: 'paris',
      reason: 'new size for batch jobs',
      outcome: 'committed',
      targets: [{ op: 'put', kind: 'flavor', id: 'm1' }, { op: 'put', kind: 'flavor', id: 'm2' }],
    });
    assert.equal(entries[1].operator, 'bob');
    assert.equal(entries[1].outcome, 'VALIDATION');
    assert.deepEqual(entries[1].targets, [{ op: 'put', kind: 'flavor', id: 'm3' }]);
  });

  it('a write without a stamp is still recorded (by client id), and a duplicate is recorded once', () => {
    const h = new Harness();
    const first = h.write(put('m1'));
    h.seq -= 1; // the same client id and sequence again: a retry
    h.write(put('m1'));
    const entries = h.catalog.auditEntries();
    assert.equal(entries.length, 1);
    assert.equal(entries[0].index, first.index);
    assert.equal(entries[0].operator, undefined);
  });

  it('a forced write records forced and its reason', () => {
    const h = new Harness();
    expectOk(stampedWrite(h, { operator: 'carol' }, [put('m1')], 'site a lost').result);
    const [entry] = h.catalog.auditEntries();
    assert.equal(entry.forced, true);
    assert.equal(entry.reason, 'site a lost');
  });

  it('refuses a malformed stamp with VALIDATION naming the field, and changes nothing', () => {
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ operator: 'x'.repeat(MAX_AUDIT_OPERATOR_CHARS + 1) }, 'audit.operator'],
      [{ operator: '' }, 'audit.operator'],
      [{ operator: 'eve\u001b[31m' }, 'audit.operator'],
      [{ host: ' padded ' }, 'audit.host'],
      [{ site: 'not a site name' }, 'audit.site'],
      [{ reason: 'r'.repeat(1025) }, 'audit.reason'],
      [{ operator: 'mallory', role: 'admin' }, 'audit.role'],
      [{ operator: 7 }, 'audit.operator'],
    ];
    for (const [stamp, field] of cases) {
      const h = new Harness();
      const applied = stampedWrite(h, stamp, [put('m1')]);
      assert.equal(!applied.result.ok && applied.result.code, 'VALIDATION', JSON.stringify(stamp));
      assert.equal(!applied.result.ok && applied.result.code === 'VALIDATION' && applied.result.field, field, JSON.stringify(stamp));
      assert.equal(h.catalog.get('flavor', 'm1'), undefined);
      assert.deepEqual(h.catalog.auditEntries(), []);
    }
    const notAMap = new Harness();
    const applied = stampedWrite(notAMap, 'alice' as unknown as Record<string, unknown>, [put('m1')]);
    assert.equal(!applied.result.ok && applied.result.code === 'VALIDATION' && applied.result.field, 'audit');
  });

  it('filters by kind, id and time; limit keeps the newest', () => {
    const h = new Harness();
    stampedWrite(h, { operator: 'a' }, [put('m1')]);
    const t2 = h.time + 1000;
    stampedWrite(h, { operator: 'b' }, [{ op: 'put', kind: 'quota', id: '0123456789abcdef0123456789abcdef', spec: { project: '0123456789abcdef0123456789abcdef', compute: { cores: 4 } } }]);
    stampedWrite(h, { operator: 'c' }, [{ op: 'delete', kind: 'flavor', id: 'm1' }]);
    assert.deepEqual(h.catalog.auditEntries({ kind: 'flavor' }).map((e) => e.operator), ['a', 'c']);
    assert.deepEqual(h.catalog.auditEntries({ id: 'm1' }).map((e) => e.operator), ['a', 'c']);
    assert.deepEqual(h.catalog.auditEntries({ kind: 'quota' }).map((e) => e.operator), ['b']);
    assert.deepEqual(h.catalog.auditEntries({ sinceMs: t2 }).map((e) => e.operator), ['b', 'c']);
    assert.deepEqual(h.catalog.auditEntries({ limit: 2 }).map((e) => e.operator), ['b', 'c']);
    assert.deepEqual(h.catalog.auditEntries({ kind: 'image' }), []);
  });

  it('is bounded by entries and by targets, evicting oldest first, and says after which index it is complete', () => {
    const h = Harness.withOptions({ auditBounds: { maxEntries: 3, maxTargets: 5 } });
    const indexes: number[] = [];
    for (let i = 1; i <= 5; i++) indexes.push(stampedWrite(h, { operator: `op${i}` }, [put(`m${i}`)]).index);
    assert.deepEqual(h.catalog.auditEntries().map((e) => e.operator), ['op3', 'op4', 'op5']);
    assert.equal(h.catalog.auditRange().droppedThrough, indexes[1]);
    // Stored records follow: the evicted entries' records were deleted.
    assert.deepEqual([...h.store.keys()].filter((k) => k.startsWith('a/')).length, 3);
    // A batch of 4 targets pushes the total past 5: entries go until it fits.
    const big = stampedWrite(h, { operator: 'bulk' }, [put('b1'), put('b2'), put('b3'), put('b4')]);
    assert.deepEqual(h.catalog.auditEntries().map((e) => e.operator), ['op5', 'bulk']);
    assert.equal(h.catalog.auditRange().droppedThrough, indexes[3]);
    assert.ok(big.ops.some((op) => op.key === 'm/audit'));
  });

  it('survives a snapshot and a reload from the stored records, byte for byte', () => {
    const h = Harness.withOptions({ auditBounds: { maxEntries: 2, maxTargets: 100 } });
    for (let i = 1; i <= 4; i++) stampedWrite(h, { operator: `op${i}`, reason: `r${i}` }, [put(`m${i}`)]);
    const restored = new Catalog({ auditBounds: { maxEntries: 2, maxTargets: 100 } });
    restored.restore(h.catalog.snapshot());
    assert.deepEqual(restored.auditEntries(), h.catalog.auditEntries());
    assert.deepEqual(restored.auditRange(), h.catalog.auditRange());
    const reloaded = new Catalog({ auditBounds: { maxEntries: 2, maxTargets: 100 } });
    reloaded.load([...h.store.entries()]);
    assert.deepEqual(reloaded.snapshot(), h.catalog.snapshot());
  });
});
