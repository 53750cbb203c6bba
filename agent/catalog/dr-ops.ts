// Applies a `dr` op (dr-types.ts) to a protection group: the state machine of failover, forced
// failover, failback and drills, and the reports by which the sites' agents move its steps. Pure and
// deterministic like the rest of apply; a refused op throws SpecError (VALIDATION) or returns CONFLICT.
import { deepFreeze } from './codec.js';
import { MAX_DR_HISTORY, MAX_DR_MESSAGE_CHARS } from './limits.js';
import { SITE_NAME } from './names.js';
import type { Draft } from './resource-store.js';
import { SpecError, checkEnum, checkInt, checkString, rejectUnknownFields, type Fields } from './spec-reader.js';
import {
  DR_ACTIONS,
  DR_REPORTED_STATES,
  isDrFinished,
  type DrAction,
  type DrHistoryEntry,
  type DrOperation,
  type DrState,
  type DrStep,
} from './dr-types.js';
import type { CommandResult, ProtectionGroupSpec, ResourceOf } from './types.js';

type Group = ResourceOf<'protection-group'>;
type DrOutcome = { ok: true; revision: number } | Exclude<CommandResult, { ok: true }>;

export interface DrContext {
  index: number;
  time: number;
  /** The command's forced reason, if any. */
  forced?: string;
}

const DR_OP_FIELDS = ['op', 'kind', 'id', 'action', 'epoch', 'from', 'to', 'site', 'step', 'state', 'attempt', 'message'] as const;

/** A command with a `dr` op holds nothing else: its liveness requirements are the op's alone. */
export function checkDrBatch(rawOps: readonly unknown[]): void {
  const hasDr = rawOps.some((op) => typeof op === 'object' && op !== null && (op as Fields).op === 'dr');
  if (hasDr && rawOps.length > 1) throw new SpecError('ops', 'a dr operation must be the only op of its command');
}

export function executeDrOp(fields: Fields, opIndex: number, draft: Draft, context: DrContext): DrOutcome {
  rejectUnknownFields(fields, DR_OP_FIELDS, '');
  if (fields.kind !== 'protection-group') throw new SpecError('kind', 'a dr operation applies to a protection-group');
  const id = checkString(fields.id, 'id', { min: 1, max: 255 });
  const action = checkEnum(fields.action, 'action', DR_ACTIONS);
  const epoch = checkInt(fields.epoch, 'epoch', { min: 0, max: Number.MAX_SAFE_INTEGER });
  if (context.forced !== undefined && action !== 'failover') {
    throw new SpecError('forced', `only a failover may be forced (not ${action})`);
  }
  const group = draft.get('protection-group', id);
  if (group === undefined) {
    return { ok: false, code: 'NOT_FOUND', kind: 'protection-group', id, message: `protection-group ${id} does not exist`, opIndex };
  }
  const operatorAction = action !== 'report' && action !== 'ack';
  if (operatorAction && epoch !== group.spec.failoverEpoch) {
    const message = `protection-group ${id} is at epoch ${group.spec.failoverEpoch}, not ${epoch}: it changed since it was read; look again`;
    return { ok: false, code: 'CONFLICT', kind: 'protection-group', id, expected: epoch, current: group.spec.failoverEpoch, message, opIndex };
  }
  const next = nextGroup(group, fields, action, epoch, context);
  draft.put(deepFreeze(next));
  return { ok: true, revision: context.index };
}

function nextGroup(group: Group, fields: Fields, action: DrAction, epoch: number, context: DrContext): Group {
  const dr = drStateOf(group);
  switch (action) {
    case 'failover':
      requireSites(group, fields);
      return failover(group, dr, context);
    case 'failback':
      requireSites(group, fields);
      return failback(group, dr, context);
    case 'test-failover':
      requireSecondary(group, fields);
      return testFailover(group, dr, context);
    case 'test-cleanup':
      requireSecondary(group, fields);
      return testCleanup(group, dr, context);
    case 'report':
      return report(group, dr, fields, epoch, context);
    case 'ack':
      return withDr(group, { ...dr, acks: ackedBy(dr, readSite(group, fields), epoch) }, context, 'keep');
  }
}

