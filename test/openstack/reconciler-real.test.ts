// The reconciler against three REAL OpenStack sites (Keystone, Glance, Nova API, Cinder API from
// ../shared/openstack/up.sh on 127.0.0.1, .2 and .3): one catalog converges all three (flavors,
// an image whose bits come from a local HTTP server, quotas), and drift made with direct API calls
// is repaired by the next audit. Runs only via `npm run test:openstack`; without the lab it skips
// with a message saying how to start it.
import { strict as assert } from 'node:assert';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import { request } from 'undici';
import type { Clock, Logger } from '../../consensus/ports.js';
import { deleteOp, patchOp, putOp, type WriteOp } from '../../agent/catalog/index.js';
import { toSyncStatusView } from '../../agent/daemon/sync-view.js';
import { Reconciler } from '../../agent/reconciler/index.js';
import { createOpenStackDriver, type OpenStackDriver } from '../../drivers/index.js';
import { Harness, siteSpec } from '../catalog/helpers.js';
import { apisOutOfBand } from '../drivers/out-of-band.js';
import { patternBytes, sha512, startSourceServer, type SourceServer } from '../drivers/source-server.js';

const SITE_NAMES = ['site-a', 'site-b', 'site-c'];
const AUDIT_MS = 3_000;
const STEP_TIMEOUT_MS = Number(process.env.STACKRAFT_TEST_STEP_MS ?? 60_000);

const skip = process.env.OS_AUTH_URL
  ? undefined
  : 'OS_AUTH_URL is not set: run `npm run test:openstack` (scripts/openstack-test.sh starts the lab), or eval "$(../shared/openstack/up.sh)" first';

/** Node timers that keep the process alive while the test waits (the daemon's are unref'd). */
const testClock: Clock = {
  now: () => performance.now(),
  setTimer(delayMs, callback) {
    const timer = setTimeout(callback, delayMs);
    return { cancel: () => clearTimeout(timer) };
  },
};

/** Reconciler logs on stderr with STACKRAFT_TEST_LOG=1 (warnings and errors always). */
function testLogger(site: string): Logger {
  const verbose = process.env.STACKRAFT_TEST_LOG === '1';
  const line = (level: string) => (obj: object, msg = '') => {
    if (verbose || level === 'warn' || level === 'error') process.stderr.write(`[${site} ${level}] ${msg} ${JSON.stringify(obj)}\n`);
  };
  return { debug: line('debug'), info: line('info'), warn: line('warn'), error: line('error') };
}

/** Keystone URLs of the three sites: STACKRAFT_TEST_AUTH_URLS, or the lab's 127.0.0.1/.2/.3. */
function siteAuthUrls(): string[] | string {
  const listed = process.env.STACKRAFT_TEST_AUTH_URLS;
  if (listed) {
    const urls = listed.split(',').map((u) => u.trim()).filter((u) => u !== '');
    return urls.length === 3 ? urls : `STACKRAFT_TEST_AUTH_URLS must list 3 Keystone URLs (got ${urls.length})`;
  }
  const a = new URL(process.env.OS_AUTH_URL!);
  if (a.hostname !== '127.0.0.1') return `OS_AUTH_URL is not the loopback lab (${a.hostname}): set STACKRAFT_TEST_AUTH_URLS to three Keystone URLs`;
  return ['127.0.0.1', '127.0.0.2', '127.0.0.3'].map((host) => {
    const u = new URL(a.href);
    u.hostname = host;
    return u.href;
  });
}

async function reachable(url: string): Promise<boolean> {
  try {
    const res = await request(url, { headersTimeout: 3_000, bodyTimeout: 3_000 });
    await res.body.dump();
    return res.statusCode < 500;
  } catch {
    return false;
  }
}

function keystoneBase(authUrl: string): string {
  return `${authUrl.replace(/\/+$/, '').replace(/\/v3$/, '')}/v3`;
}

