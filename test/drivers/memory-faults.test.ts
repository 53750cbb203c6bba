// MemoryCloud as the simulator uses it: injected randomness and sleep (virtual time, no real
// timers), fault injection (5xx, timeouts applied or not, conflicts, latency), declared uploads,
// missing services, and Glance's id rules.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CloudError, ConflictError, ImageIdRetiredError, MemoryCloud, type DriverClock, type CloudFlavorSpec, type CloudImageSpec } from '../../drivers/index.js';

function flavor(id: string, over: Partial<CloudFlavorSpec> = {}): CloudFlavorSpec {
  return { id, name: id, vcpus: 1, ram: 128, disk: 0, ephemeral: 0, swap: 0, rxtxFactor: 1, isPublic: true, extraSpecs: { k: 'v' }, ...over };
}

function image(id: string, over: Partial<CloudImageSpec> = {}): CloudImageSpec {
  return {
    id,
    name: `img-${id.slice(0, 4)}`,
    diskFormat: 'qcow2',
    containerFormat: 'bare',
    visibility: 'public',
    minDisk: 0,
    minRam: 0,
    protected: false,
    properties: {},
    tags: [],
    source: { url: 'https://images.example.org/cirros.img', sha512: 'ab'.repeat(64) },
    ...over,
  };
}

/** A seeded PRNG (mulberry32): the same seed gives the same faults. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Virtual time: timers fire only when the test advances the clock. */
class ManualClock implements DriverClock {
  private time = 0;
  private timers: Array<{ at: number; fn: () => void; cancelled: boolean }> = [];
  now(): number {
    return this.time;
  }
  setTimer(delayMs: number, fn: () => void) {
    const timer = { at: this.time + delayMs, fn, cancelled: false };
    this.timers.push(timer);
    return { cancel: () => void (timer.cancelled = true) };
  }
  pending(): number {
    return this.timers.filter((t) => !t.cancelled).length;
  }
  async advance(ms: number): Promise<void> {
    this.time += ms;
    const due = this.timers.filter((t) => t.at <= this.time && !t.cancelled);
    this.timers = this.timers.filter((t) => !due.includes(t));
    for (const t of due) t.fn();
    await new Promise((resolve) => setImmediate(resolve));
  }
}

const noSleep = async () => {};

