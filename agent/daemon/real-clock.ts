// The Clock port over Node's timers, for the daemon (the simulator uses virtual time instead).
import type { Clock, TimerHandle } from '../../consensus/ports.js';

export const realClock: Clock = {
  now: () => performance.now(),
  setTimer(delayMs: number, callback: () => void): TimerHandle {
    const timer = setTimeout(callback, delayMs);
    // Raft's timers alone must not keep a stopping process alive.
    timer.unref();
    return { cancel: () => clearTimeout(timer) };
  },
};
