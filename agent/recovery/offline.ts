// What the offline recovery commands (`snapshot restore`, `recover`) share: reading the config,
// making sure the agent is stopped, and reporting errors with the command's name.
import { StorageError } from '../../storage/errors.js';
import { ConfigError, loadConfig } from '../config/load.js';
import { DEFAULT_CONFIG_PATH, type AgentConfig } from '../config/schema.js';
import { probeSocket } from '../admin/socket-file.js';
import { BackupFileError } from './backup-file.js';
import { IncarnationFileError } from './incarnation.js';
import { RecoveryError } from './seed-store.js';

export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_USAGE = 2;

/** A failure the operator can act on: printed as is, exit 1. */
export class OfflineCommandError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OfflineCommandError';
  }
}

export async function loadConfigFor(command: string, path: string | undefined): Promise<AgentConfig> {
  try {
    return await loadConfig(path ?? DEFAULT_CONFIG_PATH);
  } catch (err) {
    if (err instanceof ConfigError) throw new OfflineCommandError(`invalid configuration, nothing was changed:\n${err.message}`);
    throw err;
  }
}

/** These commands rewrite the store: the agent must not have it open. */
export async function requireAgentStopped(config: AgentConfig): Promise<void> {
  let probe;
  try {
    probe = await probeSocket(config.adminSocket);
  } catch (err) {
    throw new OfflineCommandError(`cannot tell whether the agent is running (${(err as Error).message}); stop it first, nothing was changed`);
  }
  if (probe === 'listening') {
    throw new OfflineCommandError(`the agent of this site is running (it serves ${config.adminSocket}); stop it first (systemctl stop stackraft-agent), nothing was changed`);
  }
}

/** Prints an expected failure as one message and returns its exit code; anything else is a bug and is rethrown. */
export function reportFailure(command: string, err: unknown, stderr: NodeJS.WritableStream): number {
  if (err instanceof OfflineCommandError || err instanceof BackupFileError || err instanceof RecoveryError || err instanceof IncarnationFileError || err instanceof StorageError) {
    stderr.write(`stackraft ${command}: ${err.message}\n`);
    return EXIT_FAILED;
  }
  const code = (err as NodeJS.ErrnoException).code;
  if (typeof code === 'string' && /^E[A-Z]+$/.test(code)) {
    stderr.write(`stackraft ${command}: ${(err as Error).message}\n`);
    return EXIT_FAILED;
  }
  throw err;
}
