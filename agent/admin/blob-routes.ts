// The admin API's blob routes: an upload in numbered parts (the CLI's `image create --file`), and
// what this site holds of a blob. Separate from routes.ts so the blob feature stays in its own files.
import { BlobStoreFullError, BlobVerifyError } from '../blobs/store.js';
import { UploadError, type BlobUploads } from '../blobs/uploads.js';
import { AdoptionBusyError, type GlanceAdoptions } from '../blobs/glance-adopt.js';
import { AdminHttpError } from './http-errors.js';
import type { Handler, HandlerContext, HandlerResult } from './routes.js';

function uploads(ctx: HandlerContext): BlobUploads {
  const u = ctx.service.blobUploads;
  if (u === undefined) throw new AdminHttpError('NOT_FOUND', 'this agent has no blob store', {}, 'unknown_route');
  return u;
}

function adoptions(ctx: HandlerContext): GlanceAdoptions {
  const a = ctx.service.glanceAdoptions;
  if (a === undefined) throw new AdminHttpError('NOT_FOUND', 'this agent cannot take images from Glance (it has no blob store or no cloud)', {}, 'unknown_route');
  return a;
}

const GLANCE_IMAGE_ID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

/** Upload and blob-store failures as admin errors: a digest or size mismatch is VALIDATION (nothing was written). */
async function mapped(fn: () => Promise<unknown>): Promise<HandlerResult> {
  try {
    return { status: 200, json: await fn() };
  } catch (err) {
    if (err instanceof BlobVerifyError) throw new AdminHttpError('VALIDATION', `${err.message}; nothing was stored`, { field: 'file' });
    if (err instanceof BlobStoreFullError) throw new AdminHttpError('BUSY', `${err.message}; nothing was stored`);
    if (err instanceof UploadError) throw new AdminHttpError(err.code, err.message, {}, err.code === 'BAD_REQUEST' ? 'invalid_body' : err.code === 'PAYLOAD_TOO_LARGE' ? 'body_too_large' : undefined);
    throw err;
  }
}

function digestField(body: Record<string, unknown>, key: 'sha256' | 'sha512', hex: number): string | undefined {
  const value = body[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string' || !new RegExp(`^[0-9a-fA-F]{${hex}}$`).test(value)) {
    throw new AdminHttpError('VALIDATION', `${key}: expected ${hex} hexadecimal digits`, { field: key }, 'invalid_body');
  }
  return value.toLowerCase();
}

export const blobHandlers = {
  blobUploadStart: async (ctx) => {
    const body = await ctx.readBody();
    if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new AdminHttpError('BAD_REQUEST', 'a JSON body { "size": N, "sha256"?: ..., "sha512"?: ... } is required', {}, 'invalid_body');
    const b = body as Record<string, unknown>;
    if (!Number.isSafeInteger(b.size) || (b.size as number) < 0) throw new AdminHttpError('VALIDATION', 'size: expected a non-negative integer (bytes)', { field: 'size' }, 'invalid_body');
    const sha256 = digestField(b, 'sha256', 64);
    const sha512 = digestField(b, 'sha512', 128);
    return mapped(async () => uploads(ctx).start({ size: b.size as number, ...(sha256 ? { sha256 } : {}), ...(sha512 ? { sha512 } : {}) }));
  },

  blobUploadPart: async (ctx) => {
    const n = Number(ctx.params.n);
    if (!Number.isSafeInteger(n) || n < 0) throw new AdminHttpError('BAD_REQUEST', 'part number: expected a non-negative integer', { field: 'n' }, 'invalid_path');
    const body = ctx.rawBody;
    if (body === undefined) throw new AdminHttpError('BAD_REQUEST', 'a part needs a body', {}, 'invalid_body');
    return mapped(() => uploads(ctx).part(ctx.params.id!, n, body));
  },

  blobUploadFinish: async (ctx) =>
    mapped(async () => {
      const { root, manifest } = await uploads(ctx).finish(ctx.params.id!);
      return { root, size: manifest.size, sha256: manifest.sha256, sha512: manifest.sha512, md5: manifest.md5, chunks: manifest.chunks.length };
    }),

  blobUploadAbort: async (ctx) => mapped(async () => (await uploads(ctx).abort(ctx.params.id!), { aborted: true })),

  /** Starts taking a Glance image's bits into the blob store (`image create --from-glance`); poll the state. */
  glanceAdoptionStart: async (ctx) => {
    const body = await ctx.readBody();
    const imageId = typeof body === 'object' && body !== null && !Array.isArray(body) ? (body as Record<string, unknown>).imageId : undefined;
    if (typeof imageId !== 'string' || !GLANCE_IMAGE_ID.test(imageId)) throw new AdminHttpError('VALIDATION', 'imageId: expected a Glance image id (a UUID)', { field: 'imageId' }, 'invalid_body');
    try {
      return { status: 202, json: adoptions(ctx).start(imageId.toLowerCase()) };
    } catch (err) {
      if (err instanceof AdoptionBusyError) throw new AdminHttpError('BUSY', err.message);
      throw err;
    }
  },

  glanceAdoptionState: async (ctx) => {
    const view = adoptions(ctx).view(ctx.params.imageId!.toLowerCase());
    if (view === undefined) throw new AdminHttpError('NOT_FOUND', `no image is being taken from Glance under id ${JSON.stringify(ctx.params.imageId!.slice(0, 64))} (never started, or forgotten)`);
    return { status: 200, json: view };
  },

  blobState: async (ctx) => {
    const state = ctx.service.blobState?.(ctx.params.root!);
    if (state === undefined) throw new AdminHttpError('NOT_FOUND', 'this agent has no blob store', {}, 'unknown_route');
    return { status: 200, json: state };
  },
} satisfies Record<string, Handler>;
