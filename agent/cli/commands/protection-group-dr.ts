// stackraft protection-group failover|failback|test-failover|test-cleanup|history: disaster recovery
// as named operations (DESIGN.md, "Disaster recovery"). Each is one POST to the admin API, which
// reads the group through the leader and names its epoch and sites in the op.
import type { ResourceView } from '../../admin/service.js';
import type { CommandContext, CommandSpec } from '../command.js';
import type { Column } from '../output.js';
import { FORCE_OPTIONS, LINEARIZABLE_OPTION, findResource, forceOptions, noteStaleness, printList, printShow, type WriteResult } from '../resources.js';

const KIND = 'protection-group';

interface DrView {
  home?: string;
  operation?: { action: string; epoch: number; from: string; to: string; forced?: string; time: number; steps: Array<{ step: string; site: string; state: string; attempts: number; message: string }> } | null;
  testing?: boolean;
  acks?: Record<string, number>;
  history?: Array<Record<string, unknown>>;
}

function drOf(r: ResourceView): DrView {
  return (r.dr ?? {}) as DrView;
}

function isoTime(ms: unknown): string {
  return typeof ms === 'number' ? new Date(ms).toISOString() : '';
}

/** What `protection-group show` adds: who acts as primary, at which epoch, each site's acknowledged epoch, the steps. */
export const drShowColumns: Column<ResourceView>[] = [
  { header: 'Acting Primary', key: 'acting_primary', get: (r) => r.spec.primarySite },
  { header: 'Home Site', key: 'home_site', get: (r) => drOf(r).home ?? r.spec.primarySite },
  { header: 'Acknowledged Epochs', key: 'acknowledged_epochs', get: (r) => drOf(r).acks ?? {} },
  { header: 'Operation', key: 'operation', get: (r) => operationText(drOf(r)) },
  { header: 'Steps', key: 'steps', get: (r) => (drOf(r).operation?.steps ?? []).map((s) => `${s.step} on ${s.site}: ${s.state}${s.attempts > 1 ? ` (attempt ${s.attempts})` : ''}${s.message ? `: ${s.message}` : ''}`) },
  { header: 'Drill Running', key: 'drill_running', get: (r) => drOf(r).testing ?? false },
  { header: 'Forced Reason', key: 'forced_reason', get: (r) => r.forced?.reason ?? '' },
  { header: 'Forced At', key: 'forced_at', get: (r) => isoTime(r.forced?.time) },
];

function operationText(dr: DrView): string {
  const op = dr.operation;
  if (!op) return '';
  const done = op.steps.every((s) => s.state === 'done');
  const what = op.action === 'failover' || op.action === 'failback' ? `${op.action} ${op.from} -> ${op.to}` : `${op.action} on the secondary`;
  return `${what} at epoch ${op.epoch}${op.forced ? ' (forced)' : ''}, ${done ? 'finished' : 'running'} since ${isoTime(op.time)}`;
}

const historyColumns: Column<Record<string, unknown>>[] = [
  { header: 'Index', key: 'index', get: (e) => e.index },
  { header: 'Time', key: 'time', get: (e) => isoTime(e.time) },
  { header: 'Event', key: 'event', get: (e) => e.event },
  { header: 'Epoch', key: 'epoch', get: (e) => e.epoch },
  { header: 'Site', key: 'site', get: (e) => e.site ?? '' },
  { header: 'Step', key: 'step', get: (e) => e.step ?? '' },
  { header: 'State', key: 'state', get: (e) => e.state ?? '' },
  { header: 'Detail', key: 'detail', get: (e) => e.reason ?? e.message ?? '' },
];

async function runAction(ctx: CommandContext, action: string, extra: { force?: boolean; reason?: string }): Promise<void> {
  const id = ctx.positionals[0]!;
  const result = await ctx.client().write<WriteResult>('POST', `/v1/protection-groups/${encodeURIComponent(id)}/${action}`, extra);
  const { resource } = await findResource(ctx, KIND, id, false);
  const row = { ...resource, writeIndex: result.index };
  printShow(ctx, actionColumns, row);
}

const actionColumns: Column<ResourceView & { writeIndex: number }>[] = [
  { header: 'Name', key: 'name', get: (r) => r.id },
  { header: 'Status', key: 'status', get: (r) => r.spec.status },
  { header: 'Epoch', key: 'epoch', get: (r) => r.spec.failoverEpoch },
  ...drShowColumns.filter((c) => ['acting_primary', 'operation', 'steps', 'forced_reason'].includes(c.key)),
  { header: 'Committed At Index', key: 'index', get: (r) => r.writeIndex },
];

function operationCommand(action: string, summary: string, notes: string, forcible: boolean): CommandSpec {
  return {
    words: [KIND, action],
    summary,
    args: 'NAME',
    positionals: { min: 1, max: 1 },
    output: 'show',
    options: forcible ? { ...FORCE_OPTIONS } : {},
    notes,
    run: async (ctx) => runAction(ctx, action, forcible ? forceOptions(ctx) : {}),
  };
}

const failover = operationCommand(
  'failover',
  'move the primary role to the secondary site (planned: both sites reachable; --force only while the primary is cut off)',
  'Planned: the old primary runs its demote step, then the new one its promote step. With --force --reason TEXT ' +
    '(the primary is lost): the leader refuses (PEER_REACHABLE, exit 3) while it can still reach the primary; otherwise ' +
    'the new primary promotes at once and the old one is fenced (runs demote) when it comes back.',
  true,
);
const failback = operationCommand('failback', 'return the primary role to the home site (planned; after the failover finished)', 'Needs both sites reachable and every step of the failover done, including the fenced site\'s demote.', false);
const testFailover = operationCommand('test-failover', 'drill: bring up a copy on the secondary; the primary keeps its role', 'Needs the secondary reachable. End the drill with test-cleanup.', false);
const testCleanup = operationCommand('test-cleanup', 'end a drill: remove the copy on the secondary', 'Needs the secondary reachable.', false);

const history: CommandSpec = {
  words: [KIND, 'history'],
  summary: 'the DR history of a protection group (operations, step outcomes, oldest first)',
  args: 'NAME',
  positionals: { min: 1, max: 1 },
  output: 'list',
  options: { ...LINEARIZABLE_OPTION },
  run: async (ctx) => {
    const { resource, meta } = await findResource(ctx, KIND, ctx.positionals[0]!, false);
    printList(ctx, historyColumns, drOf(resource).history ?? []);
    noteStaleness(ctx, meta);
  },
};

export const protectionGroupDrCommands: CommandSpec[] = [failover, failback, testFailover, testCleanup, history];
