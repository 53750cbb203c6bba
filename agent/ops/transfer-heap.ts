// V8's heap growth while image bits move. The agent runs with a tight old-generation growth
// (memory.heapGrowthPercent, default 50: a full GC once the old generation is half again its live
// size), which bounds its RSS under catalog churn (DESIGN.md, "Memory bounds"). A blob transfer
// allocates in proportion to the bytes it moves (socket reads, Noise plaintexts and ciphertexts,
// 4 MiB chunk buffers, and the small objects libp2p makes for each frame), so with that bound each
// agent ran a full mark-compact every few MiB: 22 on the serving agent and 18 on the fetching one
// for 128 MiB, about a third of their CPU. While a transfer is under way this lets the old
// generation grow as V8 itself would (up to 4x the live size); a few seconds after the last one
// ends the configured growth is back, and V8 applies it at the next GC.
import type { TransferActivity } from '../blobs/ports.js';
import { applyHeapGrowthPercent, MAX_HEAP_GROWTH_PERCENT } from './memory.js';

/** Old-generation growth while a transfer is under way, percent (V8's own factor goes up to 300). */
export const TRANSFER_HEAP_GROWTH_PERCENT = MAX_HEAP_GROWTH_PERCENT;
/** How long after the last transfer ends the configured growth comes back (transfers come in runs of requests). */
export const TRANSFER_HEAP_LINGER_MS = 2_000;

export interface TransferHeapDeps {
  /** The configured growth (memory.heapGrowthPercent). */
  basePercent: number;
  /** Sets V8's growth (applyHeapGrowthPercent); a test passes a recorder. */
  apply?: (percent: number) => void;
  /** Timers (real ones when absent). */
  setTimer?: (ms: number, fire: () => void) => { cancel(): void };
}

export class HeapGrowthWhileTransferring implements TransferActivity {
  private active = 0;
  private raised = false;
  private pendingRestore: { cancel(): void } | null = null;
  private readonly apply: (percent: number) => void;
  private readonly setTimer: (ms: number, fire: () => void) => { cancel(): void };
  private readonly transferPercent: number;

  constructor(private readonly deps: TransferHeapDeps) {
    this.apply = deps.apply ?? applyHeapGrowthPercent;
    this.setTimer =
      deps.setTimer ??
      ((ms, fire) => {
        const timer = setTimeout(fire, ms);
        timer.unref();
        return { cancel: () => clearTimeout(timer) };
      });
    this.transferPercent = Math.max(deps.basePercent, TRANSFER_HEAP_GROWTH_PERCENT);
  }

  /** Transfers under way now. */
  get inProgress(): number {
    return this.active;
  }

  begin(): () => void {
    this.active++;
    this.pendingRestore?.cancel();
    this.pendingRestore = null;
    if (!this.raised && this.transferPercent !== this.deps.basePercent) {
      this.raised = true;
      this.apply(this.transferPercent);
    }
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      this.active--;
      if (this.active === 0 && this.raised) this.pendingRestore = this.setTimer(TRANSFER_HEAP_LINGER_MS, () => this.restore());
    };
  }

  private restore(): void {
    this.pendingRestore = null;
    if (this.active > 0 || !this.raised) return;
    this.raised = false;
    this.apply(this.deps.basePercent);
  }
}
