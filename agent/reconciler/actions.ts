// One resource brought to its desired state, or removed, through the CloudDriver. Each action
// looks at what the cloud has (from an audit's listing, or fetched here), decides, and makes the
// fewest calls that converge it. The driver refuses to touch what stackraft does not manage; the
// actions check first anyway so the message says what is in the way.
import {
  CloudError,
  NotFoundError,
  NotManagedError,
  diffFlavor,
  diffImage,
  diffQuota,
  type CloudDriver,
  type CloudFlavor,
  type CloudImage,
  type CloudQuota,
  type CloudFlavorSpec,
  type CloudImageSpec,
  type CloudQuotaSpec,
} from '../../drivers/index.js';
import type { DesiredResource, ManagedKind } from './desired.js';

/** What the cloud is known to hold for one id: `{ value }` (undefined = absent), or not looked at yet. */
export type Observed<T> = { value: T | undefined } | undefined;

/** What converging changed: nothing, or a create, an in-place update, a replace (delete + create). */
export type Change = 'none' | 'created' | 'updated' | 'replaced';

export type ActionResult =
  /** The cloud now matches. `message` carries what the operator should know (a replace, a skipped part). */
  | { outcome: 'in-sync'; change: Change; message: string }
  /** The cloud is busy with this resource (Glance still storing bits): look again later. */
  | { outcome: 'waiting'; message: string };

export type RemovalResult = 'removed' | 'absent' | 'not-managed';

/** Glance states in which the image is being worked on and will change by itself. */
const GLANCE_BUSY_STATES: ReadonlySet<string> = new Set(['saving', 'importing', 'uploading']);

function inSync(change: Change = 'none', message = ''): ActionResult {
  return { outcome: 'in-sync', change, message };
}

function notManaged(kind: 'flavor' | 'image', id: string, path: string, foreignCluster: string | undefined): NotManagedError {
  const marker = kind === 'flavor' ? 'stackraft:managed extra spec' : 'stackraft_managed property';
  const whose = foreignCluster === undefined ? `a ${kind} stackraft does not manage (no ${marker})` : `a ${kind} of another stackraft cluster, ${JSON.stringify(foreignCluster)}`;
  return new NotManagedError({
    service: kind === 'flavor' ? 'compute' : 'image',
    method: `converge ${kind}`,
    path,
    message: `${kind} id ${id} is taken by ${whose}; stackraft never changes it — remove or rename it, or give the catalog resource another id`,
  });
}

/** A resource marked before markers named a cluster, which this cluster's catalog names: re-marked as this cluster's. */
const CLAIMED_NOTE = 'claimed: it carried the marker of an older release (no cluster id) and now carries this cluster\'s';

export async function convergeFlavor(driver: CloudDriver, spec: CloudFlavorSpec, observed: Observed<CloudFlavor>): Promise<ActionResult> {
  const current = observed === undefined ? await driver.getFlavor(spec.id) : observed.value;
  if (current === undefined) {
    const created = await driver.createFlavor(spec);
    return inSync(created.replaced ? 'replaced' : 'created', created.warnings.join('; '));
  }
  if (!current.managed) throw notManaged('flavor', spec.id, `/flavors/${spec.id}`, current.foreignCluster);
  if (diffFlavor(current, spec).inSync && !current.legacyMarker) return inSync();
  const updated = await driver.updateFlavor(spec, { allowReplace: true });
  return inSync(updated.replaced ? 'replaced' : 'updated', [...updated.warnings, ...(current.legacyMarker ? [CLAIMED_NOTE] : [])].join('; '));
}

const ADOPTED_NOTE = "adopted: this site's own Glance image holds the catalog's bits and now carries this cluster's marker (bits untouched)";

/**
 * `adoptExisting`: the catalog took this image's bits from this site's Glance (desired.ts), so an
 * unmarked image with the id is claimed when it holds exactly those bits (the driver checks).
 */
