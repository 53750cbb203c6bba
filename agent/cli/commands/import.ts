// stackraft import: adopt resources a site's cloud already has. A dry run prints the plan (what
// would become a catalog resource, what conflicts and why); --apply commits the importable ones and
// marks this site's flavors as this cluster's. It reads the cloud of the agent it talks to.
import { IMPORT_KINDS, type ImportItemView, type ImportView, type StatusView } from '../../admin/service.js';
import { parseChoice, requireOption, type CommandSpec } from '../command.js';
import { CliError, EXIT, UsageError } from '../errors.js';
import type { Column } from '../output.js';
import { PLACEMENT_OPTION, printList, putResource } from '../resources.js';
import { adoptFromGlance } from '../glance-adopt.js';
import { progressFor, PROGRESS_OPTION } from '../progress.js';
import type { CommandContext } from '../command.js';

const columns: Column<ImportItemView>[] = [
  { header: 'Kind', key: 'kind', get: (i) => i.kind },
  { header: 'ID', key: 'id', get: (i) => i.id },
  { header: 'Name', key: 'name', get: (i) => i.name },
  { header: 'Action', key: 'action', get: (i) => i.action },
  { header: 'Detail', key: 'detail', get: (i) => i.detail },
  { header: 'Result', key: 'result', get: (i) => i.result ?? '' },
];

const IMAGE_IMPORTED = "imported (this site's reconciler marks its Glance image)";

/** A result that is not a success after --apply. */
function failed(item: ImportItemView): boolean {
  return item.action === 'import' && item.result !== undefined && !['imported', 'imported and marked', 'marked', IMAGE_IMPORTED].includes(item.result);
}

/**
 * --apply for images, one at a time: the agent copies the bits from Glance into its blob store (a
 * job, as for `image create --from-glance`), then the image is written with that source, only if
 * the catalog still lacks its id. A failure is the item's result; the others go on.
 */
async function adoptImages(ctx: CommandContext, view: ImportView): Promise<void> {
  for (const item of view.items) {
    if (item.action !== 'import' || item.spec === undefined) continue;
    try {
      const progress = progressFor(ctx, `taking Glance image ${item.id}`);
      let adopted;
      try {
        adopted = await adoptFromGlance(ctx.client(), item.id, (v) => progress.update(v.bytesDone, v.bytesTotal));
      } finally {
        progress.end();
      }
      await putResource(ctx, 'image', item.id, { spec: { ...item.spec, source: adopted.source }, placement: view.placement, expectedRevision: 0 });
      item.result = IMAGE_IMPORTED;
    } catch (error) {
      item.result = `not imported: ${(error as Error).message}`;
    }
  }
  view.applied = true;
}

const importCommand: CommandSpec = {
  words: ['import'],
  summary: "adopt what a site's cloud already has: print the plan (dry run), or --apply it",
  positionals: { min: 0, max: 0 },
  output: 'list',
  options: {
    kind: { type: 'string', value: 'KIND', help: `what to import: ${IMPORT_KINDS.join(', ')} (required)` },
    site: { type: 'string', value: 'SITE', help: "the site whose cloud to read: must be the agent this command talks to (--socket); default that agent's site" },
    project: { type: 'string', multiple: true, value: 'PROJECT_ID', help: 'with --kind quota: a project whose quota set to read (repeatable, required)' },
    apply: { type: 'boolean', help: 'commit the importable resources to the catalog and mark this site\'s flavors as this cluster\'s (images: copy their bits into the blob store first)' },
    ...PLACEMENT_OPTION,
    ...PROGRESS_OPTION,
  },
  notes: [
    'Default placement: the importing site only (site in (SITE)); widen it later with `flavor set --placement`.',
    "With --apply each flavor is written to the catalog (only if the catalog still lacks its id), then this",
    "site's flavor gets the cluster's marker extra specs; nothing else about it changes and running servers",
    'are not touched. Quotas carry no marker: the cloud is not changed. Conflicts are listed, never skipped silently.',
    "Images: --apply copies each image's bits into this site's blob store (checked against Glance's digests), writes",
    "it with this site as origin, and this site's reconciler then marks its Glance image (bits untouched). Private",
    'and shared images are conflicts: adopt one with `image create NAME --from-glance ID --public`.',
    'example: stackraft import --kind flavor            (plan)',
    '         stackraft import --kind flavor --apply --reason "adopt site-1 flavors"',
  ].join('\n'),
  run: async (ctx) => {
    const kind = parseChoice('kind', requireOption(ctx, 'kind'), IMPORT_KINDS);
    const site = ctx.str('site');
    if (site !== undefined) {
      const local = (await ctx.client().get<StatusView>('/v1/status')).site;
      if (local !== site) {
        throw new UsageError(`--site ${site}: this agent is site ${local}, and an agent reads only its own cloud; run the import with --socket pointing at ${site}'s admin socket`, 'import');
      }
    }
    const projects = ctx.strs('project');
    if (kind === 'quota' && projects.length === 0) throw new UsageError('--kind quota needs --project PROJECT_ID (a quota set cannot be listed)', 'import');
    if (kind !== 'quota' && projects.length > 0) throw new UsageError('--project goes with --kind quota', 'import');
    const applyHere = ctx.bool('apply') && kind !== 'image';
    const body = { kind, apply: applyHere, ...(projects.length > 0 ? { projects } : {}), ...(ctx.has('placement') ? { placement: ctx.str('placement')! } : {}) };
    const view = await ctx.client().write<ImportView>('POST', '/v1/import', body);
    if (kind === 'image' && ctx.bool('apply')) await adoptImages(ctx, view);
    printList(ctx, columns, view.items);
    if (ctx.format === 'table') {
      const count = (action: string) => view.items.filter((i) => i.action === action).length;
      const verb = view.applied ? 'applied' : 'dry run (nothing changed; --apply to commit)';
      ctx.io.stderr.write(`site ${view.site}, placement ${view.placement}: ${count('import')} to import, ${count('conflict')} conflicts, ${count('skip')} skipped; ${verb}\n`);
    }
    if (view.items.some(failed)) throw new CliError('some resources were not imported or not marked: see the Result column', EXIT.UNEXPECTED);
  },
};

export const importCommands: CommandSpec[] = [importCommand];
