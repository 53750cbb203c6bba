// The seam between the catalog's DR workflow and the engine that moves volumes and servers: a step
// the catalog says this site must run is handed to an operator-configured action (an executable,
// an HTTP endpoint, or the reference action) as one JSON document. The contract (README, "Disaster
// recovery"): run the step, idempotently by `idempotencyKey` (group/epoch/step: a retry, or a run
// after an agent restart, carries the same key), within the time given; success or a message.
import type { ProtectionGroupSpec } from '../catalog/index.js';

/** The kind of work a step is (its name without the drill number). */
export type DrStepKind = 'demote' | 'promote' | 'test-start' | 'test-cleanup';

export interface DrActionRequest {
  /** `<group>/<epoch>/<step>`: the same for every attempt of one step. */
  idempotencyKey: string;
  group: string;
  epoch: number;
  step: string;
  kind: DrStepKind;
  /** The site running it (this agent's). */
  site: string;
  /** The operation: failover, failback, test-failover, test-cleanup. */
  operation: string;
  /** The primary before and after the operation (the same site for a drill). */
  fromSite: string;
  toSite: string;
  /** Set on a forced failover: the operator's reason. */
  forcedReason?: string;
  /** 1 for the first attempt of this step on this agent life, then 2, 3, ... */
  attempt: number;
  /** The group as the catalog has it at this epoch: project, volume type, members, mappings. */
  spec: ProtectionGroupSpec;
  /** How long the action has (it is stopped after that and the attempt counts as failed). */
  timeoutMs: number;
}

export type DrActionResult = { ok: true; message: string } | { ok: false; message: string };

export interface DrActionRunner {
  /** How long one attempt may take (agent.yaml dr.action.timeoutMs); the agent's default when absent. */
  readonly timeoutMs?: number;
  /** Never throws: a failure is a result with its message. `signal` aborts at the deadline or at stop. */
  run(request: DrActionRequest, signal: AbortSignal): Promise<DrActionResult>;
}

export function stepKindOf(step: string): DrStepKind | null {
  if (step === 'demote' || step === 'promote') return step;
  if (/^test-start-[0-9]+$/.test(step)) return 'test-start';
  if (/^test-cleanup-[0-9]+$/.test(step)) return 'test-cleanup';
  return null;
}

/** The runner of a site with no action configured: every step fails and says so (nothing is claimed done). */
export const NO_ACTION_RUNNER: DrActionRunner = {
  run: async () => ({ ok: false, message: 'no DR action is configured on this site (agent.yaml dr.action): nothing was run' }),
};
