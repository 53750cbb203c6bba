// What a CLI command is: its words, options, positional arguments and run function. Parsing is
// node:util parseArgs (strict), with typed accessors that turn bad values into usage errors.
import { parseArgs } from 'node:util';
import type { AdminClient } from './client.js';
import { UsageError } from './errors.js';
import type { CliIo } from './io.js';
import type { OutputFormat } from './output.js';

export interface OptionSpec {
  type: 'string' | 'boolean';
  short?: string;
  multiple?: boolean;
  /** Placeholder shown in help, e.g. 'N' or 'K=V'. */
  value?: string;
  help: string;
}

export type OutputKind = 'show' | 'list';

export interface CommandSpec {
  /** The words that name it: ['flavor', 'create'] or ['status']. */
  words: string[];
  summary: string;
  /** Positional arguments in the usage line, e.g. 'NAME' or 'ID|NAME [ID|NAME ...]'. */
  args?: string;
  positionals: { min: number; max: number };
  options: Record<string, OptionSpec>;
  /** Show and list commands accept -f/--format and -c/--column. */
  output?: OutputKind;
  /** Free text after the option list (examples, notes). */
  notes?: string;
  run(ctx: CommandContext): Promise<number | void>;
}

export interface CommandContext {
  readonly command: CommandSpec;
  readonly positionals: string[];
  readonly io: CliIo;
  readonly socketPath: string;
  /** Output format and selected columns (show/list commands). */
  readonly format: OutputFormat;
  readonly columns: string[];
  /** The admin API client (connects on first use). */
  client(): AdminClient;
  has(name: string): boolean;
  str(name: string): string | undefined;
  strs(name: string): string[];
  bool(name: string): boolean;
}

/** Options every command accepts. */
export const GLOBAL_OPTIONS: Record<string, OptionSpec> = {
  socket: { type: 'string', value: 'PATH', help: 'admin socket of the agent (env STACKRAFT_SOCKET; default /run/stackraft/admin.sock)' },
  timeout: { type: 'string', value: 'SECONDS', help: 'how long a write may wait for its outcome (default 30)' },
  operator: { type: 'string', value: 'NAME', help: 'who is asking, recorded with every write (default: $SUDO_USER, else the login user)' },
  reason: { type: 'string', value: 'TEXT', help: 'why, recorded with every write (`stackraft audit list`); required with --force' },
  help: { type: 'boolean', short: 'h', help: 'show this help' },
};

export const OUTPUT_OPTIONS: Record<string, OptionSpec> = {
  format: { type: 'string', short: 'f', value: 'FORMAT', help: 'output format: table (default), json, yaml, value' },
  column: { type: 'string', short: 'c', multiple: true, value: 'COLUMN', help: 'show only this column' },
};

export function optionsOf(command: CommandSpec): Record<string, OptionSpec> {
  return { ...command.options, ...(command.output ? OUTPUT_OPTIONS : {}), ...GLOBAL_OPTIONS };
}

export interface ParsedCommandLine {
  values: Record<string, string | boolean | string[] | undefined>;
  positionals: string[];
}

/** A value such as -1 (an unlimited quota) that parseArgs would otherwise take for an option. */
const NEGATIVE_NUMBER = /^-\d+(\.\d+)?$/;

/** `--cores -1` -> `--cores=-1`, for options that take a value. */
function attachNegativeValues(argv: string[], options: Record<string, OptionSpec>): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const name = arg.startsWith('--') && !arg.includes('=') ? arg.slice(2) : undefined;
    if (name !== undefined && options[name]?.type === 'string' && NEGATIVE_NUMBER.test(argv[i + 1] ?? '')) {
      out.push(`${arg}=${argv[i + 1]}`);
      i += 1;
    } else {
      out.push(arg);
    }
  }
  return out;
}

