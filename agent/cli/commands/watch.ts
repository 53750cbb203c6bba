// stackraft watch [--kind K] [--from-index N] [-f json]: the catalog's committed changes as they
// happen (agent/admin/watch-route.ts). -f json prints the agent's lines as they are (NDJSON: one
// change per line, for a DR engine or a monitoring job); the table format prints one line per change.
import { RESOURCE_KINDS, type ResourceKind, type WatchEndView, type WatchEventView } from '../../admin/service.js';
import type { CommandContext, CommandSpec } from '../command.js';
import { CliError, EXIT, UsageError } from '../errors.js';

function query(ctx: CommandContext): string {
  const params = new URLSearchParams();
  const kind = ctx.str('kind');
  if (kind !== undefined) {
    if (!(RESOURCE_KINDS as readonly string[]).includes(kind)) throw new UsageError(`--kind: expected one of ${RESOURCE_KINDS.join(', ')}, got ${JSON.stringify(kind)}`, 'watch');
    params.set('kind', kind as ResourceKind);
  }
  const from = ctx.str('from-index');
  if (from !== undefined) {
    if (!/^[1-9][0-9]{0,15}$/.test(from)) throw new UsageError(`--from-index: expected a log index (a positive integer), got ${JSON.stringify(from)}`, 'watch');
    params.set('fromIndex', from);
  }
  const text = params.toString();
  return text === '' ? '' : `?${text}`;
}

function describe(event: WatchEventView): string {
  const revision = event.resource === null ? '' : ` revision ${event.resource.revision}`;
  return `${event.index}\t${event.type}\t${event.kind}/${event.id}${revision}\n`;
}

export const watchCommand: CommandSpec = {
  words: ['watch'],
  summary: 'follow the committed changes of the catalog (newline-delimited JSON with -f json)',
  positionals: { min: 0, max: 0 },
  output: 'list',
  options: {
    kind: { type: 'string', value: 'KIND', help: `only changes of this kind (${RESOURCE_KINDS.join(', ')})` },
    'from-index': { type: 'string', value: 'N', help: 'replay from log index N (inclusive), then follow; default: from now on' },
  },
  notes:
    'Resume after an interruption with --from-index set to the index after the last change you saw. An index this site no ' +
    'longer keeps is refused (COMPACTED) with the oldest index it can replay: read the current state (list/get) and watch from its applied index.',
  run: async (ctx) => {
    const path = `/v1/watch${query(ctx)}`;
    let end: WatchEndView | undefined;
    await ctx.client().stream(path, (value) => {
      const line = value as WatchEventView & { error?: WatchEndView };
      if (line.error !== undefined) {
        end = line.error;
        return;
      }
      ctx.io.stdout.write(ctx.format === 'json' ? `${JSON.stringify(line)}\n` : describe(line));
    });
    if (end !== undefined) {
      throw new CliError(`the watch ended: ${end.code}: ${end.message}`, EXIT.UNEXPECTED, `resume with: stackraft watch --from-index ${end.resumeFrom}`);
    }
    throw new CliError('the agent closed the watch stream without saying why', EXIT.UNEXPECTED, 'watch again with --from-index set to the index after the last change printed.');
  },
};
