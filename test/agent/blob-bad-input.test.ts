// Bad input on the way of an image's bits, with real agent processes on 127.0.0.1 (three sites,
// each with its own mock Glance; site-1 serves blobs at 2 MB/s so a transfer is still running when
// the test acts). Each case ends with a clear error where the operator looks (`sync status`, or the
// CLI), no bits in Glance, and the agent up:
//  - the fetching site's blob store is full;
//  - the file changes while it is uploaded;
//  - the image is deleted while its bits are on their way;
//  - the fetching site cannot reach any holder.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { closeSync, openSync, writeSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { AdminClient } from '../../agent/cli/client.js';
import { CliError, EXIT } from '../../agent/cli/errors.js';
import { UPLOAD_PART_BYTES, uploadFile } from '../../agent/cli/upload.js';
import { AgentCluster } from './cluster.js';
import { runCli } from './run-cli.js';
import { patternBytes } from '../blobs/helpers.js';

const MIB = 1024 * 1024;
/** site-2's blob store: smaller than two 4 MiB chunks. */
const SMALL_STORE_BYTES = 6 * MIB;
const WAIT_MS = 90_000;

interface SyncRow {
  id: string;
  state: string;
  message?: string;
}

function metric(text: string, name: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `));
  return line === undefined ? Number.NaN : Number(line.trim().split(/\s+/).pop());
}

describe('bad input on the way of image bits (real agents)', () => {
  let cluster: AgentCluster;
  before(async () => {
    cluster = await AgentCluster.start({
      sites: 3,
      voters: 3,
      mockClouds: true,
      prefix: 'stackraft-blobs-bad-',
      siteConfig: (name) =>
        name === 'site-1' ? { blobs: { uploadBytesPerSecond: 2_000_000 } } : name === 'site-2' ? { blobs: { maxBytes: SMALL_STORE_BYTES } } : {},
    });
  });
  after(async () => {
    await cluster?.destroy();
  });

  /** The image's row in `sync status` for one site, asked of `askAt`. */
  async function syncRow(askAt: string, site: string, id: string): Promise<SyncRow | undefined> {
    const sync = (await cluster.admin(askAt).request('GET', '/v1/sync')).json as { sites: { site: string; resources: SyncRow[] }[] };
    return sync.sites.find((s) => s.site === site)?.resources.find((r) => r.id === id);
  }

  async function upload(name: string, mib: number, placement: string, seed: number): Promise<{ id: string; root: string }> {
    const file = join(cluster.dir, `${name}.raw`);
    await writeFile(file, patternBytes(mib * MIB, seed));
    const id = randomUUID();
    const run = await runCli(['image', 'create', name, '--id', id, '--disk-format', 'raw', '--container-format', 'bare', '--file', file, '--placement', placement], {
      socket: cluster.site('site-1').socketPath,
    });
    assert.equal(run.code, 0, run.stderr);
    const root = (await cluster.admin('site-1').request('GET', `/v1/resources/image/${id}`)).json.resource.spec.source.blob.root as string;
    return { id, root };
  }

  /** A row of a site whose fetch cannot go on: `error` when its last attempt failed, `fetching` while the next one runs (the message keeps the last error). */
  function notThereYet(row: SyncRow | undefined): boolean {
    return row !== undefined && (row.state === 'error' || row.state === 'fetching');
  }

  /** Whether any of the image's bits went to the site's Glance: an upload of its file, or an active image. (The reconciler creates the queued image record before it has bits to send.) */
  function bitsInGlance(site: string, id: string): boolean {
    const cloud = cluster.clouds.get(site)!;
    const uploads = cloud.requests.filter((r) => r.method === 'PUT' && r.path.endsWith(`/images/${id}/file`)).length;
    return uploads > 0 || cloud.model.listImages().some((i) => i.id === id && i.status === 'active');
  }

  it('a fetching site whose blob store is full says so in sync status, keeps within its bound, and stays up', async (t) => {
    const { id } = await upload('too-big', 10, 'site in (site-1, site-2)', 51);
    t.after(() => runCli(['image', 'delete', id], { socket: cluster.site('site-1').socketPath }));
    let row: SyncRow | undefined;
    await cluster.waitFor("site-2's sync row to say its blob store is full", async () => {
      row = await syncRow('site-1', 'site-2', id);
      return notThereYet(row) && /blob store full/.test(row!.message ?? '');
    }, WAIT_MS);
    t.diagnostic(`site-2: ${row!.state}: ${row!.message}`);
    const metrics = await cluster.admin('site-2').metrics();
    assert.ok(metric(metrics, 'stackraft_blob_store_bytes') <= SMALL_STORE_BYTES, 'the store stays within its bound');
    assert.ok(metric(metrics, 'stackraft_blob_store_full_total') >= 1, 'the refusal is counted');
    assert.equal(bitsInGlance('site-2', id), false, 'nothing of the image reached Glance');
    assert.ok(cluster.site('site-2').running);
  });

  it('a file that changes while it is uploaded is refused and nothing of it stays at the agent', async () => {
    const file = join(cluster.dir, 'changing.raw');
    await writeFile(file, patternBytes(UPLOAD_PART_BYTES + 3 * MIB, 52));
    const admin = cluster.admin('site-1');
    const beforeText = await admin.metrics();
    const before = { blobs: metric(beforeText, 'stackraft_blob_store_blobs'), bytes: metric(beforeText, 'stackraft_blob_store_bytes') };
    const client = new AdminClient(cluster.site('site-1').socketPath);
    let changed = false;
    try {
      await assert.rejects(
        uploadFile(client, file, {}, (sent) => {
          // After the first part has gone, a byte the agent already has is rewritten in place (the
          // size stays): only the file's modification time tells.
          if (!changed && sent >= UPLOAD_PART_BYTES) {
            changed = true;
            const fd = openSync(file, 'r+');
            writeSync(fd, Buffer.from([0x55]), 0, 1, 10);
            closeSync(fd);
          }
        }),
        (err: Error) => err instanceof CliError && err.exitCode === EXIT.REJECTED && /changed while it was being uploaded/.test(err.message),
      );
    } finally {
      await client.close();
    }
    assert.ok(changed, 'the file was changed mid-upload');
    const metrics = await admin.metrics();
    // (Only the removal of the first case's blob may still run meanwhile: the store can only have shrunk.)
    assert.ok(metric(metrics, 'stackraft_blob_store_blobs') <= before.blobs, 'no blob was added');
    assert.ok(metric(metrics, 'stackraft_blob_store_bytes') <= before.bytes, 'no chunk of it stays');
    assert.ok(cluster.site('site-1').running);
  });

  it('an image deleted while its bits are on their way: the fetch stops at once, the site drops what it got, nothing reaches Glance', async (t) => {
    // 32 MiB at 2 MB/s: the delete lands long before the last chunk.
    const { id, root } = await upload('deleted-midway', 32, 'site in (site-1, site-3)', 53);
    const state = async () => (await cluster.admin('site-3').request('GET', `/v1/blobs/${root}`)).json;
    await cluster.waitFor('site-3 to be fetching', async () => (await state()).fetch?.state === 'fetching', WAIT_MS);
    const deleted = await runCli(['image', 'delete', id], { socket: cluster.site('site-1').socketPath });
    assert.equal(deleted.code, 0, deleted.stderr);
    await cluster.waitFor("site-3's fetch to end and its store to drop the blob", async () => {
      const metrics = await cluster.admin('site-3').metrics();
      return metric(metrics, 'stackraft_blob_store_blobs') === 0 && metric(metrics, 'stackraft_blob_store_bytes') === 0 && (await state()).fetch?.state !== 'fetching';
    }, WAIT_MS);
    const fetch = (await state()).fetch;
    t.diagnostic(`site-3's fetch: ${JSON.stringify(fetch ?? null)}`);
    assert.equal(fetch?.state, 'failed', 'the fetch stopped before its end');
    assert.match(fetch?.lastError ?? '', /fetch stopped: no image placed at this site needs the blob any more/);
    assert.equal(bitsInGlance('site-3', id), false, 'nothing of the image reached Glance');
    assert.equal((await syncRow('site-1', 'site-3', id))?.state === 'error', false, 'no error row is left for a deleted image');
    assert.ok(cluster.site('site-3').running);
  });

  it('a site that cannot reach any holder says so in sync status, naming the holder, and stays up', async (t) => {
    const { id } = await upload('unreachable', 9, 'site in (site-1, site-3)', 54);
    const root = (await cluster.admin('site-1').request('GET', `/v1/resources/image/${id}`)).json.resource.spec.source.blob.root as string;
    await cluster.waitFor('site-3 to be fetching', async () => (await cluster.admin('site-3').request('GET', `/v1/blobs/${root}`)).json.fetch?.state === 'fetching', WAIT_MS);
    // The origin, the only holder, goes away; site-2 and site-3 still make a quorum, so site-3's report commits.
    await cluster.kill('site-1');
    let row: SyncRow | undefined;
    await cluster.waitFor("site-3's sync row to say no holder could be reached", async () => {
      row = await syncRow('site-2', 'site-3', id);
      return notThereYet(row) && /last error: .*site-1/.test(row!.message ?? '');
    }, WAIT_MS);
    t.diagnostic(`site-3: ${row!.state}: ${row!.message}`);
    assert.equal(bitsInGlance('site-3', id), false, 'nothing of the image reached Glance');
    assert.ok(cluster.site('site-3').running);
  });
});
