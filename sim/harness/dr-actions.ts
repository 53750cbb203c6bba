// The simulator's DR action (the SitePorts.drActions port): a step takes a virtual while and fails
// now and then, on the site's own clock, so the agent's retries, reports and fencing run as they
// would against a real engine.
import type { Clock } from '../../consensus/ports.js';
import type { DrActionRequest, DrActionResult, DrActionRunner } from '../../agent/dr/action.js';

/** A step takes this long, uniformly. */
export const SIM_DR_STEP_MS: readonly [number, number] = [200, 2000];
/** Share of attempts that fail. */
export const SIM_DR_FAILURE_RATE = 0.1;

export class SimDrActions implements DrActionRunner {
  constructor(
    private readonly clock: Clock,
    private readonly random: () => number,
  ) {}

  run(request: DrActionRequest, signal: AbortSignal): Promise<DrActionResult> {
    const [min, max] = SIM_DR_STEP_MS;
    const delay = min + this.random() * (max - min);
    const fails = this.random() < SIM_DR_FAILURE_RATE;
    return new Promise((resolve) => {
      const onAbort = (): void => {
        timer.cancel();
        resolve({ ok: false, message: `${request.idempotencyKey}: stopped` });
      };
      const timer = this.clock.setTimer(delay, () => {
        signal.removeEventListener('abort', onAbort);
        resolve(fails ? { ok: false, message: `${request.idempotencyKey}: simulated failure` } : { ok: true, message: '' });
      });
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }
}