/** The DR state of a group that has not been through any operation yet. */
export function drStateOf(group: Group): DrState {
  return group.dr ?? { home: group.spec.primarySite, operation: null, drills: 0, testing: false, acks: {}, history: [] };
}

/**
 * The leader checked the sites the op names (dr-write-path.ts); they must still be the group's, or
 * the check was about other sites than the ones this op changes.
 */
function requireSites(group: Group, fields: Fields): void {
  const from = checkString(fields.from, 'from', SITE_NAME);
  const to = checkString(fields.to, 'to', SITE_NAME);
  if (from !== group.spec.primarySite || to !== group.spec.secondarySite) {
    throw new SpecError(
      'from',
      `protection-group ${group.id} has primary ${group.spec.primarySite} and secondary ${group.spec.secondarySite}, not ${from} and ${to}: it changed since it was read`,
    );
  }
}

function requireSecondary(group: Group, fields: Fields): void {
  const site = checkString(fields.site, 'site', SITE_NAME);
  if (site !== group.spec.secondarySite) {
    throw new SpecError('site', `protection-group ${group.id} has secondary ${group.spec.secondarySite}, not ${site}: it changed since it was read`);
  }
}

function readSite(group: Group, fields: Fields): string {
  const site = checkString(fields.site, 'site', SITE_NAME);
  if (site !== group.spec.primarySite && site !== group.spec.secondarySite) {
    throw new SpecError('site', `site ${site} is neither the primary nor the secondary of protection-group ${group.id}`);
  }
  return site;
}

function requireIdle(group: Group, dr: DrState, what: string): void {
  if (dr.testing) throw new SpecError('action', `a drill is running on ${group.spec.secondarySite}: run test-cleanup before ${what}`);
  if (!isDrFinished(dr.operation)) {
    const op = dr.operation as DrOperation;
    const left = op.steps.filter((s) => s.state !== 'done').map((s) => `${s.step} on ${s.site} (${s.state})`);
    throw new SpecError('action', `the ${op.action} at epoch ${op.epoch} has not finished (${left.join(', ')}): ${what} must wait for it`);
  }
}

/**
 * Planned (no forced reason): both sites answered the leader, no operation or drill is running, and
 * the primary is the home site (a group already failed over goes back with failback). Forced: the
 * leader found the primary cut off when it proposed (PEER_REACHABLE otherwise); allowed while an
 * earlier operation is unfinished, since a dead primary may never finish its part.
 */
function failover(group: Group, dr: DrState, context: DrContext): Group {
  if (context.forced === undefined) {
    requireIdle(group, dr, 'a planned failover');
    if (group.spec.primarySite !== dr.home) {
      throw new SpecError('action', `protection-group ${group.id} is already failed over to ${group.spec.primarySite}: use failback to return to ${dr.home}`);
    }
  } else if (dr.testing) {
    throw new SpecError('action', `a drill is running on ${group.spec.secondarySite}: run test-cleanup (it needs only that site) before a forced failover`);
  }
  return roleChange(group, dr, 'failover', context);
}

/** Back to the home site: planned only, once the failover has finished (the home site demoted: it is healthy). */
function failback(group: Group, dr: DrState, context: DrContext): Group {
  if (group.spec.primarySite === dr.home) {
    throw new SpecError('action', `protection-group ${group.id} already has its home site ${dr.home} as primary: nothing to fail back`);
  }
  requireIdle(group, dr, 'failback');
  return roleChange(group, dr, 'failback', context);
}

/** The primary role moves to the secondary at a new epoch; the old primary demotes, the new one promotes. */
function roleChange(group: Group, dr: DrState, action: 'failover' | 'failback', context: DrContext): Group {
  const from = group.spec.primarySite;
  const to = group.spec.secondarySite;
  const epoch = group.spec.failoverEpoch + 1;
  const operation: DrOperation = {
    action,
    epoch,
    index: context.index,
    time: context.time,
    from,
    to,
    ...(context.forced === undefined ? {} : { forced: context.forced }),
    steps: [newStep('demote', from, context), newStep('promote', to, context)],
  };
  const event = context.forced === undefined ? action : 'forced-failover';
  const history = appendHistory(dr.history, {
    index: context.index,
    time: context.time,
    event,
    epoch,
    site: to,
    ...(context.forced === undefined ? {} : { reason: context.forced }),
  });
  const spec: ProtectionGroupSpec = {
    ...group.spec,
    primarySite: to,
    secondarySite: from,
    failoverEpoch: epoch,
    status: action === 'failover' ? 'failing-over' : 'failing-back',
  };
  return withDr({ ...group, spec }, { ...dr, operation, history }, context);
}

