// stackraft flavor create|list|show|set|unset|delete: Nova flavors, with the openstack CLI's options.
import { randomUUID } from 'node:crypto';
import type { JsonObject, ResourceView } from '../../admin/service.js';
import { FLAVOR_DEFAULTS, type FlavorField } from '../../admin/vocabulary.js';
import { exclusiveFlags, parseInteger, parseKeyValues, parsePositiveNumber, requireOption, type CommandSpec } from '../command.js';
import { UsageError } from '../errors.js';
import type { Column } from '../output.js';
import {
  listCommand,
  showCommand,
  PLACEMENT_OPTION,
  PLACEMENT_SET_OPTIONS,
  deleteResources,
  findResource,
  nothingToChange,
  patchResource,
  placementChange,
  printShow,
  putResource,
  resourceTailColumns,
  revisionOf,
  specField,
  stringList,
  updatedMap,
} from '../resources.js';

const KIND = 'flavor';

/** One column per spec field, as `openstack flavor show` names it (in its order). */
const specColumns: Record<FlavorField, Column<ResourceView>> = {
  name: { header: 'Name', key: 'name', get: specField('name') },
  vcpus: { header: 'VCPUs', key: 'vcpus', get: specField('vcpus') },
  ram: { header: 'RAM', key: 'ram', get: specField('ram') },
  disk: { header: 'Disk', key: 'disk', get: specField('disk') },
  ephemeral: { header: 'Ephemeral', key: 'ephemeral', get: (r) => r.spec.ephemeral ?? FLAVOR_DEFAULTS.ephemeral },
  swap: { header: 'Swap', key: 'swap', get: (r) => r.spec.swap ?? FLAVOR_DEFAULTS.swap },
  rxtxFactor: { header: 'RXTX Factor', key: 'rxtx_factor', get: (r) => r.spec.rxtxFactor ?? FLAVOR_DEFAULTS.rxtxFactor },
  isPublic: { header: 'Is Public', key: 'is_public', get: (r) => r.spec.isPublic ?? FLAVOR_DEFAULTS.isPublic },
  extraSpecs: { header: 'Properties', key: 'properties', get: (r) => r.spec.extraSpecs ?? {} },
  accessProjects: { header: 'Access Project IDs', key: 'access_project_ids', get: (r) => r.spec.accessProjects ?? [] },
  description: { header: 'Description', key: 'description', get: specField('description') },
};

const showColumns: Column<ResourceView>[] = [{ header: 'ID', key: 'id', get: (r) => r.id }, ...Object.values(specColumns), ...resourceTailColumns()];

const LIST_KEYS = ['id', 'name', 'ram', 'disk', 'ephemeral', 'vcpus', 'is_public', 'placement'];
const LONG_LIST_KEYS = [...LIST_KEYS, 'swap', 'rxtx_factor', 'properties'];

function uniqueProjects(projects: string[]): string[] {
  return [...new Set(projects)];
}

/**
 * The whole new access list (a merge patch replaces a list): `current` plus `add` minus `remove`,
 * or null (the field removed) when it ends up empty.
 */
function accessList(current: string[], add: string[], remove: string[]): string[] | null {
  const next = [...new Set([...current, ...add])].filter((p) => !remove.includes(p));
  return next.length > 0 ? next : null;
}

const create: CommandSpec = {
  words: [KIND, 'create'],
  summary: 'create a flavor on every site its placement selects',
  args: 'NAME',
  positionals: { min: 1, max: 1 },
  output: 'show',
  options: {
    id: { type: 'string', value: 'ID', help: 'flavor id (default: a new UUID)' },
    vcpus: { type: 'string', value: 'N', help: 'number of vCPUs (required)' },
    ram: { type: 'string', value: 'MiB', help: 'memory in MiB (required)' },
    disk: { type: 'string', value: 'GiB', help: 'root disk in GiB (required; 0 = the image size)' },
    ephemeral: { type: 'string', value: 'GiB', help: 'ephemeral disk in GiB (default 0)' },
    swap: { type: 'string', value: 'MiB', help: 'swap in MiB (default 0)' },
    'rxtx-factor': { type: 'string', value: 'F', help: 'RX/TX factor (default 1.0)' },
    public: { type: 'boolean', help: 'available to every project (default)' },
    private: { type: 'boolean', help: 'available only to projects given access' },
    project: { type: 'string', multiple: true, value: 'PROJECT_ID', help: 'give this project access to the private flavor (repeatable; needs --private)' },
    property: { type: 'string', multiple: true, value: 'K=V', help: 'extra spec' },
    description: { type: 'string', value: 'TEXT', help: 'description' },
    ...PLACEMENT_OPTION,
  },
  notes: 'example: stackraft flavor create m1.small --vcpus 1 --ram 2048 --disk 20 --property hw:cpu_policy=shared',
  run: async (ctx) => {
    const id = ctx.str('id') ?? randomUUID();
    const isPublic = exclusiveFlags(ctx, ['public', 'private']) !== 'private';
    const projects = uniqueProjects(ctx.strs('project'));
    if (isPublic && projects.length > 0) throw new UsageError('--project gives a private flavor access: add --private', ctx.command.words.join(' '));
    const spec: JsonObject = {
      name: ctx.positionals[0],
      vcpus: parseInteger('vcpus', requireOption(ctx, 'vcpus'), 1),
      ram: parseInteger('ram', requireOption(ctx, 'ram'), 1),
      disk: parseInteger('disk', requireOption(ctx, 'disk'), 0),
      ephemeral: ctx.has('ephemeral') ? parseInteger('ephemeral', ctx.str('ephemeral')!, 0) : FLAVOR_DEFAULTS.ephemeral,
      swap: ctx.has('swap') ? parseInteger('swap', ctx.str('swap')!, 0) : FLAVOR_DEFAULTS.swap,
      rxtxFactor: ctx.has('rxtx-factor') ? parsePositiveNumber('rxtx-factor', ctx.str('rxtx-factor')!) : FLAVOR_DEFAULTS.rxtxFactor,
      isPublic,
      extraSpecs: parseKeyValues('property', ctx.strs('property')),
      ...(ctx.has('description') ? { description: ctx.str('description')! } : {}),
      ...(projects.length > 0 ? { accessProjects: projects } : {}),
    };
    const placement = placementChange(ctx);
    const result = await putResource(ctx, KIND, id, { spec, ...placement, expectedRevision: 0 });
    printShow(ctx, showColumns, { kind: KIND, id, spec, placement: placement.placement ?? 'all', revision: revisionOf(result, KIND, id) });
  },
};

