// The disaster-recovery state machine of a protection group, as apply computes it on every site.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Catalog } from '../../agent/catalog/catalog.js';
import { encodeCommand, writeCommand } from '../../agent/catalog/command.js';
import { drOp, drProposalNeeds } from '../../agent/catalog/dr-write-path.js';
import type { DrOp } from '../../agent/catalog/dr-types.js';
import { MAX_DR_HISTORY } from '../../agent/catalog/limits.js';
import type { CommandResult, ResourceOf } from '../../agent/catalog/types.js';
import { Harness, expectOk, protectionGroupSpec, siteSpec } from './helpers.js';
import { isDrFinished } from '../../agent/catalog/dr-types.js';

// paris is the home primary, montreal the secondary (helpers.ts).
function withGroup(): Harness {
  const harness = new Harness();
  harness.addTwoSites();
  expectOk(harness.write({ op: 'put', kind: 'protection-group', id: 'pg1', spec: protectionGroupSpec() }).result);
  return harness;
}

function forced(harness: Harness, reason: string, op: DrOp): CommandResult {
  harness.time += 1000;
  return harness.applyBytes(encodeCommand(writeCommand({ clientId: harness.clientId, seq: ++harness.seq, time: harness.time, forced: reason }, [op]))).result;
}

function group(harness: Harness): ResourceOf<'protection-group'> {
  const found = harness.catalog.get('protection-group', 'pg1');
  assert.ok(found);
  return found;
}

function report(harness: Harness, site: string, step: string, state: 'running' | 'done' | 'failed', epoch = group(harness).spec.failoverEpoch, message = ''): CommandResult {
  return harness.write(drOp('pg1', 'report', epoch, { site, step, state, attempt: 1, ...(message ? { message } : {}) })).result;
}

function rejected(result: CommandResult, code: string, pattern?: RegExp): void {
  assert.equal(result.ok, false, `expected ${code}, got ok`);
  if (result.ok) return;
  assert.equal(result.code, code, result.message);
  if (pattern) assert.match(result.message, pattern);
}

describe('protection-group DR: planned failover and failback', () => {
  it('failover swaps the roles at a new epoch with demote then promote steps, and completes when both are done', () => {
    const h = withGroup();
    expectOk(h.write(drOp('pg1', 'failover', 0, { from: 'paris', to: 'montreal' })).result);
    let g = group(h);
    assert.equal(g.spec.primarySite, 'montreal');
    assert.equal(g.spec.secondarySite, 'paris');
    assert.equal(g.spec.failoverEpoch, 1);
    assert.equal(g.spec.status, 'failing-over');
    assert.deepEqual(g.dr?.operation?.steps.map((s) => [s.step, s.site, s.state]), [['demote', 'paris', 'pending'], ['promote', 'montreal', 'pending']]);
    assert.equal(g.dr?.home, 'paris');
    // A planned promote waits for the demote: two copies never run at once.
    rejected(report(h, 'montreal', 'promote', 'done'), 'VALIDATION', /must wait for demote on paris/);
    expectOk(report(h, 'paris', 'demote', 'running'));
    expectOk(report(h, 'paris', 'demote', 'done'));
    assert.equal(group(h).spec.status, 'failing-over');
    expectOk(report(h, 'montreal', 'promote', 'done'));
    g = group(h);
    assert.equal(g.spec.status, 'failed-over');
    assert.deepEqual(g.dr?.acks, { paris: 1, montreal: 1 });
    assert.deepEqual(g.dr?.history.map((e) => e.event), ['failover', 'step', 'step', 'completed']);
  });

  it('failback returns to the home site at the next epoch; a second planned failover is refused', () => {
    const h = withGroup();
    expectOk(h.write(drOp('pg1', 'failover', 0, { from: 'paris', to: 'montreal' })).result);
    rejected(h.write(drOp('pg1', 'failback', 1, { from: 'montreal', to: 'paris' })).result, 'VALIDATION', /has not finished/);
    expectOk(report(h, 'paris', 'demote', 'done'));
    expectOk(report(h, 'montreal', 'promote', 'done'));
    rejected(h.write(drOp('pg1', 'failover', 1, { from: 'montreal', to: 'paris' })).result, 'VALIDATION', /already failed over to montreal: use failback/);
    expectOk(h.write(drOp('pg1', 'failback', 1, { from: 'montreal', to: 'paris' })).result);
    let g = group(h);
    assert.equal(g.spec.primarySite, 'paris');
    assert.equal(g.spec.failoverEpoch, 2);
    assert.equal(g.spec.status, 'failing-back');
    expectOk(report(h, 'montreal', 'demote', 'done'));
    expectOk(report(h, 'paris', 'promote', 'done'));
    g = group(h);
    assert.equal(g.spec.status, 'active');
    rejected(h.write(drOp('pg1', 'failback', 2, { from: 'paris', to: 'montreal' })).result, 'VALIDATION', /nothing to fail back/);
  });

  it('an operation from a stale epoch or a stale primary is refused and changes nothing', () => {
    const h = withGroup();
    expectOk(h.write(drOp('pg1', 'failover', 0, { from: 'paris', to: 'montreal' })).result);
    const before = group(h);
    rejected(h.write(drOp('pg1', 'failover', 0, { from: 'paris', to: 'montreal' })).result, 'CONFLICT', /epoch 1, not 0/);
    rejected(forced(h, 'again', drOp('pg1', 'failover', 1, { from: 'paris', to: 'montreal' })), 'VALIDATION', /primary montreal and secondary paris, not paris and montreal/);
    assert.deepEqual(group(h), before);
  });
});

