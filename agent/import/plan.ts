// The plan of an import: which resources a site's cloud already has can become catalog resources,
// and why the others cannot (another cluster's, an id or name the catalog already uses, a field the
// catalog does not support). Pure: the caller reads the cloud and the catalog.
import type { ImportItemView, JsonObject } from '../admin/service.js';
import { checkResourceId, checkSpec } from '../admin/specs.js';
import type { Catalog } from '../catalog/index.js';
import { diffFlavor, type CloudFlavor, type CloudImage, type CloudQuota } from '../../drivers/index.js';
import { blobSourceUrl, IMAGE_VISIBILITIES } from '../catalog/types.js';
import { normalizeImageSpec } from '../catalog/validate-image.js';
import { factsOf } from '../blobs/glance-adopt.js';
import { toCloudFlavorSpec } from '../reconciler/index.js';

/** The catalog spec of a cloud flavor, field for field (empty maps and lists left out). */
export function flavorSpecOf(flavor: CloudFlavor): JsonObject {
  const spec: JsonObject = {
    name: flavor.name,
    vcpus: flavor.vcpus,
    ram: flavor.ram,
    disk: flavor.disk,
    ephemeral: flavor.ephemeral,
    swap: flavor.swap,
    rxtxFactor: flavor.rxtxFactor,
    isPublic: flavor.isPublic,
  };
  if (Object.keys(flavor.extraSpecs).length > 0) spec.extraSpecs = { ...flavor.extraSpecs };
  if (flavor.description !== undefined && flavor.description !== '') spec.description = flavor.description;
  if (!flavor.isPublic && flavor.accessProjects.length > 0) spec.accessProjects = [...flavor.accessProjects];
  return spec;
}

export function quotaSpecOf(quota: CloudQuota): JsonObject {
  const spec: JsonObject = { project: quota.project };
  for (const part of ['compute', 'volume', 'network'] as const) {
    const limits = quota[part];
    if (limits !== undefined && Object.keys(limits).length > 0) spec[part] = { ...limits } as JsonObject;
  }
  return spec;
}

function unsupported(kind: 'flavor' | 'quota', id: string, spec: JsonObject): string | undefined {
  const idProblem = checkResourceId(kind, id);
  const problems = checkSpec(kind, spec, 'put').map((p) => `${p.field}: ${p.message}`);
  if (idProblem !== undefined) problems.unshift(`id: ${idProblem}`);
  return problems.length === 0 ? undefined : `not supported by the catalog: ${problems.join('; ')}`;
}

const MARKED_NOTE = "this site's flavor gets this cluster's marker (extra specs stackraft:managed, stackraft:cluster); nothing else about it changes";

/** Marking only: the catalog already has this flavor, identical, placed on this site (an import that stopped before marking, or a second site adopting it). */
export const MARK_ONLY_DETAIL = 'the catalog already has it, identical and placed here';

export function planFlavors(flavors: CloudFlavor[], catalog: Catalog, placement: string, site: string): ImportItemView[] {
  const byName = new Map(catalog.list('flavor').map((r) => [r.spec.name, r.id]));
  return flavors.map((flavor): ImportItemView => {
    const base = { kind: 'flavor' as const, id: flavor.id, name: flavor.name };
    if (flavor.foreignCluster !== undefined) return { ...base, action: 'conflict', detail: `managed by another stackraft cluster, ${JSON.stringify(flavor.foreignCluster)}` };
    if (flavor.legacyMarker) return { ...base, action: 'skip', detail: 'carries the marker of an older stackraft release: the reconciler claims it when the catalog names its id' };
    if (flavor.managed) return { ...base, action: 'skip', detail: 'already managed by this cluster' };
    const spec = flavorSpecOf(flavor);
    const existing = catalog.get('flavor', flavor.id);
    if (existing !== undefined) {
      const placedHere = catalog.list('flavor', { forSite: site }).some((r) => r.id === flavor.id);
      if (placedHere && diffFlavor(flavor, toCloudFlavorSpec(existing)).inSync) return { ...base, action: 'import', detail: `${MARK_ONLY_DETAIL}: ${MARKED_NOTE}` };
      return { ...base, action: 'conflict', detail: `the catalog already has flavor ${flavor.id} (revision ${existing.revision}) ${placedHere ? 'with a different definition' : 'not placed on this site'}`, spec };
    }
    const sameName = byName.get(flavor.name);
    if (sameName !== undefined) return { ...base, action: 'conflict', detail: `the catalog's flavor ${sameName} has the same name (Nova flavor names are unique)`, spec };
    const problem = unsupported('flavor', flavor.id, spec);
    if (problem !== undefined) return { ...base, action: 'conflict', detail: problem, spec };
    return { ...base, action: 'import', detail: `placed on ${placement}; ${MARKED_NOTE}`, spec };
  });
}

