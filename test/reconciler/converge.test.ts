// The reconciler converges a MemoryCloud to the catalog: create, update, flavor replace, delete,
// placement, idempotence; each checked in the cloud and in the catalog's sync entries.
import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { SourceNotReadyError } from '../../drivers/index.js';
import { FETCH_REPORT_INTERVAL_MS } from '../../agent/reconciler/outcomes.js';
import { describe, it } from 'node:test';
import { deleteOp, patchOp, putOp } from '../../agent/catalog/index.js';
import { toSyncStatusView } from '../../agent/daemon/sync-view.js';
import { DEFAULT_REPORT_QUEUE_OPTIONS, NOT_PLACED_MESSAGE } from '../../agent/reconciler/index.js';
import { Fixture, IMAGE_ID, OTHER_SITE, PROJECT, SHA512, SITE, flavorSpec, imageSpec, quotaSpec } from './fixture.js';

describe('reconciler: converging the cloud to the catalog', () => {
  it('converges from empty: flavor, image (created, then its bits), quota; reports in-sync at the revision', async () => {
    const f = new Fixture();
    const [flavorRev, imageRev, quotaRev] = f.write(putOp('flavor', 'f1', flavorSpec()), putOp('image', IMAGE_ID, imageSpec()), putOp('quota', PROJECT, quotaSpec()));
    await f.start();

    const flavor = await f.cloud.getFlavor('f1');
    assert.ok(flavor, 'flavor created');
    assert.equal(flavor.managed, true);
    assert.equal(flavor.vcpus, 1);
    assert.deepEqual(flavor.extraSpecs, { 'hw:cpu_policy': 'shared' });
    const image = await f.cloud.getImage(IMAGE_ID);
    assert.ok(image, 'image created');
    assert.equal(image.status, 'active', 'bits uploaded after the create');
    assert.equal(image.osHashValue, 'b'.repeat(128));
    assert.deepEqual(image.properties, { os_distro: 'ubuntu' });
    const quota = await f.cloud.getQuota(PROJECT);
    assert.equal(quota.compute?.cores, 64);
    assert.equal(quota.volume?.gigabytes, 500);

    assert.deepEqual(
      [f.entry('flavor', 'f1'), f.entry('image', IMAGE_ID), f.entry('quota', PROJECT)].map((e) => [e?.state, e?.revision]),
      [['in-sync', flavorRev], ['in-sync', imageRev], ['in-sync', quotaRev]],
    );
    const view = toSyncStatusView(f.catalog).sites.find((s) => s.site === SITE)!;
    assert.deepEqual(view.resources.map((r) => [r.kind, r.state, r.syncedRevision === r.desiredRevision]), [
      ['flavor', 'in-sync', true],
      ['image', 'in-sync', true],
      ['quota', 'in-sync', true],
    ]);
    await f.stop();
  });

  it('is idempotent: audits of a converged cloud write nothing to it and send no reports', async () => {
    const f = new Fixture();
    f.write(putOp('flavor', 'f1', flavorSpec()), putOp('image', IMAGE_ID, imageSpec()), putOp('quota', PROJECT, quotaSpec()));
    await f.start();
    const writes = f.counted.writes().length;
    const commands = f.commands.length;
    assert.equal(writes, 3);
    await f.reconciler.audit();
    await f.advance(3 * 60_000);
    assert.ok(f.reconciler.status().passes >= 4, 'periodic audits ran');
    assert.equal(f.counted.writes().length, writes, 'no cloud writes');
    assert.equal(f.commands.length, commands, 'no new sync reports');
    await f.stop();
  });

  it('updates in place what the cloud can change in place: flavor extra specs, image metadata, quota limits', async () => {
    const f = new Fixture();
    f.write(putOp('flavor', 'f1', flavorSpec()), putOp('image', IMAGE_ID, imageSpec()), putOp('quota', PROJECT, quotaSpec()));
    await f.start();
    const [fr, ir, qr] = f.write(
      patchOp('flavor', 'f1', { extraSpecs: { 'hw:cpu_policy': 'dedicated', 'hw:numa_nodes': '1' }, description: 'pinned' }),
      patchOp('image', IMAGE_ID, { name: 'ubuntu-noble', tags: ['lts', 'noble'], minRam: 512 }),
      patchOp('quota', PROJECT, { compute: { cores: 128 } }),
    );
    await f.advance(2_000);
    const flavor = await f.cloud.getFlavor('f1');
    assert.deepEqual(flavor?.extraSpecs, { 'hw:cpu_policy': 'dedicated', 'hw:numa_nodes': '1' });
    assert.equal(flavor?.description, 'pinned');
    const image = await f.cloud.getImage(IMAGE_ID);
    assert.equal(image?.name, 'ubuntu-noble');
    assert.deepEqual(image?.tags, ['lts', 'noble']);
    assert.equal(image?.minRam, 512);
    assert.equal((await f.cloud.getQuota(PROJECT)).compute?.cores, 128);
    assert.deepEqual(f.counted.writes().slice(3).sort(), ['updateFlavor', 'updateImage', 'updateQuota']);
    assert.equal(f.entry('flavor', 'f1')?.revision, fr);
    assert.equal(f.entry('image', IMAGE_ID)?.revision, ir);
    assert.equal(f.entry('quota', PROJECT)?.revision, qr);
    assert.equal(f.entry('flavor', 'f1')?.message, '', 'an in-place update is not a replace');
    await f.stop();
  });

  it('replaces a flavor whose immutable field changed (delete + create, same id) and says so in the report and the log', async () => {
    const f = new Fixture();
    f.write(putOp('flavor', 'f1', flavorSpec()));
    await f.start();
    const [rev] = f.write(patchOp('flavor', 'f1', { vcpus: 4, ram: 8192 }));
    await f.advance(2_000);
    const flavor = await f.cloud.getFlavor('f1');
    assert.equal(flavor?.vcpus, 4);
    assert.equal(flavor?.ram, 8192);
    assert.equal(flavor?.managed, true);
    const entry = f.entry('flavor', 'f1');
    assert.equal(entry?.state, 'in-sync');
    assert.equal(entry?.revision, rev);
    assert.match(entry?.message ?? '', /replaced/);
    assert.match(entry?.message ?? '', /vcpus 1 -> 4/);
    assert.ok(f.logs.some((l) => l.level === 'warn' && /f1 replaced/.test(l.msg)), 'replace logged as a warning');
    // The note stays with the revision: a later audit does not flip the message back and forth.
    const commands = f.commands.length;
    await f.reconciler.audit();
    await f.advance(2_000);
    assert.equal(f.commands.length, commands);
    assert.match(f.entry('flavor', 'f1')?.message ?? '', /replaced/);
    await f.stop();
  });

  it('removes what the catalog deletes (images unprotected first, quotas back to defaults) and clears the sync entries', async () => {
    const f = new Fixture();
    f.write(putOp('flavor', 'f1', flavorSpec()), putOp('image', IMAGE_ID, imageSpec({ protected: true })), putOp('quota', PROJECT, quotaSpec()));
    await f.start();
    assert.equal((await f.cloud.getImage(IMAGE_ID))?.protected, true);
    f.write(deleteOp('flavor', 'f1'), patchOp('image', IMAGE_ID, { protected: false }), deleteOp('quota', PROJECT));
    f.write(deleteOp('image', IMAGE_ID));
    assert.equal(f.entry('flavor', 'f1')?.state, 'pending', 'the catalog marks the removal pending');
    await f.advance(2_000);
    assert.equal(await f.cloud.getFlavor('f1'), undefined);
    assert.equal(await f.cloud.getImage(IMAGE_ID), undefined);
    assert.equal((await f.cloud.getQuota(PROJECT)).compute?.cores, 20, 'quota reset to the cloud default');
    assert.deepEqual(f.cloud.model.computeQuotas.projectsWithOverrides(), []);
    assert.equal(f.entry('flavor', 'f1'), undefined);
    assert.equal(f.entry('image', IMAGE_ID), undefined);
    assert.equal(f.entry('quota', PROJECT), undefined);
    await f.stop();
  });

  it('creates before it deletes, and retries a create that waited for a delete (a flavor name moving to a new id)', async () => {
    const f = new Fixture();
    f.write(putOp('flavor', 'old', flavorSpec({ name: 'm1.small' })));
    await f.start();
    f.write(deleteOp('flavor', 'old'), putOp('flavor', 'new', flavorSpec({ name: 'm1.small', vcpus: 2 })));
    await f.advance(2_000);
    assert.equal(await f.cloud.getFlavor('old'), undefined);
    assert.equal((await f.cloud.getFlavor('new'))?.vcpus, 2);
    assert.equal(f.entry('flavor', 'new')?.state, 'in-sync');
    const order = f.counted.writes();
    assert.deepEqual(order.slice(1), ['createFlavor', 'deleteFlavor', 'createFlavor'], 'create tried first, then the delete, then the create again');
    await f.stop();
  });

  it('follows placement: a resource not selecting the site is not created; it is created when placement widens and removed when it narrows', async () => {
    const f = new Fixture();
    f.write(putOp('flavor', 'f1', flavorSpec(), { placement: [OTHER_SITE] }), putOp('flavor', 'f2', flavorSpec({ name: 'm1.eu' }), { placement: 'country in (FR, DE)' }));
    await f.start();
    assert.equal(await f.cloud.getFlavor('f1'), undefined, 'placed on montreal only');
    assert.ok(await f.cloud.getFlavor('f2'), 'selector matches paris (FR)');

    const [widened] = f.write(patchOp('flavor', 'f1', {}, { placement: 'all' }));
    await f.advance(2_000);
    assert.ok(await f.cloud.getFlavor('f1'), 'created once placed here');
    await f.advance(DEFAULT_REPORT_QUEUE_OPTIONS.digestIntervalMs); // the digest that covers it waits its interval
    assert.equal(f.entry('flavor', 'f1')?.revision, widened);

    const [narrowed] = f.write(patchOp('flavor', 'f1', {}, { placement: [OTHER_SITE] }));
    await f.advance(2_000);
    assert.equal(await f.cloud.getFlavor('f1'), undefined, 'removed once no longer placed here');
    assert.ok(f.reportsAbout('flavor', 'f1').some((r) => r.state === 'in-sync' && r.message === NOT_PLACED_MESSAGE && r.revision === narrowed), 'the removal was reported');
    assert.equal(f.entry('flavor', 'f1'), undefined, 'a finished removal leaves no entry');
    const view = toSyncStatusView(f.catalog).sites.find((s) => s.site === SITE)!;
    assert.deepEqual(view.resources.map((r) => r.id), ['f2'], 'the sync view lists only what paris should hold');

    // A quota leaving the site goes back to the defaults once, and is not reset again by later audits.
    f.write(putOp('quota', PROJECT, quotaSpec()));
    await f.advance(2_000);
    f.write(patchOp('quota', PROJECT, {}, { placement: [OTHER_SITE] }));
    await f.advance(2_000);
    assert.deepEqual(f.cloud.model.computeQuotas.projectsWithOverrides(), []);
    assert.equal(f.entry('quota', PROJECT), undefined);
    const resets = f.counted.calls.filter((c) => c === 'deleteQuota').length;
    await f.reconciler.audit();
    await f.advance(2_000);
    assert.equal(f.counted.calls.filter((c) => c === 'deleteQuota').length, resets);
    await f.stop();
  });

  it('a change that does not touch this site\'s desired state starts no pass', async () => {
    const f = new Fixture();
    f.write(putOp('flavor', 'f1', flavorSpec()));
    await f.start();
    const passes = f.reconciler.status().passes;
    f.write(putOp('flavor', 'elsewhere', flavorSpec({ name: 'm1.ca' }), { placement: [OTHER_SITE] }));
    await f.advance(1_000);
    assert.equal(f.reconciler.status().passes, passes);
    await f.stop();
  });

  it("adopts its own Glance image for an image taken from it (marker only), and refuses one whose bits differ", async () => {
    const f = new Fixture();
    const root = 'c'.repeat(64);
    const glanceSource = (sha512: string) => ({ kind: 'glance', url: `http://blob.stackraft.invalid/${root}`, sha256: 'a'.repeat(64), sha512, blob: { root, size: 10, md5: 'd'.repeat(32) }, origin: SITE });
    const operator = (id: string, sha512: string) => {
      f.cloud.model.createImage({ id, name: 'operator', diskFormat: 'qcow2', containerFormat: 'bare', visibility: 'private', minDisk: 0, minRam: 0, protected: false, tags: [], properties: { os_distro: 'ubuntu' } }, 'admin');
      f.cloud.model.beginUpload(id);
      f.cloud.model.finishUpload(id, { sizeBytes: 10, md5: 'd'.repeat(32), sha512 });
    };
    const other = '4f2a6c1e-8d4b-4c2a-9e1f-0a1b2c3d4e5f';
    operator(IMAGE_ID, SHA512);
    operator(other, 'e'.repeat(128));
    f.write(putOp('image', IMAGE_ID, imageSpec({ source: glanceSource(SHA512) })), putOp('image', other, imageSpec({ source: glanceSource(SHA512) })));
    await f.start();
    const adopted = await f.cloud.getImage(IMAGE_ID);
    assert.equal(adopted?.managed, true, 'marked as this cluster\'s');
    assert.equal(adopted?.visibility, 'public', 'then converged to the catalog');
    assert.equal(f.entry('image', IMAGE_ID)?.state, 'in-sync');
    assert.match(f.entry('image', IMAGE_ID)?.message ?? '', /adopted/);
    assert.equal(f.counted.calls.filter((c) => c === 'createImage').length, 0, 'nothing created, no bits uploaded');
    const refused = await f.cloud.getImage(other);
    assert.equal(refused?.managed, false, 'an image holding other bits is never marked');
    assert.equal(f.entry('image', other)?.state, 'error');
    assert.match(f.entry('image', other)?.message ?? '', /other bits/);
    await f.stop();
  });

  it('reports an image whose bits are still being fetched as fetching (at most once per interval, not per attempt), a stalled fetch as error, then in sync', async () => {
    let attempts = 0;
    let ready = false;
    let stalled = false;
    const bits = Buffer.from('the image bits');
    const f = new Fixture({
      cloud: {
        fetchSource: async () => {
          attempts++;
          if (!ready) throw new SourceNotReadyError('/blob/abc', `fetching ${attempts} of 99 MiB`, stalled);
          return Readable.from([bits]);
        },
      },
    });
    const sha512 = createHash('sha512').update(bits).digest('hex');
    f.write(putOp('image', IMAGE_ID, imageSpec({ source: { url: 'https://images.example.org/x.raw', sha512 } })));
    await f.start();
    assert.equal(f.entry('image', IMAGE_ID)?.state, 'fetching');
    assert.match(f.entry('image', IMAGE_ID)?.message ?? '', /^fetching \d+ of 99 MiB$/);
    const before = attempts;
    const reportsBefore = f.reportsAbout('image', IMAGE_ID).length;
    await f.advance(30_000);
    const tries = attempts - before;
    const reports = f.reportsAbout('image', IMAGE_ID).length - reportsBefore;
    assert.ok(tries >= 10, `looked again without backing off: ${tries} attempts in 30 s`);
    assert.ok(reports >= 3 && reports <= 30_000 / FETCH_REPORT_INTERVAL_MS + 1, `${reports} progress reports in 30 s for ${tries} attempts`);
    stalled = true;
    await f.advance(3_000);
    assert.equal(f.entry('image', IMAGE_ID)?.state, 'error', 'a stalled fetch is an error to see');
    assert.match(f.entry('image', IMAGE_ID)?.message ?? '', /image bits not here: fetching/);
    ready = true;
    await f.advance(3_000);
    assert.equal(f.entry('image', IMAGE_ID)?.state, 'in-sync');
    assert.equal((await f.cloud.getImage(IMAGE_ID))?.status, 'active');
    await f.stop();
  });
});
