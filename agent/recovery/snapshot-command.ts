// `stackraft snapshot save FILE` (through a running agent's admin socket, from any site),
// `stackraft snapshot inspect FILE` (checks a file and prints what it holds) and
// `stackraft snapshot restore FILE` (agent stopped: seeds a new one-voter cluster from the file).
import '../runtime/promise-shim.js';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { AdminClient, DEFAULT_SOCKET_PATH } from '../cli/client.js';
import { CliError } from '../cli/errors.js';
import { decodeSnapshotImage } from '../catalog/snapshot-image.js';
import { decodeBackup, type BackupContents } from './backup-file.js';
import { INCARNATION_PATTERN, newIncarnationId, writeFileDurably } from './incarnation.js';
import { EXIT_OK, EXIT_USAGE, loadConfigFor, OfflineCommandError, reportFailure, requireAgentStopped } from './offline.js';
import { exists, finishPendingSwap, recordsForNewCluster, seedNewCluster, STORE_DIR } from './seed-store.js';

const USAGE = `usage:
  stackraft snapshot save FILE [--linearizable] [--socket PATH]
  stackraft snapshot inspect FILE [-f text|json]
  stackraft snapshot restore FILE [--config FILE] [--same-incarnation | --incarnation ID]

save      asks the agent for a consistent image of the catalog and membership at its applied
          index and writes it to FILE (checksummed, format-versioned). --linearizable first confirms
          that index with the leader (ReadIndex), so the file holds every write committed before.
inspect   checks FILE (format, length, checksum, catalog records) and prints what it holds.
restore   with this site's agent STOPPED and no store in its data directory: seeds a NEW cluster
          whose only member is this site, holding the catalog of FILE. It gets a new cluster
          incarnation (members of the old cluster are refused), unless --same-incarnation keeps
          the file's or --incarnation ID names one. Start the agent afterwards (without --bootstrap).
`;

interface SaveAnswer {
  backup: string;
  index: number;
  term: number;
  linearizable: boolean;
  bytes: number;
}

export async function run(argv: string[]): Promise<number> {
  const [verb, ...rest] = argv;
  try {
    if (verb === 'save') return await save(rest);
    if (verb === 'inspect') return await inspect(rest);
    if (verb === 'restore') return await restore(rest);
  } catch (err) {
    if (err instanceof CliError) {
      process.stderr.write(`stackraft snapshot ${verb}: ${err.message}\n${err.hint ? `hint: ${err.hint}\n` : ''}`);
      return err.exitCode;
    }
    if (err instanceof TypeError && (err as NodeJS.ErrnoException).code?.startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`stackraft snapshot ${verb}: ${err.message}\n${USAGE}`);
      return EXIT_USAGE;
    }
    return reportFailure(`snapshot ${verb}`, err, process.stderr);
  }
  if (verb === '-h' || verb === '--help') {
    process.stdout.write(USAGE);
    return EXIT_OK;
  }
  process.stderr.write(`stackraft snapshot: ${verb === undefined ? 'needs a command' : `unknown command ${JSON.stringify(verb)}`}\n${USAGE}`);
  return EXIT_USAGE;
}

async function save(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: { linearizable: { type: 'boolean' }, socket: { type: 'string' }, help: { type: 'boolean', short: 'h' } } });
  if (values.help) return help();
  if (positionals.length !== 1) return usage('save', 'expected exactly one FILE');
  const file = positionals[0];
  const client = new AdminClient(values.socket ?? process.env.STACKRAFT_SOCKET ?? DEFAULT_SOCKET_PATH);
  let answer: SaveAnswer;
  try {
    answer = await client.get<SaveAnswer>(`/v1/snapshot${values.linearizable ? '?linearizable=true' : ''}`);
  } finally {
    await client.close();
  }
  const bytes = Buffer.from(answer.backup, 'base64');
  // Checked before it is written: a file that save wrote is one that restore takes.
  const contents = decodeBackup(bytes);
  await writeFileDurably(file, bytes, 0o600);
  process.stdout.write(
    `saved the catalog at index ${contents.index} (term ${contents.term}${contents.linearizable ? ', confirmed by the leader' : ', this site\'s applied index'}) ` +
      `of cluster ${contents.clusterId} to ${file} (${bytes.length} bytes)\n`,
  );
  return EXIT_OK;
}

