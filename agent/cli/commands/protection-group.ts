// stackraft protection-group create|list|show|set|delete: servers of a project replicated from a
// primary to a secondary site. A write needs both sites reachable (PEER_UNREACHABLE otherwise);
// --force --reason writes anyway, e.g. an unplanned failover away from a lost primary.
import { randomUUID } from 'node:crypto';
import type { JsonObject, ResourceView } from '../../admin/service.js';
import { REPLICATION_MODES } from '../../admin/vocabulary.js';
import { parseChoice, requireOption, type CommandSpec } from '../command.js';
import { UsageError } from '../errors.js';
import type { Column } from '../output.js';
import {
  FORCE_OPTIONS,
  LINEARIZABLE_OPTION,
  PLACEMENT_OPTION,
  PLACEMENT_SET_OPTIONS,
  deleteResources,
  findResource,
  forceOptions,
  listKind,
  nothingToChange,
  patchResource,
  placementChange,
  printList,
  printShow,
  putResource,
  resourceTailColumns,
  revisionOf,
  specField,
} from '../resources.js';

const KIND = 'protection-group';

const showColumns: Column<ResourceView>[] = [
  { header: 'ID', key: 'id', get: (r) => r.id },
  { header: 'Name', key: 'name', get: specField('name') },
  { header: 'Project', key: 'project', get: specField('project') },
  { header: 'Primary', key: 'primary', get: specField('primarySite') },
  { header: 'Secondary', key: 'secondary', get: specField('secondarySite') },
  { header: 'Replication', key: 'replication', get: specField('replication') },
  { header: 'Volume Type', key: 'volume_type', get: specField('volumeType') },
  { header: 'Members', key: 'members', get: (r) => r.spec.members ?? [] },
  ...resourceTailColumns(),
];

const LIST_KEYS = ['id', 'name', 'project', 'primary', 'secondary', 'replication'];

function members(resource: ResourceView): string[] {
  return Array.isArray(resource.spec.members) ? resource.spec.members.filter((m): m is string => typeof m === 'string') : [];
}

const create: CommandSpec = {
  words: [KIND, 'create'],
  summary: 'create a protection group (both sites must be reachable, unless --force)',
  args: 'NAME',
  positionals: { min: 1, max: 1 },
  output: 'show',
  options: {
    id: { type: 'string', value: 'ID', help: 'protection group id (default: a new UUID)' },
    project: { type: 'string', value: 'PROJECT', help: 'project that owns the servers (required)' },
    primary: { type: 'string', value: 'SITE', help: 'site the servers run on (required)' },
    secondary: { type: 'string', value: 'SITE', help: 'site they are replicated to (required)' },
    replication: { type: 'string', value: 'MODE', help: 'sync or async (required)' },
    'volume-type': { type: 'string', value: 'TYPE', help: 'volume type of the replicated volumes' },
    member: { type: 'string', multiple: true, value: 'SERVER', help: 'server id in the group' },
    ...PLACEMENT_OPTION,
    ...FORCE_OPTIONS,
  },
  run: async (ctx) => {
    const id = ctx.str('id') ?? randomUUID();
    const spec: JsonObject = {
      name: ctx.positionals[0],
      project: requireOption(ctx, 'project'),
      primarySite: requireOption(ctx, 'primary'),
      secondarySite: requireOption(ctx, 'secondary'),
      replication: parseChoice('replication', requireOption(ctx, 'replication'), REPLICATION_MODES),
      ...(ctx.has('volume-type') ? { volumeType: ctx.str('volume-type')! } : {}),
      members: [...new Set(ctx.strs('member'))],
    };
    if (spec.primarySite === spec.secondarySite) throw new UsageError('--primary and --secondary must be different sites', ctx.command.words.join(' '));
    const placement = ctx.str('placement') ?? null;
    const result = await putResource(ctx, KIND, id, { spec, placement, expectedRevision: 0, ...forceOptions(ctx) });
    printShow(ctx, showColumns, { kind: KIND, id, spec, placement, revision: revisionOf(result, KIND, id) });
  },
};

