// Glance v2 images over HTTP (ImageApi). Every request sends Accept: application/json, without
// which Glance answers errors in HTML.
import { CloudError, NotFoundError } from '../errors.js';
import { isGlanceOwnedAttribute } from '../markers.js';
import { pathSegment } from '../path-segment.js';
import type { GlanceImage, GlanceImageCreate, ImageApi } from '../service-api.js';
import type { ServiceClient } from './service-client.js';

export const GLANCE_JSON_PATCH = 'application/openstack-images-v2.1-json-patch';
/** Images per list page (Glance's default api_limit_max is 1000). */
export const IMAGE_PAGE_SIZE = 500;
/** A safety stop for a `next` link that never ends. */
export const MAX_IMAGE_PAGES = 1000;

/** The Glance root (the catalog may list it with or without '/v2'). */
export function glanceRoot(endpoint: string): string {
  return endpoint.replace(/\/+$/, '').replace(/\/v2(\.\d+)?$/, '');
}

function intOr(value: unknown, fallback: number): number {
  return typeof value === 'number' ? value : fallback;
}

export function parseGlanceImage(raw: Record<string, unknown>): GlanceImage {
  if (typeof raw?.id !== 'string') {
    throw new CloudError({ code: 'BAD_RESPONSE', service: 'image', method: 'GET', path: '/v2/images', status: 200, cloudMessage: '', retryable: false, message: 'Glance returned an image without an id' });
  }
  const properties: Record<string, string> = {};
  for (const [key, value] of Object.entries(raw)) {
    if (isGlanceOwnedAttribute(key) || value === null || value === undefined) continue;
    properties[key] = typeof value === 'string' ? value : JSON.stringify(value);
  }
  return {
    id: raw.id,
    name: typeof raw.name === 'string' ? raw.name : null,
    status: String(raw.status),
    visibility: String(raw.visibility),
    protected: raw.protected === true,
    diskFormat: typeof raw.disk_format === 'string' ? raw.disk_format : null,
    containerFormat: typeof raw.container_format === 'string' ? raw.container_format : null,
    minDisk: intOr(raw.min_disk, 0),
    minRam: intOr(raw.min_ram, 0),
    size: typeof raw.size === 'number' ? raw.size : null,
    osHashAlgo: typeof raw.os_hash_algo === 'string' ? raw.os_hash_algo : null,
    osHashValue: typeof raw.os_hash_value === 'string' ? raw.os_hash_value : null,
    tags: Array.isArray(raw.tags) ? raw.tags.map(String) : [],
    properties,
  };
}

function headerText(value: string | string[] | undefined): string | null {
  const text = Array.isArray(value) ? value[0] : value;
  return text === undefined ? null : text.trim();
}

export function glanceImageApi(client: ServiceClient, uploadHeadersTimeoutMs: number, pageSize = IMAGE_PAGE_SIZE): ImageApi {
  const imagePath = (id: string) => `/v2/images/${pathSegment(id, 'image')}`;
  async function listPages(filter: Record<string, string>): Promise<GlanceImage[]> {
    const out: GlanceImage[] = [];
    let path: string | undefined = '/v2/images';
    let query: Record<string, string> | undefined = { ...filter, visibility: 'all', limit: String(pageSize) };
    for (let page = 0; page < MAX_IMAGE_PAGES && path !== undefined; page++) {
      const res = await client.request('GET', path, { query });
      const body = res.json as { images?: unknown[]; next?: unknown };
      for (const raw of body?.images ?? []) out.push(parseGlanceImage(raw as Record<string, unknown>));
      // `next` is relative to the Glance root and carries the whole query (marker included).
      if (typeof body?.next !== 'string') return out;
      path = body.next;
      query = undefined;
    }
    if (path === undefined) return out;
    throw new CloudError({ code: 'BAD_RESPONSE', service: 'image', method: 'GET', path: '/v2/images', status: 200, cloudMessage: '', retryable: false, message: `Glance image list did not end after ${MAX_IMAGE_PAGES} pages` });
  }
  return {
    listImagesWithProperty: (key, value) => listPages({ [key]: value }),
    listAllImages: () => listPages({}),
    async downloadImageData(id) {
      const res = await client.openStream(`${imagePath(id)}/file`, { Accept: 'application/octet-stream' });
      if (res.status === 204) {
        res.body.on('error', () => {});
        res.body.destroy();
        throw new CloudError({ code: 'CONFLICT', service: 'image', method: 'GET', path: `${imagePath(id)}/file`, status: 204, cloudMessage: '', retryable: false, message: `image ${id} has no data in Glance (204 No Content)` });
      }
      const md5 = headerText(res.headers['content-md5']);
      const length = Number(headerText(res.headers['content-length']) ?? Number.NaN);
      return { body: res.body, md5: md5 !== null && /^[0-9a-fA-F]{32}$/.test(md5) ? md5.toLowerCase() : null, sizeBytes: Number.isSafeInteger(length) && length >= 0 ? length : null };
    },
    async getImage(id) {
      try {
        const res = await client.request('GET', imagePath(id));
        return parseGlanceImage(res.json as Record<string, unknown>);
      } catch (err) {
        if (err instanceof NotFoundError) return undefined;
        throw err;
      }
    },
    async createImage(c: GlanceImageCreate) {
      const body = {
        ...c.properties,
        id: c.id,
        name: c.name,
        disk_format: c.diskFormat,
        container_format: c.containerFormat,
        visibility: c.visibility,
        min_disk: c.minDisk,
        min_ram: c.minRam,
        protected: c.protected,
        tags: c.tags,
      };
      const res = await client.request('POST', '/v2/images', { json: body });
      return parseGlanceImage(res.json as Record<string, unknown>);
    },
    async patchImage(id, ops) {
      const res = await client.request('PATCH', imagePath(id), { json: ops, headers: { 'Content-Type': GLANCE_JSON_PATCH } });
      return parseGlanceImage(res.json as Record<string, unknown>);
    },
    async uploadImageData(id, body) {
      await client.request('PUT', `${imagePath(id)}/file`, {
        stream: body,
        headers: { 'Content-Type': 'application/octet-stream' },
        headersTimeoutMs: uploadHeadersTimeoutMs,
      });
    },
    async deleteImage(id) {
      await client.request('DELETE', imagePath(id));
    },
  };
}
