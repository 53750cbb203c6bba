// Glance v2 of the mock cloud, under /image/v2: images with caller-chosen ids, JSON patch, streamed
// uploads, filtered and paged lists, in Glance's JSON shapes.
import { randomUUID } from 'node:crypto';
import { isGlanceOwnedAttribute } from '../markers.js';
import type { ImagePatchOp } from '../service-api.js';
import { GLANCE_CONTAINER_FORMATS, GLANCE_DISK_FORMATS } from '../validate.js';
import type { CloudModel, ImageRecord } from '../memory/model.js';
import { receiveImageData } from '../memory/upload.js';
import { HttpFailure, pathParam, readJson, route, sendJson, type RequestInfo, type Route } from './http-kit.js';

const JSON_PATCH = 'application/openstack-images-v2.1-json-patch';
const DEFAULT_PAGE = 25;
const MAX_PAGE = 1000;
/** Query keys that are not filters. */
const LIST_CONTROLS = new Set(['limit', 'marker', 'sort_key', 'sort_dir', 'sort', 'member_status', 'visibility']);
/** Attributes the create body may set (others are read-only or custom properties). */
const WRITABLE_BASE = new Set(['id', 'name', 'visibility', 'protected', 'os_hidden', 'disk_format', 'container_format', 'min_disk', 'min_ram', 'tags']);

function iso(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export function renderImage(r: ImageRecord): Record<string, unknown> {
  const body: Record<string, unknown> = {
    ...r.properties,
    name: r.name,
    disk_format: r.diskFormat,
    container_format: r.containerFormat,
    visibility: r.visibility,
    size: r.size,
    virtual_size: r.size,
    status: r.status,
    checksum: r.checksum,
    protected: r.protected,
    min_ram: r.minRam,
    min_disk: r.minDisk,
    owner: r.owner,
    os_hidden: false,
    os_hash_algo: r.osHashAlgo,
    os_hash_value: r.osHashValue,
    id: r.id,
    created_at: iso(r.createdAt),
    updated_at: iso(r.updatedAt),
    tags: r.tags,
    self: `/v2/images/${encodeURIComponent(r.id)}`,
    file: `/v2/images/${encodeURIComponent(r.id)}/file`,
    schema: '/v2/schemas/image',
  };
  if (r.status === 'active') body.stores = 'memory';
  return body;
}

function nonNegativeInt(body: Record<string, unknown>, key: string): number {
  const v = body[key] ?? 0;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) throw new HttpFailure(400, `${JSON.stringify(v)} is not valid under any of the given schemas (${key})`);
  return v;
}

function parseCreate(body: unknown): Parameters<CloudModel['createImage']>[0] & { id: string } {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new HttpFailure(400, 'Body must be a JSON object');
  const b = body as Record<string, unknown>;
  const properties: Record<string, string> = {};
  for (const [key, value] of Object.entries(b)) {
    if (WRITABLE_BASE.has(key)) continue;
    if (isGlanceOwnedAttribute(key)) throw new HttpFailure(403, `Attribute '${key}' is read-only.`);
    if (typeof value !== 'string') throw new HttpFailure(400, `${JSON.stringify(value)} is not of type 'string' (property ${key})`);
    properties[key] = value;
  }
  const diskFormat = b.disk_format ?? null;
  const containerFormat = b.container_format ?? null;
  if (diskFormat !== null && !GLANCE_DISK_FORMATS.includes(String(diskFormat))) throw new HttpFailure(400, `Invalid disk format '${String(diskFormat)}' for image.`);
  if (containerFormat !== null && !GLANCE_CONTAINER_FORMATS.includes(String(containerFormat))) throw new HttpFailure(400, `Invalid container format '${String(containerFormat)}' for image.`);
  const visibility = b.visibility ?? 'shared';
  if (!['public', 'private', 'shared', 'community'].includes(String(visibility))) throw new HttpFailure(400, `Invalid visibility value: ${String(visibility)}`);
  const tags = b.tags ?? [];
  if (!Array.isArray(tags) || tags.some((t) => typeof t !== 'string')) throw new HttpFailure(400, 'tags must be an array of strings');
  return {
    id: typeof b.id === 'string' ? b.id : randomUUID(),
    name: typeof b.name === 'string' ? b.name : '',
    diskFormat: diskFormat === null ? '' : String(diskFormat),
    containerFormat: containerFormat === null ? '' : String(containerFormat),
    visibility: String(visibility),
    minDisk: nonNegativeInt(b, 'min_disk'),
    minRam: nonNegativeInt(b, 'min_ram'),
    protected: b.protected === true,
    tags: tags as string[],
    properties,
  };
}

