// The periodic audit repairs drift made out of band (changed, deleted and extra managed resources),
// and never touches what the operator owns.
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { putOp } from '../../agent/catalog/index.js';
import { toCloudFlavorSpec, toCloudImageSpec } from '../../agent/reconciler/index.js';
import { MemoryCloud } from '../../drivers/index.js';
import { FLAVOR_CREATING_DESCRIPTION, MANAGED_IMAGE_PROPERTY } from '../../drivers/markers.js';
import { Fixture, IMAGE_ID, PROJECT, SHA512, flavorSpec, imageSpec, quotaSpec } from './fixture.js';

const AUDIT_MS = 60_000;
const OPERATOR_IMAGE = '9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d';
const OTHER_IMAGE = '0b1c2d3e-4f50-4a6b-8c7d-8e9fa0b1c2d3';

function cloudImage(id: string, name: string) {
  const source = { url: 'https://images.example.org/theirs.qcow2', sha512: SHA512 };
  return { id, name, diskFormat: 'qcow2', containerFormat: 'bare', visibility: 'public' as const, minDisk: 0, minRam: 0, protected: false, properties: {}, tags: [], source };
}

function operatorFlavor(id: string, name: string) {
  return { id, name, vcpus: 1, ram: 256, disk: 1, ephemeral: 0, swap: 0, rxtxFactor: 1, isPublic: true, description: null };
}

