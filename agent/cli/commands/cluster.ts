// stackraft status, site add|list|show|remove, member list|promote|demote, leader transfer: the
// cluster itself (membership, roles, leadership).
import type { MemberView, ResourceView, StatusView } from '../../admin/service.js';
import { parseKeyValues, requireOption, type CommandContext, type CommandSpec } from '../command.js';
import { UsageError } from '../errors.js';
import type { Column } from '../output.js';
import { LINEARIZABLE_OPTION, findResource, listKind, noteStaleness, printList, printShow, revisionOf, type WriteResult } from '../resources.js';

function formatMember(m: MemberView): string {
  const parts = [m.site, m.role, m.live ? 'live' : 'DOWN'];
  if (m.matchIndex !== null) parts.push(`match=${m.matchIndex}`);
  if (m.relay !== undefined) parts.push(`relay=${m.relay}`);
  if (m.rttMs !== null) parts.push(`rtt=${m.rttMs}ms`);
  return parts.join(' ');
}

const statusColumns: Column<StatusView>[] = [
  { header: 'Cluster ID', key: 'cluster_id', get: (s) => s.clusterId },
  { header: 'Site', key: 'site', get: (s) => s.site },
  { header: 'Peer ID', key: 'peer_id', get: (s) => s.peerId },
  { header: 'Role', key: 'role', get: (s) => s.role },
  { header: 'Membership', key: 'membership', get: (s) => s.membership },
  { header: 'Term', key: 'term', get: (s) => s.term },
  { header: 'Leader', key: 'leader', get: (s) => s.leader },
  { header: 'Commit Index', key: 'commit_index', get: (s) => s.commitIndex },
  { header: 'Applied Index', key: 'applied_index', get: (s) => s.appliedIndex },
  { header: 'Members', key: 'members', get: (s) => s.members },
  { header: 'Version', key: 'version', get: (s) => s.version },
];

/** In a table, members read one per line; json and yaml keep the objects. */
function statusColumnsFor(ctx: CommandContext): Column<StatusView>[] {
  if (ctx.format !== 'table' && ctx.format !== 'value') return statusColumns;
  return statusColumns.map((c) => (c.key === 'members' ? { ...c, get: (s: StatusView) => s.members.map(formatMember).join('\n') } : c));
}

const status: CommandSpec = {
  words: ['status'],
  summary: 'this agent\'s view of the cluster: role, term, leader, indexes, members',
  positionals: { min: 0, max: 0 },
  output: 'show',
  options: {},
  run: async (ctx) => {
    printShow(ctx, statusColumnsFor(ctx), await ctx.client().get<StatusView>('/v1/status'));
  },
};

// ---------------------------------------------------------------- sites

interface SiteRow {
  resource: ResourceView;
  member: MemberView | undefined;
}

const siteColumns: Column<SiteRow>[] = [
  { header: 'Name', key: 'name', get: (r) => r.resource.id },
  { header: 'Region', key: 'region', get: (r) => r.resource.spec.region },
  { header: 'Country', key: 'country', get: (r) => r.resource.spec.country },
  { header: 'Role', key: 'role', get: (r) => r.member?.role ?? 'none' },
  { header: 'Live', key: 'live', get: (r) => r.member?.live ?? false },
  { header: 'Labels', key: 'labels', get: (r) => r.resource.spec.labels ?? {} },
  { header: 'Peer ID', key: 'peer_id', get: (r) => r.resource.spec.peerId },
  { header: 'Addresses', key: 'addresses', get: (r) => r.resource.spec.addresses ?? [] },
  { header: 'Revision', key: 'revision', get: (r) => r.resource.revision },
];
const SITE_LIST_KEYS = ['name', 'region', 'country', 'role', 'live', 'labels'];

async function membersBySite(ctx: CommandContext): Promise<Map<string, MemberView>> {
  const { members } = await ctx.client().get<{ members: MemberView[] }>('/v1/members');
  return new Map(members.map((m) => [m.site, m]));
}

