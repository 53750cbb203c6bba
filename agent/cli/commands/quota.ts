// stackraft quota set|show|list|delete: one project's quota set (compute, volume and network limits),
// the same on every site its placement selects.
import type { JsonObject, ResourceView } from '../../admin/service.js';
import { QUOTA_FIELDS, type QuotaField } from '../../admin/vocabulary.js';
import { parseInteger, type CommandSpec, type OptionSpec } from '../command.js';
import type { Column } from '../output.js';
import {
  LINEARIZABLE_OPTION,
  PLACEMENT_SET_OPTIONS,
  deleteResources,
  findResource,
  getById,
  listKind,
  nothingToChange,
  patchResource,
  placementChange,
  printList,
  printShow,
  putResource,
  resourceTailColumns,
} from '../resources.js';

const KIND = 'quota';

/** Option name (as in `openstack quota set`), spec field, what it limits. */
const LIMITS: Array<{ option: string; field: QuotaField; help: string }> = [
  { option: 'cores', field: 'cores', help: 'vCPU cores' },
  { option: 'instances', field: 'instances', help: 'servers' },
  { option: 'ram', field: 'ramMiB', help: 'RAM in MiB' },
  { option: 'key-pairs', field: 'keyPairs', help: 'key pairs' },
  { option: 'server-groups', field: 'serverGroups', help: 'server groups' },
  { option: 'server-group-members', field: 'serverGroupMembers', help: 'servers per server group' },
  { option: 'volumes', field: 'volumes', help: 'volumes' },
  { option: 'snapshots', field: 'snapshots', help: 'volume snapshots' },
  { option: 'gigabytes', field: 'gigabytes', help: 'volume and snapshot GiB' },
  { option: 'backups', field: 'backups', help: 'volume backups' },
  { option: 'backup-gigabytes', field: 'backupGigabytes', help: 'backup GiB' },
  { option: 'networks', field: 'networks', help: 'networks' },
  { option: 'subnets', field: 'subnets', help: 'subnets' },
  { option: 'ports', field: 'ports', help: 'ports' },
  { option: 'routers', field: 'routers', help: 'routers' },
  { option: 'floating-ips', field: 'floatingIps', help: 'floating IPs' },
  { option: 'secgroups', field: 'securityGroups', help: 'security groups' },
  { option: 'secgroup-rules', field: 'securityGroupRules', help: 'security group rules' },
];
// Every quota field the API knows has an option (checked once at load, so the two lists cannot drift).
for (const field of QUOTA_FIELDS) if (!LIMITS.some((l) => l.field === field)) throw new Error(`quota field ${field} has no CLI option`);

const limitOptions: Record<string, OptionSpec> = Object.fromEntries(
  LIMITS.map((l) => [l.option, { type: 'string', value: 'N', help: `${l.help} (-1 = unlimited)` } satisfies OptionSpec]),
);

/** 'floating-ips' -> 'Floating Ips'; a few read better as the openstack CLI spells them. */
function headerOf(option: string): string {
  const special: Record<string, string> = { ram: 'RAM', 'floating-ips': 'Floating IPs', secgroups: 'Secgroups', 'secgroup-rules': 'Secgroup Rules' };
  return special[option] ?? option.split('-').map((w) => w[0].toUpperCase() + w.slice(1)).join(' ');
}

const showColumns: Column<ResourceView>[] = [
  { header: 'Project', key: 'project', get: (r) => r.spec.project ?? r.id },
  ...LIMITS.map((l): Column<ResourceView> => ({ header: headerOf(l.option), key: l.option.replace(/-/g, '_'), get: (r) => r.spec[l.field] })),
  ...resourceTailColumns(),
];

const LIST_KEYS = ['project', 'cores', 'instances', 'ram', 'volumes', 'gigabytes', 'placement'];

const set: CommandSpec = {
  words: [KIND, 'set'],
  summary: 'set limits of a project\'s quota (creates the quota set if there is none)',
  args: 'PROJECT',
  positionals: { min: 1, max: 1 },
  options: { ...limitOptions, ...PLACEMENT_SET_OPTIONS },
  notes: 'example: stackraft quota set 3f1c0e... --cores 64 --ram 131072 --instances 20',
  run: async (ctx) => {
    const project = ctx.positionals[0];
    const limits: JsonObject = {};
    for (const l of LIMITS) if (ctx.has(l.option)) limits[l.field] = parseInteger(l.option, ctx.str(l.option)!, -1);
    const placement = placementChange(ctx);
    if (Object.keys(limits).length === 0 && !('placement' in placement)) nothingToChange(ctx);
    const existing = await getById(ctx, KIND, project);
    if (existing) {
      await patchResource(ctx, KIND, project, { patch: limits, ...placement, expectedRevision: existing.resource.revision });
    } else {
      await putResource(ctx, KIND, project, { spec: { project, ...limits }, placement: placement.placement ?? null, expectedRevision: 0 });
    }
  },
};

const show: CommandSpec = {
  words: [KIND, 'show'],
  summary: 'show a project\'s quota set (empty limits are the sites\' defaults)',
  args: 'PROJECT',
  positionals: { min: 1, max: 1 },
  output: 'show',
  options: { ...LINEARIZABLE_OPTION },
  run: async (ctx) => {
    const { resource } = await findResource(ctx, KIND, ctx.positionals[0], false);
    printShow(ctx, showColumns, resource);
  },
};

const list: CommandSpec = {
  words: [KIND, 'list'],
  summary: 'list the projects that have a quota set',
  positionals: { min: 0, max: 0 },
  output: 'list',
  options: { ...LINEARIZABLE_OPTION },
  run: async (ctx) => {
    const { items } = await listKind(ctx, KIND);
    printList(ctx, LIST_KEYS.map((key) => showColumns.find((c) => c.key === key)!), items);
  },
};

const remove: CommandSpec = {
  words: [KIND, 'delete'],
  summary: 'delete projects\' quota sets from the catalog',
  args: 'PROJECT [PROJECT ...]',
  positionals: { min: 1, max: 64 },
  options: {},
  run: async (ctx) => {
    await deleteResources(ctx, KIND, ctx.positionals, false);
  },
};

export const quotaCommands: CommandSpec[] = [set, show, list, remove];
