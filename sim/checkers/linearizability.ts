// Linearizability of a client history against a register per catalog key.
//
// The history is split per key (registers on different keys are independent, so the whole history
// is linearizable iff every key's is: locality / P-compositionality), and each key is searched
// with the Wing & Gong algorithm in Lowe's "just-in-time" form: walk the time-ordered list of call
// and return events; at a call, try to linearize that operation now; at a return whose operation
// is not yet linearized, backtrack. States already explored — (set of linearized operations,
// register value) — are remembered and never explored twice, which keeps real histories fast.
//
// Outcomes: an operation that is 'refused' (or a write that 'fail'ed) was definitely not applied
// and constrains nothing; a read that did not answer constrains nothing; an 'unknown' write or CAS
// may take effect at any point after its invocation, or never. A CAS that 'fail'ed was applied and
// saw a value other than the expected one. Events at the same instant are taken as concurrent
// (calls sort before returns), the reading that never reports a false violation.
//
// Unknown outcomes are what makes the search expensive (each stays a candidate forever). When the
// harness can tell afterwards whether an unknown write was applied (its write id in the converged
// log), it should say so: outcome 'ok' with completeMs = when it was first applied anywhere (its
// linearization point is no later), or 'refused' if no site ever applied it.
//
// Budget. Each key's search may take `maxMsPerKey` of time read through an injected clock (the
// CLI and the sweep pass the wall clock; the simulator's own modules never read it). A search cut
// short is 'inconclusive', never 'pass'. A pass or fail is a function of the history alone (the
// search is deterministic; the budget can only stop it early), so replaying the seed reproduces it;
// an inconclusive verdict depends on the machine's speed and load and may be decided on replay.
// That is why no verdict, step count or budget enters the run's trace hash: the hash says what the
// sites did, the checkers judge it afterwards. Without a clock (library callers, tests that need a
// bound that does not depend on the machine) the search is bounded by steps instead. A key whose
// memo reaches MAX_MEMO_STATES_PER_KEY is inconclusive too, so memory stays bounded whatever the
// time budget.
import { FailureLog, type CheckFailure } from './failure.js';

/** A register's value; null = the key is absent. */
export type RegisterValue = string | number | null;

export type OpOutcome = 'ok' | 'fail' | 'unknown' | 'refused';

export interface HistoryOp {
  id: string | number;
  key: string;
  kind: 'write' | 'read' | 'cas';
  /** write: the value written (null deletes the key); cas: the new value. */
  value?: RegisterValue;
  /** cas: the value compared with. */
  expected?: RegisterValue;
  /** read with outcome 'ok': the value returned (null = absent). */
  observed?: RegisterValue;
  invokeMs: number;
  /** When the caller learnt the outcome; required unless 'unknown' (an unknown op never returns). */
  completeMs?: number;
  outcome: OpOutcome;
  /** The site the client talked to (reported with a violation). */
  site?: string;
  client?: string;
}

/** Elapsed time in ms from any origin (monotonic): only differences are used. */
export interface ElapsedClock {
  nowMs(): number;
}

export interface LinearizabilityOptions {
  /** Seed printed with failures. */
  seed?: string;
  /** Reads time for the search budget. Without it, the search is bounded by steps only. */
  clock?: ElapsedClock;
  /** Time one key's search may take when a clock is given (default DEFAULT_MAX_MS_PER_KEY). */
  maxMsPerKey?: number;
  /**
   * Search steps allowed per key: a bound that does not depend on the machine. Default: none with a
   * clock, FALLBACK_MAX_STEPS_PER_KEY without one.
   */
  maxStepsPerKey?: number;
  /** Memoised states per key before the key is inconclusive (default MAX_MEMO_STATES_PER_KEY). */
  maxMemoStatesPerKey?: number;
  /** Value of a key before the history (default: absent). */
  initialValue?: (key: string) => RegisterValue;
}

/** A second of search per key decides every history the simulator's workload produces in practice. */
export const DEFAULT_MAX_MS_PER_KEY = 1_000;
/** The step bound without a clock: about a second of search on a loaded 2-core machine (0.4-0.9 M steps/s). */
export const FALLBACK_MAX_STEPS_PER_KEY = 1_000_000;
/** Memoised (linearized set, value) states per key; past it the key is inconclusive (bounds memory). */
export const MAX_MEMO_STATES_PER_KEY = 1_000_000;
/** Steps between two reads of the clock (a read costs far more than a step). */
const CLOCK_EVERY_STEPS = 1_024;

