// Catalog resources through the admin API: read (by id or name), write (put, patch, batch), and
// the options every resource command shares (--placement, --force/--reason, --linearizable).
import type { JsonObject, ReadMeta, ResourceKind, ResourceRevision, ResourceView, WriteOp } from '../admin/service.js';
import type { CommandContext, CommandSpec, OptionSpec } from './command.js';
import { isSafePathSegment } from '../catalog/names.js';
import { ApiError, CliError, EXIT, UsageError } from './errors.js';
import { renderList, renderShow, selectColumns, type Column } from './output.js';

export interface WriteResult {
  writeId: string;
  index: number;
  revisions: ResourceRevision[];
}

export const LINEARIZABLE_OPTION: Record<string, OptionSpec> = {
  linearizable: { type: 'boolean', help: 'read through the leader (ReadIndex) instead of this agent\'s local copy' },
};

/** --force; its --reason is a global option (every write may say why, a forced one must). */
export const FORCE_OPTIONS: Record<string, OptionSpec> = {
  force: { type: 'boolean', help: 'write even though a site the operation names is unreachable (needs --reason)' },
};

/** What the catalog reads as "every site". */
export const PLACEMENT_EVERY_SITE = 'all';

export const PLACEMENT_OPTION: Record<string, OptionSpec> = {
  placement: {
    type: 'string',
    value: 'EXPR',
    help: "sites it goes to: 'all' (default) or a selector such as \"country in (DE, FR), labels.tier = gold\"",
  },
};

export const PLACEMENT_SET_OPTIONS: Record<string, OptionSpec> = {
  ...PLACEMENT_OPTION,
  'no-placement': { type: 'boolean', help: 'place the resource on every site again' },
};

/** The resource's admin API path; an id no URL can carry ('.', '..') is refused here, as the agent would. */
export function resourcePath(kind: ResourceKind, id?: string): string {
  if (id !== undefined && !isSafePathSegment(id)) {
    throw new CliError(`${JSON.stringify(id)} cannot be a ${kind} id: '.' and '..' are not usable as a path segment in URLs`, EXIT.REJECTED);
  }
  return `/v1/resources/${kind}${id === undefined ? '' : `/${encodeURIComponent(id)}`}`;
}

function readQuery(ctx: CommandContext): string {
  return ctx.bool('linearizable') ? '?linearizable=true' : '';
}

export async function getById(ctx: CommandContext, kind: ResourceKind, id: string): Promise<{ resource: ResourceView; meta: ReadMeta } | undefined> {
  if (!isSafePathSegment(id)) return undefined; // no resource has such an id (it may be a name)
  try {
    return await ctx.client().get<{ resource: ResourceView; meta: ReadMeta }>(`${resourcePath(kind, id)}${readQuery(ctx)}`);
  } catch (error) {
    if (error instanceof ApiError && error.code === 'NOT_FOUND' && error.details.kind !== undefined) return undefined;
    throw error;
  }
}

export async function listKind(ctx: CommandContext, kind: ResourceKind): Promise<{ items: ResourceView[]; meta: ReadMeta }> {
  return ctx.client().get<{ items: ResourceView[]; meta: ReadMeta }>(`${resourcePath(kind)}${readQuery(ctx)}`);
}

/** The resource with this id, else the one whose spec.name is this (like `openstack flavor show NAME`). */
export async function findResource(ctx: CommandContext, kind: ResourceKind, idOrName: string, byName = true): Promise<{ resource: ResourceView; meta: ReadMeta }> {
  const byId = await getById(ctx, kind, idOrName);
  if (byId) return byId;
  if (byName) {
    const { items, meta } = await listKind(ctx, kind);
    const named = items.filter((item) => item.spec.name === idOrName);
    if (named.length === 1) return { resource: named[0], meta };
    if (named.length > 1) {
      throw new CliError(`more than one ${kind} is named ${JSON.stringify(idOrName)} (${named.map((r) => r.id).join(', ')}): use the id`, EXIT.UNEXPECTED);
    }
  }
  throw new CliError(`no ${kind} with ${byName ? 'a name or id' : 'the id'} ${JSON.stringify(idOrName)} exists`, EXIT.UNEXPECTED, `see \`stackraft ${kind} list\`.`);
}

export function forceOptions(ctx: CommandContext): { force?: boolean; reason?: string } {
  const force = ctx.bool('force');
  const reason = ctx.str('reason');
  if (force && !reason) throw new UsageError('--force needs --reason TEXT (it is recorded with the write)', ctx.command.words.join(' '));
  return force ? { force: true, reason } : {};
}

/** --placement EXPR / --no-placement, as the placement field of a write (absent: unchanged). */
export function placementChange(ctx: CommandContext): { placement?: string } {
  if (ctx.has('placement') && ctx.bool('no-placement')) throw new UsageError('--placement and --no-placement cannot be used together', ctx.command.words.join(' '));
  if (ctx.has('placement')) return { placement: ctx.str('placement')! };
  if (ctx.bool('no-placement')) return { placement: PLACEMENT_EVERY_SITE };
  return {};
}

export function putResource(ctx: CommandContext, kind: ResourceKind, id: string, body: { spec: JsonObject; placement?: string; expectedRevision?: number; force?: boolean; reason?: string }): Promise<WriteResult> {
  return ctx.client().write<WriteResult>('PUT', resourcePath(kind, id), body);
}

export function patchResource(ctx: CommandContext, kind: ResourceKind, id: string, body: { patch: JsonObject; placement?: string; expectedRevision?: number; force?: boolean; reason?: string }): Promise<WriteResult> {
  return ctx.client().write<WriteResult>('PATCH', resourcePath(kind, id), body);
}

