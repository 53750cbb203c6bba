// Which blobs a site needs, keeps and reads back from its own cloud (agent/blobs/plan.ts), read
// from a real catalog: a site whose cloud already holds an image's bits fetches nothing when the
// image is patched; once every placed site is in sync every copy goes, the origin's only when it
// can read the bits back from its own cloud; a site that waits for bits later gets a reseeder.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { blobSourceUrl } from '../../agent/catalog/types.js';
import { blobPlan } from '../../agent/blobs/plan.js';
import { expectOk, Harness, IMAGE_ID, siteSpec } from '../catalog/helpers.js';

const ROOT = 'b'.repeat(64);

function blobImage(origin: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name: 'travelling',
    diskFormat: 'raw',
    containerFormat: 'bare',
    source: { kind: 'file', url: blobSourceUrl(ROOT), sha256: 'a'.repeat(64), sha512: 'c'.repeat(128), blob: { root: ROOT, size: 12_345, md5: 'd'.repeat(32) }, origin },
    ...extra,
  };
}

/** paris (origin), montreal and lyon; the image placed on the sites named. */
function world(placed: string[]): { harness: Harness; revision: number } {
  const harness = new Harness(undefined, 'plan-test');
  harness.addTwoSites();
  expectOk(harness.write({ op: 'put', kind: 'site', id: 'lyon', spec: siteSpec('lyon', 3, { region: 'eu-west', country: 'FR' }) }).result);
  const [revision] = expectOk(harness.write({ op: 'put', kind: 'image', id: IMAGE_ID, spec: blobImage('paris'), placement: `site in (${placed.join(',')})` }).result);
  return { harness, revision: revision! };
}

function inSync(harness: Harness, site: string, revision: number): void {
  harness.reportWithDigest({ site, through: revision });
}

const never = () => false;
const always = () => true;

