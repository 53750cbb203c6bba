// Help text, generated from the command specs so it cannot drift from what the parser accepts.
import { optionsOf, type CommandSpec, type OptionSpec } from './command.js';

export function usageLine(command: CommandSpec): string {
  return `usage: stackraft ${command.words.join(' ')}${command.args ? ` ${command.args}` : ''} [options]`;
}

function optionLabel(name: string, spec: OptionSpec): string {
  const long = `--${name}${spec.type === 'string' ? ` ${spec.value ?? 'VALUE'}` : ''}`;
  return spec.short ? `-${spec.short}, ${long}` : `    ${long}`;
}

export function commandHelp(command: CommandSpec): string {
  const options = optionsOf(command);
  const labels = Object.entries(options).map(([name, spec]) => [optionLabel(name, spec), spec.help + (spec.multiple ? ' (repeatable)' : '')]);
  const width = Math.min(36, Math.max(...labels.map(([label]) => label.length)));
  const lines = [usageLine(command), '', command.summary, '', 'options:'];
  for (const [label, help] of labels) {
    lines.push(label.length > width ? `  ${label}\n  ${' '.repeat(width)}  ${help}` : `  ${label.padEnd(width)}  ${help}`);
  }
  if (command.notes) lines.push('', command.notes);
  return `${lines.join('\n')}\n`;
}

export function nounHelp(noun: string, commands: CommandSpec[]): string {
  const verbs = commands.filter((c) => c.words[0] === noun);
  const width = Math.max(...verbs.map((c) => c.words.join(' ').length));
  const lines = [`usage: stackraft ${noun} ${verbs.length === 1 && verbs[0].words.length === 1 ? '' : 'COMMAND '}[options]`, '', 'commands:'];
  for (const verb of verbs) lines.push(`  ${verb.words.join(' ').padEnd(width)}  ${verb.summary}`);
  lines.push('', `Run \`stackraft ${noun} COMMAND --help\` for the options of one command.`);
  return `${lines.join('\n')}\n`;
}

export function mainHelp(commands: CommandSpec[], external: Array<{ name: string; summary: string }>): string {
  const nouns = new Map<string, string[]>();
  for (const command of commands) {
    const verbs = nouns.get(command.words[0]) ?? [];
    if (command.words[1]) verbs.push(command.words[1]);
    nouns.set(command.words[0], verbs);
  }
  const rows: Array<[string, string]> = [...nouns].map(([noun, verbs]) => [noun, verbs.length > 0 ? verbs.join(', ') : commands.find((c) => c.words[0] === noun)!.summary]);
  rows.push(...external.map((e): [string, string] => [e.name, e.summary]));
  const width = Math.max(...rows.map(([name]) => name.length));
  return [
    'usage: stackraft COMMAND [options]',
    '',
    'The command-line client of the stackraft agent (through its admin socket).',
    '',
    'commands:',
    ...rows.map(([name, text]) => `  ${name.padEnd(width)}  ${text}`),
    '',
    'global options:',
    '  --socket PATH    admin socket of the agent (env STACKRAFT_SOCKET; default /run/stackraft/admin.sock)',
    '  -h, --help       help for any command: stackraft flavor --help, stackraft flavor create --help',
    '  --version        print the version',
    '',
    'Show and list commands take -f table|json|yaml|value and -c COLUMN (repeatable).',
    'Exit codes: 0 done; 1 unexpected (agent unreachable, not found, bug); 2 usage; 3 refused (NO_LEADER,',
    'NO_QUORUM, PEER_UNREACHABLE, BUSY: nothing written); 4 rejected (VALIDATION, CONFLICT); 5 outcome unknown.',
    '',
  ].join('\n');
}