describe('protection-group DR: forced failover and fencing', () => {
  it('records the reason; the new primary promotes at once; the old primary demotes when it comes back', () => {
    const h = withGroup();
    expectOk(forced(h, 'paris lost power', drOp('pg1', 'failover', 0, { from: 'paris', to: 'montreal' })));
    let g = group(h);
    assert.equal(g.spec.primarySite, 'montreal');
    assert.equal(g.dr?.operation?.forced, 'paris lost power');
    assert.equal(g.forced?.reason, 'paris lost power');
    assert.deepEqual(g.dr?.history.at(-1), { index: h.index, time: h.time, event: 'forced-failover', epoch: 1, site: 'montreal', reason: 'paris lost power' });
    // The promote does not wait for a demote the lost site cannot run.
    expectOk(report(h, 'montreal', 'promote', 'done'));
    g = group(h);
    assert.equal(g.spec.status, 'failing-over');
    assert.equal(g.forced?.reason, 'paris lost power', 'an agent report keeps the forced reason visible');
    // Failback needs the fenced site's demote first: it proves the old primary is back and stood down.
    rejected(h.write(drOp('pg1', 'failback', 1, { from: 'montreal', to: 'paris' })).result, 'VALIDATION', /demote on paris \(pending\)/);
    expectOk(report(h, 'paris', 'demote', 'failed', 1, 'cinder timed out'));
    assert.equal(group(h).dr?.operation?.steps[0]?.message, 'cinder timed out');
    expectOk(report(h, 'paris', 'demote', 'done'));
    assert.equal(group(h).spec.status, 'failed-over');
    assert.deepEqual(group(h).dr?.acks, { montreal: 1, paris: 1 });
  });

  it('a report for an older epoch is refused, so a late agent cannot move a newer operation', () => {
    const h = withGroup();
    expectOk(forced(h, 'lost', drOp('pg1', 'failover', 0, { from: 'paris', to: 'montreal' })));
    expectOk(report(h, 'montreal', 'promote', 'done'));
    expectOk(forced(h, 'montreal lost too', drOp('pg1', 'failover', 1, { from: 'montreal', to: 'paris' })));
    assert.equal(group(h).spec.failoverEpoch, 2);
    rejected(report(h, 'paris', 'demote', 'done', 1), 'VALIDATION', /epoch 1, but the current operation .* at epoch 2/);
  });

  it('only a failover may be forced', () => {
    const h = withGroup();
    rejected(forced(h, 'why not', drOp('pg1', 'test-failover', 0, { site: 'montreal' })), 'VALIDATION', /only a failover may be forced/);
  });

  it('an ordinary write that changes the primary is a role change: new epoch, steps, and never forced', () => {
    const h = withGroup();
    expectOk(h.write({ op: 'patch', kind: 'protection-group', id: 'pg1', spec: { primarySite: 'montreal', secondarySite: 'paris' } }).result);
    const g = group(h);
    assert.equal(g.spec.failoverEpoch, 1);
    assert.equal(g.dr?.operation?.steps.length, 2);
    assert.equal(g.dr?.history.at(-1)?.event, 'reconfigure');
    const forcedPatch = writeCommand({ clientId: h.clientId, seq: ++h.seq, time: ++h.time, forced: 'x' }, [
      { op: 'patch', kind: 'protection-group', id: 'pg1', spec: { primarySite: 'paris', secondarySite: 'montreal' } },
    ]);
    rejected(h.applyBytes(encodeCommand(forcedPatch)).result, 'VALIDATION', /failover --force/);
    // Other fields change freely and keep the DR state.
    expectOk(h.write({ op: 'patch', kind: 'protection-group', id: 'pg1', spec: { volumeType: 'other' } }).result);
    assert.deepEqual(group(h).dr, g.dr);
    // Another change of primary replaces the unfinished operation with one at the next epoch.
    expectOk(h.write({ op: 'patch', kind: 'protection-group', id: 'pg1', spec: { primarySite: 'paris', secondarySite: 'montreal' } }).result);
    assert.equal(group(h).spec.failoverEpoch, 2);
    assert.deepEqual(group(h).dr?.operation?.steps.map((s) => [s.step, s.site, s.state]), [['demote', 'montreal', 'pending'], ['promote', 'paris', 'pending']]);
  });

  it('a change of both sites still lets the old primary report its demote, and the promote waits for it', () => {
    const h = withGroup();
    expectOk(h.write({ op: 'put', kind: 'site', id: 'tokyo', spec: siteSpec('tokyo', 3, { region: 'ap-ne', country: 'JP' }) }).result);
    expectOk(h.write({ op: 'patch', kind: 'protection-group', id: 'pg1', spec: { primarySite: 'tokyo', secondarySite: 'montreal' } }).result);
    assert.deepEqual(group(h).dr?.operation?.steps.map((s) => [s.step, s.site]), [['demote', 'paris'], ['promote', 'tokyo']]);
    rejected(report(h, 'tokyo', 'promote', 'done'), 'VALIDATION', /must wait for demote on paris/);
    expectOk(report(h, 'paris', 'demote', 'done'));
    expectOk(report(h, 'tokyo', 'promote', 'done'));
    assert.equal(isDrFinished(group(h).dr?.operation ?? null), true);
  });

  it('the sites may not change while a drill runs', () => {
    const h = withGroup();
    expectOk(h.write(drOp('pg1', 'test-failover', 0, { site: 'montreal' })).result);
    rejected(h.write({ op: 'patch', kind: 'protection-group', id: 'pg1', spec: { primarySite: 'montreal', secondarySite: 'paris' } }).result, 'VALIDATION', /drill is running/);
  });
});