describe('MemoryCloud fault injection and simulator use', () => {
  it('fails every call with a retryable 503 at errorRate 1, applying nothing', async () => {
    const cloud = new MemoryCloud({ sleep: noSleep, faults: { errorRate: 1 } });
    await assert.rejects(cloud.createFlavor(flavor('f1')), (err: unknown) => err instanceof CloudError && err.code === 'UNAVAILABLE' && err.status === 503 && err.retryable);
    await assert.rejects(cloud.listImages(), (err: unknown) => err instanceof CloudError && err.service === 'image');
    assert.equal(cloud.model.listFlavors().length, 0);
    assert.ok(cloud.faults.counts.error >= 2);
  });

  it('a timeout after the cloud applied the call leaves the work done; the retried create finishes it', async () => {
    const slept: number[] = [];
    const cloud = new MemoryCloud({ sleep: async (ms) => void slept.push(ms), faults: { timeoutMs: 30_000 } });
    cloud.faults.failNext('timeoutAfterApply');
    await assert.rejects(cloud.createFlavor(flavor('f2')), (err: unknown) => err instanceof CloudError && err.code === 'TIMEOUT' && err.retryable);
    assert.deepEqual(slept, [30_000]);
    assert.equal(cloud.model.listFlavors().length, 1, 'the POST was applied');
    assert.equal((await cloud.getFlavor('f2'))?.managed, true, 'and is recognisable as stackraft’s');
    const retried = await cloud.createFlavor(flavor('f2'));
    assert.deepEqual(retried.resource.extraSpecs, { k: 'v' });
    assert.match(retried.warnings.join(' '), /interrupted/);
  });

  it('a timeout before the call applies nothing', async () => {
    const cloud = new MemoryCloud({ sleep: noSleep });
    cloud.faults.failNext('timeoutBeforeApply');
    await assert.rejects(cloud.createFlavor(flavor('f3')), (err: unknown) => err instanceof CloudError && err.code === 'TIMEOUT');
    assert.equal(cloud.model.listFlavors().length, 0);
  });

  it('injects conflicts into writes only, as retryable', async () => {
    const cloud = new MemoryCloud({ sleep: noSleep, faults: { conflictRate: 1 } });
    assert.deepEqual(await cloud.listFlavors(), []);
    await assert.rejects(cloud.createFlavor(flavor('f4')), (err: unknown) => err instanceof ConflictError && err.retryable);
    assert.equal(cloud.model.listFlavors().length, 0);
    cloud.faults.set({ conflictRate: 0 });
    assert.equal((await cloud.createFlavor(flavor('f4'))).resource.managed, true);
  });

  it('adds latency through the injected sleep only', async () => {
    const slept: number[] = [];
    const cloud = new MemoryCloud({ sleep: async (ms) => void slept.push(ms), random: () => 0.5, faults: { latencyMs: { min: 10, max: 30 } } });
    await cloud.getFlavor('none');
    assert.deepEqual(slept, [20]);
    const quiet = new MemoryCloud({ sleep: async (ms) => void slept.push(ms) });
    await quiet.getFlavor('none');
    assert.deepEqual(slept, [20], 'no latency: no sleep at all');
  });

  it('runs on a virtual clock without real timers', async () => {
    const clock = new ManualClock();
    const cloud = new MemoryCloud({ clock, faults: { latencyMs: 100 } });
    let done = false;
    const p = cloud.createFlavor(flavor('f5')).then(() => (done = true));
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(done, false);
    for (let i = 0; i < 20 && !done; i++) await clock.advance(100);
    await p;
    assert.equal(done, true);
    // POST + extra specs + description + read back: four calls of 100 virtual ms each.
    assert.equal(clock.now(), 400);
    assert.equal(clock.pending(), 0);
  });

  it('draws the same faults from the same seed', async () => {
    const outcomes = async (seed: number) => {
      const cloud = new MemoryCloud({ sleep: noSleep, random: seeded(seed), faults: { errorRate: 0.3, timeoutRate: 0.1, conflictRate: 0.2 } });
      const out: string[] = [];
      for (let i = 0; i < 40; i++) {
        try {
          await cloud.createFlavor(flavor(`s${i}`));
          out.push('ok');
        } catch (err) {
          out.push((err as CloudError).code);
        }
      }
      return { out, counts: { ...cloud.faults.counts }, flavors: cloud.model.listFlavors().map((f) => f.id).sort() };
    };
    const a = await outcomes(42);
    assert.deepEqual(await outcomes(42), a);
    assert.notDeepEqual((await outcomes(43)).out, a.out);
    assert.ok(a.out.includes('ok') && a.out.some((o) => o !== 'ok'));
  });

  it('declares uploads without bits when it has no source fetcher', async () => {
    const cloud = new MemoryCloud();
    const spec = image('11111111-2222-4333-8444-555555555555', { protected: true });
    const created = await cloud.createImage(spec);
    assert.equal(created.resource.status, 'active');
    assert.equal(created.resource.osHashValue, spec.source.sha512);
    assert.equal(created.resource.protected, true);
    const sha256Only = image('11111111-2222-4333-8444-555555555556', { source: { url: 'https://x/y', sha256: 'cd'.repeat(32) } });
    assert.equal((await cloud.createImage(sha256Only)).resource.osHashAlgo, null);
  });

  it('keeps a deleted image id retired until Glance’s rows are purged', async () => {
    const cloud = new MemoryCloud();
    const spec = image('21111111-2222-4333-8444-555555555555');
    await cloud.createImage(spec);
    await cloud.deleteImage(spec.id);
    await assert.rejects(cloud.createImage(spec), ImageIdRetiredError);
    assert.equal(cloud.model.purgeDeletedImages(), 1);
    assert.equal((await cloud.createImage(spec)).resource.status, 'active');
  });

  it('waits for an image that Glance is still saving, then resumes it, or reports it busy (retryable)', async () => {
    const spec = image('31111111-2222-4333-8444-555555555555');
    const stuck = (cloud: MemoryCloud) => {
      cloud.model.createImage({ ...spec, tags: [], properties: { stackraft_managed: 'true', stackraft_source_url: spec.source.url } }, 'admin');
      cloud.model.beginUpload(spec.id);
    };
    let sleeps = 0;
    const settling: MemoryCloud = new MemoryCloud({
      sleep: async () => {
        // Glance notices the dead upload after a while.
        if (++sleeps === 2) settling.model.abortUpload(spec.id);
      },
    });
    stuck(settling);
    const resumed = await settling.createImage(spec);
    assert.equal(resumed.resource.status, 'active');
    assert.match(resumed.warnings.join(' '), /resumed/);
    assert.equal(sleeps, 2);

    const busy = new MemoryCloud({ sleep: noSleep });
    stuck(busy);
    await assert.rejects(busy.createImage(spec), (err: unknown) => err instanceof ConflictError && err.retryable && /still 'saving'/.test(err.message));
    await assert.rejects(busy.updateImage(spec), (err: unknown) => err instanceof CloudError && err.retryable && /'saving'/.test(err.message));
  });

  it('refuses a second flavor with the same name, as Nova does', async () => {
    const cloud = new MemoryCloud();
    await cloud.createFlavor(flavor('n1', { name: 'm1.small' }));
    await assert.rejects(cloud.createFlavor(flavor('n2', { name: 'm1.small' })), (err: unknown) => err instanceof ConflictError && /name m1.small already exists/.test(err.cloudMessage));
  });

  it('skips the quota parts of services the cloud does not have', async () => {
    const cloud = new MemoryCloud({ services: { network: false, volume: false } });
    assert.deepEqual(await cloud.capabilities(), { hasCompute: true, hasImage: true, hasVolume: false, hasNetwork: false });
    const result = await cloud.updateQuota({ project: 'p1', compute: { cores: 5 }, volume: { volumes: 1 }, network: { ports: 1 } });
    assert.equal(result.resource.compute?.cores, 5);
    assert.equal(result.resource.volume, undefined);
    assert.equal(result.warnings.length, 2);
    const noImages = new MemoryCloud({ services: { image: false } });
    await assert.rejects(noImages.listImages(), (err: unknown) => err instanceof CloudError && err.code === 'NO_ENDPOINT');
  });

  it('is unusable after close', async () => {
    const cloud = new MemoryCloud();
    await cloud.close();
    await assert.rejects(cloud.listFlavors(), (err: unknown) => err instanceof CloudError && err.code === 'CLOSED');
  });
});