export function batch(ctx: CommandContext, ops: WriteOp[], extra: { force?: boolean; reason?: string } = {}): Promise<WriteResult> {
  return ctx.client().write<WriteResult>('POST', '/v1/batch', { ops, ...extra });
}

/** Deletes resources (given by id or name) in one atomic batch. */
export async function deleteResources(ctx: CommandContext, kind: ResourceKind, idsOrNames: string[], byName = true): Promise<WriteResult> {
  const ops: WriteOp[] = [];
  for (const idOrName of idsOrNames) {
    const { resource } = await findResource(ctx, kind, idOrName, byName);
    ops.push({ op: 'delete', kind, id: resource.id, expectedRevision: resource.revision });
  }
  return batch(ctx, ops, forceOptions(ctx));
}

export function revisionOf(result: WriteResult, kind: ResourceKind, id: string): number {
  return result.revisions.find((r) => r.kind === kind && r.id === id)?.revision ?? result.index;
}

/** How stale a local read may be, in words. */
export function stalenessNote(meta: ReadMeta): string {
  if (meta.linearizable) return `linearizable read at index ${meta.appliedIndex}`;
  const at = `local read at applied index ${meta.appliedIndex} (commit index ${meta.commitIndex})`;
  if (meta.stalenessMs === null) return `${at}: no leader heard from yet, so it may miss any number of writes; use --linearizable to confirm`;
  if (meta.stalenessMs === 0) return `${at}: from the leader with a live quorum, current`;
  return `${at}: may miss writes committed in the last ${formatMs(meta.stalenessMs)} (last heard from the leader then); use --linearizable to confirm`;
}

function formatMs(ms: number): string {
  return ms < 10_000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(0)} s`;
}

/**
 * Table output is for people: say on stderr how fresh a local read is (README promises it). The
 * machine formats keep stdout and stderr clean; `stackraft get` shows the same in its fields.
 */
export function noteStaleness(ctx: CommandContext, meta: ReadMeta): void {
  if (ctx.format !== 'table') return;
  ctx.io.stderr.write(`${stalenessNote(meta)}\n`);
}

export function printShow<T>(ctx: CommandContext, columns: Column<T>[], row: T): void {
  ctx.io.stdout.write(renderShow(ctx.format, selectColumns(columns, ctx.columns), row));
}

export function printList<T>(ctx: CommandContext, columns: Column<T>[], rows: T[]): void {
  ctx.io.stdout.write(renderList(ctx.format, selectColumns(columns, ctx.columns), rows));
}

/**
 * The new value of a string map (extraSpecs, properties, labels): a patch replaces nested maps
 * whole, so the CLI sends the complete map: the current one (empty when `clear`), without the keys
 * in `remove`, with `set` applied. The write carries the revision it was computed from.
 */
/**
 * A JSON merge patch (RFC 7386) of a string map: keys to set get their value, keys to remove (or,
 * with `clear`, every current key not being set) get null.
 */
export function updatedMap(current: unknown, set: Record<string, string>, remove: string[], clear: boolean): Record<string, string | null> {
  const out: Record<string, string | null> = {};
  if (clear && typeof current === 'object' && current !== null && !Array.isArray(current)) {
    for (const key of Object.keys(current)) out[key] = null;
  }
  for (const key of remove) out[key] = null;
  return Object.assign(out, set);
}

/** A string list of the current spec (tags, members), empty when absent. */
export function stringList(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : [];
}

/** Common columns at the end of every resource's show output. */
export function resourceTailColumns(): Column<ResourceView>[] {
  return [
    { header: 'Placement', key: 'placement', get: (r) => r.placement },
    { header: 'Revision', key: 'revision', get: (r) => r.revision },
  ];
}

export function specField(name: string): (r: ResourceView) => unknown {
  return (r) => r.spec[name];
}

export function nothingToChange(ctx: CommandContext): never {
  throw new UsageError('nothing to change: give at least one option', ctx.command.words.join(' '));
}

/** Columns picked by key from a kind's show columns (list views show a subset). */
export function columnsByKey<T>(columns: Column<T>[], keys: string[]): Column<T>[] {
  return keys.map((key) => {
    const column = columns.find((c) => c.key === key);
    if (!column) throw new Error(`no column ${key}`);
    return column;
  });
}

export interface ListCommandOptions {
  kind: ResourceKind;
  summary: string;
  columns: Column<ResourceView>[];
  keys: string[];
  /** With --long: these keys instead, described by longHelp. */
  long?: { keys: string[]; help: string };
}

/** `<kind> list [--long] [--linearizable]`. */
export function listCommand(o: ListCommandOptions): CommandSpec {
  return {
    words: [o.kind, 'list'],
    summary: o.summary,
    positionals: { min: 0, max: 0 },
    output: 'list',
    options: { ...(o.long ? { long: { type: 'boolean', help: o.long.help } } : {}), ...LINEARIZABLE_OPTION },
    run: async (ctx) => {
      const { items, meta } = await listKind(ctx, o.kind);
      printList(ctx, columnsByKey(o.columns, o.long && ctx.bool('long') ? o.long.keys : o.keys), items);
      noteStaleness(ctx, meta);
    },
  };
}

/** `<kind> show ID [--linearizable]`; byName also finds a resource by its spec name. */
export function showCommand(kind: ResourceKind, summary: string, args: string, columns: Column<ResourceView>[], byName: boolean): CommandSpec {
  return {
    words: [kind, 'show'],
    summary,
    args,
    positionals: { min: 1, max: 1 },
    output: 'show',
    options: { ...LINEARIZABLE_OPTION },
    run: async (ctx) => {
      const { resource, meta } = await findResource(ctx, kind, ctx.positionals[0]!, byName);
      printShow(ctx, columns, resource);
      noteStaleness(ctx, meta);
    },
  };
}