function matches(r: ImageRecord, key: string, value: string): boolean {
  const rendered = renderImage(r)[key];
  return rendered !== undefined && rendered !== null && String(rendered) === value;
}

function listImages(model: CloudModel, r: RequestInfo): void {
  const limitText = r.query.get('limit');
  const limit = limitText === null ? DEFAULT_PAGE : Number(limitText);
  if (!Number.isInteger(limit) || limit < 0) throw new HttpFailure(400, 'limit param must be an integer');
  const pageSize = Math.min(limit, MAX_PAGE);
  const visibility = r.query.get('visibility');
  let images = model.listImages().filter((img) => (visibility === 'all' ? true : visibility === null ? img.visibility !== 'community' : img.visibility === visibility));
  for (const [key, value] of r.query) {
    if (!LIST_CONTROLS.has(key)) images = images.filter((img) => matches(img, key, value));
  }
  const marker = r.query.get('marker');
  if (marker !== null) {
    const at = images.findIndex((img) => img.id === marker);
    if (at < 0) throw new HttpFailure(400, `marker not found: ${marker}`);
    images = images.slice(at + 1);
  }
  const page = images.slice(0, pageSize);
  const body: Record<string, unknown> = { images: page.map(renderImage), first: `/v2/images?${r.query.toString()}`, schema: '/v2/schemas/images' };
  if (page.length === pageSize && images.length > pageSize) {
    const next = new URLSearchParams(r.query);
    next.set('marker', page[page.length - 1].id);
    body.next = `/v2/images?${next.toString()}`;
  }
  sendJson(r.res, 200, body);
}

/** Image bits the mock keeps for downloads, in all; past it the oldest image's bits are dropped. */
export const MAX_KEPT_IMAGE_BYTES = 256 * 1024 * 1024;

/**
 * The bits of uploaded images, kept so that `openstack image save` (GET .../file) works against the
 * mock. Bounded by MAX_KEPT_IMAGE_BYTES; an image whose bits were dropped (or never uploaded
 * through HTTP) answers 404 with a message that says so, never wrong bytes.
 */
export class ImageBits {
  private readonly bits = new Map<string, Buffer>();
  private keptBytes = 0;

  constructor(private readonly maxBytes = MAX_KEPT_IMAGE_BYTES) {}

  /** Passes the stream through, keeping a copy when it fits the bound. */
  async *tee(id: string, body: AsyncIterable<Uint8Array | string> | Iterable<Uint8Array | string>): AsyncGenerator<Buffer> {
    this.drop(id);
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of body) {
      const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : Buffer.from(chunk);
      size += bytes.length;
      if (size <= this.maxBytes) chunks.push(bytes);
      yield bytes;
    }
    if (size > this.maxBytes) return;
    while (this.keptBytes + size > this.maxBytes && this.bits.size > 0) this.drop(this.bits.keys().next().value as string);
    this.bits.set(id, Buffer.concat(chunks, size));
    this.keptBytes += size;
  }

  get(id: string): Buffer | undefined {
    return this.bits.get(id);
  }

  drop(id: string): void {
    const kept = this.bits.get(id);
    if (kept === undefined) return;
    this.keptBytes -= kept.length;
    this.bits.delete(id);
  }
}

/**
 * How the mock serves image downloads (GET .../file), changeable while it runs: a test can make
 * Glance slow (a long copy the operator watches) or cut a download midway (a copy that fails).
 */
