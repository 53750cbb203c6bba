// stackraft apply, get, sync status, write show: the catalog as a whole.
import { readFile } from 'node:fs/promises';
import { stringify as toYaml } from 'yaml';
import { RESOURCE_KINDS, isResourceKind, parseWriteId, type ReadMeta, type ResourceView, type SiteSyncView, type SyncStatusView, type WriteOp, type WriteStatusView } from '../../admin/service.js';
import { requireOption, type CommandSpec } from '../command.js';
import { CliError, EXIT, UsageError } from '../errors.js';
import { renderList, type Column } from '../output.js';
import { FORCE_OPTIONS, LINEARIZABLE_OPTION, batch, findResource, forceOptions, printList, printShow, revisionOf } from '../resources.js';
import { parseResourceFile } from '../resource-file.js';

const apply: CommandSpec = {
  words: ['apply'],
  summary: 'apply a file of resources atomically (all or nothing)',
  positionals: { min: 0, max: 0 },
  options: {
    file: { type: 'string', short: 'f', value: 'FILE', help: 'YAML or JSON file of resources; - reads standard input (required)' },
    ...FORCE_OPTIONS,
  },
  notes: [
    'Each resource: { kind, id, spec, placement?, expectedRevision? }, or op: patch with patch: {...}, or op: delete.',
    'The file holds one resource, a list, { resources: [...] }, or several YAML documents.',
    'example:',
    '  - kind: flavor',
    '    id: m1.small',
    '    spec: { name: m1.small, vcpus: 1, ramMiB: 2048, diskGiB: 20 }',
    '    placement: region in (eu-west, eu-central)',
  ].join('\n'),
  run: async (ctx) => {
    const file = requireOption(ctx, 'file');
    const force = forceOptions(ctx);
    let text: string;
    try {
      text = file === '-' ? await ctx.io.readStdin() : await readFile(file, 'utf8');
    } catch (error) {
      throw new CliError(`cannot read ${file}: ${(error as Error).message}`, EXIT.USAGE);
    }
    const ops = parseResourceFile(text, file === '-' ? 'standard input' : file);
    const result = await batch(ctx, ops, force);
    const columns: Column<WriteOp>[] = [
      { header: 'Kind', key: 'kind', get: (op) => op.kind },
      { header: 'ID', key: 'id', get: (op) => op.id },
      { header: 'Op', key: 'op', get: (op) => op.op },
      { header: 'Revision', key: 'revision', get: (op) => revisionOf(result, op.kind, op.id) },
    ];
    ctx.io.stdout.write(renderList('table', columns, ops));
  },
};

interface GetRow {
  resource: ResourceView;
  meta: ReadMeta;
}

const get: CommandSpec = {
  words: ['get'],
  summary: 'show any catalog resource, with how fresh the read is',
  args: 'KIND ID',
  positionals: { min: 2, max: 2 },
  output: 'show',
  options: { ...LINEARIZABLE_OPTION },
  notes: `kinds: ${RESOURCE_KINDS.join(', ')}`,
  run: async (ctx) => {
    const [kind, id] = ctx.positionals;
    if (!isResourceKind(kind)) throw new UsageError(`unknown kind ${JSON.stringify(kind)} (kinds: ${RESOURCE_KINDS.join(', ')})`, 'get');
    const row = await findResource(ctx, kind, id, false);
    const structured = ctx.format === 'json' || ctx.format === 'yaml';
    const columns: Column<GetRow>[] = [
      { header: 'Kind', key: 'kind', get: (r) => r.resource.kind },
      { header: 'ID', key: 'id', get: (r) => r.resource.id },
      { header: 'Revision', key: 'revision', get: (r) => r.resource.revision },
      { header: 'Placement', key: 'placement', get: (r) => r.resource.placement },
      { header: 'Spec', key: 'spec', get: (r) => (structured ? r.resource.spec : toYaml(r.resource.spec).trimEnd()) },
      { header: 'Applied Index', key: 'applied_index', get: (r) => r.meta.appliedIndex },
      { header: 'Commit Index', key: 'commit_index', get: (r) => r.meta.commitIndex },
      { header: 'Linearizable', key: 'linearizable', get: (r) => r.meta.linearizable },
      { header: 'Staleness (ms)', key: 'staleness_ms', get: (r) => r.meta.stalenessMs },
    ];
    printShow(ctx, columns, row);
  },
};

