// Every fuzz target, in report order.
import type { FuzzTarget } from '../target.js';
import { adminTarget } from './admin.js';
import { commandTarget, snapshotTarget } from './catalog.js';
import { cloudsTarget } from './clouds.js';
import { configTarget } from './config.js';
import { framesTarget } from './frames.js';
import { storedTarget } from './stored.js';

export const FUZZ_TARGETS: readonly FuzzTarget[] = [framesTarget, adminTarget, configTarget, cloudsTarget, storedTarget, snapshotTarget, commandTarget];

export function targetNamed(name: string): FuzzTarget {
  const target = FUZZ_TARGETS.find((t) => t.name === name);
  if (target === undefined) throw new Error(`no fuzz target ${JSON.stringify(name)} (known: ${FUZZ_TARGETS.map((t) => t.name).join(', ')})`);
  return target;
}
