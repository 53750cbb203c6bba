// The client history: every operation with its invocation, completion and outcome in virtual time,
// and how each maps onto registers (one per workload key) for the linearizability checker.
// Unknown outcomes are resolved afterwards from what the logs applied (sim/README.md): applied with
// success → ok, its linearization point no later than the first apply anywhere; applied and
// refused by the state machine → the matching failure; never applied → it never took effect.
import type { HistoryOp, RegisterValue } from '../checkers/linearizability.js';
import { isOk, type ApplyLog } from './apply-log.js';

/**
 * How one op of a write touches its key: 'write' sets the value unconditionally, 'cas' only if the
 * current value is `expected` (an expectedRevision), 'update' only if the key exists (a patch or
 * delete without expectedRevision: NOT_FOUND otherwise).
 */
export interface KeyEffect {
  key: string;
  mode: 'write' | 'cas' | 'update';
  value: RegisterValue;
  expected?: RegisterValue;
}

export type WriteStatus = 'committed' | 'rejected' | 'refused' | 'unknown';

export interface WriteRecord {
  id: number;
  client: string;
  site: string;
  writeId: string;
  invokeMs: number;
  completeMs?: number;
  status?: WriteStatus;
  /** refused: the refusal code; rejected: VALIDATION or CONFLICT. */
  code?: string;
  /** rejected: the op that failed. */
  opIndex?: number;
  effects: KeyEffect[];
  /** Sites a protection-group write names (its new primary and secondary). */
  namedSites: string[];
  /** The write skipped the liveness requirement (only a planted bug does that here). */
  forced: boolean;
  attempts: number;
  /** A DR operation (--dr-failovers): its refusals and rejections are part of the workflow, and a
   *  forced failover names the primary it moves away from (checked: never while reachable from the leader). */
  dr?: { action: string; forcedFrom?: string };
}

export interface ReadRecord {
  id: number;
  client: string;
  site: string;
  key: string;
  invokeMs: number;
  completeMs: number;
  ok: boolean;
  observed?: RegisterValue;
}

export interface LocalRead {
  site: string;
  key: string;
  atMs: number;
  appliedIndex: number;
  value: RegisterValue;
  revision: number;
}

/** Bound on local reads kept for checking (the oldest are kept; the rest are only counted). */
export const MAX_LOCAL_READS_KEPT = 200_000;

export class History {
  private nextId = 1;
  readonly writes: WriteRecord[] = [];
  readonly reads: ReadRecord[] = [];
  readonly localReads: LocalRead[] = [];
  localReadsSeen = 0;

  newId(): number {
    return this.nextId++;
  }

  addLocalRead(r: LocalRead): void {
    this.localReadsSeen++;
    if (this.localReads.length < MAX_LOCAL_READS_KEPT) this.localReads.push(r);
  }

  /**
   * Register operations for the checker, with unknown outcomes resolved from the apply log
   * (`resolve` false keeps them unknown: the harder history a checker faces without the logs).
   */
  toRegisterOps(applied: ApplyLog, resolve = true): { ops: HistoryOp[]; resolvedUnknown: number } {
    const ops: HistoryOp[] = [];
    let resolvedUnknown = 0;
    for (const w of this.writes) {
      let status = w.status ?? 'unknown';
      let completeMs = w.completeMs;
      let opIndex = w.opIndex;
      let code = w.code;
      if (status === 'unknown' && resolve) {
        resolvedUnknown++;
        const first = applied.byWriteId.get(w.writeId);
        completeMs = first?.atMs;
        if (first === undefined || isStale(first.result)) status = 'refused';
        else if (isOk(first.result)) status = 'committed';
        else {
          status = 'rejected';
          ({ code, opIndex } = rejectionOf(first.result));
        }
      }
      w.effects.forEach((effect, j) => {
        ops.push(registerOp(w, effect, j, status, code, opIndex, completeMs));
      });
    }
    for (const r of this.reads) {
      if (!r.ok) continue;
      ops.push({ id: `r${r.id}`, key: r.key, kind: 'read', observed: r.observed ?? null, invokeMs: r.invokeMs, completeMs: r.completeMs, outcome: 'ok', site: r.site, client: r.client });
    }
    return { ops, resolvedUnknown };
  }
}

function registerOp(
  w: WriteRecord,
  effect: KeyEffect,
  j: number,
  status: WriteStatus,
  code: string | undefined,
  opIndex: number | undefined,
  completeMs: number | undefined,
): HistoryOp {
  const base = { id: `w${w.id}.${j}`, key: effect.key, invokeMs: w.invokeMs, site: w.site, client: w.client };
  const done = completeMs ?? w.invokeMs;
  if (status === 'refused') return { ...base, kind: 'write', value: effect.value, completeMs: done, outcome: 'refused' };
  if (status === 'unknown') return { ...base, kind: kindOf(effect), value: effect.value, ...expectedOf(effect), outcome: 'unknown' };
  if (status === 'committed') return { ...base, kind: kindOf(effect), value: effect.value, ...expectedOf(effect), completeMs: done, outcome: 'ok' };
  // Rejected: nothing was written. The failing op says what it saw; the others constrain nothing.
  if (code === 'CONFLICT' && opIndex === j) {
    if (effect.mode === 'cas') return { ...base, kind: 'cas', value: effect.value, expected: effect.expected!, completeMs: done, outcome: 'fail' };
    if (effect.mode === 'update') return { ...base, kind: 'read', observed: null, completeMs: done, outcome: 'ok' };
  }
  return { ...base, kind: 'write', value: effect.value, completeMs: done, outcome: 'fail' };
}

function kindOf(effect: KeyEffect): 'write' | 'cas' {
  return effect.mode === 'cas' ? 'cas' : 'write';
}

function expectedOf(effect: KeyEffect): { expected?: RegisterValue } {
  return effect.mode === 'cas' ? { expected: effect.expected! } : {};
}

function isStale(result: unknown): boolean {
  return typeof result === 'object' && result !== null && (result as { code?: unknown }).code === 'STALE_SEQUENCE';
}

/** The catalog result of a write it refused: NOT_FOUND counts as a CONFLICT, as the write path reports it. */
function rejectionOf(result: unknown): { code: string; opIndex?: number } {
  const r = result as { code?: unknown; opIndex?: unknown };
  const code = r.code === 'NOT_FOUND' || r.code === 'CONFLICT' ? 'CONFLICT' : String(r.code);
  return typeof r.opIndex === 'number' ? { code, opIndex: r.opIndex } : { code };
}