describe('protection-group DR: drills', () => {
  it('test-failover starts a copy on the secondary without changing roles; test-cleanup removes it', () => {
    const h = withGroup();
    expectOk(h.write(drOp('pg1', 'test-failover', 0, { site: 'montreal' })).result);
    let g = group(h);
    assert.equal(g.spec.primarySite, 'paris');
    assert.equal(g.spec.failoverEpoch, 0);
    assert.equal(g.dr?.testing, true);
    assert.deepEqual(g.dr?.operation?.steps.map((s) => [s.step, s.site]), [['test-start-1', 'montreal']]);
    rejected(h.write(drOp('pg1', 'failover', 0, { from: 'paris', to: 'montreal' })).result, 'VALIDATION', /drill is running/);
    rejected(forced(h, 'lost', drOp('pg1', 'failover', 0, { from: 'paris', to: 'montreal' })), 'VALIDATION', /test-cleanup/);
    expectOk(report(h, 'montreal', 'test-start-1', 'done'));
    expectOk(h.write(drOp('pg1', 'test-cleanup', 0, { site: 'montreal' })).result);
    g = group(h);
    assert.equal(g.dr?.testing, false);
    assert.deepEqual(g.dr?.operation?.steps.map((s) => s.step), ['test-cleanup-1']);
    rejected(h.write(drOp('pg1', 'test-cleanup', 0, { site: 'montreal' })).result, 'VALIDATION', /no drill is running/);
    expectOk(report(h, 'montreal', 'test-cleanup-1', 'done'));
    expectOk(h.write(drOp('pg1', 'test-failover', 0, { site: 'montreal' })).result);
    assert.equal(group(h).dr?.operation?.steps[0]?.step, 'test-start-2', 'each drill has its own step names, so its idempotency keys differ');
  });

  it('bad reports are refused with the field named', () => {
    const h = withGroup();
    expectOk(h.write(drOp('pg1', 'test-failover', 0, { site: 'montreal' })).result);
    const bad: Array<[Partial<DrOp>, string]> = [
      [{ site: 'tokyo' }, 'site'],
      [{ step: 'promote' }, 'step'],
      [{ state: 'pending' as never }, 'state'],
      [{ attempt: 0 }, 'attempt'],
    ];
    for (const [change, field] of bad) {
      const op = { ...drOp('pg1', 'report', 0, { site: 'montreal', step: 'test-start-1', state: 'done', attempt: 1 }), ...change };
      const result = h.write(op).result;
      assert.equal(!result.ok && result.code === 'VALIDATION' && result.field, field, JSON.stringify(change));
    }
    const mixed = h.write(drOp('pg1', 'ack', 0, { site: 'montreal' }), { op: 'delete', kind: 'protection-group', id: 'pg1' }).result;
    assert.equal(!mixed.ok && mixed.code === 'VALIDATION' && mixed.field, 'ops');
    rejected(h.write(drOp('nope', 'test-failover', 0, { site: 'montreal' })).result, 'NOT_FOUND');
  });

  it('history is bounded', () => {
    const h = withGroup();
    for (let i = 0; i < MAX_DR_HISTORY; i++) {
      expectOk(h.write(drOp('pg1', 'test-failover', 0, { site: 'montreal' })).result);
      expectOk(report(h, 'montreal', `test-start-${i + 1}`, 'done'));
      expectOk(h.write(drOp('pg1', 'test-cleanup', 0, { site: 'montreal' })).result);
      expectOk(report(h, 'montreal', `test-cleanup-${i + 1}`, 'done'));
    }
    assert.equal(group(h).dr?.history.length, MAX_DR_HISTORY);
  });
});

