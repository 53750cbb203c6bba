// Glance's JSON patch rules for the in-memory cloud (what api/v2/images.py accepts and refuses).
import { CloudError, ConflictError } from '../errors.js';
import { isGlanceOwnedAttribute } from '../markers.js';
import type { ImagePatchOp } from '../service-api.js';
import type { ImageRecord } from './model.js';

const VISIBILITIES = ['public', 'private', 'shared', 'community'];

function refuse(id: string, status: number, message: string): CloudError {
  const init = { service: 'image' as const, method: 'PATCH', path: `/v2/images/${id}`, status, cloudMessage: message };
  if (status === 409) return new ConflictError(init);
  return new CloudError({ ...init, code: status === 403 ? 'FORBIDDEN' : 'BAD_REQUEST', retryable: false });
}

function nonNegativeInt(id: string, key: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
    throw refuse(id, 400, `Invalid value for ${key}: ${JSON.stringify(value)}`);
  }
  return value;
}

function setBase(image: ImageRecord, key: string, value: unknown): boolean {
  const id = image.id;
  switch (key) {
    case 'name':
      if (typeof value !== 'string' || value.length > 255) throw refuse(id, 400, 'Invalid value for name');
      image.name = value;
      return true;
    case 'visibility':
      if (typeof value !== 'string' || !VISIBILITIES.includes(value)) throw refuse(id, 400, `Invalid visibility value: ${String(value)}`);
      image.visibility = value;
      return true;
    case 'protected':
      if (typeof value !== 'boolean') throw refuse(id, 400, 'Invalid value for protected');
      image.protected = value;
      return true;
    case 'min_disk':
      image.minDisk = nonNegativeInt(id, key, value);
      return true;
    case 'min_ram':
      image.minRam = nonNegativeInt(id, key, value);
      return true;
    case 'tags':
      if (!Array.isArray(value) || value.some((t) => typeof t !== 'string')) throw refuse(id, 400, 'Invalid value for tags');
      image.tags = [...new Set(value as string[])];
      return true;
    case 'disk_format':
    case 'container_format':
      if (image.status !== 'queued') throw refuse(id, 403, `Attribute ${key} can be only replaced for a queued image.`);
      if (typeof value !== 'string') throw refuse(id, 400, `Invalid value for ${key}`);
      if (key === 'disk_format') image.diskFormat = value;
      else image.containerFormat = value;
      return true;
    default:
      return false;
  }
}

export function applyImagePatch(image: ImageRecord, ops: ImagePatchOp[]): void {
  for (const op of ops) {
    if (typeof op?.path !== 'string' || !op.path.startsWith('/') || op.path.length < 2) {
      throw refuse(image.id, 400, `Invalid JSON pointer for this resource: '${String(op?.path)}'`);
    }
    const key = op.path.slice(1);
    if (op.op === 'remove') {
      if (isGlanceOwnedAttribute(key)) throw refuse(image.id, 403, `Attribute '${key}' is read-only.`);
      if (!Object.hasOwn(image.properties, key)) throw refuse(image.id, 409, `Property ${key} does not exist.`);
      delete image.properties[key];
      continue;
    }
    if (op.op !== 'add' && op.op !== 'replace') throw refuse(image.id, 400, `Unsupported patch operation: ${String((op as { op: unknown }).op)}`);
    if (setBase(image, key, op.value)) continue;
    if (isGlanceOwnedAttribute(key)) throw refuse(image.id, 403, `Attribute '${key}' is read-only.`);
    if (typeof op.value !== 'string') throw refuse(image.id, 400, `Property ${key} must be a string`);
    if (op.op === 'replace' && !Object.hasOwn(image.properties, key)) throw refuse(image.id, 409, `Property ${key} does not exist.`);
    image.properties[key] = op.value;
  }
}
