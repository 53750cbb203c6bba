// Flavors on top of ComputeApi: Nova's flavor, its extra specs, its access list and its description
// are separate calls; this composes them into create / update / delete of one CloudFlavor.
import { ConflictError, NotFoundError, NotManagedError, NotSupportedError } from '../errors.js';
import { diffFlavor, type FlavorDiff } from '../diff.js';
import { describedPath } from '../path-segment.js';
import {
  MANAGED_EXTRA_SPEC,
  catalogExtraSpecs,
  describeOwner,
  flavorCreatingDescription,
  flavorMarkerSpecs,
  flavorOwnership,
  isChangeable,
  isFlavorHalfCreated,
  ownershipFields,
  type Marking,
} from '../markers.js';
import type { ComputeApi, NovaFlavor } from '../service-api.js';
import type { CloudFlavor, CloudFlavorSpec, UpdateOptions, CloudWriteResult } from '../types.js';
import { validateFlavorSpec } from '../validate.js';

const flavorPath = (id: string) => describedPath('/flavors', id);

function toCloudFlavor(nova: NovaFlavor, access: string[], marking: Marking): CloudFlavor {
  const flavor: CloudFlavor = {
    id: nova.id,
    name: nova.name,
    vcpus: nova.vcpus,
    ram: nova.ram,
    disk: nova.disk,
    ephemeral: nova.ephemeral,
    swap: nova.swap,
    rxtxFactor: nova.rxtxFactor,
    isPublic: nova.isPublic,
    extraSpecs: catalogExtraSpecs(nova.extraSpecs),
    accessProjects: [...access].sort(),
    ...ownershipFields(flavorOwnership(nova.extraSpecs, nova.description, marking)),
  };
  if (nova.description !== null) flavor.description = nova.description;
  return flavor;
}

async function withAccess(compute: ComputeApi, nova: NovaFlavor, marking: Marking): Promise<CloudFlavor> {
  const access = nova.isPublic ? [] : await compute.listFlavorAccess(nova.id);
  return toCloudFlavor(nova, access, marking);
}

export async function getFlavor(compute: ComputeApi, id: string, marking: Marking): Promise<CloudFlavor | undefined> {
  const nova = await compute.getFlavor(id);
  return nova === undefined ? undefined : withAccess(compute, nova, marking);
}

