// The CLI's dispatcher: finds the command, parses its options, runs it, and turns every failure into
// a message on stderr and a distinct exit code (errors.ts).
import { AdminClient, DEFAULT_SOCKET_PATH, DEFAULT_WRITE_TIMEOUT_MS } from './client.js';
import { parseCommandLine, parseInteger, type CommandContext, type CommandSpec } from './command.js';
import { allCommands } from './commands/index.js';
import type { ExternalCommands } from './commands-external.js';
import { CliError, EXIT, UsageError } from './errors.js';
import { commandHelp, mainHelp, nounHelp, usageLine } from './help.js';
import type { CliIo } from './io.js';
import { parseFormat } from './output.js';
import { writeAuditOf } from './operator.js';
import { cliVersion } from './version.js';

/** The longest --timeout accepted (the agent caps a write's wait at 120 s). */
const MAX_TIMEOUT_SECONDS = 120;

/** `external`: the process commands (daemon, dev cluster, simulator) the entry point registers. */
export async function runCli(argv: string[], io: CliIo, commands: CommandSpec[] = allCommands(), external: ExternalCommands = new Map()): Promise<number> {
  try {
    return await dispatch(argv, io, commands, external);
  } catch (error) {
    return reportError(error, io, commands);
  }
}

/** Global options that take a value and may come before the command: `stackraft --socket P status`. */
const LEADING_VALUE_OPTIONS = new Set(['--socket', '--timeout', '--operator', '--reason']);

/** Moves leading global options behind the command words, where the command's parser reads them. */
function hoistLeadingOptions(argv: string[]): string[] {
  const leading: string[] = [];
  let i = 0;
  while (i < argv.length) {
    const arg = argv[i];
    const name = arg.split('=')[0];
    if (!LEADING_VALUE_OPTIONS.has(name)) break;
    const width = arg.includes('=') ? 1 : 2;
    leading.push(...argv.slice(i, i + width));
    i += width;
  }
  if (leading.length === 0) return argv;
  const rest = argv.slice(i);
  const words = rest.slice(0, 2).filter((w) => !w.startsWith('-')).length;
  return [...rest.slice(0, words), ...leading, ...rest.slice(words)];
}

async function dispatch(rawArgv: string[], io: CliIo, commands: CommandSpec[], external: ExternalCommands): Promise<number> {
  const argv = hoistLeadingOptions(rawArgv);
  const first = argv[0];
  if (first === undefined || first === '-h' || first === '--help') {
    io.stdout.write(mainHelp(commands, externalSummaries(external)));
    return first === undefined ? EXIT.USAGE : EXIT.OK;
  }
  if (first === '--version') {
    io.stdout.write(`stackraft ${cliVersion()}\n`);
    return EXIT.OK;
  }
  if (first === 'help') return dispatch([...argv.slice(1), '--help'], io, commands, external);

  const processCommand = external.get(first);
  if (processCommand) return processCommand.run(argv.slice(1));

  const found = findCommand(argv, commands, io);
  if ('exitCode' in found) return found.exitCode;
  const { command, rest } = found;
  const parsed = parseCommandLine(command, rest);
  if (parsed.values.help) {
    io.stdout.write(commandHelp(command));
    return EXIT.OK;
  }
  const ctx = buildContext(command, parsed, io);
  try {
    return (await command.run(ctx)) ?? EXIT.OK;
  } finally {
    await ctx.closeClient();
  }
}

/**
 * The command named by the first words of argv, and the arguments after them. A noun alone (or with
 * --help) prints the noun's help instead and gives the exit code.
 */
function findCommand(argv: string[], commands: CommandSpec[], io: CliIo): { command: CommandSpec; rest: string[] } | { exitCode: number } {
  const noun = argv[0];
  const verb = argv[1] === '-h' || argv[1] === '--help' || !argv[1]?.startsWith('-') ? argv[1] : undefined;
  const single = commands.find((c) => c.words.length === 1 && c.words[0] === noun);
  if (single) return { command: single, rest: argv.slice(1) };
  const ofNoun = commands.filter((c) => c.words[0] === noun);
  if (ofNoun.length === 0) throw new UsageError(`unknown command ${JSON.stringify(noun)}; run \`stackraft --help\` for the list`);
  const command = ofNoun.find((c) => c.words[1] === verb);
  if (command) return { command, rest: argv.slice(2) };
  if (verb === '-h' || verb === '--help') {
    io.stdout.write(nounHelp(noun, commands));
    return { exitCode: EXIT.OK };
  }
  io.stderr.write(`stackraft: error: ${verb === undefined ? `\`${noun}\` needs a command` : `unknown command \`${noun} ${verb}\``}\n\n${nounHelp(noun, commands)}`);
  return { exitCode: EXIT.USAGE };
}

interface ContextWithClose extends CommandContext {
  closeClient(): Promise<void>;
}

function buildContext(command: CommandSpec, parsed: ReturnType<typeof parseCommandLine>, io: CliIo): ContextWithClose {
  const { values } = parsed;
  const socketPath = (values.socket as string | undefined) ?? io.env.STACKRAFT_SOCKET ?? DEFAULT_SOCKET_PATH;
  const timeoutText = values.timeout as string | undefined;
  const writeTimeoutMs = timeoutText === undefined ? DEFAULT_WRITE_TIMEOUT_MS : parseInteger('timeout', timeoutText, 1, MAX_TIMEOUT_SECONDS) * 1000;
  const format = parseFormat(values.format as string | undefined);
  let client: AdminClient | undefined;
  const strings = (name: string): string[] => {
    const value = values[name];
    return Array.isArray(value) ? value : typeof value === 'string' ? [value] : [];
  };
  return {
    command,
    positionals: parsed.positionals,
    io,
    socketPath,
    format,
    columns: strings('column'),
    client: () => (client ??= new AdminClient(socketPath, writeTimeoutMs, (message) => io.stderr.write(`stackraft: ${message}\n`), writeAuditOf(values, io))),
    has: (name) => values[name] !== undefined,
    str: (name) => {
      const value = values[name];
      return typeof value === 'string' ? value : undefined;
    },
    strs: strings,
    bool: (name) => values[name] === true,
    closeClient: async () => {
      await client?.close();
    },
  };
}

function externalSummaries(external: ExternalCommands): Array<{ name: string; summary: string }> {
  return [...external].map(([name, entry]) => ({ name, summary: entry.summary }));
}

function reportError(error: unknown, io: CliIo, commands: CommandSpec[]): number {
  if (error instanceof UsageError) {
    const command = commands.find((c) => c.words.join(' ') === error.command);
    io.stderr.write(`stackraft: error: ${error.message}\n`);
    if (command) io.stderr.write(`${usageLine(command)}\nRun \`stackraft ${command.words.join(' ')} --help\` for the options.\n`);
    return error.exitCode;
  }
  if (error instanceof CliError) {
    const code = 'code' in error && typeof error.code === 'string' ? ` [${error.code}]` : '';
    io.stderr.write(`stackraft: error: ${error.message}${code}\n`);
    if (error.hint) io.stderr.write(`hint: ${error.hint}\n`);
    return error.exitCode;
  }
  const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
  io.stderr.write(`stackraft: unexpected error (a bug in the CLI): ${message}\n`);
  return EXIT.UNEXPECTED;
}
