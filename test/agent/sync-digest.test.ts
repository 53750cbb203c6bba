// Compact sync state on real agents: three agent processes, each reconciling its own mock
// OpenStack cloud over HTTP. `stackraft sync status` (the CLI binary) must still show every site x
// resource cell right, computed from one digest per site plus exceptions, while the catalog (read
// back from a backup taken through the CLI) holds no per-resource record for what is in sync; a
// cloud that fails shows as an exception and clears; and once converged, the reconcilers commit
// nothing more.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { decodeSnapshotImage } from '../../agent/catalog/snapshot-image.js';
import { decodeBackup } from '../../agent/recovery/backup-file.js';
import { AgentCluster } from './cluster.js';
import { flavorSpec } from './fixtures.js';
import { runCli } from './run-cli.js';

interface SyncRow {
  Site: string;
  Kind: string;
  ID: string;
  State: string;
  [column: string]: unknown;
}

const SITES = ['site-1', 'site-2', 'site-3'];
/** site-3 is the only site in Japan (test/agent/cluster.ts gives sites their places in order). */
const FLAVORS: Array<{ id: string; placement: string; on: string[] }> = [
  { id: 'dg-everywhere-1', placement: 'all', on: SITES },
  { id: 'dg-everywhere-2', placement: 'all', on: SITES },
  { id: 'dg-only-3', placement: 'country in (JP)', on: ['site-3'] },
];

describe('compact sync state on three real agents', { timeout: 240_000 }, () => {
  let cluster: AgentCluster;
  let dir: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'stackraft-syncdigest-'));
    cluster = await AgentCluster.start({ sites: 3, mockClouds: true, prefix: 'stackraft-e2e-sync-' });
  });

  after(async () => {
    await cluster?.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  const socket = (site: string): string => cluster.site(site).socketPath;

  async function syncRows(site = 'site-1'): Promise<SyncRow[]> {
    const run = await runCli(['sync', 'status', '-f', 'json'], { socket: socket(site) });
    assert.equal(run.code, 0, run.stderr);
    return (JSON.parse(run.stdout) as SyncRow[]).filter((r) => r.ID.startsWith('dg-'));
  }

  const cells = (rows: SyncRow[]): string[] => rows.map((r) => `${r.Site} ${r.ID} ${r.State}`).sort();
  const expected = (stateOf: (site: string, id: string) => string): string[] =>
    FLAVORS.flatMap((f) => f.on.map((s) => `${s} ${f.id} ${stateOf(s, f.id)}`)).sort();

  async function waitForCells(want: string[], timeoutMs = 60_000): Promise<void> {
    let last: string[] = [];
    await cluster.waitFor(`sync status ${JSON.stringify(want)}`, async () => {
      last = cells(await syncRows());
      return JSON.stringify(last) === JSON.stringify(want);
    }, timeoutMs).catch((err: Error) => {
      throw new Error(`${err.message}; last seen ${JSON.stringify(last)}`);
    });
  }

  async function catalogKeys(): Promise<string[]> {
    const file = join(dir, `backup-${Date.now()}.srbak`);
    const run = await runCli(['snapshot', 'save', file], { socket: socket('site-2') });
    assert.equal(run.code, 0, run.stderr);
    return decodeSnapshotImage(decodeBackup(readFileSync(file)).image).map(([key]) => key);
  }

  it('every site x resource cell is in sync, from one digest per site and no per-resource record', async () => {
    await cluster.waitForLeader();
    for (const f of FLAVORS) {
      const reply = await cluster.admin('site-1').write('PUT', `/v1/resources/flavor/${f.id}`, { spec: flavorSpec(f.id), placement: f.placement });
      assert.equal(reply.status, 200, reply.text);
    }
    await waitForCells(expected(() => 'in-sync'));
    for (const site of SITES) {
      const rows = await syncRows(site);
      assert.deepEqual(cells(rows), expected(() => 'in-sync'), `the same view from ${site}`);
    }
    for (const site of SITES) {
      const ids = cluster.clouds.get(site)!.model.listFlavors().map((f) => f.id).filter((id) => id.startsWith('dg-')).sort();
      assert.deepEqual(ids, FLAVORS.filter((f) => f.on.includes(site)).map((f) => f.id).sort(), `${site}'s cloud`);
    }
    const keys = await catalogKeys();
    assert.deepEqual(keys.filter((k) => k.startsWith('d/')).sort(), SITES.map((s) => `d/${s}`));
    assert.deepEqual(keys.filter((k) => k.startsWith('y/') && k.includes('/dg-')), [], 'no per-resource sync record for what is in sync');
  });

  it('a failing cloud shows as an exception on its site only, and clears when the cloud recovers', async () => {
    const cloud = cluster.clouds.get('site-2')!;
    cloud.faults.set({ errorRate: 1 });
    try {
      const reply = await cluster.admin('site-1').write('PATCH', '/v1/resources/flavor/dg-everywhere-1', { patch: { description: 'changed in place' } });
      assert.equal(reply.status, 200, reply.text);
      let rows: SyncRow[] = [];
      // A 503 may clear by itself: it is retried quietly and reported once it persists.
      await cluster.waitFor('site-2 failing on dg-everywhere-1, every other site in sync at the new revision', async () => {
        rows = await syncRows();
        const failing = rows.find((r) => r.Site === 'site-2' && r.ID === 'dg-everywhere-1');
        return failing !== undefined && ['error', 'unreachable'].includes(failing.State) && rows.filter((r) => r.Site !== 'site-2').every((r) => r.State === 'in-sync');
      }, 120_000);
      assert.equal(rows.filter((r) => r.Site !== 'site-2').length, 5);
      const keys = await catalogKeys();
      assert.ok(keys.includes('y/flavor/dg-everywhere-1/site-2'), `the failure is stored as an exception: ${keys.filter((k) => k.startsWith('y/')).join(', ')} ${JSON.stringify(rows)}`);
    } finally {
      cloud.faults.set({ errorRate: 0 });
    }
    await waitForCells(expected(() => 'in-sync'), 150_000);
    assert.equal(cluster.clouds.get('site-2')!.model.getFlavor('dg-everywhere-1').description, 'changed in place');
    const keys = await catalogKeys();
    assert.deepEqual(keys.filter((k) => k.startsWith('y/') && k.includes('/dg-')), [], 'the exceptions are gone again');
  });

  it('once converged, the reconcilers commit nothing more', async () => {
    const applied = async (): Promise<number[]> => Promise.all(SITES.map(async (s) => (await cluster.admin(s).status()).appliedIndex));
    await cluster.waitFor('every site at one applied index', async () => new Set(await applied()).size === 1);
    const start = (await applied())[0];
    await new Promise((r) => setTimeout(r, 5_000));
    const end = await applied();
    const leader = (await cluster.waitForLeader()).leader;
    const entries = await cluster.admin(leader).request('GET', '/v1/status');
    assert.deepEqual(end, SITES.map(() => start), `no entry committed in 5 s of quiet: ${JSON.stringify(entries.json).slice(0, 3000)}`);
  });
});
