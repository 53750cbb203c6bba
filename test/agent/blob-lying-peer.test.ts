// A lying holder among real agent processes on 127.0.0.1. Four sites, three voters (site-4 a
// learner), each with its own mock Glance. site-4 is stopped; an image placed on site-1, site-3 and
// site-4 is uploaded at site-1 and site-3 fetches it honestly and reports it in sync. Then site-3 is
// killed and a lying holder (lying-holder.ts: site-3's key and address, the agent's own blob server
// and store, every chunk served with a byte flipped) takes its place. site-4 starts and fetches from
// the catalog's holders, site-1 and site-3: the liar gets requests (site-1 takes at most 4 at once of
// the blob's 5 chunks), and site-4 must count the bad chunk, log the liar, avoid it, fetch the chunk
// from site-1, and bring the image into its Glance with the file's digests, still up.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, describe, it } from 'node:test';
import { AgentCluster } from './cluster.js';
import { runCli } from './run-cli.js';
import { patternBytes } from '../blobs/helpers.js';

/** Four 4 MiB chunks and a short one: one more chunk than site-1's per-member request limit. */
const FILE_BYTES = 4 * 4 * 1024 * 1024 + 4_321;
const LIAR_SCRIPT = new URL('./lying-holder.js', import.meta.url).pathname;
const READY_WAIT_MS = 30_000;

function metric(text: string, name: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `));
  return line === undefined ? Number.NaN : Number(line.trim().split(/\s+/).pop());
}

interface Liar {
  child: ChildProcess;
  lies: string[];
}

async function startLiar(args: string[]): Promise<Liar> {
  const child = spawn(process.execPath, [LIAR_SCRIPT, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const lies: string[] = [];
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const lines = createInterface({ input: child.stdout! });
  const ready = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the lying holder did not start within ${READY_WAIT_MS} ms: ${stderr}`)), READY_WAIT_MS);
    child.once('exit', (code) => reject(new Error(`the lying holder exited (${code}): ${stderr}`)));
    lines.on('line', (line) => {
      if (line.startsWith('ready ')) {
        clearTimeout(timer);
        resolve();
      } else if (line.startsWith('lied ')) lies.push(line.slice('lied '.length));
    });
  });
  await ready;
  return { child, lies };
}

async function stopLiar(liar: Liar | undefined): Promise<void> {
  if (liar === undefined || liar.child.exitCode !== null || liar.child.pid === undefined) return;
  const exited = once(liar.child, 'exit');
  process.kill(liar.child.pid, 'SIGKILL');
  await exited;
}

describe('a holder that serves corrupt chunks (real agent processes)', () => {
  let cluster: AgentCluster;
  let liar: Liar | undefined;
  before(async () => {
    cluster = await AgentCluster.start({ sites: 4, voters: 3, mockClouds: true, prefix: 'stackraft-blobs-liar-' });
  });
  after(async () => {
    await stopLiar(liar);
    await cluster?.destroy();
  });

  it('the fetching site counts the bad chunk, logs and avoids the liar, fetches the chunk elsewhere, and only the right bits reach its Glance', async () => {
    await cluster.kill('site-4');
    const bytes = patternBytes(FILE_BYTES, 77);
    const file = join(cluster.dir, 'liar.raw');
    await writeFile(file, bytes);
    const id = randomUUID();
    const upload = await runCli(
      ['image', 'create', 'lied-about', '--id', id, '--disk-format', 'raw', '--container-format', 'bare', '--file', file, '--placement', 'site in (site-1, site-3, site-4)'],
      { socket: cluster.site('site-1').socketPath },
    );
    assert.equal(upload.code, 0, upload.stderr);
    const root = (await cluster.admin('site-1').request('GET', `/v1/resources/image/${id}`)).json.resource.spec.source.blob.root as string;

    // site-3 becomes a holder the catalog names: in sync at the image's revision.
    await cluster.waitFor('site-3 in sync with the image', async () => {
      const sync = (await cluster.admin('site-1').request('GET', '/v1/sync')).json as { sites: { site: string; resources: { id: string; state: string }[] }[] };
      return sync.sites.find((s) => s.site === 'site-3')?.resources.some((r) => r.id === id && r.state === 'in-sync') === true;
    }, 90_000);

    const site3 = cluster.site('site-3');
    await cluster.kill('site-3');
    liar = await startLiar([
      '--data-dir', site3.dataDir,
      '--listen', `/ip4/127.0.0.1/tcp/${site3.port}`,
      '--cluster', cluster.clusterId,
      ...cluster.sites.filter((s) => s.name !== 'site-3').flatMap((s) => ['--allow', s.peerId]),
    ]);

    await cluster.restart('site-4');
    const model = cluster.clouds.get('site-4')!.model;
    await cluster.waitFor(`image ${id} active in site-4's Glance`, async () => model.listImages().some((i) => i.id === id && i.status === 'active'), 120_000);

    // Only the file's bits reached site-4's Glance.
    const image = model.getImage(id);
    assert.equal(image.size, FILE_BYTES);
    assert.equal(image.checksum, createHash('md5').update(bytes).digest('hex'));
    assert.equal(image.osHashValue, createHash('sha512').update(bytes).digest('hex'));

    // The liar was asked and lied; site-4 counted it, avoided it and got every chunk once, verified.
    assert.ok(liar.lies.length >= 1, 'the lying holder served at least one corrupt chunk');
    const admin4 = cluster.admin('site-4');
    const metrics = await admin4.metrics();
    assert.ok(metric(metrics, 'stackraft_blob_bad_chunks_total') >= 1, 'site-4 counted the bad chunk');
    assert.ok(metric(metrics, 'stackraft_blob_bad_chunks_total') <= liar.lies.length, 'no more bad chunks counted than the liar served');
    assert.equal(metric(metrics, 'stackraft_blob_fetched_bytes_total'), FILE_BYTES, 'each chunk stored once, verified');
    const state = (await admin4.request('GET', `/v1/blobs/${root}`)).json;
    assert.deepEqual(state.fetch.avoided, ['site-3'], 'the liar is avoided for this blob');
    assert.equal(state.fetch.state, 'done');
    const log = await cluster.site('site-4').logTail();
    assert.match(log, /a peer served blob bytes that failed verification/);
    assert.match(log, /"member":"site-3"/);

    // site-4 stays up and the image is in sync there.
    assert.ok(cluster.site('site-4').running, 'site-4 is still running');
    await cluster.waitFor('site-4 in sync with the image', async () => {
      const sync = (await admin4.request('GET', '/v1/sync')).json as { sites: { site: string; resources: { id: string; state: string }[] }[] };
      return sync.sites.find((s) => s.site === 'site-4')?.resources.some((r) => r.id === id && r.state === 'in-sync') === true;
    }, 60_000);
  });
});
