// Flavors on top of ComputeApi: Nova's flavor, its extra specs, its access list and its description
// are separate calls; this composes them into create / update / delete of one CloudFlavor.
import { ConflictError, NotFoundError, NotManagedError, NotSupportedError } from '../errors.js';
import { diffFlavor, type FlavorDiff } from '../diff.js';
import { describedPath } from '../path-segment.js';
import {
  FLAVOR_CREATING_DESCRIPTION,
  MANAGED_EXTRA_SPEC,
  MANAGED_VALUE,
  catalogExtraSpecs,
  isFlavorHalfCreated,
  isFlavorManaged,
} from '../markers.js';
import type { ComputeApi, NovaFlavor } from '../service-api.js';
import type { CloudFlavor, CloudFlavorSpec, UpdateOptions, CloudWriteResult } from '../types.js';
import { validateFlavorSpec } from '../validate.js';

const flavorPath = (id: string) => describedPath('/flavors', id);

function toCloudFlavor(nova: NovaFlavor, access: string[]): CloudFlavor {
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
    managed: isFlavorManaged(nova.extraSpecs, nova.description),
  };
  if (nova.description !== null) flavor.description = nova.description;
  return flavor;
}

async function withAccess(compute: ComputeApi, nova: NovaFlavor): Promise<CloudFlavor> {
  const access = nova.isPublic ? [] : await compute.listFlavorAccess(nova.id);
  return toCloudFlavor(nova, access);
}

export async function getFlavor(compute: ComputeApi, id: string): Promise<CloudFlavor | undefined> {
  const nova = await compute.getFlavor(id);
  return nova === undefined ? undefined : withAccess(compute, nova);
}

export async function listFlavors(compute: ComputeApi): Promise<CloudFlavor[]> {
  const out: CloudFlavor[] = [];
  for (const nova of await compute.listFlavors()) {
    if (isFlavorManaged(nova.extraSpecs, nova.description)) out.push(await withAccess(compute, nova));
  }
  return out.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

async function mustGet(compute: ComputeApi, id: string): Promise<CloudFlavor> {
  const flavor = await getFlavor(compute, id);
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

/** Brings extra specs, the marker, access and description of an existing flavor to the spec. */
async function converge(compute: ComputeApi, spec: CloudFlavorSpec, diff: FlavorDiff, markerPresent: boolean): Promise<void> {
  const toSet = markerPresent ? diff.extraSpecsToSet : { ...diff.extraSpecsToSet, [MANAGED_EXTRA_SPEC]: MANAGED_VALUE };
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
async function createFresh(compute: ComputeApi, spec: CloudFlavorSpec): Promise<CloudFlavor> {
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
    description: FLAVOR_CREATING_DESCRIPTION,
  });
  const created = toCloudFlavor(nova, []);
  await converge(compute, spec, diffFlavor(created, spec), false);
  return mustGet(compute, spec.id);
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

export async function createFlavor(compute: ComputeApi, spec: CloudFlavorSpec): Promise<CloudWriteResult<CloudFlavor>> {
  validateFlavorSpec(spec);
  try {
    return { resource: await createFresh(compute, spec), replaced: false, warnings: [] };
  } catch (err) {
    if (!(err instanceof ConflictError) || err.retryable) throw err;
    const nova = await compute.getFlavor(spec.id);
    if (nova === undefined) throw err;
    const existing = await withAccess(compute, nova);
    if (!existing.managed) {
      throw new ConflictError({
        service: 'compute',
        method: 'POST',
        path: '/flavors',
        status: 409,
        cloudMessage: err.cloudMessage,
        message: `flavor id ${spec.id} is taken by a flavor stackraft does not manage (no ${MANAGED_EXTRA_SPEC} extra spec); stackraft never changes it`,
      });
    }
    if (isFlavorHalfCreated(nova.extraSpecs, nova.description)) {
      const finished = await updateManaged(compute, spec, existing, false, true);
      finished.warnings.push(`flavor ${spec.id}: finished a create that was interrupted earlier`);
      return finished;
    }
    const diff = diffFlavor(existing, spec);
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
    const resource = await createFresh(compute, spec);
    return { resource, replaced: true, warnings: [replaceWarning(spec.id, diff)] };
  }
  if (diff.inSync && markerPresent) return { resource: current, replaced: false, warnings: [] };
  await converge(compute, spec, diff, markerPresent);
  return { resource: await mustGet(compute, spec.id), replaced: false, warnings: [] };
}

function notManaged(method: string, id: string): NotManagedError {
  return new NotManagedError({
    service: 'compute',
    method,
    path: flavorPath(id),
    message: `flavor ${id} is not managed by stackraft (no ${MANAGED_EXTRA_SPEC} extra spec); stackraft never changes or deletes it`,
  });
}

function notFound(method: string, id: string): NotFoundError {
  return new NotFoundError({ service: 'compute', method, path: flavorPath(id), status: 404, cloudMessage: '', message: `flavor ${id} does not exist` });
}

export async function updateFlavor(compute: ComputeApi, spec: CloudFlavorSpec, options: UpdateOptions = {}): Promise<CloudWriteResult<CloudFlavor>> {
  validateFlavorSpec(spec);
  const nova = await compute.getFlavor(spec.id);
  if (nova === undefined) throw notFound('update flavor', spec.id);
  if (!isFlavorManaged(nova.extraSpecs, nova.description)) throw notManaged('update flavor', spec.id);
  const current = await withAccess(compute, nova);
  const markerPresent = nova.extraSpecs[MANAGED_EXTRA_SPEC] === MANAGED_VALUE;
  return updateManaged(compute, spec, current, markerPresent, options.allowReplace ?? true);
}

export async function deleteFlavor(compute: ComputeApi, id: string): Promise<void> {
  const nova = await compute.getFlavor(id);
  if (nova === undefined) throw notFound('delete flavor', id);
  if (!isFlavorManaged(nova.extraSpecs, nova.description)) throw notManaged('delete flavor', id);
  await compute.deleteFlavor(id);
}
