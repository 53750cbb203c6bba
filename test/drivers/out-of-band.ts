// Out-of-band changes for the contract suite: what an operator (or a crash) leaves in a cloud.
import { Readable } from 'node:stream';
import { FLAVOR_CREATING_DESCRIPTION } from '../../drivers/markers.js';
import type { CloudModel } from '../../drivers/memory/model.js';
import type { ServiceApis } from '../../drivers/service-api.js';
import type { CloudFlavorSpec } from '../../drivers/index.js';
import type { OutOfBand } from './contract.js';

function operatorFlavor(id: string, name: string) {
  return { id, name, vcpus: 1, ram: 128, disk: 0, ephemeral: 0, swap: 0, rxtxFactor: 1, isPublic: true, description: null };
}

function halfCreated(spec: CloudFlavorSpec) {
  const { extraSpecs: _e, accessProjects: _a, description: _d, ...fields } = spec;
  return { ...fields, description: FLAVOR_CREATING_DESCRIPTION };
}

function operatorImage(id: string) {
  return { id, name: 'operator image', diskFormat: 'raw', containerFormat: 'bare', visibility: 'public', minDisk: 0, minRam: 0, protected: false, tags: [], properties: { owner_note: 'not stackraft' } };
}

export function modelOutOfBand(model: CloudModel, owner: string): OutOfBand {
  return {
    createFlavor: async (id, name) => void model.createFlavor(operatorFlavor(id, name)),
    createHalfCreatedFlavor: async (spec) => void model.createFlavor(halfCreated(spec)),
    createImage: async (id) => void model.createImage(operatorImage(id), owner),
    deleteFlavor: async (id) => model.deleteFlavor(id),
    deleteImage: async (id) => {
      model.patchImage(id, [{ op: 'replace', path: '/protected', value: false }]);
      model.deleteImage(id);
    },
  };
}

/** Through the service APIs (raw REST calls, no markers): works on the mock and on a real cloud. */
export function apisOutOfBand(apis: ServiceApis): OutOfBand {
  const compute = apis.compute!;
  const images = apis.image!;
  return {
    createFlavor: async (id, name) => void (await compute.createFlavor(operatorFlavor(id, name))),
    createHalfCreatedFlavor: async (spec) => void (await compute.createFlavor(halfCreated(spec))),
    createImage: async (id) => void (await images.createImage(operatorImage(id))),
    createImageWithBits: async (id, bytes) => {
      await images.createImage(operatorImage(id));
      await images.uploadImageData(id, Readable.from([bytes]));
    },
    deleteFlavor: (id) => compute.deleteFlavor(id),
    deleteImage: async (id) => {
      await images.patchImage(id, [{ op: 'replace', path: '/protected', value: false }]);
      await images.deleteImage(id);
    },
  };
}
