// `stackraft recover --force-new-cluster`: the way out when a majority of voters is lost for good.
// On one survivor, agent stopped: every entry its log holds is applied to its catalog, and its data
// directory is re-seeded as a one-voter cluster of a new incarnation (the old store is kept aside).
// This is the one unsafe step of recovery: entries the lost sites committed that this site never
// received are gone, and the confirmation says so with this site's last index and term first.
import '../runtime/promise-shim.js';
import { createInterface } from 'node:readline/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { silentLogger, type LogStore } from '../../consensus/ports.js';
import type { Entry } from '../../consensus/types.js';
import { openDurableStore } from '../../storage/durable-store.js';
import { Catalog } from '../catalog/index.js';
import { INCARNATION_PATTERN, newIncarnationId, readClusterIncarnation } from './incarnation.js';
import { EXIT_OK, EXIT_USAGE, loadConfigFor, OfflineCommandError, reportFailure, requireAgentStopped } from './offline.js';
import { exists, finishPendingSwap, recordsForNewCluster, seedNewCluster, STORE_DIR } from './seed-store.js';

const USAGE = `usage: stackraft recover --force-new-cluster [--config FILE] [--confirm SITE] [--incarnation ID]

For a cluster that has lost a majority of its voters for good. Run it on ONE survivor, the one with
the most up-to-date log (the highest last term, then the highest last index: run this command
without --confirm on each survivor to see them), with its agent STOPPED. It makes that site the only voter of a new cluster incarnation holding every
entry its log holds; every other member is removed. Entries the lost sites may have committed that
this site never received are lost. Members of the old cluster that come back with their old disks
are refused ("different cluster incarnation"); add sites back with \`stackraft site add\` and fresh
data directories. The old store is kept beside the new one.

  --confirm SITE   this site's name: confirms the data loss named above without a prompt
  --incarnation ID the new incarnation id (default: a random one)
`;

/** Entries read per call while replaying the log into the catalog. */
const REPLAY_BATCH_BYTES = 16 * 1024 * 1024;

interface SurvivorState {
  site: string;
  lastIndex: number;
  lastTerm: number;
  commitIndex: number;
  appliedIndex: number;
  term: number;
  incarnation: string;
}