export async function convergeImage(driver: CloudDriver, spec: CloudImageSpec, observed: Observed<CloudImage>, adoptExisting = false): Promise<ActionResult> {
  let current = observed === undefined ? await driver.getImage(spec.id) : observed.value;
  // An audit's listing holds only marked images: look at the unmarked one the catalog names.
  if (current === undefined && adoptExisting && observed !== undefined) current = await driver.getImage(spec.id);
  let adopted = false;
  if (current !== undefined && !current.managed && current.foreignCluster === undefined && adoptExisting && driver.claimImage !== undefined) {
    current = await driver.claimImage(spec);
    adopted = true;
  }
  if (current === undefined) {
    // The driver creates the image, streams the bits in, verifies them, then protects it.
    const created = await driver.createImage(spec);
    return inSync('created', created.warnings.join('; '));
  }
  if (!current.managed) throw notManaged('image', spec.id, `/v2/images/${spec.id}`, current.foreignCluster);
  if (GLANCE_BUSY_STATES.has(current.status)) {
    return { outcome: 'waiting', message: `Glance is still storing the bits of image ${spec.id} (status '${current.status}')` };
  }
  if (current.status === 'active' && diffImage(current, spec).inSync && !current.legacyMarker) return adopted ? inSync('updated', ADOPTED_NOTE) : inSync();
  if (current.status !== 'active' && current.status !== 'queued') {
    throw new CloudError({
      code: 'CONFLICT',
      service: 'image',
      method: 'converge image',
      path: `/v2/images/${spec.id}`,
      status: 0,
      cloudMessage: '',
      retryable: false,
      message: `image ${spec.id} is '${current.status}' in Glance; stackraft changes only active or queued images (an operator must reactivate or delete it)`,
    });
  }
  // Queued: an upload never finished, the driver resumes it. Active: a metadata patch, or a
  // NotSupportedError when the catalog asks for what Glance cannot do (new bits, new formats).
  const updated = await driver.updateImage(spec);
  return inSync('updated', [...updated.warnings, ...(current.legacyMarker ? [CLAIMED_NOTE] : []), ...(adopted ? [ADOPTED_NOTE] : [])].join('; '));
}

function skippedParts(spec: CloudQuotaSpec, current: CloudQuota): string {
  return diffQuota(current, spec)
    .missingParts.map((part) => `${part} limits skipped: this cloud has no ${part} service`)
    .join('; ');
}

export async function convergeQuota(driver: CloudDriver, spec: CloudQuotaSpec, observed: Observed<CloudQuota>): Promise<ActionResult> {
  const current = observed?.value ?? (await driver.getQuota(spec.project));
  const message = skippedParts(spec, current);
  if (diffQuota(current, spec).inSync) return inSync('none', message);
  await driver.updateQuota(spec);
  return inSync('updated', message);
}

export function convergeResource(driver: CloudDriver, desired: DesiredResource, observed: Observed<unknown>): Promise<ActionResult> {
  switch (desired.kind) {
    case 'flavor':
      return convergeFlavor(driver, desired.spec, observed as Observed<CloudFlavor>);
    case 'image':
      return convergeImage(driver, desired.spec, observed as Observed<CloudImage>, desired.adoptExisting === true);
    case 'quota':
      return convergeQuota(driver, desired.spec, observed as Observed<CloudQuota>);
  }
}

/**
 * A quota set goes back to the cloud's defaults. When the cloud refuses even to read it (Nova
 * answers 400 for a project its Keystone does not know), nothing can have been set there: done.
 */
async function resetQuota(driver: CloudDriver, project: string): Promise<RemovalResult> {
  try {
    await driver.getQuota(project);
  } catch (err) {
    if (err instanceof CloudError && err.code === 'BAD_REQUEST') return 'absent';
    throw err;
  }
  await driver.deleteQuota(project);
  return 'removed';
}

async function absentIfNotFound(remove: () => Promise<void>): Promise<RemovalResult> {
  try {
    await remove();
    return 'removed';
  } catch (err) {
    // Someone else removed it between our look and our delete: the goal is reached.
    if (err instanceof NotFoundError) return 'absent';
    throw err;
  }
}

/**
 * Removes a resource this site should no longer hold. Flavors and images are deleted only when
 * they carry stackraft's marker; a quota set goes back to the cloud's defaults.
 */
export async function removeResource(driver: CloudDriver, kind: ManagedKind, id: string, observed: Observed<{ managed: boolean }>): Promise<RemovalResult> {
  if (kind === 'quota') return resetQuota(driver, id);
  const current = observed === undefined ? await (kind === 'flavor' ? driver.getFlavor(id) : driver.getImage(id)) : observed.value;
  if (current === undefined) return 'absent';
  if (!current.managed) return 'not-managed';
  return absentIfNotFound(() => (kind === 'flavor' ? driver.deleteFlavor(id) : driver.deleteImage(id)));
}
