// The daemon's report sink: a syncStatus command per batch, sequence numbers past the catalog's
// session for the reconciler's client (so a restarted agent is never STALE), outcomes mapped to
// retry-later or dropped.
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import type { ProposalOutcome } from '../../consensus/ports.js';
import { decodeCommand, type Session, type SyncReport } from '../../agent/catalog/index.js';
import { ReportRejectedError, reconcilerClientId, replicaReportSink } from '../../agent/reconciler/index.js';

const REPORT: SyncReport = { site: 'paris', kind: 'flavor', id: 'f1', state: 'in-sync', revision: 7 };

function fakeReplica(outcomes: ProposalOutcome[]) {
  const proposed: Array<{ clientId: string; seq: number; time: number; reports: unknown }> = [];
  return {
    proposed,
    propose: async (data: Uint8Array): Promise<ProposalOutcome> => {
      const decoded = decodeCommand(data);
      assert.ok(decoded.ok);
      const command = decoded.command as { clientId: string; seq: number; time: number; type: string; reports: unknown };
      assert.equal(command.type, 'syncStatus');
      proposed.push(command);
      return outcomes.shift() ?? { status: 'committed', index: 1, result: { ok: true, revisions: [] } };
    },
  };
}

describe('replica report sink', () => {
  it('proposes one syncStatus command per batch as reconciler/<site>, sequence past the stored session and increasing', async () => {
    const replica = fakeReplica([]);
    const session = { clientId: reconcilerClientId('paris'), lastSeq: 5_000, lastIndex: 3, lastResult: { ok: true, revisions: [] } } as Session;
    let now = 1_000;
    const sink = replicaReportSink({ site: 'paris', replica, catalog: { session: () => session }, epochMs: () => now });
    await sink([REPORT]);
    await sink([REPORT, { ...REPORT, id: 'f2' }]);
    now = 9_000;
    await sink([REPORT]);
    assert.deepEqual(replica.proposed.map((c) => [c.clientId, c.seq]), [
      ['reconciler/paris', 5_001],
      ['reconciler/paris', 5_002],
      ['reconciler/paris', 9_000],
    ]);
    assert.equal(replica.proposed[2]!.time, 9_000);
    assert.deepEqual(replica.proposed[1]!.reports, [REPORT, { ...REPORT, id: 'f2' }]);
  });

  it('refused and unknown outcomes are retryable errors; a rejected command is ReportRejectedError', async () => {
    const replica = fakeReplica([
      { status: 'refused', code: 'NO_QUORUM', message: 'no quorum' },
      { status: 'unknown', message: 'timed out' },
      { status: 'committed', index: 4, result: { ok: false, code: 'STALE_SEQUENCE', clientId: 'x', seq: 1, lastSeq: 2, message: 'stale' } },
      { status: 'committed', index: 5, result: { ok: false, code: 'VALIDATION', field: 'reports[0].id', message: 'bad id' } },
    ]);
    const sink = replicaReportSink({ site: 'paris', replica, catalog: { session: () => undefined }, epochMs: () => 1 });
    await assert.rejects(sink([REPORT]), (err: Error) => !(err instanceof ReportRejectedError) && /refused \(NO_QUORUM\)/.test(err.message));
    await assert.rejects(sink([REPORT]), (err: Error) => !(err instanceof ReportRejectedError) && /unknown/.test(err.message));
    await assert.rejects(sink([REPORT]), (err: Error) => !(err instanceof ReportRejectedError) && /stale/.test(err.message));
    await assert.rejects(sink([REPORT]), (err: Error) => err instanceof ReportRejectedError && /VALIDATION.*bad id/.test(err.message));
  });
});