export async function run(argv: string[]): Promise<number> {
  let values: { 'force-new-cluster'?: boolean; config?: string; confirm?: string; incarnation?: string; help?: boolean };
  try {
    ({ values } = parseArgs({
      args: argv,
      options: { 'force-new-cluster': { type: 'boolean' }, config: { type: 'string' }, confirm: { type: 'string' }, incarnation: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    }));
  } catch (err) {
    process.stderr.write(`stackraft recover: ${(err as Error).message}\n${USAGE}`);
    return EXIT_USAGE;
  }
  if (values.help) {
    process.stdout.write(USAGE);
    return EXIT_OK;
  }
  if (!values['force-new-cluster']) {
    process.stderr.write(`stackraft recover: --force-new-cluster is required (it is the recovery this command performs)\n${USAGE}`);
    return EXIT_USAGE;
  }
  if (values.incarnation !== undefined && !INCARNATION_PATTERN.test(values.incarnation)) {
    process.stderr.write(`stackraft recover: --incarnation: ${JSON.stringify(values.incarnation)} is not an incarnation id (1-64 letters, digits or -)\n`);
    return EXIT_USAGE;
  }
  try {
    return await forceNewCluster(values);
  } catch (err) {
    return reportFailure('recover', err, process.stderr);
  }
}

async function forceNewCluster(values: { config?: string; confirm?: string; incarnation?: string }): Promise<number> {
  const config = await loadConfigFor('recover', values.config);
  await requireAgentStopped(config);
  const swap = await finishPendingSwap(config.dataDir);
  if (swap === 'finished') {
    const { incarnation } = await readClusterIncarnation(config.dataDir);
    process.stdout.write(`an interrupted recovery was finished: this site is the only member of incarnation ${incarnation}; start the agent\n`);
    return EXIT_OK;
  }
  const storeDir = join(config.dataDir, STORE_DIR);
  if (!(await exists(storeDir))) throw new OfflineCommandError(`${storeDir} holds no store: there is nothing to recover from on this site`);
  const store = await openDurableStore(storeDir, silentLogger);
  let survivor: SurvivorState;
  let catalog: Catalog;
  try {
    ({ survivor, catalog } = await replaySurvivor(store, config.site.name, (await readClusterIncarnation(config.dataDir)).incarnation));
  } finally {
    await store.close();
  }
  process.stdout.write(describeLoss(survivor));
  if (!(await confirmed(config.site.name, values.confirm))) {
    process.stderr.write(`stackraft recover: not confirmed; nothing was changed (re-run with --confirm ${config.site.name} to go ahead)\n`);
    return EXIT_USAGE;
  }
  const incarnation = values.incarnation ?? newIncarnationId();
  const records = recordsForNewCluster(catalog.records(), config.site.name, survivor.lastIndex);
  const { keptOldStore } = await seedNewCluster({
    dataDir: config.dataDir,
    site: config.site.name,
    index: survivor.lastIndex,
    term: Math.max(1, survivor.term),
    records,
    incarnation,
    reason: 'force-new-cluster',
  });
  process.stdout.write(
    `done: ${config.site.name} is the only voter of cluster ${config.clusterId}, incarnation ${incarnation}, at index ${survivor.lastIndex}\n` +
      `the old store is kept in ${keptOldStore}; delete it once the new cluster runs\n` +
      'start the agent (without --bootstrap), then add sites with `stackraft site add` and fresh data directories\n',
  );
  return EXIT_OK;
}

/** Reads the survivor's state and applies every entry of its log past the applied index to its catalog. */
async function replaySurvivor(store: LogStore, site: string, incarnation: string): Promise<{ survivor: SurvivorState; catalog: Catalog }> {
  const meta = await store.open();
  if (meta.lastIndex === 0 && meta.snapshot === null) throw new OfflineCommandError('the store of this site is empty: it never joined a cluster, there is nothing to recover');
  const catalog = new Catalog();
  catalog.load(await store.records());
  let next = Math.max(meta.appliedIndex, meta.snapshot?.meta.index ?? 0) + 1;
  let last: Entry | undefined;
  while (next <= meta.lastIndex) {
    const batch = await store.entries(next, meta.lastIndex + 1, REPLAY_BATCH_BYTES);
    for (const entry of batch) {
      // The catalog skips membership entries and no-ops; every index still advances.
      catalog.apply(entry);
      last = entry;
    }
    next = batch[batch.length - 1].index + 1;
  }
  const lastTerm = last?.term ?? (await store.term(meta.lastIndex)) ?? meta.snapshot?.meta.term ?? 0;
  return {
    catalog,
    survivor: {
      site,
      lastIndex: meta.lastIndex,
      lastTerm,
      commitIndex: meta.hardState.commit,
      appliedIndex: meta.appliedIndex,
      term: Math.max(meta.hardState.term, lastTerm),
      incarnation,
    },
  };
}

function describeLoss(s: SurvivorState): string {
  const uncommitted = s.lastIndex > s.commitIndex ? `entries ${s.commitIndex + 1}-${s.lastIndex} were not yet known committed here; they are kept and become committed (a write whose caller was told "unknown" may appear)\n` : '';
  return (
    `site ${s.site} (incarnation ${s.incarnation || 'original'}): last log index ${s.lastIndex}, term ${s.lastTerm}; commit index ${s.commitIndex}; applied ${s.appliedIndex}\n` +
    `FORCE-NEW-CLUSTER makes ${s.site} the only voter of a new cluster incarnation, holding every entry through index ${s.lastIndex}.\n` +
    `MAY BE LOST: every entry after index ${s.lastIndex} (term ${s.lastTerm}) that the lost sites committed: this site never received it.\n` +
    uncommitted +
    'Run this on the survivor with the most up-to-date log only (highest last term, then last index); every other site rejoins with a fresh data directory.\n'
  );
}

async function confirmed(site: string, given: string | undefined): Promise<boolean> {
  if (given !== undefined) {
    if (given !== site) throw new OfflineCommandError(`--confirm names ${JSON.stringify(given)}, but this site is ${site}; nothing was changed`);
    return true;
  }
  if (!process.stdin.isTTY) return false;
  const rl = createInterface({ input: process.stdin, output: process.stdout });
  try {
    const answer = await rl.question(`Type the name of this site (${site}) to go ahead: `);
    return answer.trim() === site;
  } finally {
    rl.close();
  }
}
