// The operator's own tool against a dev cluster: `stackraft dev-cluster` writes clouds.yaml, the
// catalog places a flavor and an image, and the real python-openstackclient (Debian's
// python3-openstackclient, installed by .ci/run) lists them on a site's mock cloud with the same
// ids and fields, and downloads the image's bits intact. Skips, saying why, without the client.
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parse } from 'yaml';
import { DEV_CLUSTER_ID } from '../../agent/dev/cluster.js';
import { CLUSTER_EXTRA_SPEC, MANAGED_EXTRA_SPEC } from '../../drivers/index.js';
import { CLI_MAIN, spawnCli } from '../cli/cli-harness.js';
import { patternBytes, sha256, startSourceServer, type SourceServer } from '../drivers/source-server.js';

const IMAGE_ID = '7c1d6a52-3f0e-4d5a-9a7b-1e2f3a4b5c6d';
const FLAVOR_ID = 'os-cli-flavor';
const START_TIMEOUT_MS = 90_000;
const SYNC_TIMEOUT_MS = 60_000;
const OPENSTACK_TIMEOUT_MS = 60_000;

function openstackMissing(): string | undefined {
  const probe = spawnSync('openstack', ['--version'], { encoding: 'utf8', timeout: OPENSTACK_TIMEOUT_MS });
  if (probe.error !== undefined || probe.status !== 0) {
    return 'the openstack CLI is not installed (Debian: apt-get install python3-openstackclient; .ci/run installs it as root)';
  }
  return undefined;
}

const skip = openstackMissing();
if (skip) process.stdout.write(`# SKIP openstack CLI test: ${skip}\n`);