async function inspect(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: { format: { type: 'string', short: 'f' }, help: { type: 'boolean', short: 'h' } } });
  if (values.help) return help();
  if (positionals.length !== 1) return usage('inspect', 'expected exactly one FILE');
  const contents = decodeBackup(await readFile(positionals[0]));
  const summary = summarize(contents);
  if (values.format === 'json') process.stdout.write(`${JSON.stringify(summary)}\n`);
  else process.stdout.write(`${Object.entries(summary).map(([k, v]) => `${k}: ${typeof v === 'string' ? v : JSON.stringify(v)}`).join('\n')}\n`);
  return EXIT_OK;
}

function summarize(contents: BackupContents): Record<string, unknown> {
  const records = decodeSnapshotImage(contents.image);
  const resources = new Map<string, number>();
  for (const [key] of records) {
    const match = /^r\/([^/]+)\//.exec(key);
    if (match) resources.set(match[1], (resources.get(match[1]) ?? 0) + 1);
  }
  return {
    clusterId: contents.clusterId,
    incarnation: contents.incarnation || '(original)',
    index: contents.index,
    term: contents.term,
    takenBy: contents.site,
    takenAt: contents.takenAt,
    linearizable: contents.linearizable,
    voters: contents.conf.voters,
    learners: contents.conf.learners,
    resources: Object.fromEntries([...resources].sort()),
  };
}

async function restore(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { config: { type: 'string' }, 'same-incarnation': { type: 'boolean' }, incarnation: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
  });
  if (values.help) return help();
  if (positionals.length !== 1) return usage('restore', 'expected exactly one FILE');
  if (values['same-incarnation'] && values.incarnation !== undefined) return usage('restore', '--same-incarnation and --incarnation exclude each other');
  if (values.incarnation !== undefined && !INCARNATION_PATTERN.test(values.incarnation)) return usage('restore', `--incarnation: ${JSON.stringify(values.incarnation)} is not an incarnation id (1-64 letters, digits or -)`);
  const config = await loadConfigFor('snapshot restore', values.config);
  await requireAgentStopped(config);
  const contents = decodeBackup(await readFile(positionals[0]));
  const swap = await finishPendingSwap(config.dataDir);
  if (swap === 'finished') throw new OfflineCommandError(`an interrupted restore or recovery in ${config.dataDir} was finished; nothing else was changed (run the command again only to start over with an empty data directory)`);
  if (await exists(join(config.dataDir, STORE_DIR))) {
    throw new OfflineCommandError(
      `${join(config.dataDir, STORE_DIR)} holds a store: a restore seeds a new cluster into a data directory without one. ` +
        'Move that directory aside (keep it until the restored cluster runs), then run the restore again; nothing was changed',
    );
  }
  const incarnation = values['same-incarnation'] ? contents.incarnation : (values.incarnation ?? newIncarnationId());
  if (values['same-incarnation'] && incarnation === '') {
    throw new OfflineCommandError('the backup is of the original incarnation, which has no id to keep; restore without --same-incarnation');
  }
  const records = recordsForNewCluster(decodeSnapshotImage(contents.image), config.site.name, contents.index);
  await seedNewCluster({ dataDir: config.dataDir, site: config.site.name, index: contents.index, term: Math.max(1, contents.term), records, incarnation, reason: 'restore' });
  process.stdout.write(
    `restored the catalog at index ${contents.index} of cluster ${contents.clusterId} (taken ${contents.takenAt} by ${contents.site}) into ${config.dataDir}\n` +
      `this site (${config.site.name}) is the only member of the new cluster, incarnation ${incarnation}` +
      `${config.clusterId !== contents.clusterId ? ` (cluster id ${config.clusterId} from the config; the backup's was ${contents.clusterId})` : ''}\n` +
      'start the agent (without --bootstrap), then add the other sites with `stackraft site add` and fresh data directories\n',
  );
  return EXIT_OK;
}

function help(): number {
  process.stdout.write(USAGE);
  return EXIT_OK;
}

function usage(verb: string, message: string): number {
  process.stderr.write(`stackraft snapshot ${verb}: ${message}\n${USAGE}`);
  return EXIT_USAGE;
}