export function planQuotas(quotas: CloudQuota[], catalog: Catalog, placement: string): ImportItemView[] {
  return quotas.map((quota): ImportItemView => {
    const base = { kind: 'quota' as const, id: quota.project, name: quota.project };
    const spec = quotaSpecOf(quota);
    const existing = catalog.get('quota', quota.project);
    if (existing !== undefined) return { ...base, action: 'conflict', detail: `the catalog already has a quota for project ${quota.project} (revision ${existing.revision})`, spec };
    const problem = unsupported('quota', quota.project, spec);
    if (problem !== undefined) return { ...base, action: 'conflict', detail: problem, spec };
    return { ...base, action: 'import', detail: `placed on ${placement}; quota sets carry no marker: nothing changes in the cloud`, spec };
  });
}

/** The catalog spec of a Glance image without its source (the source names the blob --apply stores). */
export function imageSpecOf(image: CloudImage): JsonObject {
  return factsOf(image);
}

/** What the catalog would say of the spec once --apply gives it a source (the digests are placeholders). */
function unsupportedImage(id: string, spec: JsonObject, site: string): string | undefined {
  const zero = (n: number) => '0'.repeat(n);
  const source = { kind: 'glance', url: blobSourceUrl(zero(64)), sha256: zero(64), sha512: zero(128), blob: { root: zero(64), size: 0, md5: zero(32) }, origin: site };
  const idProblem = checkResourceId('image', id);
  if (idProblem !== undefined) return `not supported by the catalog: id: ${idProblem}`;
  try {
    normalizeImageSpec({ ...spec, source });
    return undefined;
  } catch (err) {
    return `not supported by the catalog: ${(err as Error).message}`;
  }
}

const ADOPT_NOTE = "--apply copies its bits into this site's blob store (checked against Glance's digests) and writes the image with this site as origin; this site's Glance image then gets this cluster's marker, its bits untouched";

export function planImages(images: CloudImage[], catalog: Catalog, placement: string, site: string): ImportItemView[] {
  return images.map((image): ImportItemView => {
    const base = { kind: 'image' as const, id: image.id, name: image.name };
    if (image.foreignCluster !== undefined) return { ...base, action: 'conflict', detail: `managed by another stackraft cluster, ${JSON.stringify(image.foreignCluster)}` };
    if (image.legacyMarker) return { ...base, action: 'skip', detail: 'carries the marker of an older stackraft release: the reconciler claims it when the catalog names its id' };
    if (image.managed) return { ...base, action: 'skip', detail: 'already managed by this cluster' };
    const spec = imageSpecOf(image);
    if (image.status !== 'active') return { ...base, action: 'conflict', detail: `'${image.status}' in Glance: only an active image has bits to adopt` };
    const existing = catalog.get('image', image.id);
    if (existing !== undefined) return { ...base, action: 'conflict', detail: `the catalog already has image ${image.id} (revision ${existing.revision})`, spec };
    if (!(IMAGE_VISIBILITIES as readonly string[]).includes(image.visibility)) {
      return { ...base, action: 'conflict', detail: `${image.visibility} in Glance, and the catalog holds ${IMAGE_VISIBILITIES.join(' and ')} images: adopt it with \`image create NAME --from-glance ${image.id} --public\` (it becomes public here) or leave it`, spec };
    }
    const problem = unsupportedImage(image.id, spec, site);
    if (problem !== undefined) return { ...base, action: 'conflict', detail: problem, spec };
    return { ...base, action: 'import', detail: `placed on ${placement}; ${ADOPT_NOTE}`, spec };
  });
}
