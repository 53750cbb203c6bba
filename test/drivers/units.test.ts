// Small pure pieces: diffs, error-body parsing, backoff, the digest gate, endpoint and URL helpers.
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { backoffDelayMs, ChecksumMismatchError, diffFlavor, diffImage, diffQuota, type CloudFlavor, type CloudImage, type CloudFlavorSpec, type CloudImageSpec } from '../../drivers/index.js';
import { DigestGate } from '../../drivers/digest-gate.js';
import { parseErrorBody } from '../../drivers/openstack/error-body.js';
import { glanceRoot } from '../../drivers/openstack/glance.js';
import { findEndpoint } from '../../drivers/openstack/keystone.js';
import { parseNovaFlavor } from '../../drivers/openstack/nova.js';
import { cinderProjectBase, neutronBase } from '../../drivers/openstack/quota-services.js';
import { sha256, sha512 } from './source-server.js';

const baseFlavor: CloudFlavorSpec = { id: 'f', name: 'f', vcpus: 2, ram: 512, disk: 10, ephemeral: 0, swap: 0, rxtxFactor: 1, isPublic: false, extraSpecs: { a: '1', b: '2' }, accessProjects: ['p1'] };
const cloudFlavor: CloudFlavor = { ...baseFlavor, accessProjects: ['p1'], managed: true };

describe('diffs', () => {
  it('finds immutable flavor changes, extra spec and access changes, and nothing when equal', () => {
    assert.equal(diffFlavor(cloudFlavor, baseFlavor).inSync, true);
    const d = diffFlavor(cloudFlavor, { ...baseFlavor, vcpus: 4, extraSpecs: { a: '9', c: '3' }, accessProjects: ['p2'], description: 'x' });
    assert.deepEqual(d.immutable, [{ field: 'vcpus', from: 2, to: 4 }]);
    assert.deepEqual(d.extraSpecsToSet, { a: '9', c: '3' });
    assert.deepEqual(d.extraSpecsToRemove, ['b']);
    assert.deepEqual(d.accessToAdd, ['p2']);
    assert.deepEqual(d.accessToRemove, ['p1']);
    assert.equal(d.descriptionChanged, true);
    assert.equal(diffFlavor({ ...cloudFlavor, rxtxFactor: 1.0000001 }, baseFlavor).inSync, true, 'float rounding of rxtx_factor is not drift');
  });

  it('builds a Glance patch for image metadata and flags new bits', () => {
    const spec: CloudImageSpec = { id: 'i', name: 'n', diskFormat: 'raw', containerFormat: 'bare', visibility: 'public', minDisk: 1, minRam: 2, protected: false, properties: { a: '1', b: '2' }, tags: ['x', 'y'], source: { url: 'http://s/i', sha256: 'aa' } };
    const current: CloudImage = { ...spec, tags: ['y', 'x'], source: { ...spec.source }, status: 'active', sizeBytes: 1, osHashAlgo: 'sha512', osHashValue: 'v', managed: true };
    assert.equal(diffImage(current, spec).inSync, true, 'tag order does not matter');
    const d = diffImage(current, { ...spec, name: 'm', properties: { a: '1', c: '3' }, protected: true });
    assert.deepEqual(d.patch, [
      { op: 'replace', path: '/name', value: 'm' },
      { op: 'replace', path: '/protected', value: true },
      { op: 'remove', path: '/b' },
      { op: 'add', path: '/c', value: '3' },
    ]);
    assert.equal(d.digestsChanged, false);
    assert.equal(diffImage(current, { ...spec, source: { url: 'http://s/i', sha256: 'bb' } }).digestsChanged, true);
    assert.deepEqual(diffImage(current, { ...spec, diskFormat: 'qcow2' }).formatChanges, [{ field: 'diskFormat', from: 'raw', to: 'qcow2' }]);
  });

  it('compares only the quota limits a spec names, and reports parts the cloud lacks', () => {
    const current = { project: 'p', compute: { cores: 20, instances: 10, ram: 1, keyPairs: 1, serverGroups: 1 } };
    assert.equal(diffQuota(current, { project: 'p', compute: { cores: 20 } }).inSync, true);
    const d = diffQuota(current, { project: 'p', compute: { cores: 21 }, network: { ports: 1 } });
    assert.deepEqual(d.changes, [{ part: 'compute', field: 'cores', from: 20, to: 21 }]);
    assert.deepEqual(d.missingParts, ['network']);
  });
});

describe('OpenStack error bodies', () => {
  it('reads each service’s own shape', () => {
    assert.equal(parseErrorBody('{"error": {"code": 401, "title": "Unauthorized", "message": "The request you have made requires authentication."}}'), 'The request you have made requires authentication.');
    assert.equal(parseErrorBody('{"itemNotFound": {"code": 404, "message": "Flavor x could not be found."}}'), 'Flavor x could not be found.');
    assert.equal(parseErrorBody('{"message": "Image ID 1 already exists!<br /><br />\\n\\n\\n", "code": "409 Conflict", "title": "Conflict"}'), 'Image ID 1 already exists!');
    assert.equal(parseErrorBody('{"NeutronError": {"type": "HTTPNotFound", "message": "Quota not found", "detail": ""}}'), 'Quota not found');
    assert.equal(parseErrorBody('<html>\n <head>\n  <title>409 Conflict</title>\n </head>\n <body>\n  <h1>409 Conflict</h1>\n  Image ID 1 already exists!<br /><br />\n </body>\n</html>'), 'Image ID 1 already exists!');
    assert.equal(parseErrorBody(''), '');
    assert.equal(parseErrorBody('x'.repeat(2000)).length, 500);
  });
});