function testFailover(group: Group, dr: DrState, context: DrContext): Group {
  requireIdle(group, dr, 'a drill');
  const drills = dr.drills + 1;
  const site = group.spec.secondarySite;
  const epoch = group.spec.failoverEpoch;
  const operation = drillOperation(group, 'test-failover', `test-start-${drills}`, context);
  const history = appendHistory(dr.history, { index: context.index, time: context.time, event: 'test-failover', epoch, site });
  return withDr(group, { ...dr, operation, drills, testing: true, history }, context);
}

function testCleanup(group: Group, dr: DrState, context: DrContext): Group {
  if (!dr.testing) throw new SpecError('action', `no drill is running for protection-group ${group.id}: nothing to clean up`);
  const operation = drillOperation(group, 'test-cleanup', `test-cleanup-${dr.drills}`, context);
  const history = appendHistory(dr.history, {
    index: context.index,
    time: context.time,
    event: 'test-cleanup',
    epoch: group.spec.failoverEpoch,
    site: group.spec.secondarySite,
  });
  return withDr(group, { ...dr, operation, testing: false, history }, context);
}

function drillOperation(group: Group, action: 'test-failover' | 'test-cleanup', step: string, context: DrContext): DrOperation {
  const primary = group.spec.primarySite;
  return {
    action,
    epoch: group.spec.failoverEpoch,
    index: context.index,
    time: context.time,
    from: primary,
    to: primary,
    steps: [newStep(step, group.spec.secondarySite, context)],
  };
}

/**
 * An agent's report about a step it runs. Only for the current operation's epoch: a report from an
 * older epoch (a slow agent, a retry) is refused, so it can never move the state of a newer one.
 * A step already done stays done (an action is idempotent; a duplicate report changes nothing).
 */
function report(group: Group, dr: DrState, fields: Fields, epoch: number, context: DrContext): Group {
  // The site that lost the primary role to a change of both sites is no longer named, but owes its demote.
  const site = dr.operation?.steps.some((s) => s.site === fields.site) === true ? checkString(fields.site, 'site', SITE_NAME) : readSite(group, fields);
  const stepName = checkString(fields.step, 'step', { min: 1, max: 64 });
  const state = checkEnum(fields.state, 'state', DR_REPORTED_STATES);
  const attempt = checkInt(fields.attempt, 'attempt', { min: 1, max: Number.MAX_SAFE_INTEGER });
  const message = fields.message === undefined ? '' : checkString(fields.message, 'message', { min: 0, max: MAX_DR_MESSAGE_CHARS, multiline: true });
  const operation = dr.operation;
  if (operation === null || operation.epoch !== epoch) {
    throw new SpecError('epoch', `report for epoch ${epoch}, but the current operation of protection-group ${group.id} is ${operation === null ? 'none' : `at epoch ${operation.epoch}`}`);
  }
  const at = operation.steps.findIndex((s) => s.step === stepName && s.site === site);
  if (at < 0) throw new SpecError('step', `the ${operation.action} at epoch ${epoch} has no step ${stepName} on ${site}`);
  const current = operation.steps[at] as DrStep;
  if (current.state === 'done') return withDr(group, { ...dr, acks: ackedBy(dr, site, epoch) }, context, 'keep');
  const blocker = operation.forced === undefined ? operation.steps.slice(0, at).find((s) => s.state !== 'done') : undefined;
  if (blocker !== undefined && state !== 'failed') {
    throw new SpecError('step', `step ${stepName} on ${site} must wait for ${blocker.step} on ${blocker.site} (${blocker.state})`);
  }
  const steps = operation.steps.map((s, i) =>
    i === at ? { ...s, state, attempts: Math.max(s.attempts, attempt), message, updatedAt: context.time } : s,
  );
  const nextOperation: DrOperation = { ...operation, steps };
  let history = dr.history;
  if (state !== 'running') {
    history = appendHistory(history, { index: context.index, time: context.time, event: 'step', epoch, site, step: stepName, state, ...(message ? { message } : {}) });
  }
  let spec = group.spec;
  if (isDrFinished(nextOperation)) {
    history = appendHistory(history, { index: context.index, time: context.time, event: 'completed', epoch, site: nextOperation.to });
    if (operation.action === 'failover' || operation.action === 'failback') {
      spec = { ...spec, status: spec.primarySite === dr.home ? 'active' : 'failed-over' };
    }
  }
  return withDr({ ...group, spec }, { ...dr, operation: nextOperation, acks: ackedBy(dr, site, epoch), history }, context, 'keep');
}

