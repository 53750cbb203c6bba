// stackraft audit list: who changed what, from where, and why — the catalog's audit ring, read from
// any site (every site applies the same writes, so every site holds the same ring).
import { RESOURCE_KINDS, isResourceKind, type AuditEntryView, type AuditView, type ReadMeta } from '../../admin/service.js';
import { parseSince } from '../../admin/audit-query.js';
import { parseInteger, type CommandContext, type CommandSpec } from '../command.js';
import { UsageError } from '../errors.js';
import type { Column } from '../output.js';
import { LINEARIZABLE_OPTION, noteStaleness, printList } from '../resources.js';

/** `--since 30m` / `2h` / `7d`: relative to now. */
const RELATIVE_SINCE = /^(\d{1,6})(s|m|h|d)$/;
const UNIT_MS: Record<string, number> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** The `since` query value: an age becomes an ISO time; an ISO time or epoch milliseconds go as given. */
export function sinceParameter(text: string, nowMs: number): string {
  const relative = RELATIVE_SINCE.exec(text.trim());
  if (relative) return new Date(nowMs - Number(relative[1]) * UNIT_MS[relative[2]]).toISOString();
  if (parseSince(text.trim()) === undefined) {
    throw new UsageError(`--since: expected an ISO 8601 time with a zone (2026-12-07T15:00:00Z), epoch milliseconds, or an age such as 30m, 2h, 7d; got ${JSON.stringify(text)}`, 'audit list');
  }
  return text.trim();
}

function targetsText(entry: AuditEntryView): string {
  return entry.targets.map((t) => `${t.op} ${t.kind}/${t.id}`).join('\n');
}

const columns: Column<AuditEntryView>[] = [
  { header: 'Index', key: 'index', get: (e) => e.index },
  { header: 'Time', key: 'time', get: (e) => e.time },
  { header: 'Operator', key: 'operator', get: (e) => e.operator ?? '-' },
  { header: 'Host', key: 'host', get: (e) => e.host ?? '-' },
  { header: 'Site', key: 'site', get: (e) => e.site ?? '-' },
  { header: 'Changes', key: 'changes', get: targetsText },
  { header: 'Outcome', key: 'outcome', get: (e) => e.outcome },
  { header: 'Forced', key: 'forced', get: (e) => e.forced },
  { header: 'Reason', key: 'reason', get: (e) => e.reason ?? '' },
  { header: 'Write ID', key: 'write_id', get: (e) => e.writeId },
];

/** json and yaml keep the targets as objects. */
function columnsFor(ctx: CommandContext): Column<AuditEntryView>[] {
  if (ctx.format === 'table' || ctx.format === 'value') return columns;
  return columns.map((c) => (c.key === 'changes' ? { ...c, get: (e: AuditEntryView) => e.targets } : c));
}

function queryOf(ctx: CommandContext): string {
  const params = new URLSearchParams();
  const kind = ctx.str('kind');
  if (kind !== undefined) {
    if (!isResourceKind(kind)) throw new UsageError(`--kind: expected one of ${RESOURCE_KINDS.join(', ')}, got ${JSON.stringify(kind)}`, ctx.command.words.join(' '));
    params.set('kind', kind);
  }
  const id = ctx.str('id');
  if (id !== undefined) params.set('id', id);
  const since = ctx.str('since');
  if (since !== undefined) params.set('since', sinceParameter(since, Date.now()));
  const limit = ctx.str('limit');
  if (limit !== undefined) params.set('limit', String(parseInteger('limit', limit, 1)));
  if (ctx.bool('linearizable')) params.set('linearizable', 'true');
  const text = params.toString();
  return text === '' ? '' : `?${text}`;
}

const list: CommandSpec = {
  words: ['audit', 'list'],
  summary: 'who changed what, from where and why (the last writes the catalog keeps), oldest first',
  positionals: { min: 0, max: 0 },
  output: 'list',
  options: {
    kind: { type: 'string', value: 'KIND', help: `only writes that touched this kind (${RESOURCE_KINDS.join(', ')})` },
    id: { type: 'string', value: 'ID', help: 'only writes that touched this id' },
    since: { type: 'string', value: 'TIME', help: 'only writes at or after TIME: ISO 8601 (2026-12-07T15:00:00Z) or an age such as 30m, 2h, 7d' },
    limit: { type: 'string', value: 'N', help: 'only the newest N matching writes' },
    ...LINEARIZABLE_OPTION,
  },
  notes: [
    'Every site keeps the same ring of the last 4,096 writes (fewer when batches are large); older ones',
    'are dropped, and the table output says after which index it is complete.',
    'example: stackraft audit list --kind protection-group --since 7d',
  ].join('\n'),
  run: async (ctx) => {
    const view = await ctx.client().get<AuditView & { meta: ReadMeta }>(`/v1/audit${queryOf(ctx)}`);
    printList(ctx, columnsFor(ctx), view.entries);
    if (ctx.format === 'table' && view.ring.droppedThrough > 0) {
      ctx.io.stderr.write(`complete after index ${view.ring.droppedThrough}: the catalog keeps the last ${view.ring.maxEntries} writes, older ones were dropped\n`);
    }
    noteStaleness(ctx, view.meta);
  },
};

export const auditCommands: CommandSpec[] = [list];
