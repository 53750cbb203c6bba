// write-status: every answer a site gave to "what became of write <client>:<seq>" (the agent's
// GET /v1/writes/:id, CatalogWriter.status) is compared with what the log applied over the whole
// run. An answer may say less than the log (pending, unknown), never more or otherwise:
//  committed at I        the write's first application is at index I and succeeded;
//  rejected at I, code   its first application is at I and the catalog refused it with that code;
//  not committed, final  it is never applied (no entry carries it, or only as a stale sequence);
//  not committed as of N it is not applied at any index up to N.
// The log's side comes from the first application of each write id by any site (ApplyLog), which
// the Raft checkers tie to the one committed log.
import type { WriteStatus } from '../../agent/write/catalog-writer.js';
import type { FailureLog } from './failure.js';

export interface WriteStatusAnswer {
  writeId: string;
  /** The site that answered. */
  site: string;
  askedMs: number;
  answeredMs: number;
  answer: WriteStatus;
}

/** What the log did with a write id: its first application (index and the catalog's result). */
export interface FirstApplication {
  index: number;
  result: unknown;
}

export interface WriteStatusCheck {
  checked: number;
  byStatus: Record<WriteStatus['status'], number>;
}

export function checkWriteStatusAnswers(
  log: FailureLog,
  answers: readonly WriteStatusAnswer[],
  firstApplicationOf: (writeId: string) => FirstApplication | undefined,
): WriteStatusCheck {
  const byStatus: WriteStatusCheck['byStatus'] = { committed: 0, rejected: 0, pending: 0, 'not-committed': 0, unknown: 0 };
  for (const a of answers) {
    byStatus[a.answer.status]++;
    const wrong = contradiction(a.answer, effectiveApplication(firstApplicationOf(a.writeId)));
    if (wrong !== null) {
      log.add('write-status', a.answeredMs, [a.site], `${a.site} answered ${describe(a.answer)} for write ${a.writeId} (asked at ${a.askedMs.toFixed(0)} ms); ${wrong}`, {
        writeId: a.writeId,
        answer: a.answer.status,
      });
    }
  }
  return { checked: answers.length, byStatus };
}

/** The application that executed the write; a stale copy executes nothing. */
function effectiveApplication(first: FirstApplication | undefined): FirstApplication | undefined {
  if (first === undefined) return undefined;
  const code = (first.result as { code?: unknown } | null)?.code;
  return code === 'STALE_SEQUENCE' ? undefined : first;
}

/** Why the log contradicts the answer, or null when it does not. */
function contradiction(answer: WriteStatus, applied: FirstApplication | undefined): string | null {
  const logSays = applied === undefined ? 'the log never applied it' : `the log applied it at index ${applied.index} ${isOk(applied.result) ? 'successfully' : `as ${codeOf(applied.result)}`}`;
  switch (answer.status) {
    case 'pending':
    case 'unknown':
      return null;
    case 'committed':
      return applied !== undefined && applied.index === answer.index && isOk(applied.result) ? null : logSays;
    case 'rejected':
      return applied !== undefined && applied.index === answer.index && !isOk(applied.result) && rejectionCode(applied.result) === answer.code ? null : logSays;
    case 'not-committed':
      if (applied === undefined) return null;
      if (answer.final) return logSays;
      return applied.index <= answer.asOfIndex ? `${logSays}, at or before ${answer.asOfIndex}` : null;
  }
}

function describe(answer: WriteStatus): string {
  switch (answer.status) {
    case 'committed':
    case 'rejected':
      return `${answer.status} at index ${answer.index}`;
    case 'not-committed':
      return answer.final ? 'not committed (final)' : `not committed as of index ${answer.asOfIndex}`;
    default:
      return answer.status;
  }
}

function isOk(result: unknown): boolean {
  return (result as { ok?: unknown } | null)?.ok === true;
}

function codeOf(result: unknown): string {
  return String((result as { code?: unknown } | null)?.code);
}

/** The write path reports NOT_FOUND as a CONFLICT (nothing to patch or delete). */
function rejectionCode(result: unknown): string {
  const code = codeOf(result);
  return code === 'NOT_FOUND' ? 'CONFLICT' : code;
}
