// ServiceApis over the in-memory model, each call passing through the fault injector, so a driver
// operation made of several calls can fail between any two of them.
import { NotFoundError, NotSupportedError } from '../errors.js';
import { pathSegment } from '../path-segment.js';
import type { FaultInjector } from '../faults.js';
import type { ComputeApi, GlanceImage, ImageApi, QuotaApi, ServiceApis } from '../service-api.js';
import type { CloudModel, ImageRecord } from './model.js';
import type { QuotaTable } from './quota-table.js';
import { receiveImageData } from './upload.js';
import type { CloudService } from '../errors.js';

export interface MemoryServices {
  compute: boolean;
  image: boolean;
  volume: boolean;
  network: boolean;
}

function orUndefined<T>(fn: () => T): T | undefined {
  try {
    return fn();
  } catch (err) {
    if (err instanceof NotFoundError) return undefined;
    throw err;
  }
}

function toGlanceImage(r: ImageRecord): GlanceImage {
  const { owner: _o, checksum: _c, createdAt: _ca, updatedAt: _ua, ...image } = r;
  return image;
}

function quotaApi(faults: FaultInjector, table: QuotaTable, service: CloudService): QuotaApi {
  const path = (p: string) => `os-quota-sets/${pathSegment(p, 'quota')}`;
  return {
    get: (project) => faults.run({ service, method: 'GET', path: path(project), write: false }, () => table.get(project)),
    set: (project, values) => faults.run({ service, method: 'PUT', path: path(project), write: true }, () => void table.set(project, values)),
    reset: (project) => faults.run({ service, method: 'DELETE', path: path(project), write: true }, () => table.reset(project)),
  };
}

function computeApi(model: CloudModel, faults: FaultInjector): ComputeApi {
  const read = <T>(path: string, fn: () => T) => faults.run({ service: 'compute', method: 'GET', path, write: false }, fn);
  const write = <T>(method: string, path: string, fn: () => T) => faults.run({ service: 'compute', method, path, write: true }, fn);
  // Built as the HTTP driver builds them, so an id no URL can carry fails here as it does there.
  const flavor = (id: string) => `/flavors/${pathSegment(id, 'flavor')}`;
  return {
    listFlavors: () => read('/flavors/detail', () => model.listFlavors()),
    getFlavor: (id) => read(flavor(id), () => orUndefined(() => model.getFlavor(id))),
    createFlavor: (flavor) => write('POST', '/flavors', () => model.createFlavor(flavor)),
    setFlavorDescription: (id, d) => write('PUT', flavor(id), () => void model.setFlavorDescription(id, d)),
    deleteFlavor: (id) => write('DELETE', flavor(id), () => model.deleteFlavor(id)),
    setExtraSpecs: (id, specs) => write('POST', `${flavor(id)}/os-extra_specs`, () => void model.setExtraSpecs(id, specs)),
    deleteExtraSpec: (id, key) => write('DELETE', `${flavor(id)}/os-extra_specs/${pathSegment(key, 'extra spec')}`, () => model.deleteExtraSpec(id, key)),
    listFlavorAccess: (id) => read(`${flavor(id)}/os-flavor-access`, () => model.listFlavorAccess(id)),
    addFlavorAccess: (id, p) => write('POST', `${flavor(id)}/action`, () => void model.addFlavorAccess(id, p)),
    removeFlavorAccess: (id, p) => write('POST', `${flavor(id)}/action`, () => void model.removeFlavorAccess(id, p)),
    quotas: quotaApi(faults, model.computeQuotas, 'compute'),
  };
}

function imageApi(model: CloudModel, faults: FaultInjector, owner: string): ImageApi {
  const read = <T>(path: string, fn: () => T) => faults.run({ service: 'image', method: 'GET', path, write: false }, fn);
  const write = <T>(method: string, path: string, fn: () => T) => faults.run({ service: 'image', method, path, write: true }, fn);
  const image = (id: string) => `/v2/images/${pathSegment(id, 'image')}`;
  return {
    listImagesWithProperty: (key, value) =>
      read('/v2/images', () => model.listImages().filter((r) => r.properties[key] === value).map(toGlanceImage)),
    getImage: (id) => read(image(id), () => orUndefined(() => toGlanceImage(model.getImage(id)))),
    listAllImages: () => read('/v2/images', () => model.listImages().map(toGlanceImage)),
    // The model keeps no bits (the mock HTTP server does, drivers/mock/glance.ts): say so, never invent them.
    downloadImageData: (id) =>
      read(`${image(id)}/file`, () => {
        model.getImage(id);
        throw new NotSupportedError({ service: 'image', method: 'GET', path: `${image(id)}/file`, cloudMessage: '', message: `the in-memory cloud keeps no image bits: image ${id} cannot be downloaded` });
      }),
    createImage: (image) => write('POST', '/v2/images', () => toGlanceImage(model.createImage(image, owner))),
    patchImage: (id, ops) => write('PATCH', image(id), () => toGlanceImage(model.patchImage(id, ops))),
    uploadImageData: (id, body) => write('PUT', `${image(id)}/file`, async () => void (await receiveImageData(model, id, body))),
    deleteImage: (id) => write('DELETE', image(id), () => model.deleteImage(id)),
  };
}

export function memoryServiceApis(model: CloudModel, faults: FaultInjector, services: MemoryServices, owner: string): ServiceApis {
  const apis: ServiceApis = {};
  if (services.compute) apis.compute = computeApi(model, faults);
  if (services.image) apis.image = imageApi(model, faults, owner);
  if (services.volume) apis.volumeQuotas = quotaApi(faults, model.volumeQuotas, 'volume');
  if (services.network) apis.networkQuotas = quotaApi(faults, model.networkQuotas, 'network');
  return apis;
}