async function waitFor<T>(what: string, timeoutMs: number, check: () => Promise<T | undefined> | T | undefined): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`);
}

describe('the openstack CLI on a dev cluster site', { skip, timeout: 300_000 }, () => {
  let dir: string;
  let cluster: ChildProcess;
  let source: SourceServer;
  let clouds: string;
  let socket: string;
  let clusterOutput = '';
  const image = patternBytes(300_000, 17);

  const openstack = (cloud: string, ...args: string[]): unknown => {
    const run = spawnSync('openstack', ['--os-cloud', cloud, ...args, '-f', 'json'], {
      encoding: 'utf8',
      timeout: OPENSTACK_TIMEOUT_MS,
      env: { PATH: process.env.PATH ?? '', HOME: dir, OS_CLIENT_CONFIG_FILE: clouds },
    });
    assert.equal(run.status, 0, `openstack ${args.join(' ')}: ${run.stderr}`);
    return JSON.parse(run.stdout);
  };
  const stackraft = async (...args: string[]) => {
    const run = await spawnCli([...args], { env: { STACKRAFT_SOCKET: socket }, timeoutMs: 60_000 });
    assert.equal(run.code, 0, `stackraft ${args.join(' ')}: ${run.stderr}`);
    return run.stdout;
  };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'stackraft-oscli-'));
    source = await startSourceServer();
    cluster = spawn(process.execPath, [CLI_MAIN.pathname, 'dev-cluster', '--sites', '2', '--dir', join(dir, 'dev')], { stdio: ['ignore', 'pipe', 'pipe'] });
    cluster.stdout!.on('data', (chunk) => (clusterOutput += chunk));
    cluster.stderr!.on('data', (chunk) => (clusterOutput += chunk));
    const clusterFile = join(dir, 'dev', 'cluster.json');
    await waitFor(`the dev cluster (output so far: ${clusterOutput})`, START_TIMEOUT_MS, () => (existsSync(clusterFile) && cluster.exitCode === null ? true : undefined));
    const described = JSON.parse(readFileSync(clusterFile, 'utf8')) as { cloudsYaml: string; sites: Array<{ socket: string }> };
    clouds = described.cloudsYaml;
    socket = described.sites[0]!.socket;
  });

  after(async () => {
    if (cluster?.pid !== undefined && cluster.exitCode === null) {
      const exited = new Promise((resolve) => cluster.once('exit', resolve));
      process.kill(cluster.pid, 'SIGTERM');
      await exited;
    }
    await source?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('npm start prints and writes a clouds.yaml with one cloud per site', async () => {
    const doc = parse(readFileSync(clouds, 'utf8')) as { clouds: Record<string, { auth: { auth_url: string; username: string } }> };
    assert.deepEqual(Object.keys(doc.clouds), ['site-1', 'site-2']);
    assert.match(doc.clouds['site-1']!.auth.auth_url, /^http:\/\/127\.0\.0\.1:\d+\/identity\/v3$/);
    assert.notEqual(doc.clouds['site-1']!.auth.auth_url, doc.clouds['site-2']!.auth.auth_url);
    await waitFor('the printed usage', 10_000, () => (clusterOutput.includes('openstack --os-cloud site-1 flavor list') ? true : undefined));
    assert.match(clusterOutput, /clouds\.yaml:\n {2}# Written by stackraft dev-cluster/);
  });

  it('lists the flavor and the image the catalog placed, with the same ids and fields, and downloads the bits', async () => {
    const src = source.put('cirros.qcow2', image, 'sha256');
    await stackraft('flavor', 'create', 'm1.oscli', '--id', FLAVOR_ID, '--vcpus', '2', '--ram', '3072', '--disk', '15', '--ephemeral', '1', '--property', 'hw:cpu_policy=shared', '--description', 'seen by openstack');
    await stackraft('image', 'create', 'cirros-oscli', '--id', IMAGE_ID, '--disk-format', 'qcow2', '--container-format', 'bare', '--source-url', src.url, '--sha256', src.sha256!, '--min-ram', '256', '--property', 'os_distro=cirros');
    await waitFor('both resources in sync on both sites', SYNC_TIMEOUT_MS, async () => {
      const rows = JSON.parse(await stackraft('sync', 'status', '-f', 'json')) as Array<Record<string, unknown>>;
      const ours = rows.filter((r) => r.ID === FLAVOR_ID || r.ID === IMAGE_ID);
      return ours.length === 4 && ours.every((r) => r.State === 'in-sync') ? true : undefined;
    });

    // Every site's cloud has them (each site's own reconciler made them); the details on one.
    for (const site of ['site-1', 'site-2']) {
      const flavors = openstack(site, 'flavor', 'list', '--long') as Array<Record<string, unknown>>;
      const listed = flavors.find((f) => f.ID === FLAVOR_ID);
      assert.ok(listed, `${site}: ${JSON.stringify(flavors)}`);
      assert.deepEqual(
        { name: listed.Name, ram: listed.RAM, disk: listed.Disk, ephemeral: listed.Ephemeral, vcpus: listed.VCPUs, public: listed['Is Public'], properties: listed.Properties },
        // The reconciler marks what it manages with two extra specs of its own: managed, and by which cluster.
        { name: 'm1.oscli', ram: 3072, disk: 15, ephemeral: 1, vcpus: 2, public: true, properties: { 'hw:cpu_policy': 'shared', [MANAGED_EXTRA_SPEC]: 'true', [CLUSTER_EXTRA_SPEC]: DEV_CLUSTER_ID } },
      );
      const images = openstack(site, 'image', 'list') as Array<Record<string, unknown>>;
      assert.deepEqual(images.filter((i) => i.ID === IMAGE_ID), [{ ID: IMAGE_ID, Name: 'cirros-oscli', Status: 'active' }]);
    }
    const shown = openstack('site-2', 'flavor', 'show', FLAVOR_ID) as Record<string, unknown>;
    assert.equal(shown.id, FLAVOR_ID);
    assert.equal(shown.description, 'seen by openstack');
    const img = openstack('site-2', 'image', 'show', IMAGE_ID) as Record<string, unknown>;
    assert.deepEqual(
      { disk: img.disk_format, container: img.container_format, minRam: img.min_ram, size: img.size, visibility: img.visibility, distro: (img.properties as Record<string, unknown>).os_distro },
      { disk: 'qcow2', container: 'bare', minRam: 256, size: image.length, visibility: 'public', distro: 'cirros' },
    );

    const saved = join(dir, 'saved.img');
    const save = spawnSync('openstack', ['--os-cloud', 'site-2', 'image', 'save', '--file', saved, IMAGE_ID], {
      encoding: 'utf8',
      timeout: OPENSTACK_TIMEOUT_MS,
      env: { PATH: process.env.PATH ?? '', HOME: dir, OS_CLIENT_CONFIG_FILE: clouds },
    });
    assert.equal(save.status, 0, save.stderr);
    assert.equal(sha256(readFileSync(saved)), sha256(image));
  });

  it('quota set and show work through the standard client (Nova and Cinder quota sets)', () => {
    const set = spawnSync('openstack', ['--os-cloud', 'site-1', 'quota', 'set', '--cores', '11', '--volumes', '4', 'admin'], {
      encoding: 'utf8',
      timeout: OPENSTACK_TIMEOUT_MS,
      env: { PATH: process.env.PATH ?? '', HOME: dir, OS_CLIENT_CONFIG_FILE: clouds },
    });
    assert.equal(set.status, 0, set.stderr);
    const quota = openstack('site-1', 'quota', 'show', 'admin') as Record<string, unknown>;
    assert.equal(quota.cores, 11);
    assert.equal(quota.volumes, 4);
    assert.match(String(quota.project), /^[0-9a-f]{32}$/);
    assert.equal(quota.project_name, 'admin');
  });
});
