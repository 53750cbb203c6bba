// Every command of the `stackraft` program that is not an admin-socket client: the daemon, site
// set-up and the dev cluster (agent/), and the simulator (sim/). This is the one module above every
// folder; nothing in the product imports it.
//
// Each command's module is named here by a literal path, so the compiler checks that it exists and
// exports `run` with the right type, and the layering test (test/layering) sees the arrow. It is
// loaded when its command runs: importing the daemon (libp2p, LevelDB) and the simulator up front
// costs every `stackraft flavor list` about 0.6 s of CPU (measured: 0.24 s -> 0.85 s user).
import type { ExternalCommands } from '../agent/cli/commands-external.js';

/** The compiled entry point (cmd/stackraft.js): the dev cluster starts its agents with it. */
export const PROGRAM_PATH = new URL('./stackraft.js', import.meta.url).pathname;

export const PROCESS_COMMANDS: ExternalCommands = new Map([
  ['init', { summary: 'create this site\'s key, data directory and config', run: async (argv: string[]) => (await import('../agent/daemon/init.js')).run(argv) }],
  ['agent', { summary: 'run the agent daemon (what the systemd unit starts)', run: async (argv: string[]) => (await import('../agent/daemon/main.js')).run(argv) }],
  [
    'dev-cluster',
    { summary: 'run a local multi-site cluster on 127.0.0.1 for development', run: async (argv: string[]) => (await import('../agent/dev/cluster.js')).run(argv, { program: PROGRAM_PATH }) },
  ],
  ['snapshot', { summary: 'save, inspect or restore a backup of the catalog (snapshot save|inspect|restore)', run: async (argv: string[]) => (await import('../agent/recovery/snapshot-command.js')).run(argv) }],
  ['recover', { summary: 'after losing a majority for good: make this survivor a one-voter cluster (recover --force-new-cluster)', run: async (argv: string[]) => (await import('../agent/recovery/recover-command.js')).run(argv) }],
  ['dr-action-mock', { summary: 'the reference DR action for mock clouds (records the servers a step would boot or stop)', run: async (argv: string[]) => (await import('../agent/dr/mock-action-main.js')).run(argv) }],
  ['sim', { summary: 'run the deterministic chaos simulator', run: async (argv: string[]) => (await import('../sim/main.js')).run(argv) }],
]);
