// Subcommands that are not admin-socket clients: they run the daemon, set up a site, start a local
// dev cluster or the simulator. The program's entry point (cmd/commands.ts) registers them by static
// import and hands them to runCli; the CLI itself imports none of them, so the admin client does
// not depend on the daemon or the simulator.

/** Runs with the arguments after the command name; resolves to the process exit code. */
export type ExternalCommand = (argv: string[]) => Promise<number>;

export interface ExternalCommandEntry {
  summary: string;
  run: ExternalCommand;
}

export type ExternalCommands = ReadonlyMap<string, ExternalCommandEntry>;