const list: CommandSpec = {
  words: [KIND, 'list'],
  summary: 'list protection groups',
  positionals: { min: 0, max: 0 },
  output: 'list',
  options: { ...LINEARIZABLE_OPTION },
  run: async (ctx) => {
    const { items } = await listKind(ctx, KIND);
    printList(ctx, LIST_KEYS.map((key) => showColumns.find((c) => c.key === key)!), items);
  },
};

const show: CommandSpec = {
  words: [KIND, 'show'],
  summary: 'show one protection group',
  args: 'ID|NAME',
  positionals: { min: 1, max: 1 },
  output: 'show',
  options: { ...LINEARIZABLE_OPTION },
  run: async (ctx) => {
    const { resource } = await findResource(ctx, KIND, ctx.positionals[0]);
    printShow(ctx, showColumns, resource);
  },
};

const set: CommandSpec = {
  words: [KIND, 'set'],
  summary: 'change a protection group: sites (failover), replication, members',
  args: 'ID|NAME',
  positionals: { min: 1, max: 1 },
  options: {
    name: { type: 'string', value: 'NAME', help: 'new name' },
    primary: { type: 'string', value: 'SITE', help: 'new primary site' },
    secondary: { type: 'string', value: 'SITE', help: 'new secondary site' },
    replication: { type: 'string', value: 'MODE', help: 'sync or async' },
    'volume-type': { type: 'string', value: 'TYPE', help: 'volume type' },
    member: { type: 'string', multiple: true, value: 'SERVER', help: 'add a server' },
    'remove-member': { type: 'string', multiple: true, value: 'SERVER', help: 'remove a server' },
    ...PLACEMENT_SET_OPTIONS,
    ...FORCE_OPTIONS,
  },
  notes: 'unplanned failover to site b: stackraft protection-group set pg1 --primary b --secondary a --force --reason "site a lost"',
  run: async (ctx) => {
    const force = forceOptions(ctx);
    const { resource } = await findResource(ctx, KIND, ctx.positionals[0]);
    const patch: JsonObject = {};
    if (ctx.has('name')) patch.name = ctx.str('name')!;
    if (ctx.has('primary')) patch.primarySite = ctx.str('primary')!;
    if (ctx.has('secondary')) patch.secondarySite = ctx.str('secondary')!;
    if (ctx.has('replication')) patch.replication = parseChoice('replication', ctx.str('replication')!, REPLICATION_MODES);
    if (ctx.has('volume-type')) patch.volumeType = ctx.str('volume-type')!;
    const added = ctx.strs('member');
    const removed = ctx.strs('remove-member');
    if (added.length > 0 || removed.length > 0) patch.members = [...new Set([...members(resource), ...added])].filter((m) => !removed.includes(m));
    const placement = placementChange(ctx);
    if (Object.keys(patch).length === 0 && !('placement' in placement)) nothingToChange(ctx);
    const primary = patch.primarySite ?? resource.spec.primarySite;
    const secondary = patch.secondarySite ?? resource.spec.secondarySite;
    if (primary === secondary) throw new UsageError(`primary and secondary would both be ${String(primary)}`, ctx.command.words.join(' '));
    await patchResource(ctx, KIND, resource.id, { patch, ...placement, expectedRevision: resource.revision, ...force });
  },
};

const remove: CommandSpec = {
  words: [KIND, 'delete'],
  summary: 'delete protection groups (all or none)',
  args: 'ID|NAME [ID|NAME ...]',
  positionals: { min: 1, max: 64 },
  options: { ...FORCE_OPTIONS },
  run: async (ctx) => {
    forceOptions(ctx);
    await deleteResources(ctx, KIND, ctx.positionals);
  },
};

export const protectionGroupCommands: CommandSpec[] = [create, list, show, set, remove];
