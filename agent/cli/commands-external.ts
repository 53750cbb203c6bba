// Subcommands that are not admin-socket clients: they run the daemon, set up a site, start a local
// dev cluster or the simulator. Each lives in its own module, imported only when its command runs
// (so `stackraft flavor list` never loads libp2p or LevelDB).
//
// The registry maps a command name to a runner `(argv) => exit code`. A runner's module exports
// `run(argv: string[]): Promise<number>` (the lead wires the real ones in).

export type ExternalCommand = (argv: string[]) => Promise<number>;

export interface ExternalCommandEntry {
  summary: string;
  run: ExternalCommand;
}

/**
 * Imports `specifier` (relative to this file) and calls its `run(argv)`. When the module is not part
 * of this build, says so and exits 1 instead of crashing with a stack trace.
 */
export function lazyCommand(name: string, specifier: string, exportName = 'run'): ExternalCommand {
  return async (argv) => {
    const url = new URL(specifier, import.meta.url);
    let module: Record<string, unknown>;
    try {
      module = (await import(url.href)) as Record<string, unknown>;
    } catch (error) {
      const err = error as NodeJS.ErrnoException & { url?: string };
      if (err.code === 'ERR_MODULE_NOT_FOUND' && String(err.message).includes(url.pathname)) {
        process.stderr.write(`stackraft: \`stackraft ${name}\` is not available in this build (missing ${specifier})\n`);
        return 1;
      }
      throw error;
    }
    const run = module[exportName];
    if (typeof run !== 'function') {
      process.stderr.write(`stackraft: \`stackraft ${name}\`: ${specifier} does not export ${exportName}()\n`);
      return 1;
    }
    return (await (run as ExternalCommand)(argv)) ?? 0;
  };
}

export const externalCommands = new Map<string, ExternalCommandEntry>([
  ['init', { summary: 'create this site\'s key, data directory and config', run: lazyCommand('init', '../daemon/init.js') }],
  ['agent', { summary: 'run the agent daemon (what the systemd unit starts)', run: lazyCommand('agent', '../daemon/main.js') }],
  ['dev-cluster', { summary: 'run a local multi-site cluster on 127.0.0.1 for development', run: lazyCommand('dev-cluster', '../dev/cluster.js') }],
  ['sim', { summary: 'run the deterministic chaos simulator', run: lazyCommand('sim', '../../sim/main.js') }],
]);

/** Lets the daemon (or a test) install a runner in place of the lazy module. */
export function registerExternalCommand(name: string, entry: ExternalCommandEntry): void {
  externalCommands.set(name, entry);
}
