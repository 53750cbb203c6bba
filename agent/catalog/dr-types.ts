// Disaster recovery of a protection group as a workflow (DESIGN.md, "Disaster recovery"): the state
// the catalog keeps beside a group's spec, and the `dr` op that moves it. The spec's primarySite is
// the site acting as primary and spec.failoverEpoch its epoch; this state says how it got there.

/** Operator operations; `report` and `ack` come from the agents of the group's sites. */
export const DR_OPERATOR_ACTIONS = ['failover', 'failback', 'test-failover', 'test-cleanup'] as const;
export type DrOperatorAction = (typeof DR_OPERATOR_ACTIONS)[number];
export const DR_ACTIONS = [...DR_OPERATOR_ACTIONS, 'report', 'ack'] as const;
export type DrAction = (typeof DR_ACTIONS)[number];

export const DR_STEP_STATES = ['pending', 'running', 'done', 'failed'] as const;
export type DrStepState = (typeof DR_STEP_STATES)[number];
/** What an agent may report about a step it runs. */
export const DR_REPORTED_STATES = ['running', 'done', 'failed'] as const;
export type DrReportedState = (typeof DR_REPORTED_STATES)[number];

/**
 * demote: the site that lost the primary role stops acting as primary (for a forced failover, when
 * it comes back: it is fenced). promote: the new primary brings the group up. test-start /
 * test-cleanup: a drill's copy on the secondary, brought up and removed; the primary keeps its role.
 */
export type DrStepName = 'demote' | 'promote' | `test-start-${number}` | `test-cleanup-${number}`;

export interface DrStep {
  /** Unique within (group, epoch): with them, the idempotency key an action receives. */
  step: string;
  site: string;
  state: DrStepState;
  /** Attempts reported so far (a retry after a failure counts one more). */
  attempts: number;
  /** The last report's message (an error for a failed attempt). */
  message: string;
  /** Command time of the last change. */
  updatedAt: number;
}

export interface DrOperation {
  action: DrOperatorAction;
  /** The epoch the operation runs at (a new one for failover and failback). */
  epoch: number;
  /** Log index and command time of the entry that started it. */
  index: number;
  time: number;
  /** The primary before and after (the same site for a drill). */
  from: string;
  to: string;
  /** Present on a forced failover: the operator's reason. */
  forced?: string;
  /** In the order they must finish (a planned promote waits for the demote). */
  steps: DrStep[];
}

export type DrHistoryEvent = DrOperatorAction | 'forced-failover' | 'reconfigure' | 'step' | 'completed';

export interface DrHistoryEntry {
  index: number;
  time: number;
  event: DrHistoryEvent;
  epoch: number;
  site?: string;
  step?: string;
  state?: DrStepState;
  message?: string;
  reason?: string;
}

export interface DrState {
  /** The site a failback returns to: the primary when the group first entered a DR operation. */
  home: string;
  /** The latest operation; finished when every step is done. */
  operation: DrOperation | null;
  /** Drills started so far (names the drill's steps). */
  drills: number;
  /** A drill's copy is up on the secondary (test-failover done or running, no cleanup yet). */
  testing: boolean;
  /** Highest epoch each site has reported applying. */
  acks: Record<string, number>;
  /** Oldest first, at most MAX_DR_HISTORY entries. */
  history: DrHistoryEntry[];
}

/** The `dr` op of a write command. A command holding one holds nothing else. */
export interface DrOp {
  op: 'dr';
  kind: 'protection-group';
  id: string;
  action: DrAction;
  /**
   * Operator actions: the epoch the operator saw (the write is refused with CONFLICT if the group
   * moved on since). report/ack: the epoch the step or acknowledgement belongs to.
   */
  epoch: number;
  /** failover, failback: the primary the operation moves away from and the secondary it moves to, as the proposer saw them. */
  from?: string;
  to?: string;
  /** report, ack: the reporting site; test-failover, test-cleanup: the secondary, as the proposer saw it. */
  site?: string;
  /** report: the step, its new state, the attempt number and a message. */
  step?: string;
  state?: DrReportedState;
  attempt?: number;
  message?: string;
}

export function isDrFinished(operation: DrOperation | null): boolean {
  return operation === null || operation.steps.every((step) => step.state === 'done');
}