describe('backoff', () => {
  it('doubles up to the cap and keeps a random half', () => {
    const policy = { maxAttempts: 10, baseDelayMs: 100, maxDelayMs: 1000 };
    assert.deepEqual([1, 2, 3, 4, 5].map((n) => backoffDelayMs(policy, n, () => 0)), [50, 100, 200, 400, 500]);
    assert.deepEqual([1, 2, 3, 4, 5].map((n) => backoffDelayMs(policy, n, () => 0.999999)), [100, 200, 400, 800, 1000]);
  });
});

describe('digest gate', () => {
  const pieces = (bytes: Buffer) => Readable.from([bytes.subarray(0, 3), bytes.subarray(3, 7), bytes.subarray(7)]);
  const collect = () => {
    const seen: Buffer[] = [];
    return { seen, sink: new Writable({ write: (c, _e, cb) => (seen.push(c as Buffer), cb()) }) };
  };

  it('passes matching bits through whole and reports their digests', async () => {
    const bytes = Buffer.from('hello image bits');
    const gate = new DigestGate('i', { url: 'http://s/x', sha256: sha256(bytes) });
    const { seen, sink } = collect();
    await pipeline(pieces(bytes), gate, sink);
    assert.deepEqual(Buffer.concat(seen), bytes);
    assert.deepEqual(gate.result(), { sizeBytes: bytes.length, sha256: sha256(bytes), sha512: sha512(bytes) });
  });

  it('fails before the last chunk leaves when the digest is wrong', async () => {
    const bytes = Buffer.from('hello image bits');
    const gate = new DigestGate('i', { url: 'http://s/x?token=secret', sha512: '0'.repeat(128) });
    const { seen, sink } = collect();
    await assert.rejects(pipeline(pieces(bytes), gate, sink), ChecksumMismatchError);
    assert.ok(Buffer.concat(seen).length < bytes.length, 'the receiver never saw the whole image');
    assert.doesNotMatch(gate.mismatch!.message, /secret/, 'no query string (signed URLs) in messages');
  });
});

describe('endpoints', () => {
  const catalog = [
    { type: 'volumev3', endpoints: [{ interface: 'public', region: 'R1', url: 'http://c/v3/abc/' }] },
    { type: 'block-storage', endpoints: [{ interface: 'internal', region: 'R1', url: 'http://bs-int/v3/abc' }, { interface: 'public', region: 'R2', url: 'http://bs-r2/v3/abc' }] },
  ];

  it('picks by type preference, interface and region', () => {
    assert.equal(findEndpoint(catalog, ['block-storage', 'volumev3'], 'public', 'R1'), 'http://c/v3/abc');
    assert.equal(findEndpoint(catalog, ['block-storage', 'volumev3'], 'public', 'R2'), 'http://bs-r2/v3/abc');
    assert.equal(findEndpoint(catalog, ['block-storage', 'volumev3'], 'internal', undefined), 'http://bs-int/v3/abc');
    assert.equal(findEndpoint(catalog, ['network'], 'public', undefined), undefined);
  });

  it('normalises service roots', () => {
    assert.equal(cinderProjectBase('http://c:8776/v3/abc', 'xyz'), 'http://c:8776/v3/abc');
    assert.equal(cinderProjectBase('http://c:8776/v3/', 'xyz'), 'http://c:8776/v3/xyz');
    assert.equal(cinderProjectBase('http://c/volume', 'xyz'), 'http://c/volume/v3/xyz');
    assert.equal(cinderProjectBase('http://c:8776/v3/%(project_id)s', 'xyz'), 'http://c:8776/v3/xyz');
    assert.equal(neutronBase('http://n:9696/'), 'http://n:9696/v2.0');
    assert.equal(neutronBase('http://n/networking/v2.0'), 'http://n/networking/v2.0');
    assert.equal(glanceRoot('http://g:9292/v2/'), 'http://g:9292');
    assert.equal(glanceRoot('http://g/image'), 'http://g/image');
  });

  it('reads Nova flavors of old microversions (swap as "", no extra_specs)', () => {
    const f = parseNovaFlavor({ id: 'x', name: 'x', vcpus: 1, ram: 64, disk: 0, swap: '', 'OS-FLV-EXT-DATA:ephemeral': 0, rxtx_factor: 1.0, 'os-flavor-access:is_public': true }, { a: 'b' });
    assert.equal(f.swap, 0);
    assert.equal(f.description, null);
    assert.deepEqual(f.extraSpecs, { a: 'b' });
    assert.throws(() => parseNovaFlavor({ id: 'x', name: 'x', vcpus: 'two' }), /non-numeric vcpus/);
  });
});