interface SyncRow {
  site: SiteSyncView;
  resource: SiteSyncView['resources'][number];
}

const syncColumns: Column<SyncRow>[] = [
  { header: 'Site', key: 'site', get: (r) => r.site.site },
  { header: 'Kind', key: 'kind', get: (r) => r.resource.kind },
  { header: 'ID', key: 'id', get: (r) => r.resource.id },
  { header: 'Wanted', key: 'wanted', get: (r) => r.resource.wanted },
  { header: 'State', key: 'state', get: (r) => r.resource.state },
  { header: 'Desired Revision', key: 'desired_revision', get: (r) => r.resource.desiredRevision },
  { header: 'Synced Revision', key: 'synced_revision', get: (r) => r.resource.syncedRevision },
  { header: 'Message', key: 'message', get: (r) => r.resource.message },
  { header: 'Reported At', key: 'reported_at', get: (r) => r.site.reportedAt },
];

const syncStatus: CommandSpec = {
  words: ['sync', 'status'],
  summary: 'per-site, per-resource convergence of every site\'s cloud to the catalog',
  positionals: { min: 0, max: 0 },
  output: 'list',
  options: {
    site: { type: 'string', value: 'SITE', help: 'only this site' },
    problems: { type: 'boolean', help: 'only resources that are not in sync' },
  },
  run: async (ctx) => {
    const view = await ctx.client().get<SyncStatusView>('/v1/sync');
    const site = ctx.str('site');
    const rows = view.sites
      .filter((s) => site === undefined || s.site === site)
      .flatMap((s) => s.resources.map((resource) => ({ site: s, resource })))
      .filter((r) => !ctx.bool('problems') || r.resource.state !== 'in-sync');
    printList(ctx, syncColumns, rows);
  },
};

const writeColumns: Column<WriteStatusView>[] = [
  { header: 'Write ID', key: 'write_id', get: (w) => w.writeId },
  { header: 'Status', key: 'status', get: (w) => w.status },
  { header: 'Index', key: 'index', get: (w) => ('index' in w ? w.index : null) },
  { header: 'Revisions', key: 'revisions', get: (w) => ('revisions' in w ? w.revisions.map((r) => `${r.kind}/${r.id}@${r.revision}`) : []) },
  { header: 'Code', key: 'code', get: (w) => ('code' in w ? w.code : null) },
  { header: 'Message', key: 'message', get: (w) => ('message' in w ? w.message : null) },
];

const writeShow: CommandSpec = {
  words: ['write', 'show'],
  summary: 'the outcome of a write whose outcome was unknown: 0 committed or rejected, 1 not committed, 5 still unknown',
  args: 'WRITE_ID',
  positionals: { min: 1, max: 1 },
  output: 'show',
  options: {},
  run: async (ctx) => {
    if (parseWriteId(ctx.positionals[0]) === null) throw new UsageError(`${JSON.stringify(ctx.positionals[0])} is not a write id (CLIENT_ID:SEQ, as an unknown outcome prints it)`, 'write show');
    const view = await ctx.client().get<WriteStatusView>(`/v1/writes/${encodeURIComponent(ctx.positionals[0])}`);
    printShow(ctx, writeColumns, view);
    // Still undecided (or no longer knowable): the same exit code as the write that left it unknown.
    return view.status === 'unknown' || view.status === 'pending' ? EXIT.UNKNOWN : EXIT.OK;
  },
};

export const catalogCommands: CommandSpec[] = [apply, get, syncStatus, writeShow];