/**
 * An ordinary write (put or patch) that changes which site is primary is a role change too: it gets
 * a new epoch and the same demote/promote steps as a planned failover, so every change of primary
 * is fenced the same way. It needs every site it names live (requiredLiveSites) and may not be
 * forced. It replaces an unfinished operation (the sites it names are live, and a site left out
 * still fences itself when it applies the new epoch); it is refused while a drill runs, whose copy
 * on the secondary must be cleaned up first. Returns the spec to store and the DR state.
 */
export function roleChangeOnWrite(current: Group | undefined, spec: ProtectionGroupSpec, context: DrContext): { spec: ProtectionGroupSpec; dr?: DrState } {
  if (current === undefined) return { spec };
  const dr = drStateOf(current);
  const sitesChange = spec.primarySite !== current.spec.primarySite || spec.secondarySite !== current.spec.secondarySite;
  if (sitesChange && dr.testing) {
    throw new SpecError('spec.primarySite', `a drill is running on ${current.spec.secondarySite}: run test-cleanup before changing the sites of protection-group ${current.id}`);
  }
  // The epoch is the catalog's: it moves with every role change, so a writer cannot be expected to
  // know it, and a write that gives a lower one (a put that leaves it out) keeps the current one.
  if (spec.primarySite === current.spec.primarySite) {
    const kept = { ...spec, failoverEpoch: Math.max(spec.failoverEpoch, current.spec.failoverEpoch) };
    return current.dr === undefined ? { spec: kept } : { spec: kept, dr: current.dr };
  }
  if (context.forced !== undefined) {
    throw new SpecError(
      'spec.primarySite',
      'a forced write may not change the primary site: use `protection-group failover --force`, which first checks that the primary is cut off from the leader',
    );
  }
  const epoch = Math.max(spec.failoverEpoch, current.spec.failoverEpoch + 1);
  const from = current.spec.primarySite;
  const operation: DrOperation = {
    action: 'failover',
    epoch,
    index: context.index,
    time: context.time,
    from,
    to: spec.primarySite,
    steps: [newStep('demote', from, context), newStep('promote', spec.primarySite, context)],
  };
  const history = appendHistory(dr.history, { index: context.index, time: context.time, event: 'reconfigure', epoch, site: spec.primarySite });
  return { spec: { ...spec, failoverEpoch: epoch }, dr: { ...dr, home: spec.primarySite, operation, history } };
}

function newStep(step: string, site: string, context: DrContext): DrStep {
  return { step, site, state: 'pending', attempts: 0, message: '', updatedAt: context.time };
}

function ackedBy(dr: DrState, site: string, epoch: number): Record<string, number> {
  if ((dr.acks[site] ?? -1) >= epoch) return dr.acks;
  return { ...dr.acks, [site]: epoch };
}

function appendHistory(history: readonly DrHistoryEntry[], entry: DrHistoryEntry): DrHistoryEntry[] {
  const next = [...history, entry];
  return next.length > MAX_DR_HISTORY ? next.slice(next.length - MAX_DR_HISTORY) : next;
}

/**
 * The group with its new DR state. An operator's operation records its forced reason (or clears the
 * previous one, as an ordinary write does); an agent's report or ack keeps it, so `show` still says
 * why the running failover was forced.
 */
function withDr(group: Group, dr: DrState, context: DrContext, forcedMark: 'set' | 'keep' = 'set'): Group {
  if (forcedMark === 'keep') return { ...group, dr, revision: context.index, updatedAt: context.time };
  const { forced: _previous, ...rest } = group;
  const forced = context.forced === undefined ? {} : { forced: { reason: context.forced, index: context.index, time: context.time } };
  return { ...rest, dr, revision: context.index, updatedAt: context.time, ...forced };
}