/** The flavors this driver may change: its cluster's, and those marked before cluster ids (legacy). */
export async function listFlavors(compute: ComputeApi, marking: Marking): Promise<CloudFlavor[]> {
  const out: CloudFlavor[] = [];
  for (const nova of await compute.listFlavors()) {
    if (isChangeable(flavorOwnership(nova.extraSpecs, nova.description, marking))) out.push(await withAccess(compute, nova, marking));
  }
  return out.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

async function mustGet(compute: ComputeApi, id: string, marking: Marking): Promise<CloudFlavor> {
  const flavor = await getFlavor(compute, id, marking);
  if (flavor === undefined) {
    throw new NotFoundError({
      service: 'compute',
      method: 'GET',
      path: flavorPath(id),
      status: 404,
      cloudMessage: '',
      message: `flavor ${id} vanished while stackraft was changing it`,
      retryable: true,
    });
  }
  return flavor;
}

/** Brings extra specs, the markers, access and description of an existing flavor to the spec. */
async function converge(compute: ComputeApi, spec: CloudFlavorSpec, diff: FlavorDiff, markerPresent: boolean, marking: Marking): Promise<void> {
  const toSet = markerPresent ? diff.extraSpecsToSet : { ...diff.extraSpecsToSet, ...flavorMarkerSpecs(marking) };
  if (Object.keys(toSet).length > 0) await compute.setExtraSpecs(spec.id, toSet);
  for (const key of diff.extraSpecsToRemove) await ignoreNotFound(compute.deleteExtraSpec(spec.id, key));
  for (const project of diff.accessToAdd) await ignoreConflict(compute.addFlavorAccess(spec.id, project));
  for (const project of diff.accessToRemove) await ignoreNotFound(compute.removeFlavorAccess(spec.id, project));
  // Last: replaces the creation marker, so an interrupted create stays recognisable until here.
  if (diff.descriptionChanged) await compute.setFlavorDescription(spec.id, spec.description ?? null);
}

async function ignoreNotFound(p: Promise<void>): Promise<void> {
  try {
    await p;
  } catch (err) {
    if (!(err instanceof NotFoundError)) throw err;
  }
}

async function ignoreConflict(p: Promise<void>): Promise<void> {
  try {
    await p;
  } catch (err) {
    if (!(err instanceof ConflictError) || err.retryable) throw err;
  }
}

/** POST the flavor with the creation marker, then everything Nova sets in later calls. */
async function createFresh(compute: ComputeApi, spec: CloudFlavorSpec, marking: Marking): Promise<CloudFlavor> {
  const nova = await compute.createFlavor({
    id: spec.id,
    name: spec.name,
    vcpus: spec.vcpus,
    ram: spec.ram,
    disk: spec.disk,
    ephemeral: spec.ephemeral,
    swap: spec.swap,
    rxtxFactor: spec.rxtxFactor,
    isPublic: spec.isPublic,
    description: flavorCreatingDescription(marking),
  });
  const created = toCloudFlavor(nova, [], marking);
  await converge(compute, spec, diffFlavor(created, spec), false, marking);
  return mustGet(compute, spec.id, marking);
}

function describeChanges(diff: FlavorDiff): string {
  return diff.immutable.map((c) => `${c.field} ${JSON.stringify(c.from)} -> ${JSON.stringify(c.to)}`).join(', ');
}

function replaceWarning(id: string, diff: FlavorDiff): string {
  return (
    `flavor ${id} was replaced (deleted and created again with the same id) because Nova cannot change ` +
    `${describeChanges(diff)} in place. Servers already running keep their own copy of the old flavor and are ` +
    `not resized; resize them to pick up the new definition.`
  );
}

export async function createFlavor(compute: ComputeApi, spec: CloudFlavorSpec, marking: Marking): Promise<CloudWriteResult<CloudFlavor>> {
  validateFlavorSpec(spec);
  try {
    return { resource: await createFresh(compute, spec, marking), replaced: false, warnings: [] };
  } catch (err) {
    if (!(err instanceof ConflictError) || err.retryable) throw err;
    const nova = await compute.getFlavor(spec.id);
    if (nova === undefined) throw err;
    const existing = await withAccess(compute, nova, marking);
    if (!existing.managed) {
      throw new ConflictError({
        service: 'compute',
        method: 'POST',
        path: '/flavors',
        status: 409,
        cloudMessage: err.cloudMessage,
        message: `flavor id ${spec.id} is taken by a flavor stackraft does not manage (${describeOwner(flavorOwnership(nova.extraSpecs, nova.description, marking), MANAGED_EXTRA_SPEC)}); stackraft never changes it`,
      });
    }
    if (isFlavorHalfCreated(nova.extraSpecs, nova.description)) {
      const finished = await updateManaged(compute, spec, existing, false, true, marking);
      finished.warnings.push(`flavor ${spec.id}: finished a create that was interrupted earlier`);
      return finished;
    }
    const diff = diffFlavor(existing, spec);
    if (diff.inSync && existing.legacyMarker) return updateManaged(compute, spec, existing, false, true, marking);
    if (diff.inSync) return { resource: existing, replaced: false, warnings: [] };
    throw new ConflictError({
      service: 'compute',
      method: 'POST',
      path: '/flavors',
      status: 409,
      cloudMessage: err.cloudMessage,
      message: `flavor ${spec.id} already exists with a different definition; update it instead of creating it`,
    });
  }
}

async function updateManaged(
  compute: ComputeApi,
  spec: CloudFlavorSpec,
  current: CloudFlavor,
  markerPresent: boolean,
  allowReplace: boolean,
  marking: Marking,
): Promise<CloudWriteResult<CloudFlavor>> {
  const diff = diffFlavor(current, spec);
  if (diff.immutable.length > 0) {
    if (!allowReplace) {
      throw new NotSupportedError({
        service: 'compute',
        method: 'update flavor',
        path: flavorPath(spec.id),
        cloudMessage: '',
        message: `flavor ${spec.id}: Nova cannot change ${describeChanges(diff)} in place, and replacing the flavor was not allowed`,
      });
    }
    await compute.deleteFlavor(spec.id);
    const resource = await createFresh(compute, spec, marking);
    return { resource, replaced: true, warnings: [replaceWarning(spec.id, diff)] };
  }
  if (diff.inSync && markerPresent) return { resource: current, replaced: false, warnings: [] };
  await converge(compute, spec, diff, markerPresent, marking);
  return { resource: await mustGet(compute, spec.id, marking), replaced: false, warnings: [] };
}

function notManaged(method: string, id: string, nova: NovaFlavor, marking: Marking): NotManagedError {
  return new NotManagedError({
    service: 'compute',
    method,
    path: flavorPath(id),
    message: `flavor ${id} is not managed by this stackraft cluster (${describeOwner(flavorOwnership(nova.extraSpecs, nova.description, marking), MANAGED_EXTRA_SPEC)}); stackraft never changes or deletes it`,
  });
}

/** Every marker this driver writes is on the flavor (a legacy flavor lacks the cluster id). */
function markersPresent(nova: NovaFlavor, marking: Marking): boolean {
  return Object.entries(flavorMarkerSpecs(marking)).every(([key, value]) => nova.extraSpecs[key] === value);
}

function notFound(method: string, id: string): NotFoundError {
  return new NotFoundError({ service: 'compute', method, path: flavorPath(id), status: 404, cloudMessage: '', message: `flavor ${id} does not exist` });
}

export async function updateFlavor(compute: ComputeApi, spec: CloudFlavorSpec, marking: Marking, options: UpdateOptions = {}): Promise<CloudWriteResult<CloudFlavor>> {
  validateFlavorSpec(spec);
  const nova = await compute.getFlavor(spec.id);
  if (nova === undefined) throw notFound('update flavor', spec.id);
  if (!isChangeable(flavorOwnership(nova.extraSpecs, nova.description, marking))) throw notManaged('update flavor', spec.id, nova, marking);
  const current = await withAccess(compute, nova, marking);
  return updateManaged(compute, spec, current, markersPresent(nova, marking), options.allowReplace ?? true, marking);
}

export async function deleteFlavor(compute: ComputeApi, id: string, marking: Marking): Promise<void> {
  const nova = await compute.getFlavor(id);
  if (nova === undefined) throw notFound('delete flavor', id);
  if (!isChangeable(flavorOwnership(nova.extraSpecs, nova.description, marking))) throw notManaged('delete flavor', id, nova, marking);
  await compute.deleteFlavor(id);
}

/** Every flavor of the cloud, whoever owns it (ownership fields say whose): what an import reads. */
export async function listAllFlavors(compute: ComputeApi, marking: Marking): Promise<CloudFlavor[]> {
  const out: CloudFlavor[] = [];
  for (const nova of await compute.listFlavors()) out.push(await withAccess(compute, nova, marking));
  return out.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/**
 * Marks an existing flavor as this cluster's (an import adopting it): only its marker extra specs
 * are set; the flavor itself, its other extra specs, access and description stay as they are, so
 * servers using it see no change. Another cluster's flavor is refused.
 */
export async function claimFlavor(compute: ComputeApi, id: string, marking: Marking): Promise<CloudFlavor> {
  const nova = await compute.getFlavor(id);
  if (nova === undefined) throw notFound('claim flavor', id);
  const ownership = flavorOwnership(nova.extraSpecs, nova.description, marking);
  if (ownership.kind === 'foreign') throw notManaged('claim flavor', id, nova, marking);
  if (ownership.kind !== 'ours' || !markersPresent(nova, marking)) await compute.setExtraSpecs(id, flavorMarkerSpecs(marking));
  return mustGet(compute, id, marking);
}