describe('reconciler: audit and drift', () => {
  it("puts a private flavor's project access back when it was changed out of band", async () => {
    const f = new Fixture();
    f.write(putOp('flavor', 'p1', flavorSpec({ isPublic: false, accessProjects: ['project-a'] })));
    await f.start();
    const model = f.cloud.model;
    assert.deepEqual(model.listFlavorAccess('p1'), ['project-a']);
    model.removeFlavorAccess('p1', 'project-a');
    model.addFlavorAccess('p1', 'project-x');
    await f.advance(AUDIT_MS + 5_000);
    assert.deepEqual(model.listFlavorAccess('p1'), ['project-a']);
    assert.equal(f.entry('flavor', 'p1')?.state, 'in-sync');
    await f.stop();
  });

  it('repairs a managed resource changed, deleted or added out of band, at the next audit', async () => {
    const f = new Fixture();
    f.write(putOp('flavor', 'f1', flavorSpec()), putOp('flavor', 'f2', flavorSpec({ name: 'm1.two' })), putOp('image', IMAGE_ID, imageSpec()), putOp('quota', PROJECT, quotaSpec()));
    await f.start();
    const model = f.cloud.model;
    // Out of band: an extra spec changed, a flavor deleted, image metadata edited, a quota raised,
    // and a managed flavor nobody asked for (left by an earlier catalog, say).
    model.setExtraSpecs('f1', { 'hw:cpu_policy': 'dedicated', 'hw:mem_page_size': 'large' });
    model.deleteFlavor('f2');
    model.patchImage(IMAGE_ID, [{ op: 'replace', path: '/name', value: 'renamed by hand' }, { op: 'add', path: '/os_distro2', value: 'x' }]);
    model.computeQuotas.set(PROJECT, { cores: 1 });
    await f.cloud.createFlavor({ id: 'stray', name: 'm1.stray', vcpus: 1, ram: 128, disk: 0, ephemeral: 0, swap: 0, rxtxFactor: 1, isPublic: true, extraSpecs: {} });

    await f.advance(AUDIT_MS - 5_000);
    assert.equal((await f.cloud.getFlavor('f2')), undefined, 'nothing repaired before the audit is due');
    await f.advance(10_000);

    assert.deepEqual((await f.cloud.getFlavor('f1'))?.extraSpecs, { 'hw:cpu_policy': 'shared' });
    assert.ok(await f.cloud.getFlavor('f2'), 'deleted flavor re-created');
    const image = await f.cloud.getImage(IMAGE_ID);
    assert.equal(image?.name, 'ubuntu-24.04');
    assert.deepEqual(image?.properties, { os_distro: 'ubuntu' });
    assert.equal((await f.cloud.getQuota(PROJECT)).compute?.cores, 64);
    assert.equal(await f.cloud.getFlavor('stray'), undefined, 'extra managed flavor deleted');
    for (const [kind, id] of [['flavor', 'f1'], ['flavor', 'f2'], ['image', IMAGE_ID], ['quota', PROJECT]] as const) {
      assert.equal(f.entry(kind, id)?.state, 'in-sync', `${kind} ${id}`);
    }
    await f.stop();
  });

  it('a managed image deleted out of band cannot come back under its id (Glance retires it): reported as an error with the fix', async () => {
    const f = new Fixture();
    f.write(putOp('image', IMAGE_ID, imageSpec()));
    await f.start();
    f.cloud.model.deleteImage(IMAGE_ID);
    await f.advance(AUDIT_MS + 1_000);
    const entry = f.entry('image', IMAGE_ID);
    assert.equal(entry?.state, 'error');
    assert.match(entry?.message ?? '', /never reuses the id of a deleted image/);
    // After the operator purges Glance's deleted rows, the next audit succeeds.
    f.cloud.model.purgeDeletedImages();
    await f.advance(AUDIT_MS + 1_000);
    assert.equal(f.entry('image', IMAGE_ID)?.state, 'in-sync');
    assert.equal((await f.cloud.getImage(IMAGE_ID))?.status, 'active');
    await f.stop();
  });

  it('resumes a managed image whose upload never finished (queued in Glance)', async () => {
    const f = new Fixture();
    f.cloud.model.createImage(
      {
        id: IMAGE_ID,
        name: 'ubuntu-24.04',
        diskFormat: 'qcow2',
        containerFormat: 'bare',
        visibility: 'public',
        minDisk: 0,
        minRam: 0,
        protected: false,
        tags: ['lts'],
        properties: { os_distro: 'ubuntu', [MANAGED_IMAGE_PROPERTY]: 'true', stackraft_source_url: 'https://images.example.org/noble.qcow2', stackraft_source_sha512: SHA512 },
      },
      'admin',
    );
    f.write(putOp('image', IMAGE_ID, imageSpec()));
    await f.start();
    const image = await f.cloud.getImage(IMAGE_ID);
    assert.equal(image?.status, 'active');
    assert.equal(f.entry('image', IMAGE_ID)?.state, 'in-sync');
    await f.stop();
  });

  it('never changes or deletes the operator\'s own resources; an id taken by one is an error naming the problem', async () => {
    const f = new Fixture();
    const model = f.cloud.model;
    model.createFlavor(operatorFlavor('op-only', 'm1.operator'));
    model.createFlavor(operatorFlavor('taken', 'm1.taken'));
    model.createImage({ id: OPERATOR_IMAGE, name: 'operator image', diskFormat: 'raw', containerFormat: 'bare', visibility: 'private', minDisk: 0, minRam: 0, protected: false, tags: [], properties: {} }, 'admin');
    f.write(putOp('flavor', 'taken', flavorSpec({ name: 'm1.catalog' })), putOp('flavor', 'ok', flavorSpec({ name: 'm1.ok' })));
    await f.start();
    await f.advance(3 * AUDIT_MS);

    assert.equal((await f.cloud.getFlavor('op-only'))?.name, 'm1.operator', 'operator flavor untouched');
    const taken = await f.cloud.getFlavor('taken');
    assert.equal(taken?.name, 'm1.taken', 'the flavor in the way is untouched');
    assert.equal(taken?.managed, false);
    assert.equal((await f.cloud.getImage(OPERATOR_IMAGE))?.name, 'operator image');
    assert.ok(await f.cloud.getFlavor('ok'));
    const entry = f.entry('flavor', 'taken');
    assert.equal(entry?.state, 'error');
    assert.match(entry?.message ?? '', /does not manage/);
    assert.ok(!f.counted.calls.some((c) => c === 'deleteFlavor' || c === 'deleteImage' || c === 'updateFlavor'), `calls: ${f.counted.calls.join(',')}`);
    // The error is reported once, not on every audit.
    assert.equal(f.reportsAbout('flavor', 'taken').length, 1);

    // Once the operator frees the id, the next audit creates the catalog's flavor.
    model.deleteFlavor('taken');
    await f.advance(AUDIT_MS + 1_000);
    assert.equal((await f.cloud.getFlavor('taken'))?.name, 'm1.catalog');
    assert.equal(f.entry('flavor', 'taken')?.state, 'in-sync');
    assert.equal(f.entry('flavor', 'taken')?.message, '');
    await f.stop();
  });

  it('finishes a flavor whose create was interrupted (creation marker, no extra specs yet)', async () => {
    const f = new Fixture();
    f.cloud.model.createFlavor({ ...operatorFlavor('f1', 'm1.small'), vcpus: 1, ram: 2048, disk: 20, description: FLAVOR_CREATING_DESCRIPTION });
    f.write(putOp('flavor', 'f1', flavorSpec()));
    await f.start();
    const flavor = await f.cloud.getFlavor('f1');
    assert.equal(flavor?.managed, true);
    assert.deepEqual(flavor?.extraSpecs, { 'hw:cpu_policy': 'shared' });
    assert.equal(f.entry('flavor', 'f1')?.state, 'in-sync');
    await f.stop();
  });

  it('two clusters, one cloud: an audit removes only its own cluster\'s extras and never touches the other\'s', async () => {
    const f = new Fixture({ cloud: { clusterId: 'cluster-a' } });
    await f.start();
    const other = new MemoryCloud({ model: f.cloud.model, clusterId: 'cluster-b' });
    const extra = (id: string) => ({ id, name: `m1.${id}`, vcpus: 1, ram: 128, disk: 0, ephemeral: 0, swap: 0, rxtxFactor: 1, isPublic: true, extraSpecs: {} });
    await f.cloud.createFlavor(extra('ours-stray'));
    await other.createFlavor(extra('theirs'));
    await other.createImage(cloudImage(OTHER_IMAGE, 'theirs'));
    assert.deepEqual((await f.cloud.listFlavors()).map((x) => x.id), ['ours-stray']);
    await f.advance(AUDIT_MS + 1_000);
    assert.equal(await f.cloud.getFlavor('ours-stray'), undefined);
    const theirs = await f.cloud.getFlavor('theirs');
    assert.equal(theirs?.managed, false);
    assert.equal(theirs?.foreignCluster, 'cluster-b');
    assert.equal((await other.getImage(OTHER_IMAGE))?.managed, true, 'the other cluster still owns its image');
    assert.ok(!f.counted.calls.includes('deleteImage'), f.counted.calls.join(','));

    // The catalog names the other cluster's flavor id: an error that names the owner, nothing changed.
    f.write(putOp('flavor', 'theirs', flavorSpec({ name: 'm1.mine' })));
    await f.advance(5_000);
    assert.equal(f.entry('flavor', 'theirs')?.state, 'error');
    assert.match(f.entry('flavor', 'theirs')?.message ?? '', /another stackraft cluster, "cluster-b"/);
    assert.equal((await other.getFlavor('theirs'))?.name, 'm1.theirs');
    await f.stop();
  });

  it('a resource marked before cluster ids: claimed when the catalog names it, left alone when it does not', async () => {
    const f = new Fixture({ cloud: { clusterId: 'cluster-a' } });
    const older = new MemoryCloud({ model: f.cloud.model }); // an older release: no cluster id in its markers
    f.write(putOp('flavor', 'named', flavorSpec()), putOp('image', IMAGE_ID, imageSpec()));
    // The older release had converged them already: in sync, only the cluster id is missing.
    await older.createFlavor(toCloudFlavorSpec(f.catalog.get('flavor', 'named')!));
    await older.createImage(toCloudImageSpec(f.catalog.get('image', IMAGE_ID)!));
    await older.createFlavor({ id: 'unnamed', name: 'm1.unnamed', vcpus: 1, ram: 128, disk: 0, ephemeral: 0, swap: 0, rxtxFactor: 1, isPublic: true, extraSpecs: {} });
    assert.equal((await f.cloud.getFlavor('named'))?.legacyMarker, true);
    await f.start();
    await f.advance(AUDIT_MS + 1_000);
    const named = await f.cloud.getFlavor('named');
    assert.equal(named?.managed, true);
    assert.equal(named?.legacyMarker, undefined, 'now carries this cluster\'s id');
    assert.equal(f.cloud.model.getFlavor('named')?.extraSpecs['stackraft:cluster'], 'cluster-a');
    assert.equal((await f.cloud.getImage(IMAGE_ID))?.legacyMarker, undefined);
    assert.equal(f.entry('flavor', 'named')?.state, 'in-sync');
    assert.match(f.entry('flavor', 'named')?.message ?? '', /claimed/);
    // Not in the catalog: may be another cluster's (no id says otherwise), so never removed, and said.
    assert.equal((await f.cloud.getFlavor('unnamed'))?.legacyMarker, true);
    assert.ok(f.logs.some((l) => /older stackraft release/.test(l.msg) && JSON.stringify(l).includes('unnamed')), 'the audit says what it left alone');
    // Once this cluster's catalog drops the claimed one, it is removed (it is ours now).
    f.write({ op: 'delete', kind: 'flavor', id: 'named' });
    await f.advance(5_000);
    assert.equal(await f.cloud.getFlavor('named'), undefined);
    await f.stop();
  });
});
