// Reconciler.holdsImageBits: what the blob loop asks before it fetches an image's bits for this
// site (issue 13: a metadata patch must move no bits). True once the cloud was brought to a revision
// of the image; still true across a metadata patch; false when a converge needed the bits and the
// local source did not have them, and when the image is no longer placed here.
import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { patchOp, putOp } from '../../agent/catalog/index.js';
import { SourceNotReadyError } from '../../drivers/index.js';
import { Fixture, IMAGE_ID, OTHER_SITE, imageSpec } from './fixture.js';

const AUDIT_MS = 60_000;

describe('reconciler: does this site\'s cloud hold an image\'s bits', () => {
  it('follows the image through a patch, a copy lost out of band and re-fetched, and a placement elsewhere', async () => {
    let ready = true;
    let opened = 0;
    const bits = Buffer.from('the image bits');
    const f = new Fixture({
      cloud: {
        fetchSource: async () => {
          opened++;
          if (!ready) throw new SourceNotReadyError('/blob/abc', 'fetching 1 of 9 MiB', false);
          return Readable.from([bits]);
        },
      },
    });
    const sha512 = createHash('sha512').update(bits).digest('hex');
    f.write(putOp('image', IMAGE_ID, imageSpec({ source: { url: 'https://images.example.org/x.raw', sha512 } })));
    assert.equal(f.reconciler.holdsImageBits(IMAGE_ID), false, 'nothing converged yet');
    await f.start();
    assert.equal(f.entry('image', IMAGE_ID)?.state, 'in-sync');
    assert.equal(f.reconciler.holdsImageBits(IMAGE_ID), true);
    assert.equal(opened, 1);

    const [patched] = f.write(patchOp('image', IMAGE_ID, { name: 'renamed' }));
    assert.equal(f.reconciler.holdsImageBits(IMAGE_ID), true, 'a newer revision of the same bits: still held');
    await f.advance(3_000);
    assert.equal(f.entry('image', IMAGE_ID)?.revision, patched);
    assert.equal((await f.cloud.getImage(IMAGE_ID))?.name, 'renamed');
    assert.equal(opened, 1, 'the patch opened no source');
    assert.equal(f.reconciler.holdsImageBits(IMAGE_ID), true);

    // Lost out of band (and purged, so Glance lets the id be used again) while the store has no copy.
    f.cloud.model.deleteImage(IMAGE_ID);
    f.cloud.model.purgeDeletedImages();
    ready = false;
    await f.advance(AUDIT_MS + 1_000);
    assert.equal(f.entry('image', IMAGE_ID)?.state, 'fetching');
    assert.equal(f.reconciler.holdsImageBits(IMAGE_ID), false, 'the audit found the bits missing');
    ready = true;
    await f.advance(3_000);
    assert.equal(f.entry('image', IMAGE_ID)?.state, 'in-sync');
    assert.equal(f.reconciler.holdsImageBits(IMAGE_ID), true);

    f.write(patchOp('image', IMAGE_ID, {}, { placement: [OTHER_SITE] }));
    await f.advance(3_000);
    assert.equal(await f.cloud.getImage(IMAGE_ID), undefined, 'removed here');
    assert.equal(f.reconciler.holdsImageBits(IMAGE_ID), false, 'no longer placed here');
    await f.stop();
  });
});
