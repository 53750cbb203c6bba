// When the DR agent looks at the protection groups again. It scans them on every apply that changed
// a group; an apply that changed none (most of them) is skipped unless something is due: a failed
// step whose backoff has run out, or an action or report that finished since the last scan (a
// report that did not commit is sent again on the next apply). The 1 s timer never fires here, so
// each retry and resend below comes from an apply.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Clock, TimerHandle } from '../../consensus/ports.js';
import { silentLogger } from '../../consensus/ports.js';
import { drOp } from '../../agent/catalog/dr-write-path.js';
import type { ResourceKind } from '../../agent/catalog/types.js';
import type { DrActionRequest, DrActionResult, DrActionRunner } from '../../agent/dr/action.js';
import { DrAgent, DR_RETRY_FIRST_MS } from '../../agent/dr/dr-agent.js';
import type { CatalogWriteOutcome, CatalogWriter } from '../../agent/write/catalog-writer.js';
import { Harness, expectOk, flavorSpec, protectionGroupSpec } from '../catalog/helpers.js';

class ManualClock implements Clock {
  nowMs = 0;
  now(): number {
    return this.nowMs;
  }
  setTimer(): TimerHandle {
    return { cancel() {} };
  }
}

/** paris is the primary of pg1 and owes the demote of a failover to montreal. */
function failedOverGroup(): Harness {
  const harness = new Harness();
  harness.addTwoSites();
  expectOk(harness.write({ op: 'put', kind: 'protection-group', id: 'pg1', spec: protectionGroupSpec() }).result);
  expectOk(harness.write(drOp('pg1', 'failover', 0, { from: 'paris', to: 'montreal' })).result);
  return harness;
}

interface Rig {
  harness: Harness;
  clock: ManualClock;
  agent: DrAgent;
  runs: DrActionRequest[];
  reports: string[];
  /** How many times the agent listed the protection groups (one per scan). */
  scans: () => number;
  applyFlavor: () => void;
}

function rig(results: boolean[], outcomes: Array<CatalogWriteOutcome['status']>): Rig {
  const harness = failedOverGroup();
  const clock = new ManualClock();
  const runs: DrActionRequest[] = [];
  const reports: string[] = [];
  let scans = 0;
  const catalog = harness.catalog;
  const list = catalog.list.bind(catalog);
  catalog.list = ((kind: ResourceKind, filter?: object) => {
    if (kind === 'protection-group') scans++;
    return list(kind, filter);
  }) as typeof catalog.list;
  const runner: DrActionRunner = {
    run: async (request): Promise<DrActionResult> => {
      runs.push(request);
      return (results.shift() ?? true) ? { ok: true, message: '' } : { ok: false, message: 'simulated failure' };
    },
  };
  const writer = {
    write: async (ops: Array<{ state?: string }>): Promise<CatalogWriteOutcome> => {
      reports.push(ops[0]!.state ?? '?');
      const status = outcomes.shift() ?? 'committed';
      return status === 'committed'
        ? { status, writeId: 'w', index: 1, revisions: [] }
        : { status: 'unknown', writeId: 'w', message: 'no answer' };
    },
  } as unknown as CatalogWriter;
  const agent = new DrAgent({ site: 'paris', catalog, writer, runner, clock, epochMs: () => 0, random: () => 0, logger: silentLogger });
  let flavors = 0;
  const applyFlavor = (): void => {
    expectOk(harness.write({ op: 'put', kind: 'flavor', id: `f${++flavors}`, spec: flavorSpec({ name: `f${flavors}` }) }).result);
    agent.catalogChanged();
  };
  return { harness, clock, agent, runs, reports, scans: () => scans, applyFlavor };
}

async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
}

describe('DR agent: which applies make it scan', () => {
  it('retries a failed step on the first apply at or after its backoff, and does not scan the groups before then', async () => {
    const r = rig([false, true], []);
    r.agent.start();
    await settle();
    assert.equal(r.runs.length, 1);
    assert.deepEqual(r.reports, ['running', 'failed']);
    // random() = 0: the first retry waits half of DR_RETRY_FIRST_MS.
    const due = DR_RETRY_FIRST_MS / 2;
    r.applyFlavor(); // the action finished since the last scan: this apply scans
    await settle();
    const scansAfterFinish = r.scans();
    for (let i = 0; i < 5; i++) {
      r.clock.nowMs = due - 1;
      r.applyFlavor();
      await settle();
    }
    assert.equal(r.scans(), scansAfterFinish, 'an apply that changed no group scanned before anything was due');
    assert.equal(r.runs.length, 1);
    r.clock.nowMs = due;
    r.applyFlavor();
    await settle();
    assert.equal(r.runs.length, 2, 'the retry waited for something other than the first apply after its backoff');
    assert.equal(r.runs[1]!.attempt, 2);
    assert.deepEqual(r.reports, ['running', 'failed', 'running', 'done']);
    r.agent.stop();
  });

  it('sends a report that did not commit again on the next apply, then stops scanning', async () => {
    const r = rig([true], ['committed', 'unknown']);
    r.agent.start();
    await settle();
    assert.deepEqual(r.reports, ['running', 'done']);
    r.applyFlavor();
    await settle();
    assert.deepEqual(r.reports, ['running', 'done', 'done'], 'the unsent report was not sent again on the next apply');
    r.applyFlavor(); // the resend finished: one more scan finds nothing to do
    await settle();
    const scans = r.scans();
    for (let i = 0; i < 5; i++) r.applyFlavor();
    await settle();
    assert.equal(r.scans(), scans);
    assert.deepEqual(r.reports, ['running', 'done', 'done']);
    r.agent.stop();
  });

  it('scans on an apply that changes a group even when nothing is due', async () => {
    const r = rig([false], []);
    r.agent.start();
    await settle();
    r.applyFlavor();
    await settle();
    const scans = r.scans();
    r.applyFlavor();
    assert.equal(r.scans(), scans);
    expectOk(r.harness.write({ op: 'put', kind: 'protection-group', id: 'pg2', spec: protectionGroupSpec({ name: 'pg2' }) }).result);
    r.agent.catalogChanged();
    assert.equal(r.scans(), scans + 1);
    r.agent.stop();
  });
});
