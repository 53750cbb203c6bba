// stackraft image create|list|show|set|unset|delete: public (or community) Glance images, imported
// by every selected site from one source URL and checked against one digest.
import { randomUUID } from 'node:crypto';
import type { JsonObject, ResourceView, SyncStatusView } from '../../admin/service.js';
import { CONTAINER_FORMATS, DISK_FORMATS, IMAGE_DEFAULTS, IMAGE_VISIBILITIES, type ImageField } from '../../admin/vocabulary.js';
import { exclusiveFlags, parseChoice, parseInteger, parseKeyValues, requireOption, type CommandContext, type CommandSpec } from '../command.js';
import { UsageError } from '../errors.js';
import { blobSourceUrl } from '../../catalog/types.js';
import { uploadFile } from '../upload.js';
import { adoptFromGlance } from '../glance-adopt.js';
import { progressFor, PROGRESS_OPTION } from '../progress.js';
import { CliError, EXIT } from '../errors.js';
import type { Column } from '../output.js';
import {
  listCommand,
  showCommand,
  PLACEMENT_OPTION,
  PLACEMENT_SET_OPTIONS,
  deleteResources,
  findResource,
  nothingToChange,
  noteStaleness,
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

const KIND = 'image';
const UUID_PATTERN = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

function source(r: ResourceView): Record<string, unknown> {
  const value = r.spec.source;
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? value : {};
}

/** The blob an image's bits travel as between agents (a file or Glance origin), or undefined for a URL image. */
function blob(r: ResourceView): { root: string; size: number } | undefined {
  const value = source(r).blob as { root?: unknown; size?: unknown } | undefined;
  return typeof value?.root === 'string' && typeof value.size === 'number' ? { root: value.root, size: value.size } : undefined;
}

/** The columns of each spec field, as `openstack image show` names them (in its order). */
const specColumns: Record<ImageField, Column<ResourceView>[]> = {
  name: [{ header: 'Name', key: 'name', get: specField('name') }],
  diskFormat: [{ header: 'Disk Format', key: 'disk_format', get: specField('diskFormat') }],
  containerFormat: [{ header: 'Container Format', key: 'container_format', get: specField('containerFormat') }],
  visibility: [{ header: 'Visibility', key: 'visibility', get: (r) => r.spec.visibility ?? IMAGE_DEFAULTS.visibility }],
  minDisk: [{ header: 'Min Disk', key: 'min_disk', get: (r) => r.spec.minDisk ?? IMAGE_DEFAULTS.minDisk }],
  minRam: [{ header: 'Min RAM', key: 'min_ram', get: (r) => r.spec.minRam ?? IMAGE_DEFAULTS.minRam }],
  protected: [{ header: 'Protected', key: 'protected', get: (r) => r.spec.protected ?? IMAGE_DEFAULTS.protected }],
  source: [
    // A blob image's url is the catalog's internal placeholder (blob.stackraft.invalid): not for operators.
    { header: 'Source URL', key: 'source_url', get: (r) => (blob(r) ? '' : source(r).url) },
    { header: 'Blob', key: 'blob', get: (r) => { const b = blob(r); return b ? `${b.root} (${b.size} bytes)` : ''; } },
    { header: 'Source', key: 'source_kind', get: (r) => `${String(source(r).kind ?? 'url')}${source(r).origin ? ` from ${String(source(r).origin)}` : ''}` },
    { header: 'Checksum', key: 'checksum', get: (r) => (source(r).sha512 ? `sha512:${String(source(r).sha512)}` : source(r).sha256 ? `sha256:${String(source(r).sha256)}` : '') },
  ],
  properties: [{ header: 'Properties', key: 'properties', get: (r) => r.spec.properties ?? {} }],
  tags: [{ header: 'Tags', key: 'tags', get: (r) => r.spec.tags ?? [] }],
};

const showColumns: Column<ResourceView>[] = [{ header: 'ID', key: 'id', get: (r) => r.id }, ...Object.values(specColumns).flat(), ...resourceTailColumns()];

const LIST_KEYS = ['id', 'name', 'disk_format', 'visibility', 'placement'];
const LONG_LIST_KEYS = [...LIST_KEYS, 'container_format', 'min_disk', 'min_ram', 'protected', 'tags', 'source_url'];

function digest(ctx: CommandContext): { sha256: string } | { sha512: string } {
  const sha256 = ctx.str('sha256');
  const sha512 = ctx.str('sha512');
  if (sha256 !== undefined && sha512 !== undefined) throw new UsageError('give one of --sha256 and --sha512, not both', ctx.command.words.join(' '));
  if (sha256 !== undefined) {
    if (!/^[0-9a-fA-F]{64}$/.test(sha256)) throw new UsageError(`--sha256: expected 64 hex digits, got ${JSON.stringify(sha256)}`);
    return { sha256: sha256.toLowerCase() };
  }
  if (sha512 !== undefined) {
    if (!/^[0-9a-fA-F]{128}$/.test(sha512)) throw new UsageError(`--sha512: expected 128 hex digits, got ${JSON.stringify(sha512)}`);
    return { sha512: sha512.toLowerCase() };
  }
  throw new UsageError('--sha256 HEX or --sha512 HEX is required: every site checks the image it downloads', ctx.command.words.join(' '));
}

function sourceUrl(ctx: CommandContext): string {
  const text = requireOption(ctx, 'source-url');
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new UsageError(`--source-url: expected an http:// or https:// URL, got ${JSON.stringify(text)}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new UsageError(`--source-url: expected an http:// or https:// URL, got ${JSON.stringify(text)}`);
  return text;
}

/** Uploads --file to the agent's blob store; the source names the blob, with this site as its origin. */
async function fileSource(ctx: CommandContext): Promise<JsonObject> {
  if (ctx.has('source-url')) throw new UsageError('give one of --source-url and --file, not both', ctx.command.words.join(' '));
  const given: { sha256?: string; sha512?: string } = {};
  if (ctx.has('sha256') || ctx.has('sha512')) Object.assign(given, ctx.has('sha256') && ctx.has('sha512') ? { sha256: ctx.str('sha256')!.toLowerCase(), sha512: ctx.str('sha512')!.toLowerCase() } : digest(ctx));
  const client = ctx.client();
  const { site } = await client.get<{ site: string }>('/v1/status');
  const file = ctx.str('file')!;
  const progress = progressFor(ctx, `uploading ${file}`);
  let blob;
  try {
    blob = await uploadFile(client, file, given, (sent, total) => progress.update(sent, total));
  } finally {
    progress.end();
  }
  return {
    kind: 'file',
    url: blobSourceUrl(blob.root),
    sha256: blob.sha256,
    sha512: blob.sha512,
    blob: { root: blob.root, size: blob.size, md5: blob.md5 },
    origin: site,
  };
}

/** Glance's value when the catalog can hold it; otherwise the operator must choose. */
function glanceChoice<T extends string>(what: string, value: string, allowed: readonly T[], imageId: string, hint: string): T {
  if ((allowed as readonly string[]).includes(value)) return value as T;
  throw new CliError(`--from-glance ${imageId}: the image's ${what} is ${JSON.stringify(value)}, which the catalog does not hold (${allowed.join(', ')})${hint}`, EXIT.REJECTED);
}

/**
 * --from-glance: the agent takes the bits of this site's Glance image into its blob store and the
 * catalog record gets that image's id and, unless options say otherwise, its metadata. The Glance
 * image itself becomes this site's managed copy (its reconciler marks it; the bits stay).
 */
async function createFromGlance(ctx: CommandContext): Promise<void> {
  for (const other of ['source-url', 'file', 'disk-format', 'container-format', 'sha256', 'sha512']) {
    if (ctx.has(other)) throw new UsageError(`--${other} does not go with --from-glance: the image's bits, formats and digests are Glance's`, ctx.command.words.join(' '));
  }
  const glanceId = ctx.str('from-glance')!;
  if (!UUID_PATTERN.test(glanceId)) throw new UsageError(`--from-glance: expected a Glance image id (a UUID), got ${JSON.stringify(glanceId)}`);
  const id = glanceId.toLowerCase();
  if (ctx.has('id') && ctx.str('id')!.toLowerCase() !== id) throw new UsageError(`--id ${ctx.str('id')}: an image taken from Glance keeps its Glance id (${id}); leave --id out`);
  const placement = placementChange(ctx);
  const progress = progressFor(ctx, `taking Glance image ${id}`);
  let adopted;
  try {
    adopted = await adoptFromGlance(ctx.client(), id, (view) => progress.update(view.bytesDone, view.bytesTotal));
  } finally {
    progress.end();
  }
  const g = adopted.image;
  const spec: JsonObject = {
    name: ctx.positionals[0],
    diskFormat: glanceChoice('disk format', g.diskFormat, DISK_FORMATS, id, ''),
    containerFormat: glanceChoice('container format', g.containerFormat, CONTAINER_FORMATS, id, ''),
    source: adopted.source,
    visibility: exclusiveFlags(ctx, IMAGE_VISIBILITIES) ?? glanceChoice('visibility', g.visibility, IMAGE_VISIBILITIES, id, `; give --public or --community (this site's Glance image becomes that)`),
    minDisk: ctx.has('min-disk') ? parseInteger('min-disk', ctx.str('min-disk')!, 0) : g.minDisk,
    minRam: ctx.has('min-ram') ? parseInteger('min-ram', ctx.str('min-ram')!, 0) : g.minRam,
    protected: ctx.bool('protected') || g.protected,
    properties: { ...g.properties, ...parseKeyValues('property', ctx.strs('property')) },
    tags: [...new Set([...g.tags, ...ctx.strs('tag')])].sort(),
  };
  const result = await putResource(ctx, KIND, id, { spec, ...placement, expectedRevision: 0 });
  printShow(ctx, showColumns, { kind: KIND, id, spec, placement: placement.placement ?? 'all', revision: revisionOf(result, KIND, id) });
}

const create: CommandSpec = {
  words: [KIND, 'create'],
  summary: 'create an image on every site its placement selects (from a source URL, a file uploaded here, or this site\'s Glance)',
  args: 'NAME',
  positionals: { min: 1, max: 1 },
  output: 'show',
  options: {
    id: { type: 'string', value: 'UUID', help: 'image id, the same on every site (default: a new random UUID, printed; with --from-glance: the Glance id)' },
    'disk-format': { type: 'string', value: 'FORMAT', help: `disk format (required, except with --from-glance): ${DISK_FORMATS.join(', ')}` },
    'container-format': { type: 'string', value: 'FORMAT', help: `container format (required, except with --from-glance): ${CONTAINER_FORMATS.join(', ')}` },
    'source-url': { type: 'string', value: 'URL', help: 'where every site downloads the image from (this or --file is required)' },
    file: { type: 'string', value: 'PATH', help: 'upload this file to this site; every placed site gets it over the peer network' },
    'from-glance': { type: 'string', value: 'IMAGE_ID', help: "adopt an image already in this site's Glance: its bits, id, formats and (unless given) metadata; every placed site gets the bits over the peer network" },
    sha256: { type: 'string', value: 'HEX', help: 'SHA-256 of the image data (this or --sha512 is required)' },
    sha512: { type: 'string', value: 'HEX', help: 'SHA-512 of the image data' },
    public: { type: 'boolean', help: 'visible to every project (default)' },
    community: { type: 'boolean', help: 'community image: usable by every project, not listed by default' },
    'min-disk': { type: 'string', value: 'GiB', help: 'minimum root disk to boot it (default 0)' },
    'min-ram': { type: 'string', value: 'MiB', help: 'minimum RAM to boot it (default 0)' },
    protected: { type: 'boolean', help: 'protect the image from deletion on the sites' },
    property: { type: 'string', multiple: true, value: 'K=V', help: 'image property' },
    tag: { type: 'string', multiple: true, value: 'TAG', help: 'image tag' },
    ...PLACEMENT_OPTION,
    ...PROGRESS_OPTION,
  },
  run: async (ctx) => {
    if (ctx.has('from-glance')) return createFromGlance(ctx);
    // A new id is safe to draw here: the write expects revision 0, so it can never replace an image.
    const givenId = ctx.str('id') ?? randomUUID();
    if (!UUID_PATTERN.test(givenId)) throw new UsageError(`--id: expected a UUID, got ${JSON.stringify(givenId)}`);
    const id = givenId.toLowerCase(); // Glance ids are lower-case
    const spec: JsonObject = {
      name: ctx.positionals[0],
      diskFormat: parseChoice('disk-format', requireOption(ctx, 'disk-format'), DISK_FORMATS),
      containerFormat: parseChoice('container-format', requireOption(ctx, 'container-format'), CONTAINER_FORMATS),
      source: ctx.has('file') ? await fileSource(ctx) : { url: sourceUrl(ctx), ...digest(ctx) },
      visibility: exclusiveFlags(ctx, IMAGE_VISIBILITIES) ?? IMAGE_DEFAULTS.visibility,
      minDisk: ctx.has('min-disk') ? parseInteger('min-disk', ctx.str('min-disk')!, 0) : IMAGE_DEFAULTS.minDisk,
      minRam: ctx.has('min-ram') ? parseInteger('min-ram', ctx.str('min-ram')!, 0) : IMAGE_DEFAULTS.minRam,
      protected: ctx.bool('protected'),
      properties: parseKeyValues('property', ctx.strs('property')),
      tags: [...new Set(ctx.strs('tag'))].sort(),
    };
    const placement = placementChange(ctx);
    const result = await putResource(ctx, KIND, id, { spec, ...placement, expectedRevision: 0 });
    printShow(ctx, showColumns, { kind: KIND, id, spec, placement: placement.placement ?? 'all', revision: revisionOf(result, KIND, id) });
  },
};

const list = listCommand({ kind: KIND, summary: 'list images', columns: showColumns, keys: LIST_KEYS, long: { keys: LONG_LIST_KEYS, help: 'also show formats, minimums, protection, tags and source' } });

/** Each site's state for the image, as `sync status` has it: a fetching site says how far its bits are. */
async function siteStates(ctx: CommandContext, id: string): Promise<Record<string, string>> {
  const view = await ctx.client().get<SyncStatusView>('/v1/sync');
  const out: Record<string, string> = {};
  for (const site of view.sites) {
    const row = site.resources.find((r) => r.kind === KIND && r.id === id && r.wanted === 'present');
    if (row !== undefined) out[site.site] = row.message ? `${row.state}: ${row.message}` : row.state;
  }
  return out;
}

const show: CommandSpec = {
  ...showCommand(KIND, "show one image, with each site's state (a site fetching the bits says how far it is)", 'ID|NAME', showColumns, true),
  run: async (ctx) => {
    const { resource, meta } = await findResource(ctx, KIND, ctx.positionals[0]!, true);
    const sites = await siteStates(ctx, resource.id);
    printShow(ctx, [...showColumns, { header: 'Sites', key: 'sites', get: () => sites }], resource);
    noteStaleness(ctx, meta);
  },
};

const set: CommandSpec = {
  words: [KIND, 'set'],
  summary: 'change an image\'s name, visibility, minimums, protection, properties, tags or placement',
  args: 'ID|NAME',
  positionals: { min: 1, max: 1 },
  options: {
    name: { type: 'string', value: 'NAME', help: 'new name' },
    public: { type: 'boolean', help: 'make it public' },
    community: { type: 'boolean', help: 'make it a community image' },
    'min-disk': { type: 'string', value: 'GiB', help: 'minimum root disk' },
    'min-ram': { type: 'string', value: 'MiB', help: 'minimum RAM' },
    protected: { type: 'boolean', help: 'protect from deletion' },
    unprotected: { type: 'boolean', help: 'allow deletion' },
    property: { type: 'string', multiple: true, value: 'K=V', help: 'add or change a property' },
    tag: { type: 'string', multiple: true, value: 'TAG', help: 'add a tag' },
    ...PLACEMENT_SET_OPTIONS,
  },
  notes: 'The image data (source URL, digest, formats) cannot change: create a new image instead.',
  run: async (ctx) => {
    const visibility = exclusiveFlags(ctx, IMAGE_VISIBILITIES);
    const protection = exclusiveFlags(ctx, ['protected', 'unprotected']);
    const minDisk = ctx.has('min-disk') ? parseInteger('min-disk', ctx.str('min-disk')!, 0) : undefined;
    const minRam = ctx.has('min-ram') ? parseInteger('min-ram', ctx.str('min-ram')!, 0) : undefined;
    const properties = parseKeyValues('property', ctx.strs('property'));
    const tags = ctx.strs('tag');
    const placement = placementChange(ctx);
    const { resource } = await findResource(ctx, KIND, ctx.positionals[0]);
    const patch: JsonObject = {};
    if (ctx.has('name')) patch.name = ctx.str('name')!;
    if (visibility) patch.visibility = visibility;
    if (minDisk !== undefined) patch.minDisk = minDisk;
    if (minRam !== undefined) patch.minRam = minRam;
    if (protection) patch.protected = protection === 'protected';
    if (Object.keys(properties).length > 0) patch.properties = updatedMap(resource.spec.properties, properties, [], false);
    if (tags.length > 0) patch.tags = [...new Set([...stringList(resource.spec.tags), ...tags])].sort();
    if (Object.keys(patch).length === 0 && !('placement' in placement)) nothingToChange(ctx);
    await patchResource(ctx, KIND, resource.id, { patch, ...placement, expectedRevision: resource.revision });
  },
};

const unset: CommandSpec = {
  words: [KIND, 'unset'],
  summary: 'remove properties or tags from an image',
  args: 'ID|NAME',
  positionals: { min: 1, max: 1 },
  options: {
    property: { type: 'string', multiple: true, value: 'KEY', help: 'property to remove' },
    tag: { type: 'string', multiple: true, value: 'TAG', help: 'tag to remove' },
  },
  run: async (ctx) => {
    const keys = ctx.strs('property');
    const tags = ctx.strs('tag');
    if (keys.length === 0 && tags.length === 0) nothingToChange(ctx);
    const { resource } = await findResource(ctx, KIND, ctx.positionals[0]);
    const patch: JsonObject = {};
    if (keys.length > 0) patch.properties = updatedMap(resource.spec.properties, {}, keys, false);
    if (tags.length > 0) patch.tags = stringList(resource.spec.tags).filter((t) => !tags.includes(t));
    await patchResource(ctx, KIND, resource.id, { patch, expectedRevision: resource.revision });
  },
};

const remove: CommandSpec = {
  words: [KIND, 'delete'],
  summary: 'delete images (all or none)',
  args: 'ID|NAME [ID|NAME ...]',
  positionals: { min: 1, max: 64 },
  options: {},
  run: async (ctx) => {
    await deleteResources(ctx, KIND, ctx.positionals);
  },
};

export const imageCommands: CommandSpec[] = [create, list, show, set, unset, remove];
