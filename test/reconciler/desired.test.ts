// Catalog resources to the driver's shapes: every field carried, the same id on every site, only
// the kinds a cloud holds.
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { putOp } from '../../agent/catalog/index.js';
import { desiredCloudState, desiredFingerprint, describeFailure, syncMessage } from '../../agent/reconciler/index.js';
import { CloudError, validateFlavorSpec, validateImageSpec, validateQuotaSpec } from '../../drivers/index.js';
import { Harness, siteSpec } from '../catalog/helpers.js';
import { IMAGE_ID, PROJECT, flavorSpec, imageSpec, quotaSpec } from './fixture.js';

describe('desired state', () => {
  it('maps flavors, images and quotas placed on the site to valid driver specs; skips other kinds', () => {
    const h = new Harness();
    h.write(
      putOp('site', 'paris', siteSpec('paris', 1, { country: 'FR' })),
      putOp('flavor', 'f1', flavorSpec({ description: 'small', ephemeral: 5, swap: 512, rxtxFactor: 1.5, isPublic: false })),
      putOp('image', IMAGE_ID, imageSpec({ protected: true, minDisk: 3, minRam: 256, visibility: 'community' })),
      putOp('quota', PROJECT, quotaSpec({ network: { ports: 100 } })),
      putOp('flavor', 'elsewhere', flavorSpec({ name: 'm1.ca' }), { placement: 'country = CA' }),
    );
    const desired = desiredCloudState(h.catalog.desiredResourcesFor('paris'));
    assert.deepEqual([...desired.keys()], ['flavor/f1', `image/${IMAGE_ID}`, `quota/${PROJECT}`]);
    const flavor = desired.get('flavor/f1');
    assert.ok(flavor?.kind === 'flavor');
    assert.deepEqual(flavor.spec, {
      id: 'f1', name: 'm1.small', vcpus: 1, ram: 2048, disk: 20, ephemeral: 5, swap: 512, rxtxFactor: 1.5, isPublic: false,
      extraSpecs: { 'hw:cpu_policy': 'shared' }, description: 'small',
    });
    validateFlavorSpec(flavor.spec);
    const image = desired.get(`image/${IMAGE_ID}`);
    assert.ok(image?.kind === 'image');
    assert.equal(image.spec.id, IMAGE_ID);
    assert.equal(image.spec.protected, true);
    assert.equal(image.spec.visibility, 'community');
    assert.deepEqual(image.spec.source, { url: 'https://images.example.org/noble.qcow2', sha512: 'b'.repeat(128) });
    validateImageSpec(image.spec);
    const quota = desired.get(`quota/${PROJECT}`);
    assert.ok(quota?.kind === 'quota');
    assert.deepEqual(quota.spec, { project: PROJECT, compute: { cores: 64, instances: 20 }, volume: { gigabytes: 500 }, network: { ports: 100 } });
    validateQuotaSpec(quota.spec);
    assert.equal(flavor.revision, h.catalog.get('flavor', 'f1')?.revision);
  });

  it('the fingerprint moves with a revision and with the set, not with the order', () => {
    const h = new Harness();
    h.write(putOp('site', 'paris', siteSpec('paris', 1)), putOp('flavor', 'a', flavorSpec({ name: 'a' })), putOp('flavor', 'b', flavorSpec({ name: 'b' })));
    const before = desiredFingerprint(desiredCloudState(h.catalog.desiredResourcesFor('paris')));
    assert.equal(desiredFingerprint(desiredCloudState([...h.catalog.desiredResourcesFor('paris')].reverse())), before);
    h.write(putOp('flavor', 'a', flavorSpec({ name: 'a', vcpus: 2 })));
    assert.notEqual(desiredFingerprint(desiredCloudState(h.catalog.desiredResourcesFor('paris'))), before);
  });

  it('failure classes: connection, timeout and gateway errors are "unreachable", the rest "error"; messages one line within the limit', () => {
    const base = { service: 'compute' as const, method: 'GET', path: '/flavors', cloudMessage: '' };
    assert.equal(describeFailure(new CloudError({ ...base, code: 'CONNECTION', status: 0, retryable: true })).state, 'unreachable');
    assert.equal(describeFailure(new CloudError({ ...base, code: 'TIMEOUT', status: 0, retryable: true })).state, 'unreachable');
    assert.equal(describeFailure(new CloudError({ ...base, code: 'UNAVAILABLE', status: 503, retryable: true })).state, 'unreachable');
    assert.equal(describeFailure(new CloudError({ ...base, code: 'UNAVAILABLE', status: 500, retryable: true })).state, 'error');
    const forbidden = describeFailure(new CloudError({ ...base, code: 'FORBIDDEN', status: 403, cloudMessage: 'Policy does not allow', retryable: false }));
    assert.deepEqual([forbidden.state, forbidden.retryable], ['error', false]);
    assert.match(forbidden.message, /403.*Policy does not allow/);
    assert.equal(describeFailure(new TypeError('x is undefined')).message, 'TypeError: x is undefined');
    assert.equal(syncMessage('line one\nline\ttwo\u0007'), 'line one line two');
    const long = syncMessage('é'.repeat(5000));
    assert.equal([...long].length, 1024);
  });
});
