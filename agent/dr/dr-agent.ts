// The agent's side of disaster recovery (DESIGN.md, "Disaster recovery"): for every protection group
// naming this site, act on the latest epoch applied here, and only on it.
// - Fencing: a site that acted as primary and applies an epoch whose primary is another site stops
//   acting as primary at once (in the same apply pass, before anything else runs for the group),
//   says so in its log, and runs its demote step; the report of that step is what the log records.
// - Steps: the catalog's current operation lists the steps and their sites; this agent runs its own,
//   one at a time per group and in the operation's order (a planned promote only after the demote
//   is done), through the configured action, reports running/done/failed through the log, and
//   retries a failed step with backoff. A report that does not commit is sent again later.
import type { Clock, Logger, TimerHandle } from '../../consensus/ports.js';
import { drOp, isDrFinished, type Catalog, type DrOperation, type DrStep, type ResourceOf } from '../catalog/index.js';
import type { CatalogWriter } from '../write/catalog-writer.js';
import { stepKindOf, type DrActionRequest, type DrActionRunner } from './action.js';

/** How long one attempt of an action may run. */
export const DR_ACTION_TIMEOUT_MS = 10 * 60_000;
/** Retry backoff of a failed step: doubles from the first to the cap, with jitter. */
export const DR_RETRY_FIRST_MS = 1000;
export const DR_RETRY_MAX_MS = 5 * 60_000;
/** Steps running at once on one site (each group runs one at a time). */
export const MAX_CONCURRENT_DR_STEPS = 8;
/** How often the agent looks again without a catalog change (retries, reports that did not commit). */
export const DR_SCAN_INTERVAL_MS = 1000;

type Group = ResourceOf<'protection-group'>;

export interface DrObserver {
  /** This site starts (epoch) or stops (null) acting as the group's primary. */
  onActing?(group: string, epoch: number | null): void;
  /** This site is about to run a step's action (the simulator checks the order). */
  onStepStarted?(request: DrActionRequest): void;
}

export interface DrAgentParts {
  site: string;
  catalog: Catalog;
  writer: CatalogWriter;
  runner: DrActionRunner;
  clock: Clock;
  epochMs: () => number;
  random: () => number;
  logger: Logger;
  actionTimeoutMs?: number;
  observer?: DrObserver;
}

interface StepState {
  attempt: number;
  /** Done here and reported committed: not run again while the local log catches up. */
  done?: boolean;
  /** Clock time before which a failed step is not tried again. */
  notBeforeMs: number;
  /** The outcome to report (again, until the log has it). */
  unreported?: { state: 'running' | 'done' | 'failed'; message: string; attempt: number };
}

export class DrAgent {
  /** Epoch at which this site acts as primary, per group. */
  private readonly acting = new Map<string, number>();
  /** Groups whose steps are running now (one at a time per group). */
  private readonly busy = new Set<string>();
  /** Per idempotency key: attempts and what to report. Forgotten when the step is done in the log. */
  private readonly steps = new Map<string, StepState>();
  private readonly aborts = new Set<AbortController>();
  private timer: TimerHandle | null = null;
  private stopped = true;
  private seq = 0;
  private readonly clientId: string;
  /** The catalog's protection-group change count at the last scan. */
  private scannedGroups = -1;
  /**
   * Clock time from which a scan could do something the last one did not, with no group changed
   * since: the earliest retry of a failed step, or at once (-Infinity) after a step's action or
   * report finished (a report left unsent, a group no longer busy, room under the step cap).
   */
  private wakeAtMs = -Infinity;

  constructor(private readonly p: DrAgentParts) {
    this.clientId = `dr/${p.site}/${Math.floor(p.epochMs()).toString(36)}`;
  }

  start(): void {
    this.stopped = false;
    this.scan();
    this.schedule();
  }

  /** Stops scanning and aborts running actions (their attempts count as failed; the next life retries). */
  stop(): void {
    this.stopped = true;
    this.timer?.cancel();
    this.timer = null;
    for (const abort of this.aborts) abort.abort(new Error('the agent is stopping'));
  }

  /**
   * The catalog applied something: fence at once if needed, then look for work. An apply that
   * changed no protection group is skipped unless something is due (wakeAtMs): the scan would find
   * every group as the last one left it, so it could only retry or resend, and those are what
   * wakeAtMs keeps. Most applies touch no group, and scanning every group on each was ~3 % of a
   * simulated site's CPU.
   */
  catalogChanged(): void {
    if (this.stopped) return;
    if (this.p.catalog.changeCount('protection-group') === this.scannedGroups && this.p.clock.now() < this.wakeAtMs) return;
    this.scan();
  }

  /** Epoch at which this site acts as the group's primary, if it does. */
  actingEpoch(group: string): number | undefined {
    return this.acting.get(group);
  }

  private schedule(): void {
    this.timer = this.p.clock.setTimer(DR_SCAN_INTERVAL_MS, () => {
      if (this.stopped) return;
      this.scan();
      this.schedule();
    });
  }

