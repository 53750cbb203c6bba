// `stackraft import`: reads what a site's cloud already has, plans its adoption (plan.ts) and, with
// --apply, writes the importable resources into the catalog (atomic batches, each resource only if
// the catalog still lacks it: expectedRevision 0) and then marks this site's flavors as this
// cluster's, so its reconciler takes them over without touching them. Catalog first, marker second:
// a marked flavor the catalog did not take would look like this cluster's extra and be deleted by
// the next audit; the other order only leaves an unmarked flavor the catalog names (reported as an
// error until marked; running the import again marks it).
import type { ImportItemView, ImportOutcome, ImportRequest, WriteOp, WriteOptions, WriteOutcome } from '../admin/service.js';
import type { Catalog } from '../catalog/index.js';
import type { CloudDriver } from '../../drivers/index.js';
import { MAX_BATCH_OPS } from '../admin/vocabulary.js';
import { MARK_ONLY_DETAIL, planFlavors, planImages, planQuotas } from './plan.js';

export interface ImportDeps {
  site: string;
  catalog: Catalog;
  cloud: CloudDriver | undefined;
  write(ops: WriteOp[], options: WriteOptions): Promise<WriteOutcome>;
}

export async function runImport(deps: ImportDeps, request: ImportRequest, options: WriteOptions): Promise<ImportOutcome> {
  const { cloud } = deps;
  if (cloud === undefined) return { status: 'refused', code: 'NO_CLOUD', message: `site ${deps.site} manages no cloud (cloud.type none): nothing to import` };
  const placement = request.placement ?? `site in (${deps.site})`;
  let items: ImportItemView[];
  try {
    items = await readPlan(deps, cloud, request, placement);
  } catch (error) {
    return { status: 'refused', code: 'CLOUD_ERROR', message: `reading ${request.kind}s from site ${deps.site}'s cloud failed: ${(error as Error).message}` };
  }
  const view = { site: deps.site, kind: request.kind, placement, applied: request.apply, items };
  if (request.apply) await applyPlan(deps, cloud, items, placement, options);
  return { status: 'ok', value: view };
}

async function readPlan(deps: ImportDeps, cloud: CloudDriver, request: ImportRequest, placement: string): Promise<ImportItemView[]> {
  if (request.kind === 'quota') {
    const quotas = [];
    for (const project of request.projects) quotas.push(await cloud.getQuota(project));
    return planQuotas(quotas, deps.catalog, placement);
  }
  if (request.kind === 'image') {
    if (cloud.listAllImages === undefined) throw new Error(`the ${cloud.driverName} driver cannot list every image`);
    return planImages(await cloud.listAllImages(), deps.catalog, placement, deps.site);
  }
  if (cloud.listAllFlavors === undefined) throw new Error(`the ${cloud.driverName} driver cannot list every flavor`);
  return planFlavors(await cloud.listAllFlavors(), deps.catalog, placement, deps.site);
}

async function applyPlan(deps: ImportDeps, cloud: CloudDriver, items: ImportItemView[], placement: string, options: WriteOptions): Promise<void> {
  const toWrite = items.filter((item) => item.action === 'import' && item.spec !== undefined);
  for (let start = 0, batch = 0; start < toWrite.length; start += MAX_BATCH_OPS, batch++) {
    const chunk = toWrite.slice(start, start + MAX_BATCH_OPS);
    const ops = chunk.map((item): WriteOp => ({ op: 'put', kind: item.kind, id: item.id, spec: item.spec!, placement, expectedRevision: 0 }));
    // Each batch is its own write of the same client: the next sequence numbers.
    const outcome = await deps.write(ops, { ...options, seq: options.seq + batch });
    for (const item of chunk) item.result = batchResult(outcome);
  }
  for (const item of items) {
    if (item.action !== 'import' || item.kind !== 'flavor') continue;
    if (item.spec !== undefined && item.result !== 'imported') continue;
    item.result = await markFlavor(cloud, item.id, item.detail.startsWith(MARK_ONLY_DETAIL) ? 'marked' : 'imported and marked');
  }
}

async function markFlavor(cloud: CloudDriver, id: string, done: string): Promise<string> {
  if (cloud.claimFlavor === undefined) return `not marked: the ${cloud.driverName} driver cannot mark flavors`;
  try {
    await cloud.claimFlavor(id);
    return done;
  } catch (error) {
    return `in the catalog, but marking this site's flavor failed (${(error as Error).message}); run the import with --apply again to mark it`;
  }
}

function batchResult(outcome: WriteOutcome): string {
  if (outcome.status === 'committed') return 'imported';
  if (outcome.status === 'unknown') return `outcome unknown, it may still commit (${outcome.message}): see \`stackraft write show\`, then run the import again`;
  return `not imported: ${outcome.code}: ${outcome.message}`;
}
