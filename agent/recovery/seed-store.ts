// Seeding a new one-voter cluster on this site's disk: a fresh store whose snapshot holds the catalog
// at a given index and a membership of this site alone, plus a new cluster incarnation. Used by
// `snapshot restore` (from a backup file) and `recover --force-new-cluster` (from the site's own store).
//
// Crash safety: the new store is built complete and synced under `raft.recovering/`, the new
// incarnation under `cluster-incarnation.json.pending`; then the old store (if any) is renamed
// aside, the new one into place, and the incarnation last. The agent refuses to start while either
// name exists, and running the command again finishes or restarts the swap (finishPendingSwap).
import { access, mkdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { silentLogger, type RecordOp } from '../../consensus/ports.js';
import { WalLogStore } from '../../storage/wal-store.js';
import { decodeRecord, META_KEY, metaPut, RESOURCE_PREFIX, SYNC_DIGEST_PREFIX, SYNC_PREFIX } from '../catalog/records.js';
import { encodeSnapshotImage } from '../catalog/snapshot-image.js';
import { INCARNATION_FILE, syncDir, writeClusterIncarnation } from './incarnation.js';

export const STORE_DIR = 'raft';
export const RECOVERING_DIR = 'raft.recovering';
export const PENDING_INCARNATION_FILE = `${INCARNATION_FILE}.pending`;

export interface SeedPlan {
  dataDir: string;
  /** This site's name: the only voter of the new cluster. */
  site: string;
  /** The log index the catalog records stand at; the new log continues after it. */
  index: number;
  term: number;
  records: Array<[string, Uint8Array]>;
  incarnation: string;
  reason: 'restore' | 'force-new-cluster';
}

export class RecoveryError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RecoveryError';
  }
}

/**
 * The catalog records of the new cluster: every other site's `site` record, sync reports and sync digest go
 * (they are not members; `stackraft site add` brings a site back), and the applied-index record says
 * `index`. Everything else (resources, client sessions) is kept as it was.
 */
export function recordsForNewCluster(records: Array<[string, Uint8Array]>, site: string, index: number): Array<[string, Uint8Array]> {
  const otherSites = new Set<string>();
  for (const [key, value] of records) {
    if (!key.startsWith(`${RESOURCE_PREFIX}site/`)) continue;
    const decoded = decodeRecord(key, value);
    if (decoded.type === 'resource' && decoded.resource.id !== site) otherSites.add(decoded.resource.id);
  }
  const out: Array<[string, Uint8Array]> = [];
  for (const [key, value] of records) {
    if (key === META_KEY) continue;
    if (key.startsWith(`${RESOURCE_PREFIX}site/`) && otherSites.has(key.slice(`${RESOURCE_PREFIX}site/`.length))) continue;
    if (key.startsWith(SYNC_PREFIX) && otherSites.has(key.slice(key.lastIndexOf('/') + 1))) continue;
    if (key.startsWith(SYNC_DIGEST_PREFIX) && otherSites.has(key.slice(SYNC_DIGEST_PREFIX.length))) continue;
    out.push([key, value]);
  }
  const meta = metaPut(index);
  out.push([meta.key, meta.value]);
  return out;
}

/** Builds the new store and incarnation aside, then swaps them in. The old store is kept as `raft.before-<reason>-<time>`; its path is returned (null if there was none). */
export async function seedNewCluster(plan: SeedPlan, now: Date = new Date()): Promise<{ keptOldStore: string | null }> {
  const recovering = join(plan.dataDir, RECOVERING_DIR);
  await rm(recovering, { recursive: true, force: true });
  await rm(join(plan.dataDir, PENDING_INCARNATION_FILE), { force: true });
  await mkdir(plan.dataDir, { recursive: true });
  const store = new WalLogStore(recovering, { logger: silentLogger });
  try {
    const meta = await store.open();
    if (meta.lastIndex !== 0 || meta.snapshot !== null) throw new RecoveryError(`${recovering} was not empty`);
    const ops: RecordOp[] = plan.records.map(([key, value]) => ({ type: 'put', key, value }));
    await store.write({
      hardState: { term: plan.term, vote: '', commit: plan.index },
      snapshot: { meta: { index: plan.index, term: plan.term, conf: { voters: [plan.site], learners: [] } }, data: encodeSnapshotImage(plan.records) },
      applied: { index: plan.index, replaceAll: true, ops },
      sync: true,
    });
  } finally {
    await store.close();
  }
  await writeClusterIncarnation(plan.dataDir, plan.incarnation, plan.reason, now, PENDING_INCARNATION_FILE);
  let keptOldStore: string | null = null;
  if (await exists(join(plan.dataDir, STORE_DIR))) {
    keptOldStore = join(plan.dataDir, `${STORE_DIR}.before-${plan.reason}-${now.toISOString().replace(/[:.]/g, '-')}`);
    await rename(join(plan.dataDir, STORE_DIR), keptOldStore);
  }
  await finishPendingSwap(plan.dataDir);
  return { keptOldStore };
}

/**
 * Completes a swap an earlier run left half done. The pending incarnation file is written only once
 * the new store is complete, so it tells a finished build from a half-built one. Returns 'none'
 * (nothing pending), 'finished' (the new store and incarnation are now in place) or 'discarded' (the
 * old store was still in place or the new one incomplete: what was built is removed, and the site is
 * as before the command).
 */
export async function finishPendingSwap(dataDir: string): Promise<'none' | 'finished' | 'discarded'> {
  const recovering = join(dataDir, RECOVERING_DIR);
  const pending = join(dataDir, PENDING_INCARNATION_FILE);
  const [hasRecovering, hasPending, hasStore] = await Promise.all([exists(recovering), exists(pending), exists(join(dataDir, STORE_DIR))]);
  if (!hasRecovering && !hasPending) return 'none';
  if (!hasPending || (hasStore && hasRecovering)) {
    await rm(recovering, { recursive: true, force: true });
    await rm(pending, { force: true });
    await syncDir(dataDir);
    return 'discarded';
  }
  if (hasRecovering) await rename(recovering, join(dataDir, STORE_DIR));
  await rename(pending, join(dataDir, INCARNATION_FILE));
  await syncDir(dataDir);
  return 'finished';
}

/** Names a half-done recovery in the data directory, or null: the agent refuses to start on one. */
export async function pendingRecoveryProblem(dataDir: string): Promise<string | null> {
  for (const name of [RECOVERING_DIR, PENDING_INCARNATION_FILE]) {
    if (await exists(join(dataDir, name))) {
      return `${join(dataDir, name)} exists: a \`stackraft recover\` or \`stackraft snapshot restore\` was interrupted; run it again to finish it`;
    }
  }
  return null;
}

export async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}
