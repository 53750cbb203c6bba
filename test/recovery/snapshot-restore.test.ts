// `stackraft snapshot save` from a follower of a real 3-site cluster, and `snapshot restore` of that
// file into a new site that then runs as a one-member cluster of a new incarnation holding exactly
// the backed-up catalog. Restore refuses a running agent, a data directory with a store, and
// damaged files, changing nothing.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { AdminHttp } from '../agent/admin-http.js';
import { AgentCluster, CLUSTER_WAIT_MS } from '../agent/cluster.js';
import { putFlavor } from '../agent/fixtures.js';
import { runCli } from '../agent/run-cli.js';
import { handMadeSite, type HandMadeSite } from './helpers.js';

const FLAVORS_BEFORE = 12;

describe('snapshot save and restore with real agents', { timeout: 180_000 }, () => {
  let cluster: AgentCluster;
  let restored: HandMadeSite | null = null;
  let admin: AdminHttp | null = null;
  const backedUp: string[] = [];
  let file = '';
  let savedIndex = 0;

  before(async () => {
    cluster = await AgentCluster.start({ sites: 3, prefix: 'stackraft-backup-' });
    file = join(cluster.dir, 'catalog.backup');
  });

  after(async () => {
    await admin?.close();
    await restored?.site.kill('SIGKILL').catch(() => undefined);
    await cluster?.destroy();
  });

  it('save --linearizable on a follower writes a checked file holding every write committed before it', { timeout: 60_000 }, async () => {
    const { leader } = await cluster.waitForLeader();
    const follower = cluster.sites.find((s) => s.name !== leader)!;
    let lastIndex = 0;
    for (let i = 0; i < FLAVORS_BEFORE; i++) {
      const id = `before-${i}-${randomUUID().slice(0, 8)}`;
      lastIndex = await putFlavor(cluster.admin(leader), id, 1);
      backedUp.push(id);
    }
    const saved = await runCli(['snapshot', 'save', file, '--linearizable'], { socket: follower.socketPath });
    assert.equal(saved.code, 0, saved.stderr);
    const match = /saved the catalog at index (\d+) \(term \d+, confirmed by the leader\) of cluster stackraft-e2e/.exec(saved.stdout);
    assert.ok(match, saved.stdout);
    savedIndex = Number(match[1]);
    assert.ok(savedIndex >= lastIndex, `the backup stands at ${savedIndex}, before the last acknowledged write ${lastIndex}`);

    const inspected = await runCli(['snapshot', 'inspect', file, '-f', 'json']);
    assert.equal(inspected.code, 0, inspected.stderr);
    const summary = JSON.parse(inspected.stdout);
    assert.equal(summary.index, savedIndex);
    assert.equal(summary.linearizable, true);
    assert.equal(summary.resources.flavor, FLAVORS_BEFORE);
    assert.equal(summary.resources.site, 3);
    assert.deepEqual([...summary.voters].sort(), ['site-1', 'site-2', 'site-3']);
    // Written after the backup: must not be in the restored cluster.
    await putFlavor(cluster.admin(leader), `after-${randomUUID().slice(0, 8)}`, 1);
  });

  it('restore refuses damaged, truncated and newer-format files with a clear error, changing nothing', { timeout: 60_000 }, async () => {
    restored = await handMadeSite(cluster.dir, 'restored-1');
    await restored.writeConfig({ clusterId: 'stackraft-restored' });
    const good = await readFile(file);
    const cases: Array<[string, Uint8Array, RegExp]> = [
      ['truncated', good.subarray(0, good.length - 100), /the file is truncated/],
      ['flipped', Uint8Array.from(good, (b, i) => (i === 200 ? b ^ 1 : b)), /checksum mismatch: the file is corrupt/],
      ['newer', Uint8Array.from(good, (b, i) => (i === 19 ? 9 : b)), /format version 9, newer than this stackraft reads/],
    ];
    for (const [name, bytes, pattern] of cases) {
      const bad = join(cluster.dir, `${name}.backup`);
      await writeFile(bad, bytes);
      const run = await runCli(['snapshot', 'restore', bad, '--config', restored.site.configPath]);
      assert.equal(run.code, 1, `${name}: ${run.stdout}${run.stderr}`);
      assert.match(run.stderr, pattern, name);
      const inspected = await runCli(['snapshot', 'inspect', bad]);
      assert.equal(inspected.code, 1, name);
    }
    const listing = await runCli(['snapshot', 'restore', '--help']);
    assert.equal(listing.code, 0);
  });

  it('restore seeds a one-member cluster of a new incarnation with exactly the backed-up catalog', { timeout: 90_000 }, async () => {
    const site = restored!.site;
    const run = await runCli(['snapshot', 'restore', file, '--config', site.configPath]);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, new RegExp(`restored the catalog at index ${savedIndex} of cluster stackraft-e2e`));
    const again = await runCli(['snapshot', 'restore', file, '--config', site.configPath]);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /holds a store: a restore seeds a new cluster into a data directory without one/);

    await site.start(false, CLUSTER_WAIT_MS);
    admin = new AdminHttp(site.socketPath);
    await cluster.waitFor('the restored site to lead itself', async () => (await admin!.status()).role === 'leader');
    const status = (await admin.status()) as unknown as { incarnation: string; appliedIndex: number; members: Array<{ site: string; role: string }> };
    assert.match(status.incarnation, /^[0-9a-f]{32}$/);
    assert.deepEqual(status.members.map((m) => [m.site, m.role]), [['restored-1', 'voter']]);
    assert.ok(status.appliedIndex >= savedIndex);
    const flavors = await admin.request('GET', '/v1/resources/flavor');
    assert.deepEqual((flavors.json.items as Array<{ id: string }>).map((f) => f.id).sort(), [...backedUp].sort());
    // The old members' site records are gone; the restored site registers its own.
    await cluster.waitFor('the restored site to register itself', async () => {
      const sites = await admin!.request('GET', '/v1/resources/site');
      return JSON.stringify((sites.json.items as Array<{ id: string }>).map((s) => s.id)) === '["restored-1"]';
    });
    // The new cluster takes writes.
    await putFlavor(admin, `new-${randomUUID().slice(0, 8)}`, 2);

    const running = await runCli(['snapshot', 'restore', file, '--config', site.configPath]);
    assert.equal(running.code, 1);
    assert.match(running.stderr, /the agent of this site is running/);
  });
});
