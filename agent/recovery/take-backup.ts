// Taking a backup inside a running agent: the catalog image, the applied index it stands at and the
// membership, read in one turn of the event loop (nothing applies in between), after a ReadIndex
// barrier when asked for a linearizable one.
import type { RefusalCode } from '../../consensus/ports.js';
import type { Replica } from '../../consensus/replica.js';
import type { Catalog } from '../catalog/index.js';
import { encodeBackup } from './backup-file.js';

export interface BackupSource {
  clusterId: string;
  incarnation: string;
  site: string;
  replica: Replica;
  catalog: Catalog;
  epochMs: () => number;
}

export type BackupOutcome =
  | { status: 'ok'; file: Uint8Array; index: number; term: number; linearizable: boolean }
  | { status: 'refused'; code: RefusalCode; message: string; leader?: string };

export async function takeBackup(source: BackupSource, linearizable: boolean): Promise<BackupOutcome> {
  if (linearizable) {
    // Resolves once this site has applied at least the index the leader confirmed with a quorum.
    const barrier = await source.replica.readIndex();
    if (!barrier.ok) {
      const code = barrier.code === 'UNKNOWN' ? 'NO_QUORUM' : barrier.code;
      return { status: 'refused', code, message: barrier.message, ...(barrier.leader ? { leader: barrier.leader } : {}) };
    }
    if (source.replica.appliedIndex < barrier.index) {
      return { status: 'refused', code: 'BUSY', message: `site ${source.site} has not applied the confirmed index ${barrier.index} yet (applied ${source.replica.appliedIndex}); try again` };
    }
  }
  const st = source.replica.status();
  const index = source.replica.appliedIndex;
  const file = encodeBackup({
    clusterId: source.clusterId,
    incarnation: source.incarnation,
    index,
    term: st.term,
    site: source.site,
    takenAt: new Date(source.epochMs()).toISOString(),
    linearizable,
    conf: { voters: [...st.conf.voters], learners: [...st.conf.learners] },
    image: source.catalog.snapshot(),
  });
  return { status: 'ok', file, index, term: st.term, linearizable };
}