export type KeyVerdict = 'pass' | 'fail' | 'inconclusive';

/** What stopped an inconclusive search. */
export type SearchBound = 'time' | 'steps' | 'memory';

interface SearchBudget {
  clock: ElapsedClock | undefined;
  maxMs: number;
  maxSteps: number;
  maxMemoStates: number;
}

export interface KeyResult {
  key: string;
  verdict: KeyVerdict;
  /** Operations that constrain the search (refused ones and unanswered reads left out). */
  ops: number;
  steps: number;
  /** On 'inconclusive': the bound the search reached. */
  bound?: SearchBound;
  /** On 'fail': ids linearized at the furthest point the search reached, in order. */
  longestPrefix?: Array<string | number>;
  /** On 'fail': the operation that could not be placed there. */
  blockingOp?: string | number;
}

export interface LinearizabilityResult {
  verdict: KeyVerdict;
  keys: KeyResult[];
  failures: CheckFailure[];
  inconclusiveKeys: string[];
  steps: number;
}

export function checkLinearizability(history: readonly HistoryOp[], options: LinearizabilityOptions = {}): LinearizabilityResult {
  const seed = options.seed ?? '?';
  const budget: SearchBudget = {
    clock: options.clock,
    maxMs: options.maxMsPerKey ?? DEFAULT_MAX_MS_PER_KEY,
    maxSteps: options.maxStepsPerKey ?? (options.clock ? Infinity : FALLBACK_MAX_STEPS_PER_KEY),
    maxMemoStates: Math.min(options.maxMemoStatesPerKey ?? MAX_MEMO_STATES_PER_KEY, MAX_MEMO_STATES_PER_KEY),
  };
  const initial = options.initialValue ?? (() => null);
  const byKey = new Map<string, HistoryOp[]>();
  for (const op of history) {
    validateOp(op);
    let list = byKey.get(op.key);
    if (!list) byKey.set(op.key, (list = []));
    list.push(op);
  }
  const log = new FailureLog(seed);
  const keys: KeyResult[] = [];
  let steps = 0;
  for (const key of [...byKey.keys()].sort()) {
    const ops = byKey.get(key)!;
    const r = checkRegister(key, ops, initial(key), budget);
    keys.push(r);
    steps += r.steps;
    if (r.verdict === 'fail') reportViolation(log, r, ops);
  }
  const inconclusiveKeys = keys.filter((k) => k.verdict === 'inconclusive').map((k) => k.key);
  const verdict: KeyVerdict = keys.some((k) => k.verdict === 'fail') ? 'fail' : inconclusiveKeys.length > 0 ? 'inconclusive' : 'pass';
  return { verdict, keys, failures: log.failures(), inconclusiveKeys, steps };
}

function validateOp(op: HistoryOp): void {
  const where = `history op ${String(op.id)} (key ${op.key})`;
  if (!['write', 'read', 'cas'].includes(op.kind)) throw new Error(`${where}: unknown kind "${op.kind}"`);
  if (!['ok', 'fail', 'unknown', 'refused'].includes(op.outcome)) throw new Error(`${where}: unknown outcome "${op.outcome}"`);
  if (!Number.isFinite(op.invokeMs)) throw new Error(`${where}: invokeMs must be a finite number`);
  if (op.outcome !== 'unknown') {
    if (op.completeMs === undefined || !Number.isFinite(op.completeMs)) throw new Error(`${where}: completeMs is required for outcome ${op.outcome}`);
    if (op.completeMs < op.invokeMs) throw new Error(`${where}: completes (${op.completeMs}) before it is invoked (${op.invokeMs})`);
  }
  if (op.kind !== 'read' && op.value === undefined) throw new Error(`${where}: ${op.kind} needs a value`);
  if (op.kind === 'cas' && op.expected === undefined) throw new Error(`${where}: cas needs an expected value`);
  if (op.kind === 'read' && op.outcome === 'ok' && op.observed === undefined) throw new Error(`${where}: an ok read needs observed`);
}

/** Does the op constrain the register at all? */
function constrains(op: HistoryOp): boolean {
  if (op.outcome === 'refused') return false;
  if (op.kind === 'write') return op.outcome !== 'fail';
  if (op.kind === 'read') return op.outcome === 'ok';
  return true; // cas: ok, fail (compare failed) and unknown all say something
}