/**
 * A Keystone project of this test's own, so its quota sets never meet another suite's (the driver
 * contract uses the lab's admin and service projects). Nova accepts quotas only for real projects.
 */
async function createProject(driver: OpenStackDriver, authUrl: string, name: string): Promise<string> {
  const token = await driver.session.token();
  const res = await request(`${keystoneBase(authUrl)}/projects`, {
    method: 'POST',
    headers: { 'X-Auth-Token': token.value, Accept: 'application/json', 'Content-Type': 'application/json' },
    body: JSON.stringify({ project: { name, domain_id: 'default', description: 'stackraft reconciler test (deleted at the end)' } }),
  });
  const body = (await res.body.json()) as { project?: { id: string } };
  if (res.statusCode !== 201 || body.project === undefined) throw new Error(`Keystone at ${authUrl} refused to create project ${name}: ${res.statusCode} ${JSON.stringify(body)}`);
  return body.project.id;
}

async function deleteProject(driver: OpenStackDriver, authUrl: string, id: string): Promise<void> {
  const token = await driver.session.token();
  const res = await request(`${keystoneBase(authUrl)}/projects/${id}`, { method: 'DELETE', headers: { 'X-Auth-Token': token.value } });
  await res.body.dump();
}

/** Polls `check`; on timeout the error says `what` (a function: evaluated only then, with the state at that time). */
async function waitFor(what: string | (() => string), check: () => Promise<boolean> | boolean, timeoutMs = STEP_TIMEOUT_MS): Promise<number> {
  const started = performance.now();
  for (;;) {
    if (await check()) return Math.round(performance.now() - started);
    if (performance.now() - started > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for: ${typeof what === 'string' ? what : what()}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

interface RealSite {
  name: string;
  authUrl: string;
  driver: OpenStackDriver;
  /** This test's project in this site's Keystone (project ids differ between sites). */
  project: string;
  reconciler: Reconciler;
}

class ThreeSites {
  readonly catalog = new Harness(undefined, 'operator');
  readonly sites: RealSite[] = [];
  readonly run = randomUUID().slice(0, 8);
  source!: SourceServer;

  async open(urls: string[]): Promise<void> {
    this.source = await startSourceServer();
    this.write(...SITE_NAMES.map((name, i) => putOp('site', name, siteSpec(name, i + 1))));
    for (const [i, name] of SITE_NAMES.entries()) {
      const authUrl = urls[i]!;
      // The lab is shared with the driver suites running alongside: this run's own cluster id in
      // every marker keeps its audits off their resources (theirs carry no cluster id or another).
      const driver = createOpenStackDriver({ env: { ...process.env, OS_AUTH_URL: authUrl }, clusterId: `sr-rec-${this.run}` });
      const project = await createProject(driver, authUrl, `sr-rec-${this.run}`);
      const reconciler = new Reconciler(
        {
          site: name,
          driver,
          catalog: this.catalog.catalog,
          clock: testClock,
          logger: testLogger(name),
          report: async (reports, digest) => {
            const { result } = this.catalog.reportWithDigest(digest, ...reports);
            if (!result.ok) throw new Error(`reports rejected: ${JSON.stringify(result)}`);
          },
        },
        { auditIntervalMs: AUDIT_MS, changeDebounceMs: 50, reports: { intervalMs: 200, maxReportsPerCommand: 250, maxRetryDelayMs: 2_000, gatherMs: 50, digestIntervalMs: 200 } },
      );
      this.sites.push({ name, authUrl, driver, project, reconciler });
    }
  }

  write(...ops: WriteOp[]): number[] {
    const { result } = this.catalog.write(...ops);
    if (!result.ok) throw new Error(`catalog write refused: ${JSON.stringify(result)}`);
    for (const site of this.sites) site.reconciler.notifyCatalogChanged();
    return result.revisions;
  }

  /** Every site's desired resources reported in sync at their current revision. */
  allInSync(): boolean {
    const view = toSyncStatusView(this.catalog.catalog);
    return SITE_NAMES.every((name) => {
      const site = view.sites.find((s) => s.site === name);
      return site !== undefined && site.resources.length > 0 && site.resources.every((r) => r.state === 'in-sync' && r.syncedRevision === r.desiredRevision);
    });
  }

  problems(): string {
    const notInSync = toSyncStatusView(this.catalog.catalog).sites.map((s) => [s.site, s.resources.filter((r) => r.state !== 'in-sync')]);
    const reconcilers = this.sites.map((s) => {
      const st = s.reconciler.status();
      return { site: s.name, reachable: st.cloudReachable, lastPass: st.lastPass, reports: st.reports, resources: st.resources.filter((r) => r.state !== "in-sync") };
    });
    return JSON.stringify({ notInSync, reconcilers });
  }

  async close(): Promise<void> {
    for (const site of this.sites) await site.reconciler.stop();
    for (const site of this.sites) await site.driver.close();
    await this.source?.close();
  }
}

/** The three sites' Keystone URLs, or why the test cannot run. */
async function labUrls(): Promise<string[] | string> {
  const urls = siteAuthUrls();
  if (typeof urls === 'string') return urls;
  for (const [i, url] of urls.entries()) {
    if (!(await reachable(url))) {
      const host = new URL(url).hostname;
      return `${SITE_NAMES[i]} (${url}) is not reachable: start it with OSLAB_HOST=${host} OSLAB_DIR=/tmp/oslab-${'abc'[i]} ../shared/openstack/up.sh`;
    }
  }
  return urls;
}

/** Best effort: leaves the lab as it was, whatever failed (the run's flavors, images, quota sets and projects). */
async function cleanLab(urls: string[], three: ThreeSites, flavorIds: string[], imageIds: string[]): Promise<void> {
  for (const [i, url] of urls.entries()) {
    const driver = createOpenStackDriver({ env: { ...process.env, OS_AUTH_URL: url } });
    try {
      const apis = await driver.serviceApis();
      for (const id of flavorIds) await apis.compute!.deleteFlavor(id).catch(() => {});
      for (const id of imageIds) await driver.deleteImage(id).catch(() => {});
      const project = three.sites[i]?.project;
      if (project !== undefined) {
        await driver.deleteQuota(project).catch(() => {});
        await deleteProject(driver, url, project).catch(() => {});
      }
    } catch {
      // The site is gone; nothing to clean.
    } finally {
      await driver.close();
    }
  }
}

describe('reconciler against three real OpenStack sites', { skip, timeout: 300_000 }, () => {
  it('converges three sites from one catalog (flavors, image bits, quotas), repairs out-of-band drift, and removes what the catalog deletes', async (t) => {
    const urls = await labUrls();
    if (typeof urls === 'string') return t.skip(urls);
    const three = new ThreeSites();
    const flavorId = `sr-rec-${three.run}`;
    const strayId = `sr-rec-${three.run}-stray`;
    const operatorId = `sr-rec-${three.run}-operator`;
    const imageId = randomUUID();
    try {
      await three.open(urls);
      const bits = patternBytes(512 << 10, 7);
      const source = three.source.put(`${three.run}.raw`, bits);

      // --- converge from empty
      three.write(
        putOp('flavor', flavorId, { name: `sr-rec-${three.run}.small`, vcpus: 1, ram: 512, disk: 1, extraSpecs: { 'hw:cpu_policy': 'shared' }, description: 'stackraft reconciler test' }),
        putOp('image', imageId, { name: `sr-rec-${three.run}`, diskFormat: 'raw', containerFormat: 'bare', protected: true, properties: { os_distro: 'cirros' }, tags: ['stackraft-test'], source }),
        // Each site's Keystone has its own project ids: a quota per site, placed on that site only.
        ...three.sites.map((s) => putOp('quota', s.project, { project: s.project, compute: { cores: 33, instances: 7 }, volume: { gigabytes: 321, volumes: 12 } }, { placement: [s.name] })),
      );
      for (const site of three.sites) site.reconciler.start();
      const convergeMs = await waitFor(() => `all three sites in sync (${three.problems()})`, () => three.allInSync());
      t.diagnostic(`converged 3 real sites from empty (1 flavor, 1 image of ${bits.length} bytes, 1 quota each) in ${convergeMs} ms`);
      for (const site of three.sites) {
        const flavor = await site.driver.getFlavor(flavorId);
        assert.equal(flavor?.managed, true, `${site.name} flavor`);
        assert.deepEqual(flavor?.extraSpecs, { 'hw:cpu_policy': 'shared' });
        const image = await site.driver.getImage(imageId);
        assert.equal(image?.status, 'active', `${site.name} image`);
        assert.equal(image?.osHashValue, sha512(bits), 'Glance holds exactly the served bits');
        assert.equal(image?.protected, true);
        const quota = await site.driver.getQuota(site.project);
        assert.equal(quota.compute?.cores, 33, `${site.name} quota (Nova)`);
        assert.equal(quota.volume?.gigabytes, 321, `${site.name} quota (Cinder)`);
      }

      // --- update: a flavor replace (vcpus) and an image metadata change
      three.write(patchOp('flavor', flavorId, { vcpus: 2 }), patchOp('image', imageId, { name: `sr-rec-${three.run}-renamed` }));
      const updateMs = await waitFor(() => `update in sync (${three.problems()})`, () => three.allInSync());
      t.diagnostic(`flavor replace + image patch on 3 real sites in ${updateMs} ms`);
      for (const site of three.sites) {
        assert.equal((await site.driver.getFlavor(flavorId))?.vcpus, 2);
        assert.equal((await site.driver.getImage(imageId))?.name, `sr-rec-${three.run}-renamed`);
      }
      const entry = three.catalog.catalog.syncStatus({ kind: 'flavor', id: flavorId, site: 'site-a' })[0];
      assert.match(entry?.message ?? '', /replaced/);

      // --- drift made with direct API calls (no stackraft code path)
      const [a, b, c] = three.sites as [RealSite, RealSite, RealSite];
      const apisA = await a.driver.serviceApis();
      const apisB = await b.driver.serviceApis();
      const apisC = await c.driver.serviceApis();
      await apisA.image!.patchImage(imageId, [{ op: 'replace', path: '/name', value: 'changed by hand' }]);
      await apisA.volumeQuotas!.set(a.project, { gigabytes: 1 });
      await apisB.compute!.deleteFlavor(flavorId);
      await apisC.compute!.setExtraSpecs(flavorId, { 'hw:cpu_policy': 'dedicated', 'hw:mem_page_size': 'large' });
      // A managed flavor nobody asked for, and the operator's own flavor (no marker).
      await b.driver.createFlavor({ id: strayId, name: `sr-rec-${three.run}.stray`, vcpus: 1, ram: 128, disk: 0, ephemeral: 0, swap: 0, rxtxFactor: 1, isPublic: true, extraSpecs: {} });
      await apisOutOfBand(apisC).createFlavor(operatorId, `sr-rec-${three.run}.operator`);
      const driftMs = await waitFor('drift repaired', async () => {
        const image = await a.driver.getImage(imageId);
        const quota = await a.driver.getQuota(a.project);
        const flavorB = await b.driver.getFlavor(flavorId);
        const stray = await b.driver.getFlavor(strayId);
        const flavorC = await c.driver.getFlavor(flavorId);
        return (
          image?.name === `sr-rec-${three.run}-renamed` &&
          quota.volume?.gigabytes === 321 &&
          flavorB?.vcpus === 2 &&
          stray === undefined &&
          flavorC !== undefined &&
          flavorC.extraSpecs['hw:cpu_policy'] === 'shared' &&
          !('hw:mem_page_size' in flavorC.extraSpecs)
        );
      });
      t.diagnostic(`out-of-band drift on 3 real sites repaired ${driftMs} ms after it was made (audit every ${AUDIT_MS} ms)`);
      const operator = await c.driver.getFlavor(operatorId);
      assert.equal(operator?.managed, false, "the operator's flavor is still there, untouched");
      assert.equal(operator?.name, `sr-rec-${three.run}.operator`);
      await waitFor(() => `in sync after repair (${three.problems()})`, () => three.allInSync());

      // --- removal: the catalog deletes everything (the protected image is unprotected first)
      three.write(patchOp('image', imageId, { protected: false }));
      three.write(deleteOp('flavor', flavorId), deleteOp('image', imageId), ...three.sites.map((s) => deleteOp('quota', s.project)));
      const removeMs = await waitFor('removed everywhere', async () => {
        for (const site of three.sites) {
          if ((await site.driver.getFlavor(flavorId)) !== undefined) return false;
          if ((await site.driver.getImage(imageId)) !== undefined) return false;
          const quota = await site.driver.getQuota(site.project);
          if (quota.compute?.cores === 33 || quota.volume?.gigabytes === 321) return false;
        }
        return three.catalog.catalog.syncStatus().length === 0;
      });
      t.diagnostic(`removal from 3 real sites (and sync entries cleared) in ${removeMs} ms`);
      assert.ok(await c.driver.getFlavor(operatorId), "the operator's flavor survives the removals");
    } finally {
      await three.close();
      await cleanLab(urls, three, [flavorId, strayId, operatorId], [imageId]);
    }
  });

  it("gives a private flavor project access on each real site (Nova os-flavor-access), repairs access changed by hand, and takes it away in place", async (t) => {
    const urls = await labUrls();
    if (typeof urls === 'string') return t.skip(urls);
    const three = new ThreeSites();
    const idOf = (site: RealSite) => `sr-rec-${three.run}-access-${site.name}`;
    try {
      await three.open(urls);
      // Keystone project ids differ between sites: one private flavor per site, placed there, for its project.
      three.write(...three.sites.map((s) => putOp('flavor', idOf(s), { name: idOf(s), vcpus: 1, ram: 128, disk: 0, isPublic: false, accessProjects: [s.project] }, { placement: [s.name] })));
      for (const site of three.sites) site.reconciler.start();
      await waitFor(() => `access flavors in sync (${three.problems()})`, () => three.allInSync());
      for (const site of three.sites) {
        const flavor = await site.driver.getFlavor(idOf(site));
        assert.equal(flavor?.isPublic, false, site.name);
        assert.deepEqual(flavor?.accessProjects, [site.project], `${site.name} access list`);
      }

      const a = three.sites[0]!;
      const apisA = await a.driver.serviceApis();
      await apisA.compute!.removeFlavorAccess(idOf(a), a.project);
      const repairMs = await waitFor('access repaired on site-a', async () => (await a.driver.getFlavor(idOf(a)))?.accessProjects.includes(a.project) === true);
      t.diagnostic(`access removed by hand on a real site was given back ${repairMs} ms later (audit every ${AUDIT_MS} ms)`);

      three.write(...three.sites.map((s) => patchOp('flavor', idOf(s), { accessProjects: null })));
      await waitFor(
        () => `access taken away everywhere (${three.problems()})`,
        async () => {
          for (const site of three.sites) if ((await site.driver.getFlavor(idOf(site)))?.accessProjects.length !== 0) return false;
          return three.allInSync();
        },
      );
      for (const site of three.sites) {
        const entry = three.catalog.catalog.syncStatus({ kind: 'flavor', id: idOf(site), site: site.name })[0];
        assert.doesNotMatch(entry?.message ?? '', /replaced/, `${site.name}: changed in place`);
      }
    } finally {
      await three.close();
      await cleanLab(urls, three, three.sites.map(idOf), []);
    }
  });
});