/** The peer id: from --peer-id, or the /p2p/ part of the addresses (which must agree). */
function peerIdOf(ctx: CommandContext, addrs: string[]): string {
  const named = new Set(addrs.map((a) => /\/p2p\/([^/]+)/.exec(a)?.[1]).filter((p): p is string => p !== undefined));
  const given = ctx.str('peer-id');
  if (given !== undefined) named.add(given);
  if (named.size === 0) throw new UsageError('give --peer-id ID, or --addr values ending in /p2p/ID', ctx.command.words.join(' '));
  if (named.size > 1) throw new UsageError(`the addresses and --peer-id name different peers: ${[...named].join(', ')}`, ctx.command.words.join(' '));
  return [...named][0];
}

const siteAdd: CommandSpec = {
  words: ['site', 'add'],
  summary: 'register a new site; it joins as a learner (promote it with `member promote`)',
  args: 'NAME',
  positionals: { min: 1, max: 1 },
  output: 'show',
  options: {
    addr: { type: 'string', multiple: true, value: 'MULTIADDR', help: 'address other sites dial, e.g. /dns4/host/tcp/7420/p2p/12D3Koo... (required)' },
    'peer-id': { type: 'string', value: 'ID', help: 'the site\'s libp2p peer id (default: from --addr)' },
    region: { type: 'string', value: 'REGION', help: 'region (required)' },
    country: { type: 'string', value: 'CC', help: 'ISO 3166-1 alpha-2 country code, e.g. DE (required)' },
    label: { type: 'string', multiple: true, value: 'K=V', help: 'site label, for placement selectors' },
    token: { type: 'boolean', help: 'mint the site\'s key here and print a join token for `stackraft init --join` (no --peer-id)' },
    ttl: { type: 'string', value: 'DURATION', help: 'how long the join token stays valid, e.g. 30m, 2h (default 30m)' },
  },
  notes: [
    'The new site prints its peer id and address when it runs `stackraft init`. After the site is',
    'added, the peers to put in its agent.yaml are printed on standard error.',
    'With --token, no peer id is needed: the command prints one line, a join token, for',
    '`stackraft init --join TOKEN` on the new site (it writes the config and key; start the agent).',
  ].join('\n'),
  run: async (ctx) => {
    const addrs = ctx.strs('addr');
    if (addrs.length === 0) throw new UsageError('--addr is required', ctx.command.words.join(' '));
    if (ctx.bool('token')) {
      await (await import('../../recovery/join-add.js')).addSiteWithToken(ctx, addrs, {
        region: requireOption(ctx, 'region'),
        country: requireOption(ctx, 'country').toUpperCase(),
        labels: parseKeyValues('label', ctx.strs('label')),
      });
      return;
    }
    const name = ctx.positionals[0];
    const body = {
      name,
      peerId: peerIdOf(ctx, addrs),
      addrs,
      region: requireOption(ctx, 'region'),
      country: requireOption(ctx, 'country').toUpperCase(),
      labels: parseKeyValues('label', ctx.strs('label')),
    };
    const result = await ctx.client().write<WriteResult>('POST', '/v1/sites', body);
    const spec = { name, peerId: body.peerId, addresses: addrs, region: body.region, country: body.country, labels: body.labels, role: 'learner' };
    const resource: ResourceView = { kind: 'site', id: name, spec, placement: null, revision: revisionOf(result, 'site', name) };
    printShow(ctx, siteColumns, { resource, member: { site: name, role: 'learner', live: false, matchIndex: null, rttMs: null } });
    await printSeedPeers(ctx, name);
  },
};

/** The agent.yaml `peers:` the new site needs to find the cluster: every other site, one address each. */
async function printSeedPeers(ctx: CommandContext, newSite: string): Promise<void> {
  const { items } = await listKind(ctx, 'site');
  const lines: string[] = [];
  for (const site of items) {
    if (site.id === newSite) continue;
    const peerId = String(site.spec.peerId ?? '');
    const first = Array.isArray(site.spec.addresses) ? site.spec.addresses.find((a): a is string => typeof a === 'string') : undefined;
    if (!first || !peerId) continue;
    lines.push(`  - site: ${site.id}`, `    addr: ${first.includes('/p2p/') ? first : `${first}/p2p/${peerId}`}`);
  }
  if (lines.length === 0) return;
  ctx.io.stderr.write(`\nNext, in ${newSite}'s /etc/stackraft/agent.yaml (then start its agent):\npeers:\n${lines.join('\n')}\n`);
}

