// A step chosen from one epoch must not run once the catalog has applied a newer one. The agent
// reports a step running before its action starts; while that report is on its way the site may
// apply more of the log (seed 5 of the 20-site sweep: toronto, restarted, chose its promote of
// epoch 3 from its replayed log, was fenced by epoch 4 while the report was pending, and then ran
// the promote anyway at epoch 5, with another site primary).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Clock, TimerHandle } from '../../consensus/ports.js';
import { silentLogger } from '../../consensus/ports.js';
import { drOp } from '../../agent/catalog/dr-write-path.js';
import { encodeCommand, writeCommand } from '../../agent/catalog/command.js';
import type { DrActionRequest, DrActionRunner } from '../../agent/dr/action.js';
import { DrAgent } from '../../agent/dr/dr-agent.js';
import type { CatalogWriteOutcome, CatalogWriter } from '../../agent/write/catalog-writer.js';
import { Harness, expectOk, protectionGroupSpec } from '../catalog/helpers.js';

class ManualClock implements Clock {
  nowMs = 0;
  now(): number {
    return this.nowMs;
  }
  setTimer(): TimerHandle {
    return { cancel() {} };
  }
}

function forcedFailover(harness: Harness, epoch: number, from: string, to: string): void {
  harness.time += 1000;
  const bytes = encodeCommand(writeCommand({ clientId: harness.clientId, seq: ++harness.seq, time: harness.time, forced: `${from} lost` }, [drOp('pg1', 'failover', epoch, { from, to })]));
  expectOk(harness.applyBytes(bytes).result);
}

/**
 * montreal owes the promote of a forced failover from paris (epoch 1). `duringRunningReport` is what
 * the log applies while montreal's running report is in flight; the report then gets `status`.
 */
async function montrealPromote(duringRunningReport: (h: Harness) => void, status: CatalogWriteOutcome['status']): Promise<{ runs: DrActionRequest[]; reports: string[]; harness: Harness }> {
  const harness = new Harness();
  harness.addTwoSites();
  expectOk(harness.write({ op: 'put', kind: 'protection-group', id: 'pg1', spec: protectionGroupSpec() }).result);
  forcedFailover(harness, 0, 'paris', 'montreal');
  const runs: DrActionRequest[] = [];
  const reports: string[] = [];
  let agent: DrAgent | undefined;
  let first = true;
  const runner: DrActionRunner = {
    run: async (request) => {
      runs.push(request);
      return { ok: true, message: '' };
    },
  };
  const writer = {
    write: async (ops: Array<{ state?: string; step?: string; epoch?: number }>): Promise<CatalogWriteOutcome> => {
      reports.push(`${ops[0]!.step}@${ops[0]!.epoch}:${ops[0]!.state}`);
      if (first) {
        first = false;
        duringRunningReport(harness);
        agent!.catalogChanged();
        return status === 'committed' ? { status, writeId: 'w', index: 1, revisions: [] } : status === 'rejected' ? { status, writeId: 'w', code: 'VALIDATION', message: 'refused' } as unknown as CatalogWriteOutcome : { status: 'unknown', writeId: 'w', message: 'no answer' };
      }
      return { status: 'committed', writeId: 'w', index: 1, revisions: [] };
    },
  } as unknown as CatalogWriter;
  agent = new DrAgent({ site: 'montreal', catalog: harness.catalog, writer, runner, clock: new ManualClock(), epochMs: () => 0, random: () => 0, logger: silentLogger });
  agent.start();
  for (let i = 0; i < 10; i++) await new Promise((resolve) => setImmediate(resolve));
  agent.stop();
  return { runs, reports, harness };
}

describe('DR agent: a step chosen at an older epoch', () => {
  it('is not run when a newer epoch fenced the site while its running report was in flight', async () => {
    // montreal lost too: forced back to paris at epoch 2, which holds montreal's demote.
    const { runs, reports, harness } = await montrealPromote((h) => forcedFailover(h, 1, 'montreal', 'paris'), 'unknown');
    assert.equal(harness.catalog.get('protection-group', 'pg1')?.spec.failoverEpoch, 2);
    assert.deepEqual(runs.map((r) => `${r.step}@${r.epoch}`), [], 'montreal ran a step of epoch 1 after applying epoch 2');
    assert.equal(reports[0], 'promote@1:running');
  });

  it('is not run when the log refused its running report', async () => {
    const { runs } = await montrealPromote(() => {}, 'rejected');
    assert.deepEqual(runs, []);
  });

  it('still runs when the catalog has not moved, even if the report is not known to have committed', async () => {
    const { runs, reports } = await montrealPromote(() => {}, 'unknown');
    assert.deepEqual(runs.map((r) => `${r.step}@${r.epoch}`), ['promote@1']);
    assert.deepEqual(reports, ['promote@1:running', 'promote@1:done']);
  });
});
