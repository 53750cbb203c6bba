// The CloudDriver contract, one suite for every implementation: MemoryCloud directly, the OpenStack
// driver against the mock server, and the OpenStack driver against the real lab (test/openstack/).
import assert from 'node:assert/strict';
import { createHash, randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import {
  ChecksumMismatchError,
  CloudError,
  ConflictError,
  ImageIdRetiredError,
  InvalidSpecError,
  NotFoundError,
  NotManagedError,
  NotSupportedError,
  type CloudDriver,
  type CloudFlavorSpec,
  type CloudImageSpec,
} from '../../drivers/index.js';
import { patternBytes, type SourceServer } from './source-server.js';

/** Creates what stackraft did not: resources without its markers (as an operator would). */
export interface OutOfBand {
  createFlavor(id: string, name: string): Promise<void>;
  /** Like a crash between Nova's flavor POST and the extra specs call. */
  createHalfCreatedFlavor(spec: CloudFlavorSpec): Promise<void>;
  createImage(id: string): Promise<void>;
  /** An operator's image with bits in Glance (absent where the cloud keeps no bits: MemoryCloud). */
  createImageWithBits?(id: string, bytes: Buffer): Promise<void>;
  deleteFlavor(id: string): Promise<void>;
  deleteImage(id: string): Promise<void>;
}

export interface ContractHarness {
  driver: CloudDriver;
  source: SourceServer;
  /** Two projects that exist in the cloud's Keystone. */
  projectA: string;
  projectB: string;
  outOfBand: OutOfBand;
  hasNetwork: boolean;
  close(): Promise<void>;
}

function expectError<T extends CloudError>(cls: abstract new (...args: never[]) => T, check?: (err: T) => void): (err: unknown) => boolean {
  return (err: unknown) => {
    assert.ok(err instanceof cls, `expected ${cls.name}, got ${(err as Error)?.constructor?.name}: ${(err as Error)?.message}`);
    check?.(err as T);
    return true;
  };
}

/** A broken upload is noticed by the cloud a moment after the client gives up: wait for it. */
async function settledImage(driver: CloudDriver, id: string) {
  for (let i = 0; i < 100; i++) {
    const image = await driver.getImage(id);
    if (image?.status !== 'saving') return image;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return driver.getImage(id);
}

export function runDriverContract(name: string, setup: () => Promise<ContractHarness>, options: { skip?: string } = {}): void {
  describe(`CloudDriver contract: ${name}`, { timeout: 120_000, skip: options.skip ?? false }, () => {
    let h: ContractHarness;
    const run = randomUUID().slice(0, 8);
    const flavorIds: string[] = [];
    const imageIds: string[] = [];

    const flavorSpec = (suffix: string, over: Partial<CloudFlavorSpec> = {}): CloudFlavorSpec => {
      const id = `sr-test-${run}-${suffix}`;
      flavorIds.push(id);
      return { id, name: id, vcpus: 1, ram: 256, disk: 1, ephemeral: 0, swap: 0, rxtxFactor: 1, isPublic: true, extraSpecs: { 'hw:cpu_policy': 'shared' }, ...over };
    };

    const imageSpec = (file: string, bytes: Buffer, over: Partial<CloudImageSpec> = {}): CloudImageSpec => {
      const id = randomUUID();
      imageIds.push(id);
      return {
        id,
        name: `sr-test-${run}-${file}`,
        diskFormat: 'raw',
        containerFormat: 'bare',
        visibility: 'public',
        minDisk: 0,
        minRam: 0,
        protected: false,
        properties: { os_distro: 'cirros', 'stackraft-test': run },
        tags: ['b', 'a'],
        source: h.source.put(`${run}-${file}`, bytes),
        ...over,
      };
    };

    before(async () => {
      h = await setup();
    });

    after(async () => {
      if (h === undefined) return;
      for (const id of flavorIds) {
        await h.driver.deleteFlavor(id).catch(() => h.outOfBand.deleteFlavor(id).catch(() => {}));
      }
      for (const id of imageIds) {
        await h.driver.deleteImage(id).catch(() => h.outOfBand.deleteImage(id).catch(() => {}));
      }
      await h.close();
    });

    it('reports its capabilities', async () => {
      const caps = await h.driver.capabilities();
      assert.deepEqual(caps, { hasCompute: true, hasImage: true, hasVolume: true, hasNetwork: h.hasNetwork });
    });

    // ------------------------------------------------------------ flavors

    it('creates, reads and lists a public flavor with extra specs', async () => {
      const spec = flavorSpec('pub', { vcpus: 2, ram: 512, disk: 5, ephemeral: 1, swap: 128, rxtxFactor: 1.5, description: 'two cpus' });
      const created = await h.driver.createFlavor(spec);
      assert.equal(created.replaced, false);
      const expected = { ...spec, accessProjects: [], managed: true };
      assert.deepEqual(created.resource, expected);
      assert.deepEqual(await h.driver.getFlavor(spec.id), expected);
      const listed = await h.driver.listFlavors();
      assert.deepEqual(listed.find((f) => f.id === spec.id), expected);
      assert.ok(listed.every((f) => f.managed));
    });

    it('treats a repeated create as done and a different create of the same id as a conflict', async () => {
      const spec = flavorSpec('dup');
      await h.driver.createFlavor(spec);
      const again = await h.driver.createFlavor(spec);
      assert.equal(again.resource.id, spec.id);
      await assert.rejects(h.driver.createFlavor({ ...spec, vcpus: 3 }), expectError(ConflictError, (e) => assert.equal(e.retryable, false)));
      assert.equal((await h.driver.getFlavor(spec.id))?.vcpus, 1);
    });

    it('changes extra specs, access and description of a private flavor in place', async () => {
      const spec = flavorSpec('priv', { isPublic: false, accessProjects: [h.projectA], extraSpecs: { 'hw:cpu_policy': 'shared', 'quota:disk_read_iops_sec': '100' } });
      const created = await h.driver.createFlavor(spec);
      assert.deepEqual(created.resource.accessProjects, [h.projectA]);
      assert.equal(created.resource.isPublic, false);
      const updated = await h.driver.updateFlavor({ ...spec, accessProjects: [h.projectB], extraSpecs: { 'hw:cpu_policy': 'dedicated', 'hw:mem_page_size': 'large' }, description: 'now private to B' });
      assert.equal(updated.replaced, false);
      assert.deepEqual(updated.warnings, []);
      const got = await h.driver.getFlavor(spec.id);
      assert.deepEqual(got?.accessProjects, [h.projectB]);
      assert.deepEqual(got?.extraSpecs, { 'hw:cpu_policy': 'dedicated', 'hw:mem_page_size': 'large' });
      assert.equal(got?.description, 'now private to B');
      assert.equal(got?.managed, true);
    });

    it('replaces a flavor whose immutable fields change, and refuses when replacing is not allowed', async () => {
      const spec = flavorSpec('repl');
      await h.driver.createFlavor(spec);
      await assert.rejects(h.driver.updateFlavor({ ...spec, ram: 1024 }, { allowReplace: false }), expectError(NotSupportedError, (e) => assert.match(e.message, /ram 256 -> 1024/)));
      assert.equal((await h.driver.getFlavor(spec.id))?.ram, 256);
      const result = await h.driver.updateFlavor({ ...spec, ram: 1024, vcpus: 4 });
      assert.equal(result.replaced, true);
      assert.equal(result.warnings.length, 1);
      assert.match(result.warnings[0], /keep their own copy of the old flavor and are not resized/);
      const got = await h.driver.getFlavor(spec.id);
      assert.equal(got?.ram, 1024);
      assert.equal(got?.vcpus, 4);
      assert.equal(got?.managed, true);
      assert.deepEqual(got?.extraSpecs, spec.extraSpecs);
    });

    it('deletes a flavor; deleting or updating a missing one is NotFound', async () => {
      const spec = flavorSpec('del');
      await h.driver.createFlavor(spec);
      await h.driver.deleteFlavor(spec.id);
      assert.equal(await h.driver.getFlavor(spec.id), undefined);
      assert.ok(!(await h.driver.listFlavors()).some((f) => f.id === spec.id));
      await assert.rejects(h.driver.deleteFlavor(spec.id), expectError(NotFoundError));
      await assert.rejects(h.driver.updateFlavor(spec), expectError(NotFoundError));
    });

    it('never lists, changes or deletes a flavor it does not manage', async () => {
      const id = `sr-test-${run}-operator`;
      flavorIds.push(id);
      await h.outOfBand.createFlavor(id, id);
      const got = await h.driver.getFlavor(id);
      assert.equal(got?.managed, false);
      assert.ok(!(await h.driver.listFlavors()).some((f) => f.id === id));
      const spec = { ...flavorSpec('ignored'), id, name: id };
      await assert.rejects(h.driver.deleteFlavor(id), expectError(NotManagedError));
      await assert.rejects(h.driver.updateFlavor(spec), expectError(NotManagedError));
      await assert.rejects(h.driver.createFlavor(spec), expectError(ConflictError, (e) => assert.match(e.message, /does not manage/)));
      assert.equal((await h.driver.getFlavor(id))?.managed, false);
    });

    it('finishes a flavor whose creation was interrupted between Nova calls', async () => {
      const spec = flavorSpec('half', { extraSpecs: { 'hw:numa_nodes': '1' } });
      await h.outOfBand.createHalfCreatedFlavor(spec);
      assert.ok((await h.driver.listFlavors()).some((f) => f.id === spec.id), 'a half-created flavor is still stackraft’s');
      const result = await h.driver.createFlavor(spec);
      assert.match(result.warnings.join(' '), /interrupted/);
      const got = await h.driver.getFlavor(spec.id);
      assert.deepEqual(got?.extraSpecs, { 'hw:numa_nodes': '1' });
      assert.equal(got?.description, undefined);
      assert.equal(got?.managed, true);
    });

    it('rejects an invalid flavor spec before calling the cloud', async () => {
      await assert.rejects(h.driver.createFlavor(flavorSpec('bad', { vcpus: 0 })), expectError(InvalidSpecError, (e) => assert.match(e.message, /vcpus/)));
      await assert.rejects(h.driver.createFlavor(flavorSpec('bad2', { extraSpecs: { 'stackraft:managed': 'false' } })), expectError(InvalidSpecError));
    });

    it("escapes ids in URLs, and refuses '.' and '..' (URL parsers resolve them) before calling the cloud", async () => {
      const spec = flavorSpec('with space', { isPublic: false, accessProjects: [h.projectA], extraSpecs: { 'hw:cpu policy': 'a b' } });
      await h.driver.createFlavor(spec);
      const got = await h.driver.getFlavor(spec.id);
      assert.equal(got?.id, spec.id);
      assert.deepEqual(got?.accessProjects, [h.projectA]);
      await h.driver.updateFlavor({ ...spec, extraSpecs: {} });
      assert.deepEqual((await h.driver.getFlavor(spec.id))?.extraSpecs, {});
      await h.driver.deleteFlavor(spec.id);
      assert.equal(await h.driver.getFlavor(spec.id), undefined);
      for (const id of ['.', '..']) {
        await assert.rejects(h.driver.createFlavor({ ...spec, id, name: `sr-test-${run}-dots` }), expectError(InvalidSpecError));
        await assert.rejects(h.driver.getFlavor(id), expectError(InvalidSpecError));
        await assert.rejects(h.driver.deleteFlavor(id), expectError(InvalidSpecError));
        await assert.rejects(h.driver.getQuota(id), expectError(InvalidSpecError));
      }
    });

    // ------------------------------------------------------------ images

    it('creates an image from its source, verified, and reads and lists it', async () => {
      const bytes = patternBytes(300_000, 7);
      const spec = imageSpec('img1', bytes, { protected: true, minDisk: 1, minRam: 64 });
      const created = await h.driver.createImage(spec);
      const image = created.resource;
      assert.equal(image.status, 'active');
      assert.equal(image.sizeBytes, bytes.length);
      assert.equal(image.osHashAlgo, 'sha512');
      assert.equal(image.osHashValue, spec.source.sha512);
      assert.equal(image.managed, true);
      assert.equal(image.protected, true);
      assert.deepEqual(image.tags, ['a', 'b']);
      assert.deepEqual(image.properties, spec.properties);
      assert.deepEqual(image.source, spec.source);
      assert.equal(image.minDisk, 1);
      assert.equal(image.minRam, 64);
      assert.deepEqual(await h.driver.getImage(spec.id), image);
      const listed = await h.driver.listImages();
      assert.deepEqual(listed.find((i) => i.id === spec.id), image);
      assert.ok(listed.every((i) => i.managed));
      // A repeated create changes nothing.
      assert.deepEqual((await h.driver.createImage(spec)).resource, image);
    });

    it('updates image metadata in place; new bits or formats are not supported', async () => {
      const spec = imageSpec('img2', patternBytes(70_000, 2));
      await h.driver.createImage(spec);
      const changed: CloudImageSpec = { ...spec, name: `${spec.name}-renamed`, visibility: 'community', minDisk: 2, protected: true, tags: ['c'], properties: { os_distro: 'ubuntu', os_version: '24.04' } };
      const updated = await h.driver.updateImage(changed);
      const got = await h.driver.getImage(spec.id);
      assert.deepEqual(updated.resource, got);
      assert.equal(got?.name, changed.name);
      assert.equal(got?.visibility, 'community');
      assert.equal(got?.minDisk, 2);
      assert.equal(got?.protected, true);
      assert.deepEqual(got?.tags, ['c']);
      assert.deepEqual(got?.properties, changed.properties);
      assert.ok((await h.driver.listImages()).some((i) => i.id === spec.id), 'community images are listed too');
      const newBits = h.source.put(`${run}-img2-v2`, patternBytes(1000, 3));
      await assert.rejects(h.driver.updateImage({ ...changed, source: newBits }), expectError(NotSupportedError, (e) => assert.match(e.message, /new image id/)));
      await assert.rejects(h.driver.updateImage({ ...changed, diskFormat: 'qcow2' }), expectError(NotSupportedError));
      // Same digests at a new URL: only the recorded URL changes.
      const moved = { ...changed, source: { ...changed.source, url: `${changed.source.url}?mirror=2` } };
      assert.equal((await h.driver.updateImage(moved)).resource.source?.url, moved.source.url);
    });

    it('aborts an upload whose bits do not match the catalog, keeps the image queued, and resumes later', async () => {
      const bytes = patternBytes(200_000, 4);
      const good = imageSpec('img3', bytes);
      const wrong: CloudImageSpec = { ...good, source: { url: good.source.url, sha256: '0'.repeat(64) } };
      await assert.rejects(h.driver.createImage(wrong), expectError(ChecksumMismatchError, (e) => {
        assert.equal(e.retryable, false);
        assert.match(e.message, /stays queued/);
      }));
      const queued = await settledImage(h.driver, good.id);
      assert.equal(queued?.status, 'queued');
      assert.equal(queued?.managed, true);
      const resumed = await h.driver.createImage(good);
      assert.equal(resumed.resource.status, 'active');
      assert.equal(resumed.resource.osHashValue, good.source.sha512);
      assert.match(resumed.warnings.join(' '), /resumed/);
    });

    it('reports an unreachable source without burning the image id', async () => {
      const spec = imageSpec('img4', patternBytes(1000, 5));
      const missing = { ...spec, source: { ...spec.source, url: h.source.url(`${run}-no-such-file`) } };
      await assert.rejects(h.driver.createImage(missing), expectError(CloudError, (e) => {
        assert.equal(e.service, 'source');
        assert.equal(e.status, 404);
        assert.equal(e.retryable, false);
      }));
      assert.equal((await settledImage(h.driver, spec.id))?.status, 'queued');
      assert.equal((await h.driver.createImage(spec)).resource.status, 'active');
    });

    it('deletes a protected image; Glance then refuses its id for good', async () => {
      const spec = imageSpec('img5', patternBytes(5000, 6), { protected: true });
      await h.driver.createImage(spec);
      await h.driver.deleteImage(spec.id);
      assert.equal(await h.driver.getImage(spec.id), undefined);
      await assert.rejects(h.driver.deleteImage(spec.id), expectError(NotFoundError));
      await assert.rejects(h.driver.createImage(spec), expectError(ImageIdRetiredError, (e) => {
        assert.equal(e.code, 'IMAGE_ID_RETIRED');
        assert.equal(e.retryable, false);
        assert.match(e.message, /glance-manage db purge/);
      }));
    });

    it('never lists, changes or deletes an image it does not manage', async () => {
      const id = randomUUID();
      imageIds.push(id);
      await h.outOfBand.createImage(id);
      assert.equal((await h.driver.getImage(id))?.managed, false);
      assert.ok(!(await h.driver.listImages()).some((i) => i.id === id));
      await assert.rejects(h.driver.deleteImage(id), expectError(NotManagedError));
      const spec = { ...imageSpec('img6', patternBytes(10, 1)), id };
      await assert.rejects(h.driver.updateImage(spec), expectError(NotManagedError));
      await assert.rejects(h.driver.createImage(spec), expectError(ConflictError, (e) => assert.match(e.message, /does not manage/)));
      assert.ok((await h.driver.getImage(id)) !== undefined);
    });

    it("downloads an operator's image and claims it (marker only, bits untouched) when Glance's digest is the spec's", async (t) => {
      const make = h.outOfBand.createImageWithBits;
      if (make === undefined) return t.skip('this cloud keeps no image bits');
      const bytes = patternBytes(150_000, 9);
      const id = randomUUID();
      imageIds.push(id);
      await make(id, bytes);
      assert.ok((await h.driver.listAllImages!()).some((i) => i.id === id && !i.managed), 'listAllImages shows the operator image');
      const download = await h.driver.downloadImage!(id);
      assert.equal(download.image.managed, false);
      const chunks: Buffer[] = [];
      for await (const piece of download.body) chunks.push(Buffer.from(piece as Uint8Array));
      assert.ok(Buffer.concat(chunks).equals(bytes), 'the bits as uploaded');
      const md5 = createHash('md5').update(bytes).digest('hex');
      assert.ok(download.md5 === null || download.md5 === md5, `Content-MD5 ${download.md5}`);
      const sha256 = createHash('sha256').update(bytes).digest('hex');
      const sha512 = createHash('sha512').update(bytes).digest('hex');
      const spec: CloudImageSpec = { ...imageSpec('claimed', bytes), id, name: 'operator image', source: { url: `http://blob.stackraft.invalid/${'a'.repeat(64)}`, sha256, sha512 } };
      await assert.rejects(h.driver.claimImage!({ ...spec, source: { ...spec.source, sha512: 'f'.repeat(128) } }), expectError(ChecksumMismatchError, (e) => assert.match(e.message, /other bits/)));
      assert.equal((await h.driver.getImage(id))?.managed, false, 'a refused claim leaves the image unmarked');
      const claimed = await h.driver.claimImage!(spec);
      assert.equal(claimed.managed, true);
      assert.equal(claimed.osHashValue, sha512);
      assert.deepEqual(claimed.source, spec.source);
      assert.deepEqual(claimed.properties, { owner_note: 'not stackraft' }, 'nothing else changed');
      assert.ok((await h.driver.listImages()).some((i) => i.id === id));
      const queued = randomUUID();
      imageIds.push(queued);
      await h.outOfBand.createImage(queued);
      await assert.rejects(h.driver.downloadImage!(queued), expectError(ConflictError, (e) => assert.match(e.message, /'queued'/)));
      await assert.rejects(h.driver.claimImage!({ ...spec, id: queued }), expectError(ConflictError));
    });

    it('rejects an invalid image spec before calling the cloud', async () => {
      const spec = imageSpec('bad', Buffer.from('x'));
      await assert.rejects(h.driver.createImage({ ...spec, id: 'not-a-uuid' }), expectError(InvalidSpecError, (e) => assert.match(e.message, /UUID/)));
      await assert.rejects(h.driver.createImage({ ...spec, properties: { stackraft_managed: 'false' } }), expectError(InvalidSpecError));
      await assert.rejects(h.driver.createImage({ ...spec, source: { url: spec.source.url } }), expectError(InvalidSpecError, (e) => assert.match(e.message, /sha256 or sha512/)));
    });

    // ------------------------------------------------------------ quotas

    it('sets, reads, lists and resets a project quota set', async () => {
      const defaults = (await h.driver.deleteQuota(h.projectB)).resource;
      assert.ok(defaults.compute !== undefined && defaults.volume !== undefined);
      assert.equal(defaults.network !== undefined, h.hasNetwork);
      const spec = { project: h.projectB, compute: { cores: 41, ram: 65536, keyPairs: 7 }, volume: { volumes: 13, backups: -1 }, network: { ports: 77, floatingIps: 3 } };
      const set = await h.driver.updateQuota(spec);
      assert.equal(set.resource.compute?.cores, 41);
      assert.equal(set.resource.compute?.ram, 65536);
      assert.equal(set.resource.compute?.keyPairs, 7);
      assert.equal(set.resource.compute?.instances, defaults.compute.instances, 'limits not named keep their value');
      assert.equal(set.resource.volume?.volumes, 13);
      assert.equal(set.resource.volume?.backups, -1);
      if (h.hasNetwork) {
        assert.equal(set.resource.network?.ports, 77);
        assert.deepEqual(set.warnings, []);
      } else {
        assert.equal(set.resource.network, undefined);
        assert.match(set.warnings.join(' '), /network limits skipped/);
      }
      assert.deepEqual(await h.driver.getQuota(h.projectB), set.resource);
      const listed = await h.driver.listQuotas([h.projectB, h.projectA]);
      assert.deepEqual(listed.map((q) => q.project), [h.projectA, h.projectB].sort());
      assert.deepEqual(listed.find((q) => q.project === h.projectB), set.resource);
      const created = await h.driver.createQuota({ project: h.projectB, compute: { instances: 3 } });
      assert.equal(created.resource.compute?.instances, 3);
      assert.equal(created.resource.compute?.cores, 41);
      const reset = await h.driver.deleteQuota(h.projectB);
      assert.deepEqual(reset.resource, defaults);
    });

    it('rejects an invalid quota spec before calling the cloud', async () => {
      await assert.rejects(h.driver.updateQuota({ project: h.projectB, compute: { cores: -2 } }), expectError(InvalidSpecError));
      await assert.rejects(h.driver.updateQuota({ project: h.projectB, compute: { gpus: 1 } as never }), expectError(InvalidSpecError, (e) => assert.match(e.message, /gpus/)));
      await assert.rejects(h.driver.getQuota('bad/project'), expectError(InvalidSpecError));
    });
  });
}