const siteList: CommandSpec = {
  words: ['site', 'list'],
  summary: 'list sites with their role and liveness',
  positionals: { min: 0, max: 0 },
  output: 'list',
  options: { long: { type: 'boolean', help: 'also show peer ids and addresses' }, ...LINEARIZABLE_OPTION },
  run: async (ctx) => {
    const [{ items, meta }, members] = await Promise.all([listKind(ctx, 'site'), membersBySite(ctx)]);
    const keys = ctx.bool('long') ? [...SITE_LIST_KEYS, 'peer_id', 'addresses'] : SITE_LIST_KEYS;
    printList(ctx, keys.map((key) => siteColumns.find((c) => c.key === key)!), items.map((resource) => ({ resource, member: members.get(resource.id) })));
    noteStaleness(ctx, meta);
  },
};

const siteShow: CommandSpec = {
  words: ['site', 'show'],
  summary: 'show one site',
  args: 'NAME',
  positionals: { min: 1, max: 1 },
  output: 'show',
  options: { ...LINEARIZABLE_OPTION },
  run: async (ctx) => {
    const [{ resource, meta }, members] = await Promise.all([findResource(ctx, 'site', ctx.positionals[0], false), membersBySite(ctx)]);
    printShow(ctx, siteColumns, { resource, member: members.get(resource.id) });
    noteStaleness(ctx, meta);
  },
};

const siteRemove: CommandSpec = {
  words: ['site', 'remove'],
  summary: 'remove a site from the cluster (demote it first if it is a voter)',
  args: 'NAME',
  positionals: { min: 1, max: 1 },
  options: {},
  run: async (ctx) => {
    await ctx.client().write('DELETE', `/v1/sites/${encodeURIComponent(ctx.positionals[0])}`);
    ctx.io.stdout.write(`removed site ${ctx.positionals[0]}\n`);
  },
};

// ---------------------------------------------------------------- members and leader

const memberColumns: Column<MemberView>[] = [
  { header: 'Site', key: 'site', get: (m) => m.site },
  { header: 'Role', key: 'role', get: (m) => m.role },
  { header: 'Live', key: 'live', get: (m) => m.live },
  { header: 'Match Index', key: 'match_index', get: (m) => m.matchIndex },
  { header: 'RTT (ms)', key: 'rtt_ms', get: (m) => m.rttMs },
];

const memberList: CommandSpec = {
  words: ['member', 'list'],
  summary: 'list Raft members (voters and learners) and whether they are live',
  positionals: { min: 0, max: 0 },
  output: 'list',
  options: {},
  run: async (ctx) => {
    const members = [...(await membersBySite(ctx)).values()];
    printList(ctx, memberColumns, members);
  },
};

function membershipChange(verb: 'promote' | 'demote', summary: string, done: string): CommandSpec {
  return {
    words: ['member', verb],
    summary,
    args: 'SITE',
    positionals: { min: 1, max: 1 },
    options: {},
    run: async (ctx) => {
      const site = ctx.positionals[0];
      const result = await ctx.client().write<WriteResult>('POST', `/v1/members/${encodeURIComponent(site)}/${verb}`);
      ctx.io.stdout.write(`${site} is now a ${done} (log index ${result.index})\n`);
    },
  };
}

const leaderTransfer: CommandSpec = {
  words: ['leader', 'transfer'],
  summary: 'hand leadership to another voter (e.g. before maintenance of the leader\'s site)',
  args: 'SITE',
  positionals: { min: 1, max: 1 },
  options: {},
  run: async (ctx) => {
    const site = ctx.positionals[0];
    const result = await ctx.client().post<{ leader: string; term: number }>('/v1/leader/transfer', { site });
    ctx.io.stdout.write(`leader is now ${result.leader} (term ${result.term})\n`);
  },
};

export const clusterCommands: CommandSpec[] = [
  status,
  siteAdd,
  siteList,
  siteShow,
  siteRemove,
  memberList,
  membershipChange('promote', 'make a learner a voter', 'voter'),
  membershipChange('demote', 'make a voter a learner', 'learner'),
  leaderTransfer,
];