export function parseCommandLine(command: CommandSpec, rawArgv: string[]): ParsedCommandLine {
  const options = optionsOf(command);
  const argv = attachNegativeValues(rawArgv, options);
  const config: Record<string, { type: 'string' | 'boolean'; short?: string; multiple?: boolean }> = {};
  for (const [name, spec] of Object.entries(options)) {
    config[name] = { type: spec.type, ...(spec.short ? { short: spec.short } : {}), ...(spec.multiple ? { multiple: true } : {}) };
  }
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: config, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError(rephraseParseError((error as Error).message), command.words.join(' '));
  }
  const values = parsed.values as ParsedCommandLine['values'];
  if (values.help) return { values, positionals: parsed.positionals };
  for (const [name, spec] of Object.entries(options)) {
    const value = values[name];
    if (spec.type === 'string' && !spec.multiple && Array.isArray(value)) throw new UsageError(`--${name} given more than once`, command.words.join(' '));
  }
  const { min, max } = command.positionals;
  if (parsed.positionals.length < min) throw new UsageError(`missing argument: ${command.args ?? ''}`.trim(), command.words.join(' '));
  if (parsed.positionals.length > max) throw new UsageError(`unexpected argument ${JSON.stringify(parsed.positionals[max])}`, command.words.join(' '));
  return { values, positionals: parsed.positionals };
}

/** parseArgs' messages mention its own API ("To specify an option argument ..."); keep the essence. */
function rephraseParseError(message: string): string {
  const unknown = /Unknown option '([^']+)'/.exec(message);
  if (unknown) return `unknown option ${unknown[1]}`;
  const missing = /Option '([^']+)' argument missing/.exec(message);
  if (missing) return `option ${missing[1].replace(/^-\w, /, '')} needs a value`;
  const notString = /Option '([^']+)' argument is ambiguous/.exec(message);
  if (notString) return `option ${notString[1]} needs a value (use --option=VALUE for values starting with -)`;
  return message.split('\n')[0];
}

// ---------------------------------------------------------------- value parsing

export function parseInteger(option: string, text: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (!/^-?\d+$/.test(text.trim())) throw new UsageError(`--${option}: expected an integer, got ${JSON.stringify(text)}`);
  const value = Number(text);
  if (value < min || value > max) throw new UsageError(`--${option}: expected an integer ${max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `from ${min} to ${max}`}, got ${text}`);
  return value;
}

export function parsePositiveNumber(option: string, text: string): number {
  const value = Number(text);
  if (text.trim() === '' || !Number.isFinite(value) || value <= 0) throw new UsageError(`--${option}: expected a positive number, got ${JSON.stringify(text)}`);
  return value;
}

/** Repeated K=V options into a mapping (a later key wins, as in the openstack CLI). */
export function parseKeyValues(option: string, items: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of items) {
    const eq = item.indexOf('=');
    if (eq <= 0) throw new UsageError(`--${option}: expected KEY=VALUE, got ${JSON.stringify(item)}`);
    out[item.slice(0, eq)] = item.slice(eq + 1);
  }
  return out;
}

export function parseChoice<const T extends readonly string[]>(option: string, text: string, choices: T): T[number] {
  if (!(choices as readonly string[]).includes(text)) throw new UsageError(`--${option}: expected one of ${choices.join(', ')}, got ${JSON.stringify(text)}`);
  return text as T[number];
}

/** At most one of the named boolean flags. */
export function exclusiveFlags<N extends string>(ctx: CommandContext, names: readonly N[]): N | undefined {
  const given = names.filter((name) => ctx.bool(name));
  if (given.length > 1) throw new UsageError(`${given.map((n) => `--${n}`).join(' and ')} cannot be used together`, ctx.command.words.join(' '));
  return given[0];
}

export function requireOption(ctx: CommandContext, name: string): string {
  const value = ctx.str(name);
  if (value === undefined) throw new UsageError(`--${name} is required`, ctx.command.words.join(' '));
  return value;
}