  private scan(): void {
    this.scannedGroups = this.p.catalog.changeCount('protection-group');
    this.wakeAtMs = Infinity;
    // A site the group no longer names may still owe a step (the demote of a primary replaced by a
    // change of both sites), so the current operation's steps count too.
    const mine = this.p.catalog
      .list('protection-group')
      .filter((g) => g.spec.primarySite === this.p.site || g.spec.secondarySite === this.p.site || (g.dr?.operation?.steps.some((s) => s.site === this.p.site) ?? false));
    const seen = new Set(mine.map((g) => g.id));
    for (const [group, epoch] of this.acting) {
      if (!seen.has(group)) this.stopActing(group, epoch, 'the group no longer names this site');
    }
    for (const group of mine) {
      this.fence(group);
      this.startActingIfPromoted(group);
      if (!this.busy.has(group.id)) void this.runNext(group);
    }
  }

  /** Acting as primary at an older epoch, or for a group whose primary is now another site: stop at once. */
  private fence(group: Group): void {
    const epoch = this.acting.get(group.id);
    if (epoch === undefined) return;
    if (group.spec.primarySite === this.p.site && group.spec.failoverEpoch === epoch) return;
    if (group.spec.primarySite === this.p.site) {
      this.stopActing(group.id, epoch, `epoch ${group.spec.failoverEpoch} started; this site acts again once its promote step is done`);
      return;
    }
    this.stopActing(group.id, epoch, `fenced: epoch ${group.spec.failoverEpoch} made ${group.spec.primarySite} the primary; this site stopped acting as primary and runs its demote step`);
  }

  private stopActing(group: string, epoch: number, why: string): void {
    this.acting.delete(group);
    this.p.logger.warn({ group, epoch }, `protection group ${group}: no longer acting as primary (was at epoch ${epoch}): ${why}`);
    this.p.observer?.onActing?.(group, null);
  }

  /** The primary of the latest epoch acts once nothing of its own is left to bring the group up. */
  private startActingIfPromoted(group: Group): void {
    if (group.spec.primarySite !== this.p.site || this.acting.has(group.id)) return;
    const op = group.dr?.operation ?? null;
    const promote = op !== null && op.epoch === group.spec.failoverEpoch ? op.steps.find((s) => s.step === 'promote' && s.site === this.p.site) : undefined;
    if (promote !== undefined && promote.state !== 'done') return;
    this.acting.set(group.id, group.spec.failoverEpoch);
    this.p.logger.info({ group: group.id, epoch: group.spec.failoverEpoch }, `protection group ${group.id}: acting as primary at epoch ${group.spec.failoverEpoch}`);
    this.p.observer?.onActing?.(group.id, group.spec.failoverEpoch);
  }

  /** The first step of this site's in the current operation that may run now, if any. */
  private nextStep(group: Group): { op: DrOperation; step: DrStep } | null {
    const op = group.dr?.operation ?? null;
    if (op === null || isDrFinished(op) || op.epoch !== group.spec.failoverEpoch) return null;
    for (const step of op.steps) {
      if (step.state === 'done') continue;
      if (step.site === this.p.site) return { op, step };
      if (op.forced === undefined) return null; // planned: wait for the other site's earlier step
    }
    return null;
  }

  private async runNext(group: Group): Promise<void> {
    const next = this.nextStep(group);
    if (next === null || this.busy.size >= MAX_CONCURRENT_DR_STEPS) return;
    const key = `${group.id}/${next.op.epoch}/${next.step.step}`;
    const state = this.steps.get(key) ?? { attempt: 0, notBeforeMs: 0 };
    this.steps.set(key, state);
    this.forgetFinishedSteps();
    this.busy.add(group.id);
    let worked = false;
    try {
      if (state.unreported !== undefined) {
        worked = true;
        await this.report(group, next.op, next.step, state);
        return;
      }
      if (state.done) return;
      if (this.p.clock.now() < state.notBeforeMs) {
        this.wakeAtMs = Math.min(this.wakeAtMs, state.notBeforeMs);
        return;
      }
      state.attempt += 1;
      worked = true;
      await this.runAction(group, next.op, next.step, key, state);
    } finally {
      this.busy.delete(group.id);
      // The next apply scans: this group is free again, the cap has room, a report may be unsent.
      if (worked) this.wakeAtMs = -Infinity;
    }
  }

