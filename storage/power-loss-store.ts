// A crash mode for tests: power loss at the store's port. kill -9 keeps the kernel's page cache, so
// a write that was never fsynced survives it and a kill never tests the fsync discipline. This
// wrapper plays the page cache itself: a batch written without sync (StoreBatch.sync === false) is
// held in memory, in order, and reaches the real store only when a later synced batch does (first
// the held ones, then the synced one: LevelDB makes them durable together, as its log does). At
// powerLoss() the held batches are dropped, or a prefix of them survives (a torn tail: LevelDB
// batches are atomic, so a tail tears at batch boundaries), and the process dies at once.
//
// Reads are served by the real store, so a held batch must not change what entries() or term()
// return: only batches that carry nothing but hard state and applied state are held; any other
// unsynced batch (a local snapshot, a compaction) is written through, as if written back at once.
// What this checks is the discipline above the port (which batches are synced before what is
// acknowledged); that LevelDB's synced write really reaches the disk is assumed, not tested here.
import type { Entry } from '../consensus/types.js';
import type { LogStore, StoreBatch, StoreMeta } from '../consensus/ports.js';

/** Held batches before they are written back anyway (the kernel flushes dirty pages eventually too). */
export const MAX_HELD_BATCHES = 4096;

export interface PowerLossStats {
  held: number;
  droppedAtPowerLoss: number;
  survivedAtPowerLoss: number;
}

export class PowerLossStore implements LogStore {
  private held: StoreBatch[] = [];
  /** Serialises writes: held batches must reach the real store in order, before later ones. */
  private queue: Promise<void> = Promise.resolve();
  private lost = false;
  readonly stats: PowerLossStats = { held: 0, droppedAtPowerLoss: 0, survivedAtPowerLoss: 0 };

  constructor(private readonly inner: LogStore) {}

  open(): Promise<StoreMeta> {
    return this.inner.open();
  }

  write(batch: StoreBatch): Promise<void> {
    const run = this.queue.then(() => this.writeInOrder(batch));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async writeInOrder(batch: StoreBatch): Promise<void> {
    if (this.lost) return new Promise<void>(() => undefined); // the machine is off: nothing completes
    if (batch.sync === false && holdable(batch) && this.held.length < MAX_HELD_BATCHES) {
      this.held.push(batch);
      this.stats.held++;
      return;
    }
    await this.writeBack();
    await this.inner.write(batch);
  }

  /** Writes every held batch to the real store (unsynced: the next synced batch makes them durable). */
  private async writeBack(): Promise<void> {
    const held = this.held;
    this.held = [];
    for (const batch of held) await this.inner.write(batch);
  }

  async entries(lo: number, hi: number, maxBytes?: number): Promise<Entry[]> {
    return this.inner.entries(lo, hi, maxBytes);
  }

  async term(index: number): Promise<number | undefined> {
    return this.inner.term(index);
  }

  async records(): Promise<Array<[string, Uint8Array]>> {
    await this.queue;
    await this.writeBack();
    return this.inner.records();
  }

  async close(): Promise<void> {
    await this.queue;
    await this.writeBack();
    await this.inner.close();
  }

  /**
   * Power loss: keeps the first `survivors` held batches (written synced, as if they had reached
   * the disk before the power went) and drops the rest; later writes never complete. The caller
   * then ends the process at once.
   */
  async powerLoss(survivors: number): Promise<void> {
    this.lost = true;
    const held = this.held;
    this.held = [];
    const kept = held.slice(0, Math.max(0, Math.min(survivors, held.length)));
    this.stats.survivedAtPowerLoss += kept.length;
    this.stats.droppedAtPowerLoss += held.length - kept.length;
    for (const batch of kept) await this.inner.write({ ...batch, sync: true });
  }

  get heldBatches(): number {
    return this.held.length;
  }
}

/** Only hard state and applied state: nothing a read of the log depends on. */
function holdable(batch: StoreBatch): boolean {
  return batch.entries === undefined && batch.snapshot === undefined && batch.compactTo === undefined;
}

