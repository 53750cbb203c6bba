// The DR fencing checker on hand-made event sequences: what a site's process death clears (what it
// acts as) and what it keeps (a demote it owes), and that a stale epoch is still caught.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { DrActionRequest } from '../../agent/dr/action.js';
import type { ProtectionGroupSpec } from '../../agent/catalog/index.js';
import { DrFencingChecker } from '../../sim/checkers/dr-fencing.js';

function step(site: string, kind: 'demote' | 'promote', epoch: number): DrActionRequest {
  return {
    idempotencyKey: `pg-1/${epoch}/${kind}`,
    group: 'pg-1',
    epoch,
    step: kind,
    kind,
    site,
    operation: 'failover',
    fromSite: 'a',
    toSite: 'b',
    attempt: 1,
    spec: {} as ProtectionGroupSpec,
    timeoutMs: 1_000,
  };
}

test('a site that died acting at epoch 0 and runs its demote in a new life is no violation', () => {
  const c = new DrFencingChecker();
  c.onActing('a', 'pg-1', 0, 0, true, 'g1', 1_000);
  c.onSiteDown('a');
  // The new life has not applied the group yet when the step starts.
  c.onStepStarted(step('a', 'demote', 1), undefined, 'g1', 2_000);
  assert.deepEqual(c.failures(), []);
});

test('without a death, a step while acting at an epoch the site has not applied is caught', () => {
  const c = new DrFencingChecker();
  c.onActing('a', 'pg-1', 0, 0, true, 'g1', 1_000);
  c.onStepStarted(step('a', 'demote', 1), undefined, 'g1', 2_000);
  assert.equal(c.failures()[0]?.check, 'latest-epoch');
});

test('a fenced site owes its demote across a crash: another step first is caught', () => {
  const c = new DrFencingChecker();
  c.onActing('a', 'pg-1', 0, 0, true, 'g1', 1_000);
  c.onActing('a', 'pg-1', null, 1, false, 'g1', 1_500);
  c.onSiteDown('a');
  c.onStepStarted(step('a', 'promote', 1), 1, 'g1', 2_000);
  assert.equal(c.failures()[0]?.check, 'demote-first');
});
