// The write-status checker: every answer to "what became of write X" is compared with the log.
// First on made-up answers (each lie the agent used to tell is caught; honest answers pass), then on
// a simulated run whose clients abandon unknown writes and skip sequence numbers.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { WriteStatus } from '../../agent/write/catalog-writer.js';
import { FailureLog } from '../../sim/checkers/failure.js';
import { checkWriteStatusAnswers, type FirstApplication, type WriteStatusAnswer } from '../../sim/checkers/write-status.js';
import { DEFAULT_SIM_OPTIONS } from '../../sim/harness/options.js';
import { runSimulation } from '../../sim/harness/simulation.js';

/** The log of these tests: c:1 applied at 10, c:3 rejected (NOT_FOUND) at 12, c:4 only as a stale copy, c:5 applied at 20. */
const LOG = new Map<string, FirstApplication>([
  ['c:1', { index: 10, result: { ok: true, revisions: [10] } }],
  ['c:3', { index: 12, result: { ok: false, code: 'NOT_FOUND', message: 'absent' } }],
  ['c:4', { index: 15, result: { ok: false, code: 'STALE_SEQUENCE', message: 'stale' } }],
  ['c:5', { index: 20, result: { ok: true, revisions: [20] } }],
]);

function verdicts(answers: WriteStatus[]): string[] {
  const log = new FailureLog('1');
  const asked: WriteStatusAnswer[] = answers.map((answer) => ({ writeId: answer.writeId, site: 's1', askedMs: 1, answeredMs: 2, answer }));
  checkWriteStatusAnswers(log, asked, (id) => LOG.get(id));
  return log.failures().map((f) => f.message);
}

describe('write-status checker', () => {
  it('catches "committed" for a sequence the log never applied (the old answer below the last sequence)', () => {
    const failures = verdicts([
      { writeId: 'c:2', status: 'committed', index: 0, revisions: [] },
      { writeId: 'c:4', status: 'committed', index: 0, revisions: [] },
    ]);
    assert.equal(failures.length, 2);
    assert.match(failures[0], /committed at index 0 for write c:2.*the log never applied it/);
  });

  it('catches "not committed" for a write applied at or before the index the answer covers (the lagging follower)', () => {
    const failures = verdicts([
      { writeId: 'c:5', status: 'not-committed', final: false, asOfIndex: 20, message: '' },
      { writeId: 'c:5', status: 'not-committed', final: true, asOfIndex: 19, message: '' },
    ]);
    assert.equal(failures.length, 2);
    assert.match(failures[0], /applied it at index 20 successfully, at or before 20/);
  });

  it('catches a wrong index or verdict', () => {
    const failures = verdicts([
      { writeId: 'c:1', status: 'committed', index: 11, revisions: [] },
      { writeId: 'c:3', status: 'committed', index: 12, revisions: [] },
      { writeId: 'c:1', status: 'rejected', index: 10, code: 'CONFLICT', message: '' },
      { writeId: 'c:3', status: 'rejected', index: 12, code: 'VALIDATION', message: '' },
    ]);
    assert.equal(failures.length, 4);
  });

  it('passes honest answers, and answers that say less than the log', () => {
    const failures = verdicts([
      { writeId: 'c:1', status: 'committed', index: 10, revisions: [] },
      { writeId: 'c:3', status: 'rejected', index: 12, code: 'CONFLICT', message: '' },
      { writeId: 'c:2', status: 'not-committed', final: true, asOfIndex: 30, message: '' },
      { writeId: 'c:4', status: 'not-committed', final: true, asOfIndex: 30, message: '' },
      { writeId: 'c:5', status: 'not-committed', final: false, asOfIndex: 19, message: '' },
      { writeId: 'c:5', status: 'pending', message: '' },
      { writeId: 'c:1', status: 'unknown', appliedIndex: 3, message: '' },
    ]);
    assert.deepEqual(failures, []);
  });

  it('a simulated run with faults: clients ask about abandoned, skipped and settled writes, and every answer matches the log', async () => {
    const r = await runSimulation({ ...DEFAULT_SIM_OPTIONS, sites: 5, voters: 3, durationMs: 30_000, ratePerSec: 20, faults: ['partition-site', 'crash-restart', 'leader-kill', 'duplication', 'reordering'], seed: 3 });
    const row = r.report.checkers.find((c) => c.name === 'write-status');
    assert.equal(row?.verdict, 'pass', JSON.stringify(row));
    const counts = Object.fromEntries([...row!.detail!.matchAll(/(\d+) (committed|rejected|not-committed|unknown|pending)/g)].map((m) => [m[2], Number(m[1])]));
    for (const status of ['committed', 'not-committed']) assert.ok((counts[status] ?? 0) > 0, `some ${status} answers were checked: ${row!.detail}`);
    assert.equal(r.verdict, 'pass', r.failures.map((f) => f.message).join('\n'));
  });
});
