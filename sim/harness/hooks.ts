// Injection points for tests that plant a bug to show a checker catches it. A normal run passes
// none; the planted bug lives only in the test that passes a hook.
import type { WriteOp } from '../../agent/catalog/index.js';
import type { WriteRequestOptions } from '../../agent/write/catalog-writer.js';
import type { ReadOutcome, Replica } from '../../consensus/replica.js';
import type { LinkCut } from '../wan.js';
import type { CloudHooks } from './clouds.js';
import type { BlobHooks } from '../blobs/run.js';
import type { SiteHooks } from './site.js';

/** What a hook may do to the world when the faults heal. */
export interface HealControls {
  /** A partition that is never healed. */
  partition(cut: LinkCut): void;
  siteNames(): string[];
}

export interface SimHooks extends SiteHooks, CloudHooks, BlobHooks {
  /** Extra options for a client write (e.g. `force`, skipping the liveness of the sites it names). */
  writeOptions?(site: string, ops: readonly WriteOp[]): Partial<WriteRequestOptions> | undefined;
  /** Replaces the barrier of a linearizable read (e.g. skipping it: a stale read). */
  readBarrier?(site: string, replica: Replica): Promise<ReadOutcome>;
  /** Runs when the quiet period starts, after every fault healed. */
  atHeal?(controls: HealControls): void;
}
