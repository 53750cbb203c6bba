// stackraft quota set|show|list|delete: one project's quota set (compute, volume and network limits),
// the same on every site its placement selects.
import type { JsonObject, ResourceView } from '../../admin/service.js';
import { QUOTA_GROUP_NAMES, type QuotaGroup, type QuotaLimitField } from '../../admin/vocabulary.js';
import { parseInteger, type CommandSpec, type OptionSpec } from '../command.js';
import type { Column } from '../output.js';
import {
  listCommand,
  showCommand,
  PLACEMENT_SET_OPTIONS,
  deleteResources,
  getById,
  nothingToChange,
  patchResource,
  placementChange,
  putResource,
  resourceTailColumns,
} from '../resources.js';

const KIND = 'quota';

interface LimitPresentation {
  /** Option name and column key, as `openstack quota set` and `quota show` name them. */
  option: string;
  header: string;
  /** What it limits. */
  help: string;
}

/** How each limit of the catalog's QUOTA_GROUPS is presented; typed by them, so the two cannot drift. */
const PRESENTATION: { [G in QuotaGroup]: Record<QuotaLimitField<G>, LimitPresentation> } = {
  compute: {
    cores: { option: 'cores', header: 'Cores', help: 'vCPU cores' },
    instances: { option: 'instances', header: 'Instances', help: 'servers' },
    ram: { option: 'ram', header: 'RAM', help: 'RAM in MiB' },
    keyPairs: { option: 'key-pairs', header: 'Key Pairs', help: 'key pairs' },
    serverGroups: { option: 'server-groups', header: 'Server Groups', help: 'server groups' },
  },
  volume: {
    volumes: { option: 'volumes', header: 'Volumes', help: 'volumes' },
    gigabytes: { option: 'gigabytes', header: 'Gigabytes', help: 'volume and snapshot GiB' },
    snapshots: { option: 'snapshots', header: 'Snapshots', help: 'volume snapshots' },
    backups: { option: 'backups', header: 'Backups', help: 'volume backups' },
  },
  network: {
    networks: { option: 'networks', header: 'Networks', help: 'networks' },
    subnets: { option: 'subnets', header: 'Subnets', help: 'subnets' },
    ports: { option: 'ports', header: 'Ports', help: 'ports' },
    routers: { option: 'routers', header: 'Routers', help: 'routers' },
    floatingIps: { option: 'floating-ips', header: 'Floating IPs', help: 'floating IPs' },
    securityGroups: { option: 'secgroups', header: 'Secgroups', help: 'security groups' },
  },
};

/** Every limit with its group and field in the catalog's quota spec. */
const LIMITS: Array<LimitPresentation & { group: QuotaGroup; field: string }> = QUOTA_GROUP_NAMES.flatMap((group) =>
  Object.entries(PRESENTATION[group] as Record<string, LimitPresentation>).map(([field, shown]) => ({ ...shown, group, field })),
);

const limitOptions: Record<string, OptionSpec> = Object.fromEntries(
  LIMITS.map((l) => [l.option, { type: 'string', value: 'N', help: `${l.help} (-1 = unlimited)` } satisfies OptionSpec]),
);

function groupOf(spec: JsonObject, group: QuotaGroup): Record<string, unknown> {
  const value = spec[group];
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? value : {};
}

const showColumns: Column<ResourceView>[] = [
  { header: 'Project', key: 'project', get: (r) => r.spec.project ?? r.id },
  ...LIMITS.map((l): Column<ResourceView> => ({ header: l.header, key: l.option.replace(/-/g, '_'), get: (r) => groupOf(r.spec, l.group)[l.field] })),
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
    const given = LIMITS.filter((l) => ctx.has(l.option)).map((l) => ({ ...l, value: parseInteger(l.option, ctx.str(l.option)!, -1) }));
    const placement = placementChange(ctx);
    if (given.length === 0 && !('placement' in placement)) nothingToChange(ctx);
    const existing = await getById(ctx, KIND, project);
    // A patch replaces a whole group (compute, volume, network): send each touched group complete.
    const groups: JsonObject = {};
    for (const l of given) {
      const current = (groups[l.group] as JsonObject | undefined) ?? ({ ...groupOf(existing?.resource.spec ?? {}, l.group) } as JsonObject);
      current[l.field] = l.value;
      groups[l.group] = current;
    }
    if (existing) {
      await patchResource(ctx, KIND, project, { patch: groups, ...placement, expectedRevision: existing.resource.revision });
    } else {
      await putResource(ctx, KIND, project, { spec: { project, ...groups }, ...placement, expectedRevision: 0 });
    }
  },
};

const show = showCommand(KIND, 'show a project\'s quota set (empty limits are the sites\' defaults)', 'PROJECT', showColumns, false);

const list = listCommand({ kind: KIND, summary: 'list the projects that have a quota set', columns: showColumns, keys: LIST_KEYS });

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
