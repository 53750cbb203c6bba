// The power-loss crash mode of test runs (test/powerloss/). With STACKRAFT_TEST_POWER_LOSS=1 the
// write-ahead log writes through PowerCutFileSystem (bytes not covered by a datasync, creates and
// renames not covered by a directory sync, are undone at the cut) and the store is wrapped in
// PowerLossStore (batches written without sync are held until the next synced one). SIGUSR2 means
// "the power went": held batches are dropped (or a prefix survives), the file system is cut (each
// file keeps a random prefix of its unsynced writes, the last one possibly torn), and the process
// dies at once with SIGKILL. Never set in production; the agent warns at start when it is.
import { randomInt } from 'node:crypto';
import type { Logger, LogStore } from '../../consensus/ports.js';
import { PowerLossStore } from '../../storage/power-loss-store.js';
import { PowerCutFileSystem } from '../../storage/wal/power-cut-fs.js';
import type { WalFileSystem } from '../../storage/wal/file-port.js';

export const POWER_LOSS_ENV = 'STACKRAFT_TEST_POWER_LOSS';
export const POWER_LOSS_SIGNAL = 'SIGUSR2';

export interface PowerLossMode {
  /** The file port the store's log must use. */
  fs: WalFileSystem;
  /** Wraps the opened store and arms the signal. */
  arm(store: LogStore): LogStore;
}

export function powerLossModeFromEnv(logger: Logger, env: NodeJS.ProcessEnv = process.env): PowerLossMode | null {
  if (env[POWER_LOSS_ENV] !== '1') return null;
  const fs = new PowerCutFileSystem();
  logger.warn({ env: POWER_LOSS_ENV }, `TEST MODE: unsynced writes can be lost: ${POWER_LOSS_SIGNAL} cuts the power (drops them and kills the agent)`);
  return {
    fs,
    arm(store) {
      const wrapped = new PowerLossStore(store);
      process.once(POWER_LOSS_SIGNAL, () => void cutThePower(wrapped, fs));
      return wrapped;
    },
  };
}

async function cutThePower(store: PowerLossStore, fs: PowerCutFileSystem): Promise<void> {
  const held = store.heldBatches;
  // Half the time every held batch is lost; otherwise a random prefix of them survives.
  const survivors = randomInt(2) === 0 ? 0 : randomInt(held + 1);
  let line: string;
  try {
    await store.powerLoss(survivors);
    const cut = await fs.powerCut((bound) => randomInt(bound));
    line = `power loss: ${held} unsynced batches held, ${held - survivors} lost; files ${cut.filesTouched}, writes undone ${cut.writesUndone}, kept ${cut.writesKept}, torn ${cut.tornWrites}, creates undone ${cut.createsUndone}, renames undone ${cut.renamesUndone}\n`;
  } catch (error) {
    line = `power loss: the cut itself failed: ${(error as Error).message}\n`;
  }
  // Written synchronously (unlike the logger's buffered stream) before the kill.
  process.stderr.write(line);
  process.kill(process.pid, 'SIGKILL');
}