const list = listCommand({ kind: KIND, summary: 'list flavors', columns: showColumns, keys: LIST_KEYS, long: { keys: LONG_LIST_KEYS, help: 'also show swap, RX/TX factor and properties' } });

const show = showCommand(KIND, 'show one flavor', 'ID|NAME', showColumns, true);

const set: CommandSpec = {
  words: [KIND, 'set'],
  summary: 'change a flavor\'s properties, project access or placement',
  args: 'ID|NAME',
  positionals: { min: 1, max: 1 },
  options: {
    property: { type: 'string', multiple: true, value: 'K=V', help: 'add or change an extra spec' },
    'no-property': { type: 'boolean', help: 'remove every extra spec first (then apply --property)' },
    project: { type: 'string', multiple: true, value: 'PROJECT_ID', help: 'give this project access to the private flavor (repeatable)' },
    'no-project': { type: 'boolean', help: 'remove every project\'s access first (then apply --project)' },
    description: { type: 'string', value: 'TEXT', help: 'new description' },
    ...PLACEMENT_SET_OPTIONS,
  },
  notes: 'Nova cannot change a flavor\'s vCPUs, RAM or disks: create a new flavor instead.',
  run: async (ctx) => {
    const placement = placementChange(ctx);
    const set = parseKeyValues('property', ctx.strs('property'));
    const changesExtraSpecs = ctx.bool('no-property') || Object.keys(set).length > 0;
    const addProjects = uniqueProjects(ctx.strs('project'));
    const changesAccess = ctx.bool('no-project') || addProjects.length > 0;
    if (!changesExtraSpecs && !changesAccess && !ctx.has('description') && !('placement' in placement)) nothingToChange(ctx);
    const { resource } = await findResource(ctx, KIND, ctx.positionals[0]);
    const patch: JsonObject = {};
    if (changesExtraSpecs) patch.extraSpecs = updatedMap(resource.spec.extraSpecs, set, [], ctx.bool('no-property'));
    if (changesAccess) patch.accessProjects = accessList(ctx.bool('no-project') ? [] : stringList(resource.spec.accessProjects), addProjects, []);
    if (ctx.has('description')) patch.description = ctx.str('description')!;
    await patchResource(ctx, KIND, resource.id, { patch, ...placement, expectedRevision: resource.revision });
  },
};

const unset: CommandSpec = {
  words: [KIND, 'unset'],
  summary: 'remove extra specs or project access from a flavor',
  args: 'ID|NAME',
  positionals: { min: 1, max: 1 },
  options: {
    property: { type: 'string', multiple: true, value: 'KEY', help: 'extra spec to remove' },
    project: { type: 'string', multiple: true, value: 'PROJECT_ID', help: 'take this project\'s access away' },
  },
  run: async (ctx) => {
    const keys = ctx.strs('property');
    const projects = ctx.strs('project');
    if (keys.length === 0 && projects.length === 0) throw new UsageError('give at least one --property KEY or --project PROJECT_ID to remove', ctx.command.words.join(' '));
    const { resource } = await findResource(ctx, KIND, ctx.positionals[0]);
    const patch: JsonObject = {};
    if (keys.length > 0) patch.extraSpecs = updatedMap(resource.spec.extraSpecs, {}, keys, false);
    if (projects.length > 0) patch.accessProjects = accessList(stringList(resource.spec.accessProjects), [], projects);
    await patchResource(ctx, KIND, resource.id, { patch, expectedRevision: resource.revision });
  },
};

const remove: CommandSpec = {
  words: [KIND, 'delete'],
  summary: 'delete flavors (all or none)',
  args: 'ID|NAME [ID|NAME ...]',
  positionals: { min: 1, max: 64 },
  options: {},
  run: async (ctx) => {
    await deleteResources(ctx, KIND, ctx.positionals);
  },
};

export const flavorCommands: CommandSpec[] = [create, list, show, set, unset, remove];