describe('protection-group DR: replicated state', () => {
  it('survives a snapshot and a reload, and every site computes the same records', () => {
    const h = withGroup();
    expectOk(forced(h, 'lost', drOp('pg1', 'failover', 0, { from: 'paris', to: 'montreal' })));
    expectOk(report(h, 'montreal', 'promote', 'done'));
    const copy = new Catalog();
    copy.restore(h.catalog.snapshot());
    assert.deepEqual(copy.get('protection-group', 'pg1'), group(h));
    const reloaded = new Catalog();
    reloaded.load([...h.store.entries()]);
    assert.deepEqual(reloaded.get('protection-group', 'pg1'), group(h));
  });

  it('the leader checks: planned needs both sites live; forced needs the primary cut off and the secondary live', () => {
    const h = withGroup();
    assert.deepEqual(drProposalNeeds([drOp('pg1', 'failover', 0, { from: 'paris', to: 'montreal' })], false), { requireLive: ['montreal', 'paris'], requireUnreachable: [] });
    assert.deepEqual(drProposalNeeds([drOp('pg1', 'failover', 0, { from: 'paris', to: 'montreal' })], true), { requireLive: ['montreal'], requireUnreachable: ['paris'] });
    assert.deepEqual(drProposalNeeds([drOp('pg1', 'test-failover', 0, { site: 'montreal' })], false), { requireLive: ['montreal'], requireUnreachable: [] });
    assert.deepEqual(drProposalNeeds([drOp('pg1', 'report', 0, { site: 'paris' })], false), { requireLive: [], requireUnreachable: [] });
    assert.equal(drProposalNeeds([{ op: 'put', kind: 'flavor', id: 'x', spec: {} }], true), null);
  });
});