export interface ImageDownloadPace {
  /** Bytes per second, sent in pieces of DOWNLOAD_PIECE_BYTES; null: at once. */
  bytesPerSecond: number | null;
  /** The connection is dropped once this many bytes were sent; null: never. */
  failAfterBytes: number | null;
}

/** The grain of a paced download. */
export const DOWNLOAD_PIECE_BYTES = 64 * 1024;

async function sendPaced(r: RequestInfo, data: Buffer, pace: ImageDownloadPace): Promise<void> {
  const piece = DOWNLOAD_PIECE_BYTES;
  for (let sent = 0; sent < data.length; sent += piece) {
    if (pace.failAfterBytes !== null && sent >= pace.failAfterBytes) {
      r.res.destroy();
      return;
    }
    if (r.res.destroyed) return;
    if (!r.res.write(data.subarray(sent, sent + piece))) await new Promise((resolve) => r.res.once('drain', resolve));
    if (pace.bytesPerSecond !== null) await new Promise((resolve) => setTimeout(resolve, (piece * 1000) / pace.bytesPerSecond!));
  }
  r.res.end();
}

async function sendImageData(model: CloudModel, bits: ImageBits, r: RequestInfo, pace: ImageDownloadPace): Promise<void> {
  const image = model.getImage(pathParam(r, 0));
  if (image.status !== 'active') {
    r.res.writeHead(204).end(); // Glance: an image without data answers 204 No Content
    return;
  }
  const data = bits.get(image.id);
  if (data === undefined) throw new HttpFailure(404, `Image ${image.id} has data, but the mock cloud did not keep it (uploaded before it kept bits, or dropped past ${MAX_KEPT_IMAGE_BYTES} bytes kept)`);
  const headers: Record<string, string> = { 'Content-Type': 'application/octet-stream', 'Content-Length': String(data.length) };
  if (image.checksum !== null) headers['Content-MD5'] = image.checksum;
  r.res.writeHead(200, headers);
  if (pace.bytesPerSecond === null && pace.failAfterBytes === null) r.res.end(data);
  else await sendPaced(r, data, pace);
}

export function glanceRoutes(model: CloudModel, bits = new ImageBits(), pace: ImageDownloadPace = { bytesPerSecond: null, failAfterBytes: null }): Route[] {
  const id = '([^/]+)';
  return [
    route('GET', /^\/image\/v2\/images$/, 'image', (r) => listImages(model, r)),
    route('POST', /^\/image\/v2\/images$/, 'image', async (r) => {
      const image = model.createImage(parseCreate(await readJson(r)), r.projectId);
      sendJson(r.res, 201, renderImage(image));
    }),
    route('GET', new RegExp(`^/image/v2/images/${id}$`), 'image', (r) => sendJson(r.res, 200, renderImage(model.getImage(pathParam(r, 0))))),
    route('PATCH', new RegExp(`^/image/v2/images/${id}$`), 'image', async (r) => {
      const ops = await readJson(r, JSON_PATCH);
      if (!Array.isArray(ops)) throw new HttpFailure(400, 'A JSON patch is an array of operations');
      sendJson(r.res, 200, renderImage(model.patchImage(pathParam(r, 0), ops as ImagePatchOp[])));
    }),
    route('PUT', new RegExp(`^/image/v2/images/${id}/file$`), 'image', async (r) => {
      const type = (r.req.headers['content-type'] ?? '').split(';')[0].trim();
      if (type !== 'application/octet-stream') throw new HttpFailure(415, `Unsupported Content-Type ${type || '(none)'}`);
      await receiveImageData(model, pathParam(r, 0), bits.tee(pathParam(r, 0), r.req));
      r.res.writeHead(204).end();
    }),
    route('GET', new RegExp(`^/image/v2/images/${id}/file$`), 'image', (r) => sendImageData(model, bits, r, pace)),
    route('DELETE', new RegExp(`^/image/v2/images/${id}$`), 'image', (r) => {
      model.deleteImage(pathParam(r, 0));
      bits.drop(pathParam(r, 0));
      r.res.writeHead(204).end();
    }),
  ];
}
