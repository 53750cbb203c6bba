// stackraft protection-group create|list|show|set|delete: servers of a project replicated from a
// primary to a secondary site. A write needs both sites reachable (PEER_UNREACHABLE otherwise);
// --force --reason writes anyway, e.g. an unplanned failover away from a lost primary.
import type { JsonObject, ResourceView } from '../../admin/service.js';
import { REPLICATION_TYPES } from '../../admin/vocabulary.js';
import { parseChoice, requireOption, type CommandContext, type CommandSpec } from '../command.js';
import { UsageError } from '../errors.js';
import type { Column } from '../output.js';
import {
  FORCE_OPTIONS,
  listCommand,
  showCommand,
  deleteResources,
  findResource,
  forceOptions,
  nothingToChange,
  patchResource,
  printShow,
  putResource,
  revisionOf,
  specField,
  stringList,
} from '../resources.js';

import { drShowColumns, protectionGroupDrCommands } from './protection-group-dr.js';

const KIND = 'protection-group';

const showColumns: Column<ResourceView>[] = [
  { header: 'Name', key: 'name', get: (r) => r.id },
  { header: 'Project', key: 'project', get: specField('project') },
  { header: 'Primary', key: 'primary', get: specField('primarySite') },
  { header: 'Secondary', key: 'secondary', get: specField('secondarySite') },
  { header: 'Replication', key: 'replication', get: specField('replicationType') },
  { header: 'Volume Type', key: 'volume_type', get: specField('volumeType') },
  { header: 'Status', key: 'status', get: specField('status') },
  { header: 'Failover Epoch', key: 'failover_epoch', get: specField('failoverEpoch') },
  { header: 'Members', key: 'members', get: (r) => r.spec.members ?? [] },
  { header: 'Mappings', key: 'mappings', get: specField('mappings') },
  ...drShowColumns,
  { header: 'Revision', key: 'revision', get: (r) => r.revision },
];

const LIST_KEYS = ['name', 'project', 'primary', 'secondary', 'replication', 'status'];

const UUID_PATTERN = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

/** Server ids as the catalog keeps them: lower-case UUIDs. */
function serverIds(ctx: CommandContext, option: string): string[] {
  return ctx.strs(option).map((id) => {
    if (!UUID_PATTERN.test(id)) throw new UsageError(`--${option}: expected a server id (UUID), got ${JSON.stringify(id)}`, ctx.command.words.join(' '));
    return id.toLowerCase();
  });
}

const create: CommandSpec = {
  words: [KIND, 'create'],
  summary: 'create a protection group (both sites must be reachable, unless --force)',
  args: 'NAME',
  positionals: { min: 1, max: 1 },
  output: 'show',
  options: {
    project: { type: 'string', value: 'PROJECT', help: 'project that owns the servers (required)' },
    primary: { type: 'string', value: 'SITE', help: 'site the servers run on (required)' },
    secondary: { type: 'string', value: 'SITE', help: 'site they are replicated to (required)' },
    replication: { type: 'string', value: 'MODE', help: 'sync or async (required)' },
    'volume-type': { type: 'string', value: 'TYPE', help: 'volume type of the replicated volumes (required)' },
    member: { type: 'string', multiple: true, value: 'SERVER', help: 'server id (UUID) in the group' },
    ...FORCE_OPTIONS,
  },
  notes: 'The name is the group\'s id.',
  run: async (ctx) => {
    const id = ctx.positionals[0];
    const spec: JsonObject = {
      name: id,
      project: requireOption(ctx, 'project'),
      primarySite: requireOption(ctx, 'primary'),
      secondarySite: requireOption(ctx, 'secondary'),
      replicationType: parseChoice('replication', requireOption(ctx, 'replication'), REPLICATION_TYPES),
      volumeType: requireOption(ctx, 'volume-type'),
      members: [...new Set(serverIds(ctx, 'member'))],
    };
    if (spec.primarySite === spec.secondarySite) throw new UsageError('--primary and --secondary must be different sites', ctx.command.words.join(' '));
    const result = await putResource(ctx, KIND, id, { spec, expectedRevision: 0, ...forceOptions(ctx) });
    printShow(ctx, showColumns, { kind: KIND, id, spec, placement: null, revision: revisionOf(result, KIND, id) });
  },
};

const list = listCommand({ kind: KIND, summary: 'list protection groups', columns: showColumns, keys: LIST_KEYS });

const show = showCommand(KIND, 'show one protection group', 'NAME', showColumns, false);

const set: CommandSpec = {
  words: [KIND, 'set'],
  summary: 'change a protection group: sites (failover), replication, members',
  args: 'NAME',
  positionals: { min: 1, max: 1 },
  options: {
    primary: { type: 'string', value: 'SITE', help: 'new primary site' },
    secondary: { type: 'string', value: 'SITE', help: 'new secondary site' },
    replication: { type: 'string', value: 'MODE', help: 'sync or async' },
    'volume-type': { type: 'string', value: 'TYPE', help: 'volume type' },
    member: { type: 'string', multiple: true, value: 'SERVER', help: 'add a server (UUID)' },
    'remove-member': { type: 'string', multiple: true, value: 'SERVER', help: 'remove a server' },
    ...FORCE_OPTIONS,
  },
  notes: 'A change of primary here is a planned role change (a new epoch, demote and promote steps); it cannot be forced. ' +
    'For an unplanned failover use: stackraft protection-group failover pg1 --force --reason "site a lost"',
  run: async (ctx) => {
    const force = forceOptions(ctx);
    const added = serverIds(ctx, 'member');
    const removed = serverIds(ctx, 'remove-member');
    const replication = ctx.has('replication') ? parseChoice('replication', ctx.str('replication')!, REPLICATION_TYPES) : undefined;
    const { resource } = await findResource(ctx, KIND, ctx.positionals[0], false);
    const patch: JsonObject = {};
    if (ctx.has('primary')) patch.primarySite = ctx.str('primary')!;
    if (ctx.has('secondary')) patch.secondarySite = ctx.str('secondary')!;
    if (replication) patch.replicationType = replication;
    if (ctx.has('volume-type')) patch.volumeType = ctx.str('volume-type')!;
    if (added.length > 0 || removed.length > 0) patch.members = [...new Set([...stringList(resource.spec.members), ...added])].filter((m) => !removed.includes(m));
    if (Object.keys(patch).length === 0) nothingToChange(ctx);
    const primary = patch.primarySite ?? resource.spec.primarySite;
    const secondary = patch.secondarySite ?? resource.spec.secondarySite;
    if (primary === secondary) throw new UsageError(`primary and secondary would both be ${String(primary)}`, ctx.command.words.join(' '));
    await patchResource(ctx, KIND, resource.id, { patch, expectedRevision: resource.revision, ...force });
  },
};

const remove: CommandSpec = {
  words: [KIND, 'delete'],
  summary: 'delete protection groups (all or none)',
  args: 'NAME [NAME ...]',
  positionals: { min: 1, max: 64 },
  options: { ...FORCE_OPTIONS },
  run: async (ctx) => {
    forceOptions(ctx);
    await deleteResources(ctx, KIND, ctx.positionals, false);
  },
};

export const protectionGroupCommands: CommandSpec[] = [create, list, show, set, remove, ...protectionGroupDrCommands];