/** The register's transition for one op, or undefined when the op cannot happen in `state`. */
function stepRegister(op: HistoryOp, state: RegisterValue): RegisterValue | undefined {
  switch (op.kind) {
    case 'write':
      return op.value!;
    case 'read':
      return op.observed === state ? state : undefined;
    case 'cas':
      if (op.outcome === 'ok') return state === op.expected ? op.value! : undefined;
      if (op.outcome === 'fail') return state !== op.expected ? state : undefined;
      return state === op.expected ? op.value! : state; // unknown: applied with whatever it found
  }
}

function stateKey(v: RegisterValue): string {
  return v === null ? '-' : typeof v === 'number' ? `n${v}` : `s${v}`;
}

/** (linearized set, value) as a string: the count of leading all-ones words, then the rest up to the last non-zero word. */
function memoKey(words: Uint32Array, value: RegisterValue): string {
  let lo = 0;
  while (lo < words.length && words[lo] === 0xffffffff) lo++;
  let hi = words.length;
  while (hi > lo && words[hi - 1] === 0) hi--;
  return `${lo}:${words.subarray(lo, hi).join(',')}|${stateKey(value)}`;
}

interface EventNode {
  opIndex: number;
  isCall: boolean;
  time: number;
  prev: EventNode | null;
  next: EventNode | null;
  /** call → its return. */
  match: EventNode | null;
}

/**
 * Unknown writes whose value nobody observed can be taken as never applied: applying one only
 * changes what reads and compares in its wake could see, and none saw its value. A failed compare
 * could depend on the overwritten value, so keys with failed compares keep them all. This prunes
 * the search exponentially for histories with many timeouts.
 */
function pruneUnobservedUnknownWrites(ops: readonly HistoryOp[]): HistoryOp[] {
  if (ops.some((o) => o.kind === 'cas' && o.outcome === 'fail')) return [...ops];
  const observed = new Set<RegisterValue>();
  for (const o of ops) {
    if (o.kind === 'read') observed.add(o.observed!);
    if (o.kind === 'cas') observed.add(o.expected!);
  }
  return ops.filter((o) => !(o.kind === 'write' && o.outcome === 'unknown' && !observed.has(o.value!)));
}

/** A read or successful compare of a value no operation could have produced: no search needed. */
function impossibleObservation(ops: readonly HistoryOp[], initial: RegisterValue): HistoryOp | undefined {
  const producible = new Set<RegisterValue>([initial]);
  for (const o of ops) if (o.kind !== 'read') producible.add(o.value!);
  return ops.find((o) => (o.kind === 'read' && !producible.has(o.observed!)) || (o.kind === 'cas' && o.outcome === 'ok' && !producible.has(o.expected!)));
}

function checkRegister(key: string, allOps: readonly HistoryOp[], initial: RegisterValue, budget: SearchBudget): KeyResult {
  // In invocation order, the linearized set is mostly a run of leading ones: short memo keys.
  const ops = pruneUnobservedUnknownWrites(allOps.filter(constrains)).sort((a, b) => a.invokeMs - b.invokeMs);
  const impossible = impossibleObservation(ops, initial);
  if (impossible) return { key, verdict: 'fail', ops: ops.length, steps: 0, longestPrefix: [], blockingOp: impossible.id };
  const head = buildEventList(ops);
  const words = new Uint32Array(Math.ceil(ops.length / 32) || 1);
  const seen = new Set<string>();
  const stack: Array<{ call: EventNode; before: RegisterValue }> = [];
  const deadline = budget.clock ? budget.clock.nowMs() + budget.maxMs : Infinity;
  let state = initial;
  let entry = head.next;
  let steps = 0;
  let deepest = -1;
  let longestPrefix: Array<string | number> = [];
  let blockingOp: string | number | undefined;
  const stopped = (bound: SearchBound): KeyResult => ({ key, verdict: 'inconclusive', ops: ops.length, steps, bound });

  for (;;) {
    if (++steps > budget.maxSteps) return stopped('steps');
    if (steps % CLOCK_EVERY_STEPS === 0 && budget.clock && budget.clock.nowMs() >= deadline) return stopped('time');
    // Only 'unknown' operations return at +∞: reaching one means every definite op is placed.
    if (entry === null || (!entry.isCall && entry.time === Infinity)) {
      return { key, verdict: 'pass', ops: ops.length, steps };
    }
    if (entry.isCall) {
      const after = stepRegister(ops[entry.opIndex], state);
      if (after !== undefined) {
        words[entry.opIndex >>> 5] |= 1 << (entry.opIndex & 31);
        const memo = memoKey(words, after);
        if (!seen.has(memo)) {
          if (seen.size >= budget.maxMemoStates) return stopped('memory');
          seen.add(memo);
          stack.push({ call: entry, before: state });
          state = after;
          lift(entry);
          entry = head.next;
          continue;
        }
        words[entry.opIndex >>> 5] &= ~(1 << (entry.opIndex & 31));
      }
      entry = entry.next;
      continue;
    }
    // A definite op returned before anything could linearize it: undo the last choice.
    if (stack.length > deepest) {
      deepest = stack.length;
      longestPrefix = stack.map((s) => ops[s.call.opIndex].id);
      blockingOp = ops[entry.opIndex].id;
    }
    const top = stack.pop();
    if (!top) return { key, verdict: 'fail', ops: ops.length, steps, longestPrefix, blockingOp };
    state = top.before;
    words[top.call.opIndex >>> 5] &= ~(1 << (top.call.opIndex & 31));
    unlift(top.call);
    entry = top.call.next;
  }
}