describe('blob plan', () => {
  it('a placed site that has not reported needs the blob from the origin; once every placed site is in sync nobody does', () => {
    const { harness, revision } = world(['paris', 'montreal']);
    const montreal = blobPlan(harness.catalog, 'montreal', new Set(), never);
    assert.deepEqual(montreal.needed.map((n) => [n.imageId, n.holders]), [[IMAGE_ID, ['paris']]]);
    inSync(harness, 'paris', revision);
    inSync(harness, 'montreal', revision);
    assert.deepEqual(blobPlan(harness.catalog, 'montreal', new Set([ROOT]), never).needed, []);
    assert.deepEqual([...blobPlan(harness.catalog, 'montreal', new Set([ROOT]), never).keep], [], 'montreal drops its fetched copy');
  });

  it('after a metadata patch a site whose cloud holds the bits needs nothing, while holders keep the blob for the sites yet to report', () => {
    const { harness, revision } = world(['paris', 'montreal', 'lyon']);
    for (const site of ['paris', 'montreal', 'lyon']) inSync(harness, site, revision);
    const [patched] = expectOk(harness.write({ op: 'patch', kind: 'image', id: IMAGE_ID, spec: { name: 'renamed' } }).result);
    assert.ok(patched! > revision);
    // Without the cloud's word, the patch makes every placed site wait for the bits again.
    assert.equal(blobPlan(harness.catalog, 'montreal', new Set(), never).needed.length, 1);
    const montreal = blobPlan(harness.catalog, 'montreal', new Set(), always);
    assert.deepEqual(montreal.needed, [], 'montreal\'s Glance holds the bits: no fetch');
    // lyon still holds a copy and montreal has not reported the patch: lyon keeps it meanwhile.
    assert.deepEqual([...blobPlan(harness.catalog, 'lyon', new Set([ROOT]), always).keep], [ROOT]);
    inSync(harness, 'montreal', patched!);
    inSync(harness, 'lyon', patched!);
    inSync(harness, 'paris', patched!);
    assert.deepEqual([...blobPlan(harness.catalog, 'lyon', new Set([ROOT]), always).keep], []);
  });

  it('a site whose cloud does not hold the bits (placed late, or found missing) still needs them', () => {
    const { harness, revision } = world(['paris', 'montreal']);
    inSync(harness, 'paris', revision);
    inSync(harness, 'montreal', revision);
    const [placedOnLyon] = expectOk(harness.write({ op: 'patch', kind: 'image', id: IMAGE_ID, spec: {}, placement: 'site in (paris,montreal,lyon)' }).result);
    const lyon = blobPlan(harness.catalog, 'lyon', new Set(), (id) => id !== IMAGE_ID);
    assert.deepEqual(lyon.needed.map((n) => n.imageId), [IMAGE_ID]);
    assert.ok(placedOnLyon! > revision);
  });

  it('the origin drops its copy after the rollout only when its own cloud holds the bits and it can read them back', () => {
    const { harness, revision } = world(['paris', 'montreal']);
    const held = new Set([ROOT]);
    inSync(harness, 'paris', revision);
    assert.deepEqual([...blobPlan(harness.catalog, 'paris', held, always, true).keep], [ROOT], 'montreal has not reported: kept');
    inSync(harness, 'montreal', revision);
    assert.deepEqual([...blobPlan(harness.catalog, 'paris', held, always, true).keep], [], 'every placed site in sync: the origin drops it too');
    assert.deepEqual([...blobPlan(harness.catalog, 'paris', held, always, false).keep], [ROOT], 'it could not read them back (a modelled store): kept');
    assert.deepEqual([...blobPlan(harness.catalog, 'paris', held, never, true).keep], [ROOT], 'its cloud does not hold them (yet): kept');
    assert.deepEqual(blobPlan(harness.catalog, 'paris', new Set(), always, true).reseed, [], 'nobody waits: nothing read back');
  });

  it('an origin placed alone keeps its copy: its Glance would be the only other one', () => {
    const { harness, revision } = world(['paris']);
    inSync(harness, 'paris', revision);
    assert.deepEqual([...blobPlan(harness.catalog, 'paris', new Set([ROOT]), always, true).keep], [ROOT]);
  });

  it('an origin that is not placed keeps its copy, and nobody reads the bits back', () => {
    const { harness, revision } = world(['montreal', 'lyon']);
    inSync(harness, 'montreal', revision);
    inSync(harness, 'lyon', revision);
    assert.deepEqual([...blobPlan(harness.catalog, 'paris', new Set([ROOT]), always, true).keep], [ROOT]);
    assert.deepEqual([...blobPlan(harness.catalog, 'lyon', new Set([ROOT]), always, true).keep], [], 'a placed site drops its fetched copy');
    const [widened] = expectOk(harness.write({ op: 'patch', kind: 'image', id: IMAGE_ID, spec: {}, placement: 'all' }).result);
    harness.report({ site: 'paris', kind: 'image', id: IMAGE_ID, state: 'fetching', message: 'fetching 0 of 1 MiB', revision: widened! });
    for (const site of ['paris', 'montreal', 'lyon']) assert.deepEqual(blobPlan(harness.catalog, site, new Set(), always, true).reseed, [], site);
  });

  it('a site placed later waits for the bits: the origin reads them back from its cloud; an origin that waits itself leaves it to the first site in sync', () => {
    const { harness, revision } = world(['paris', 'montreal']);
    inSync(harness, 'paris', revision);
    inSync(harness, 'montreal', revision);
    const [widened] = expectOk(harness.write({ op: 'patch', kind: 'image', id: IMAGE_ID, spec: {}, placement: 'all' }).result);
    inSync(harness, 'paris', widened!);
    inSync(harness, 'montreal', widened!);
    assert.deepEqual(blobPlan(harness.catalog, 'paris', new Set(), always, true).reseed, [], 'lyon has not said it waits for the bits yet');
    harness.report({ site: 'lyon', kind: 'image', id: IMAGE_ID, state: 'fetching', message: 'no fetch started yet', revision: widened! });
    const paris = blobPlan(harness.catalog, 'paris', new Set(), always, true);
    assert.deepEqual(paris.reseed.map((n) => n.imageId), [IMAGE_ID]);
    assert.deepEqual([...paris.keep], [ROOT], 'and keeps what it reads back while lyon waits');
    assert.deepEqual(blobPlan(harness.catalog, 'montreal', new Set(), always, true).reseed, [], 'one reseeder');
    assert.deepEqual(blobPlan(harness.catalog, 'paris', new Set(), always, false).reseed, [], 'a site that cannot read back does not');
    assert.deepEqual(blobPlan(harness.catalog, 'lyon', new Set(), never, true).needed.map((n) => n.holders), [['paris', 'montreal']]);
    // paris's Glance lost the image and paris waits for the bits too: montreal reads them back.
    harness.report({ site: 'paris', kind: 'image', id: IMAGE_ID, state: 'error', message: 'image bits not here', revision: widened! });
    assert.deepEqual(blobPlan(harness.catalog, 'montreal', new Set(), always, true).reseed.map((n) => n.imageId), [IMAGE_ID]);
    assert.deepEqual(blobPlan(harness.catalog, 'paris', new Set(), never, true).reseed, []);
    assert.deepEqual(blobPlan(harness.catalog, 'paris', new Set(), never, true).needed.map((n) => n.holders), [['montreal']]);
  });
});