  private async runAction(group: Group, op: DrOperation, step: DrStep, key: string, state: StepState): Promise<void> {
    const kind = stepKindOf(step.step);
    if (kind === null) return;
    const timeoutMs = this.p.runner.timeoutMs ?? this.p.actionTimeoutMs ?? DR_ACTION_TIMEOUT_MS;
    const request: DrActionRequest = {
      idempotencyKey: key,
      group: group.id,
      epoch: op.epoch,
      step: step.step,
      kind,
      site: this.p.site,
      operation: op.action,
      fromSite: op.from,
      toSite: op.to,
      ...(op.forced === undefined ? {} : { forcedReason: op.forced }),
      attempt: state.attempt,
      spec: group.spec,
      timeoutMs,
    };
    state.unreported = { state: 'running', message: `attempt ${state.attempt} started`, attempt: state.attempt };
    const taken = await this.report(group, op, step, state);
    // The catalog may have applied a newer epoch while the report was on its way (a site catching up
    // after a restart chose a step of its old log): the step is run only if it is still this site's
    // next one at the latest epoch applied here, so a fenced site never promotes at an old epoch.
    if (this.stopped || !taken || !this.stillNext(group.id, op.epoch, step.step)) {
      // A refusal while this catalog still shows the step means the log is ahead of it: look again
      // after the first backoff, not on every apply.
      if (!taken) state.notBeforeMs = this.p.clock.now() + DR_RETRY_FIRST_MS;
      this.abandon(group.id, op.epoch, step.step, state, taken ? 'the group moved on while the step was being reported' : 'its running report was refused');
      return;
    }
    this.p.observer?.onStepStarted?.(request);
    const abort = new AbortController();
    this.aborts.add(abort);
    const deadline = this.p.clock.setTimer(timeoutMs, () => abort.abort(new Error(`no result within ${timeoutMs} ms`)));
    let result;
    try {
      result = await this.p.runner.run(request, abort.signal);
    } finally {
      deadline.cancel();
      this.aborts.delete(abort);
    }
    if (this.stopped) return;
    if (result.ok) {
      const fenced = kind === 'demote' && op.forced !== undefined ? 'fenced: demoted after the forced failover to ' + op.to : `${kind} done`;
      state.done = true;
      state.unreported = { state: 'done', message: result.message ? `${fenced}: ${result.message}` : fenced, attempt: state.attempt };
      this.p.logger.info({ group: group.id, epoch: op.epoch, step: step.step }, `protection group ${group.id}: ${fenced} (epoch ${op.epoch})`);
    } else {
      const backoff = Math.min(DR_RETRY_MAX_MS, DR_RETRY_FIRST_MS * 2 ** Math.min(state.attempt - 1, 20));
      state.notBeforeMs = this.p.clock.now() + backoff * (0.5 + this.p.random() / 2);
      state.unreported = { state: 'failed', message: result.message, attempt: state.attempt };
      this.p.logger.warn({ group: group.id, epoch: op.epoch, step: step.step, attempt: state.attempt }, `protection group ${group.id}: step ${step.step} failed (retrying in about ${Math.round(backoff / 1000)} s): ${result.message}`);
    }
    await this.report(group, op, step, state);
  }

  /** Whether the step is still the next one of this site's in the group's current operation, as applied here. */
  private stillNext(groupId: string, epoch: number, step: string): boolean {
    const current = this.p.catalog.get('protection-group', groupId);
    if (current === undefined) return false;
    const next = this.nextStep(current);
    return next !== null && next.op.epoch === epoch && next.step.step === step;
  }

  /** A step not run after all: the attempt did not happen, and nothing of it is left to report. */
  private abandon(groupId: string, epoch: number, step: string, state: StepState, why: string): void {
    state.attempt -= 1;
    delete state.unreported;
    if (!this.stopped) this.p.logger.warn({ group: groupId, epoch, step }, `protection group ${groupId}: step ${step} of epoch ${epoch} not run: ${why}`);
  }

  /**
   * Sends the state to report; kept for the next scan when it does not commit (a lost leader, a
   * partition). False when the log refused it (the step is not one of the current operation).
   */
  private async report(group: Group, op: DrOperation, step: DrStep, state: StepState): Promise<boolean> {
    const pending = state.unreported;
    if (pending === undefined || this.stopped) return true;
    const outcome = await this.p.writer.write(
      [drOp(group.id, 'report', op.epoch, { site: this.p.site, step: step.step, state: pending.state, attempt: pending.attempt, message: pending.message.slice(0, 1000) })],
      { clientId: this.clientId, seq: ++this.seq },
    );
    if (outcome.status === 'committed' || outcome.status === 'rejected') {
      if (state.unreported === pending) delete state.unreported;
      if (outcome.status === 'rejected') this.p.logger.info({ group: group.id, step: step.step }, `protection group ${group.id}: report not taken: ${outcome.message}`);
      return outcome.status === 'committed';
    }
    this.p.logger.debug({ group: group.id, step: step.step, status: outcome.status }, `protection group ${group.id}: report of ${step.step} not committed; sent again later`);
    return true;
  }

  /** Step states are kept only for steps the log does not show done yet (bounded by the groups' current steps). */
  private forgetFinishedSteps(): void {
    for (const key of this.steps.keys()) {
      const [group, epoch, step] = splitKey(key);
      const current = this.p.catalog.get('protection-group', group)?.dr?.operation;
      const live = current?.epoch === epoch && current.steps.some((s) => s.step === step && s.site === this.p.site && s.state !== 'done');
      if (!live && this.steps.get(key)?.unreported === undefined) this.steps.delete(key);
    }
  }
}

function splitKey(key: string): [string, number, string] {
  const last = key.lastIndexOf('/');
  const middle = key.lastIndexOf('/', last - 1);
  return [key.slice(0, middle), Number(key.slice(middle + 1, last)), key.slice(last + 1)];
}