/** A doubly linked list (behind a sentinel head) of call and return events in time order. */
function buildEventList(ops: readonly HistoryOp[]): EventNode {
  const nodes: EventNode[] = [];
  ops.forEach((op, i) => {
    const ret: EventNode = { opIndex: i, isCall: false, time: op.outcome === 'unknown' ? Infinity : op.completeMs!, prev: null, next: null, match: null };
    const call: EventNode = { opIndex: i, isCall: true, time: op.invokeMs, prev: null, next: null, match: ret };
    nodes.push(call, ret);
  });
  nodes.sort((a, b) => a.time - b.time || (a.isCall === b.isCall ? 0 : a.isCall ? -1 : 1) || a.opIndex - b.opIndex);
  const head: EventNode = { opIndex: -1, isCall: false, time: -Infinity, prev: null, next: null, match: null };
  let prev = head;
  for (const node of nodes) {
    prev.next = node;
    node.prev = prev;
    prev = node;
  }
  return head;
}

function lift(call: EventNode): void {
  call.prev!.next = call.next;
  call.next!.prev = call.prev;
  const ret = call.match!;
  ret.prev!.next = ret.next;
  if (ret.next) ret.next.prev = ret.prev;
}

function unlift(call: EventNode): void {
  const ret = call.match!;
  ret.prev!.next = ret;
  if (ret.next) ret.next.prev = ret;
  call.prev!.next = call;
  call.next!.prev = call;
}

function reportViolation(log: FailureLog, r: KeyResult, ops: readonly HistoryOp[]): void {
  const blocking = ops.find((o) => o.id === r.blockingOp);
  const atMs = blocking?.completeMs ?? blocking?.invokeMs ?? 0;
  // The sites of the blocking op and of every op overlapping it in time.
  const sites = blocking
    ? ops
        .filter((o) => o.invokeMs <= (blocking.completeMs ?? Infinity) && (o.outcome === 'unknown' || o.completeMs! >= blocking.invokeMs))
        .map((o) => o.site)
        .filter((s): s is string => s !== undefined)
    : [];
  const what = blocking ? describeOp(blocking) : 'an operation';
  log.add(
    'linearizability',
    atMs,
    sites,
    `key ${r.key}: no linearization of ${r.ops} operations; the search placed at most ${r.longestPrefix?.length ?? 0}, then ${what} could not take effect before it returned`,
    { key: r.key, longestPrefix: r.longestPrefix, blockingOp: r.blockingOp },
  );
}

function describeOp(op: HistoryOp): string {
  const v = (x: RegisterValue | undefined): string => (x === null ? 'absent' : JSON.stringify(x));
  const span = `[${op.invokeMs}, ${op.completeMs ?? '∞'}] ms`;
  switch (op.kind) {
    case 'write':
      return `write ${String(op.id)} of ${v(op.value)} ${span}`;
    case 'read':
      return `read ${String(op.id)} returning ${v(op.observed)} ${span}`;
    case 'cas':
      return `cas ${String(op.id)} ${v(op.expected)}→${v(op.value)} (${op.outcome}) ${span}`;
  }
}
