// Each CLI command against a fake agent (in process): what it sends to the admin API, what it
// prints, and how it refuses bad input before sending anything.
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import type { WriteOp, WriteOptions } from '../../agent/admin/service.js';
import { startHarness, type AdminHarness } from '../admin/harness.js';
import { runInProcess, type CliRun } from './cli-harness.js';

const PEER = '12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA';
const IMAGE_ID = '2b9c6e6e-8a0e-4bd5-b3e9-5bd14a5d0a11';
const SERVER_1 = '0f4e2c1a-1111-4c2a-9e1f-0a1b2c3d4e5f';
const SERVER_2 = '0f4e2c1a-2222-4c2a-9e1f-0a1b2c3d4e5f';
const SHA256 = 'ab'.repeat(32);

describe('stackraft commands', { timeout: 30_000 }, () => {
  let h: AdminHarness;
  const cli = (...args: string[]): Promise<CliRun> => runInProcess(args, { socketPath: h.socketPath });
  const lastWrite = () => h.service.callsOf('write').at(-1) as [WriteOp[], WriteOptions];
  const writes = () => h.service.callsOf('write').length;
  const ok = (run: CliRun) => assert.equal(run.code, 0, `exit ${run.code}: ${run.stderr}`);

  before(async () => {
    h = await startHarness();
  });
  after(async () => {
    await h.close();
  });
  beforeEach(() => {
    h.service.scriptedWrites.length = 0;
  });

  describe('flavor', () => {
    it('create sends the catalog spec with expectedRevision 0 and shows the result', async () => {
      const run = await cli('flavor', 'create', 'm1.small', '--id', 'small', '--vcpus', '2', '--ram', '4096', '--disk', '20', '--ephemeral', '5', '--swap', '512', '--rxtx-factor', '1.5', '--private', '--property', 'hw:cpu_policy=shared', '--property', 'k=v=w', '--description', 'small one', '--placement', 'country in (DE)', '-f', 'json');
      ok(run);
      const [ops, options] = lastWrite();
      assert.deepEqual(ops, [{
        op: 'put',
        kind: 'flavor',
        id: 'small',
        spec: { name: 'm1.small', vcpus: 2, ram: 4096, disk: 20, ephemeral: 5, swap: 512, rxtxFactor: 1.5, isPublic: false, extraSpecs: { 'hw:cpu_policy': 'shared', k: 'v=w' }, description: 'small one' },
        placement: 'country in (DE)',
        expectedRevision: 0,
      }]);
      assert.match(options.clientId, /^cli-[0-9a-f-]{36}$/);
      assert.equal(options.seq, 1);
      assert.equal(options.timeoutMs, 30_000);
      const shown = JSON.parse(run.stdout) as Record<string, unknown>;
      assert.equal(shown.id, 'small');
      assert.equal(shown.is_public, false);
      assert.equal(shown.placement, 'country in (DE)');
      assert.equal(typeof shown.revision, 'number');
    });

    it('create without --id generates a UUID; --public and --private together is a usage error', async () => {
      ok(await cli('flavor', 'create', 'm1.tiny', '--vcpus', '1', '--ram', '512', '--disk', '1'));
      assert.match(lastWrite()[0][0].id, /^[0-9a-f]{8}-[0-9a-f]{4}-/);
      const before = writes();
      const both = await cli('flavor', 'create', 'x', '--vcpus', '1', '--ram', '512', '--disk', '1', '--public', '--private');
      assert.equal(both.code, 2);
      assert.match(both.stderr, /--public and --private cannot be used together/);
      const negative = await cli('flavor', 'create', 'x', '--vcpus', '1', '--ram', '512', '--disk', '-1');
      assert.equal(negative.code, 2);
      assert.equal(writes(), before);
    });

    it("create refuses the ids '.' and '..' before sending (exit 4)", async () => {
      const before = writes();
      for (const id of ['.', '..']) {
        const run = await cli('flavor', 'create', 'x', '--id', id, '--vcpus', '1', '--ram', '512', '--disk', '1');
        assert.equal(run.code, 4, run.stderr);
        assert.match(run.stderr, /cannot be a flavor id: '\.' and '\.\.' are not usable as a path segment/);
      }
      assert.equal(writes(), before);
    });

    it('--project gives a private flavor access: create, set adds, unset takes away (the whole list is sent)', async () => {
      const before = writes();
      const notPrivate = await cli('flavor', 'create', 'acc', '--id', 'acc', '--vcpus', '1', '--ram', '512', '--disk', '1', '--project', 'p1');
      assert.equal(notPrivate.code, 2);
      assert.match(notPrivate.stderr, /--project gives a private flavor access: add --private/);
      assert.equal(writes(), before);
      ok(await cli('flavor', 'create', 'acc', '--id', 'acc', '--vcpus', '1', '--ram', '512', '--disk', '1', '--private', '--project', 'p1', '--project', 'p2', '--project', 'p1'));
      assert.deepEqual((lastWrite()[0][0] as { spec: Record<string, unknown> }).spec.accessProjects, ['p1', 'p2']);
      const shown = await cli('flavor', 'show', 'acc', '-f', 'json');
      assert.deepEqual((JSON.parse(shown.stdout) as Record<string, unknown>).access_project_ids, ['p1', 'p2']);
      ok(await cli('flavor', 'set', 'acc', '--project', 'p3'));
      assert.deepEqual((lastWrite()[0][0] as { patch: unknown }).patch, { accessProjects: ['p1', 'p2', 'p3'] });
      ok(await cli('flavor', 'unset', 'acc', '--project', 'p1', '--project', 'p3'));
      assert.deepEqual((lastWrite()[0][0] as { patch: unknown }).patch, { accessProjects: ['p2'] });
      ok(await cli('flavor', 'set', 'acc', '--no-project'));
      assert.deepEqual((lastWrite()[0][0] as { patch: unknown }).patch, { accessProjects: null });
    });

    it('list and list --long', async () => {
      const short = await cli('flavor', 'list', '-f', 'json');
      ok(short);
      const rows = JSON.parse(short.stdout) as Array<Record<string, unknown>>;
      assert.deepEqual(Object.keys(rows[0]), ['ID', 'Name', 'RAM', 'Disk', 'Ephemeral', 'VCPUs', 'Is Public', 'Placement']);
      const long = await cli('flavor', 'list', '--long', '-f', 'json');
      assert.ok(Object.keys((JSON.parse(long.stdout) as Array<Record<string, unknown>>)[0]).includes('Properties'));
      const linear = await cli('flavor', 'list', '--linearizable', '-f', 'value', '-c', 'id');
      ok(linear);
      assert.deepEqual(h.service.callsOf('list').at(-1), ['flavor', { linearizable: true }]);
    });

    it('a local read in table form says on stderr how stale it may be; machine formats and linearizable reads do not warn', async () => {
      const table = await cli('flavor', 'list');
      ok(table);
      assert.match(table.stderr, /^local read at applied index \d+ \(commit index \d+\): may miss writes committed in the last 15 ms .*--linearizable/m);
      assert.doesNotMatch(table.stdout, /local read/);
      const shown = await cli('flavor', 'show', 'small');
      ok(shown);
      assert.match(shown.stderr, /may miss writes committed in the last 15 ms/);
      const json = await cli('flavor', 'list', '-f', 'json');
      assert.equal(json.stderr, '');
      const linear = await cli('flavor', 'list', '--linearizable');
      assert.match(linear.stderr, /^linearizable read at index \d+$/m);
      assert.doesNotMatch(linear.stderr, /may miss/);
      const sites = await cli('site', 'list');
      assert.match(sites.stderr, /local read at applied index/);
    });

    it('set sends a merge patch of extraSpecs with the revision it read', async () => {
      const before = h.service.resources.get('flavor/small')!;
      ok(await cli('flavor', 'set', 'm1.small', '--property', 'a=1'));
      assert.deepEqual(lastWrite()[0], [{ op: 'patch', kind: 'flavor', id: 'small', patch: { extraSpecs: { a: '1' } }, expectedRevision: before.revision }]);
      const read = h.service.resources.get('flavor/small')!.revision;
      ok(await cli('flavor', 'set', 'small', '--no-property', '--property', 'b=2', '--no-placement'));
      assert.deepEqual(lastWrite()[0][0], { op: 'patch', kind: 'flavor', id: 'small', patch: { extraSpecs: { 'hw:cpu_policy': null, k: null, a: null, b: '2' } }, placement: 'all', expectedRevision: read });
      ok(await cli('flavor', 'unset', 'small', '--property', 'b'));
      assert.deepEqual(h.service.resources.get('flavor/small')!.spec.extraSpecs, {});
      const nothing = await cli('flavor', 'set', 'small');
      assert.equal(nothing.code, 2);
      assert.match(nothing.stderr, /nothing to change/);
    });

    it('show by name refuses an ambiguous name', async () => {
      h.service.seed('flavor', 'dup1', { name: 'dup', vcpus: 1, ram: 1, disk: 1 });
      h.service.seed('flavor', 'dup2', { name: 'dup', vcpus: 1, ram: 1, disk: 1 });
      const run = await cli('flavor', 'show', 'dup');
      assert.equal(run.code, 1);
      assert.match(run.stderr, /more than one flavor is named "dup" \(dup1, dup2\): use the id/);
    });

    it('delete removes several flavors in one atomic batch', async () => {
      const before = writes();
      ok(await cli('flavor', 'delete', 'dup1', 'dup2'));
      assert.equal(writes(), before + 1);
      assert.deepEqual(lastWrite()[0].map((op) => [op.op, op.id]), [['delete', 'dup1'], ['delete', 'dup2']]);
      const missing = await cli('flavor', 'delete', 'small', 'nope');
      assert.equal(missing.code, 1);
      assert.equal(writes(), before + 1, 'nothing is deleted when one name is unknown');
    });
  });

  describe('image', () => {
    it('create checks the id and digest, lower-cases the id and nests the source', async () => {
      const before = writes();
      for (const bad of [
        ['--id', 'not-a-uuid', '--sha256', SHA256],
        ['--id', IMAGE_ID],
        ['--id', IMAGE_ID, '--sha256', 'abc'],
        ['--id', IMAGE_ID, '--sha256', SHA256, '--sha512', SHA256 + SHA256],
      ]) {
        const run = await cli('image', 'create', 'cirros', '--disk-format', 'qcow2', '--container-format', 'bare', '--source-url', 'https://example.com/c.img', ...bad);
        assert.equal(run.code, 2, `${bad.join(' ')}: ${run.stderr}`);
      }
      const badFormat = await cli('image', 'create', 'cirros', '--id', IMAGE_ID, '--disk-format', 'qcow3', '--container-format', 'bare', '--source-url', 'https://example.com/c.img', '--sha256', SHA256);
      assert.match(badFormat.stderr, /--disk-format: expected one of .*qcow2/);
      assert.equal(writes(), before);

      ok(await cli('image', 'create', 'cirros', '--id', IMAGE_ID.toUpperCase(), '--disk-format', 'qcow2', '--container-format', 'bare', '--source-url', 'https://example.com/c.img', '--sha256', SHA256.toUpperCase(), '--community', '--min-disk', '1', '--min-ram', '256', '--protected', '--tag', 'b', '--tag', 'a', '--property', 'os_distro=cirros'));
      assert.deepEqual(lastWrite()[0][0], {
        op: 'put',
        kind: 'image',
        id: IMAGE_ID,
        spec: { name: 'cirros', diskFormat: 'qcow2', containerFormat: 'bare', source: { url: 'https://example.com/c.img', sha256: SHA256 }, visibility: 'community', minDisk: 1, minRam: 256, protected: true, properties: { os_distro: 'cirros' }, tags: ['a', 'b'] },
        expectedRevision: 0,
      });
    });

    it('create without --id draws a random UUID, writes it at revision 0 and prints it', async () => {
      const run = await cli('image', 'create', 'noid', '--disk-format', 'raw', '--container-format', 'bare', '--source-url', 'https://example.com/n.img', '--sha256', SHA256, '-f', 'json');
      ok(run);
      const write = lastWrite()[0][0] as { id: string; expectedRevision: number };
      assert.match(write.id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      assert.equal(write.expectedRevision, 0);
      assert.equal((JSON.parse(run.stdout) as { id: string }).id, write.id);
    });

    it('set adds tags and properties, unset removes them', async () => {
      ok(await cli('image', 'set', 'cirros', '--tag', 'c', '--property', 'hw_disk_bus=virtio', '--unprotected', '--public'));
      const patch = (lastWrite()[0][0] as { patch: Record<string, unknown> }).patch;
      assert.deepEqual(patch, { visibility: 'public', protected: false, properties: { hw_disk_bus: 'virtio' }, tags: ['a', 'b', 'c'] });
      ok(await cli('image', 'unset', IMAGE_ID, '--tag', 'a', '--property', 'os_distro'));
      const spec = h.service.resources.get(`image/${IMAGE_ID}`)!.spec;
      assert.deepEqual(spec.tags, ['b', 'c']);
      assert.deepEqual(spec.properties, { hw_disk_bus: 'virtio' });
      const show = await cli('image', 'show', 'cirros', '-f', 'value', '-c', 'checksum', '-c', 'source_url', '-c', 'blob');
      assert.equal(show.stdout, `sha256:${SHA256}\nhttps://example.com/c.img\n\n`);
    });

    it('show gives the root and size of a blob image, not the placeholder url of the catalog', async () => {
      const root = 'ab'.repeat(32);
      const view = h.service.resources.get(`image/${IMAGE_ID}`)!;
      h.service.resources.set('image/blobbed', { ...view, id: 'blobbed', spec: { ...view.spec, name: 'blobbed', source: { url: `http://blob.stackraft.invalid/${root}`, sha512: 'cd'.repeat(64), kind: 'file', origin: 'site-1', blob: { root, size: 3_000_000, md5: 'ef'.repeat(16) } } } });
      const show = await cli('image', 'show', 'blobbed', '-f', 'json');
      ok(show);
      const out = JSON.parse(show.stdout) as Record<string, unknown>;
      assert.equal(out.source_url, '');
      assert.equal(out.blob, `${root} (3000000 bytes)`);
      assert.equal(out.source_kind, 'file from site-1');
    });
  });

  describe('quota', () => {
    it('set creates the quota set, then changes one group at a time', async () => {
      ok(await cli('quota', 'set', 'proj1', '--cores', '10', '--ram', '4096', '--volumes', '-1'));
      assert.deepEqual(lastWrite()[0][0], { op: 'put', kind: 'quota', id: 'proj1', spec: { project: 'proj1', compute: { cores: 10, ram: 4096 }, volume: { volumes: -1 } }, expectedRevision: 0 });
      const revision = h.service.resources.get('quota/proj1')!.revision;
      ok(await cli('quota', 'set', 'proj1', '--instances', '5', '--placement', 'region = eu-west'));
      assert.deepEqual(lastWrite()[0][0], { op: 'patch', kind: 'quota', id: 'proj1', patch: { compute: { cores: 10, ram: 4096, instances: 5 } }, placement: 'region = eu-west', expectedRevision: revision });
      const bad = await cli('quota', 'set', 'proj1', '--cores', '-2');
      assert.equal(bad.code, 2);
      assert.match(bad.stderr, /--cores: expected an integer >= -1, got -2/);
    });

    it('show, list and delete', async () => {
      const show = await cli('quota', 'show', 'proj1', '-f', 'json');
      ok(show);
      const shown = JSON.parse(show.stdout) as Record<string, unknown>;
      assert.equal(shown.cores, 10);
      assert.equal(shown.instances, 5);
      assert.equal(shown.volumes, -1);
      assert.equal(shown.networks, null);
      const list = await cli('quota', 'list', '-f', 'value');
      assert.match(list.stdout, /^proj1 10 5 4096 -1 {2}region = eu-west\n$/);
      ok(await cli('quota', 'delete', 'proj1'));
      assert.equal(h.service.resources.get('quota/proj1'), undefined);
      assert.equal((await cli('quota', 'show', 'proj1')).code, 1);
    });
  });

  describe('protection-group', () => {
    it('create needs --reason with --force and server UUIDs as members', async () => {
      const before = writes();
      const args = ['protection-group', 'create', 'pg1', '--project', 'proj1', '--primary', 'eu-west-1', '--secondary', 'us-east-1', '--replication', 'sync', '--volume-type', 'replicated'];
      assert.equal((await cli(...args, '--force')).code, 2);
      assert.equal((await cli(...args, '--member', 'vm1')).code, 2);
      assert.equal((await cli(...args.map((a) => (a === 'us-east-1' ? 'eu-west-1' : a)))).code, 2);
      assert.equal(writes(), before);
      ok(await cli(...args, '--member', SERVER_1.toUpperCase(), '--force', '--reason', 'us-east-1 is being rebuilt'));
      const [ops, options] = lastWrite();
      assert.deepEqual(ops[0], { op: 'put', kind: 'protection-group', id: 'pg1', spec: { name: 'pg1', project: 'proj1', primarySite: 'eu-west-1', secondarySite: 'us-east-1', replicationType: 'sync', volumeType: 'replicated', members: [SERVER_1] }, expectedRevision: 0 });
      assert.equal(options.force, true);
      assert.equal(options.reason, 'us-east-1 is being rebuilt');
    });

    it('PEER_UNREACHABLE is refused with a hint about --force (exit 3)', async () => {
      h.service.scriptedWrites.push({ status: 'refused', code: 'PEER_UNREACHABLE', message: 'us-east-1 is not reachable', member: 'us-east-1' });
      const run = await cli('protection-group', 'set', 'pg1', '--member', SERVER_2);
      assert.equal(run.code, 3);
      assert.match(run.stderr, /Site us-east-1 must be reachable.*--force --reason TEXT/);
    });

    it('set swaps the sites (failover) and edits members; delete', async () => {
      ok(await cli('protection-group', 'set', 'pg1', '--primary', 'us-east-1', '--secondary', 'eu-west-1', '--member', SERVER_2, '--remove-member', SERVER_1, '--force', '--reason', 'eu-west-1 lost'));
      const patch = (lastWrite()[0][0] as { patch: Record<string, unknown> }).patch;
      assert.deepEqual(patch, { primarySite: 'us-east-1', secondarySite: 'eu-west-1', members: [SERVER_2] });
      const same = await cli('protection-group', 'set', 'pg1', '--primary', 'eu-west-1');
      assert.equal(same.code, 2);
      assert.match(same.stderr, /primary and secondary would both be eu-west-1/);
      const list = await cli('protection-group', 'list', '-f', 'value', '-c', 'name', '-c', 'primary');
      assert.equal(list.stdout, 'pg1 us-east-1\n');
      ok(await cli('protection-group', 'delete', 'pg1'));
    });
  });

  describe('protection-group DR operations', () => {
    const create = ['protection-group', 'create', 'pg-dr', '--project', 'proj1', '--primary', 'eu-west-1', '--secondary', 'us-east-1', '--replication', 'async', '--volume-type', 'replicated'];

    it('failover sends a dr op naming the epoch and both sites the leader read; --force needs --reason', async () => {
      ok(await cli(...create));
      const before = writes();
      assert.equal((await cli('protection-group', 'failover', 'pg-dr', '--force')).code, 2);
      assert.equal((await cli('protection-group', 'failback', 'pg-dr', '--force', '--reason', 'x')).code, 2, 'failback cannot be forced');
      assert.equal(writes(), before);
      const run = await cli('protection-group', 'failover', 'pg-dr', '-f', 'json');
      ok(run);
      assert.deepEqual(lastWrite()[0], [{ op: 'dr', kind: 'protection-group', id: 'pg-dr', action: 'failover', epoch: 0, from: 'eu-west-1', to: 'us-east-1' }]);
      assert.equal(lastWrite()[1].force, false);
      assert.equal(typeof (JSON.parse(run.stdout) as Record<string, unknown>).index, 'number');
      ok(await cli('protection-group', 'failover', 'pg-dr', '--force', '--reason', 'eu-west-1 burned down'));
      assert.equal(lastWrite()[1].force, true);
      assert.equal(lastWrite()[1].reason, 'eu-west-1 burned down');
      ok(await cli('protection-group', 'test-failover', 'pg-dr'));
      assert.deepEqual(lastWrite()[0], [{ op: 'dr', kind: 'protection-group', id: 'pg-dr', action: 'test-failover', epoch: 0, site: 'us-east-1' }]);
    });

    it('a forced failover of a reachable primary is refused, exit 3, saying why', async () => {
      h.service.scriptedWrites.push({ status: 'refused', code: 'PEER_REACHABLE', message: 'site eu-west-1 is reachable from the leader', member: 'eu-west-1' });
      const run = await cli('protection-group', 'failover', 'pg-dr', '--force', '--reason', 'looks down to me');
      assert.equal(run.code, 3);
      assert.match(run.stderr, /Site eu-west-1 is reachable from the leader.*split brain.*planned operation/);
    });

    it('an unknown group is an error before any write', async () => {
      const before = writes();
      const run = await cli('protection-group', 'failover', 'nope');
      assert.notEqual(run.code, 0);
      assert.match(run.stderr, /not found/);
      assert.equal(writes(), before);
    });
  });

  describe('sites, members, leader', () => {
    it('site add takes the peer id from the address and prints the new site\'s peers', async () => {
      h.service.seed('site', 'eu-west-1', { name: 'eu-west-1', peerId: '12D3KooWEuWest', addresses: ['/dns4/eu.example.net/tcp/7420'], region: 'eu-west', country: 'IE', labels: {}, role: 'voter' });
      const run = await cli('site', 'add', 'ap-east-1', '--addr', `/ip4/10.0.0.1/tcp/7420/p2p/${PEER}`, '--region', 'ap-east', '--country', 'hk', '--label', 'tier=gold', '-f', 'json');
      ok(run);
      assert.deepEqual(h.service.callsOf('siteAdd').at(-1)?.[0], { name: 'ap-east-1', peerId: PEER, addrs: [`/ip4/10.0.0.1/tcp/7420/p2p/${PEER}`], region: 'ap-east', country: 'HK', labels: { tier: 'gold' } });
      assert.equal((JSON.parse(run.stdout) as Record<string, unknown>).role, 'learner');
      assert.match(run.stderr, /peers:\n {2}- site: eu-west-1\n {4}addr: \/dns4\/eu\.example\.net\/tcp\/7420\/p2p\/12D3KooWEuWest\n/);
    });

    it('site add refuses a missing or contradictory peer id', async () => {
      const none = await cli('site', 'add', 'x', '--addr', '/ip4/10.0.0.2/tcp/7420', '--region', 'r', '--country', 'DE');
      assert.equal(none.code, 2);
      assert.match(none.stderr, /give --peer-id ID, or --addr values ending in \/p2p\/ID/);
      const two = await cli('site', 'add', 'x', '--addr', `/ip4/10.0.0.2/tcp/7420/p2p/${PEER}`, '--peer-id', '12D3KooWOther', '--region', 'r', '--country', 'DE');
      assert.equal(two.code, 2);
      assert.match(two.stderr, /name different peers/);
    });

    it('site list and show join the catalog with the membership', async () => {
      const list = await cli('site', 'list', '-f', 'json');
      ok(list);
      const rows = JSON.parse(list.stdout) as Array<Record<string, unknown>>;
      const eu = rows.find((r) => r.Name === 'eu-west-1')!;
      assert.equal(eu.Role, 'voter');
      assert.equal(eu.Live, true);
      assert.equal(rows.find((r) => r.Name === 'ap-east-1')!.Role, 'none');
      const show = await cli('site', 'show', 'eu-west-1', '-f', 'value', '-c', 'region', '-c', 'role');
      assert.equal(show.stdout, 'eu-west\nvoter\n');
    });

    it('site remove, member promote and demote, leader transfer', async () => {
      const removed = await cli('site', 'remove', 'ap-east-1');
      ok(removed);
      assert.equal(h.service.callsOf('siteRemove').at(-1)?.[0], 'ap-east-1');
      const promoted = await cli('member', 'promote', 'ap-south-1');
      ok(promoted);
      assert.match(promoted.stdout, /^ap-south-1 is now a voter \(log index \d+\)\n$/);
      ok(await cli('member', 'demote', 'us-east-1'));
      assert.equal(h.service.callsOf('memberDemote').at(-1)?.[0], 'us-east-1');
      const transfer = await cli('leader', 'transfer', 'us-east-1');
      ok(transfer);
      assert.equal(transfer.stdout, 'leader is now us-east-1 (term 8)\n');
      h.service.transferOutcome = { status: 'rejected', code: 'VALIDATION', message: 'ap-south-1 is a learner' };
      assert.equal((await cli('leader', 'transfer', 'ap-south-1')).code, 4);
      h.service.transferOutcome = undefined;
    });

    it('member list', async () => {
      const run = await cli('member', 'list', '-f', 'value');
      assert.equal(run.stdout, 'eu-west-1 voter true 40 0\nus-east-1 voter true 39 82\nap-south-1 learner false 12 \n');
    });
  });

  describe('apply, get, sync status, write show', () => {
    it('apply sends every resource of a YAML file in one batch', async () => {
      const file = join(h.dir, 'resources.yaml');
      await writeFile(file, [
        '- kind: flavor',
        '  id: a1',
        '  spec: { name: a1, vcpus: 1, ram: 512, disk: 1 }',
        '  placement: [eu-west-1, us-east-1]',
        '---',
        'kind: quota',
        'id: proj9',
        'spec: { project: proj9, compute: { cores: 4 } }',
        '---',
        'resources:',
        '  - { kind: flavor, id: small, op: delete }',
        '',
      ].join('\n'));
      const before = writes();
      const run = await cli('apply', '-f', file, '--force', '--reason', 'bulk import');
      ok(run);
      assert.equal(writes(), before + 1);
      const [ops, options] = lastWrite();
      assert.deepEqual(ops, [
        { op: 'put', kind: 'flavor', id: 'a1', spec: { name: 'a1', vcpus: 1, ram: 512, disk: 1 }, placement: 'site in (eu-west-1, us-east-1)' },
        { op: 'put', kind: 'quota', id: 'proj9', spec: { project: 'proj9', compute: { cores: 4 } } },
        { op: 'delete', kind: 'flavor', id: 'small' },
      ]);
      assert.equal(options.reason, 'bulk import');
      assert.match(run.stdout, /\| Kind +\| ID +\| Op +\| Revision \|/);
    });

    it('apply reads JSON from standard input', async () => {
      const run = await runInProcess(['apply', '-f', '-'], { socketPath: h.socketPath, stdin: JSON.stringify([{ kind: 'flavor', id: 'a2', spec: { name: 'a2', vcpus: 1, ram: 512, disk: 1 } }]) });
      ok(run);
      assert.equal(lastWrite()[0][0].id, 'a2');
    });

    it('apply refuses a bad file before sending anything (exit 2)', async () => {
      const before = writes();
      const cases: Array<[string, RegExp]> = [
        ['- kind: widget\n  id: x\n  spec: {}\n', /resource 1: kind must be one of site, flavor/],
        ['- kind: flavor\n  spec: {}\n', /resource 1: id is required/],
        ['- kind: flavor\n  id: x\n  specs: {}\n', /resource 1: unknown field "specs"/],
        ['- kind: flavor\n  id: x\n  spec: {}\n- kind: flavor\n  id: x\n  op: delete\n', /flavor\/x appears more than once/],
        ['- kind: flavor\n  id: [unclosed\n', /YAML syntax error/],
        ['', /no resources in the file/],
      ];
      for (const [text, message] of cases) {
        const file = join(h.dir, 'bad.yaml');
        await writeFile(file, text);
        const run = await cli('apply', '-f', file);
        assert.equal(run.code, 2, run.stderr);
        assert.match(run.stderr, message);
      }
      const missing = await cli('apply', '-f', join(h.dir, 'absent.yaml'));
      assert.equal(missing.code, 2);
      assert.match(missing.stderr, /cannot read .*absent\.yaml/);
      assert.equal((await cli('apply')).code, 2);
      assert.equal(writes(), before);
    });

    it('get shows any resource with read metadata; --linearizable refusals exit 3', async () => {
      const run = await cli('get', 'flavor', 'a1', '-f', 'json');
      ok(run);
      const shown = JSON.parse(run.stdout) as Record<string, unknown>;
      assert.deepEqual(shown.spec, { name: 'a1', vcpus: 1, ram: 512, disk: 1 });
      assert.equal(shown.linearizable, false);
      assert.equal(shown.staleness_ms, 15);
      const table = await cli('get', 'flavor', 'a1');
      assert.match(table.stdout, /\| spec +\| name: a1 +\|\n\| +\| vcpus: 1 +\|/);
      h.service.linearizableRefusal = { code: 'NO_LEADER', message: 'no leader is known' };
      const refused = await cli('get', 'flavor', 'a1', '--linearizable');
      h.service.linearizableRefusal = undefined;
      assert.equal(refused.code, 3);
      assert.match(refused.stderr, /no leader is known \[NO_LEADER\]/);
      assert.equal((await cli('get', 'widget', 'x')).code, 2);
      assert.equal((await cli('get', 'flavor', 'zzz')).code, 1);
    });

    it('sync status lists every site and resource, filtered by site or problems', async () => {
      h.service.syncView = {
        sites: [
          { site: 'eu-west-1', reportedAt: '2025-01-01T00:00:00.000Z', resources: [{ kind: 'flavor', id: 'a1', wanted: 'present', desiredRevision: 5, syncedRevision: 5, state: 'in-sync' }] },
          {
            site: 'us-east-1',
            reportedAt: null,
            resources: [
              { kind: 'flavor', id: 'a1', wanted: 'present', desiredRevision: 5, syncedRevision: null, state: 'error', message: 'Nova said 409' },
              { kind: 'flavor', id: 'old', wanted: 'absent', desiredRevision: null, syncedRevision: null, state: 'error', message: 'removal from this site failed: Nova said 403' },
            ],
          },
        ],
      };
      const all = await cli('sync', 'status', '-f', 'json');
      ok(all);
      assert.equal((JSON.parse(all.stdout) as unknown[]).length, 3);
      const problems = await cli('sync', 'status', '--problems', '-f', 'value', '-c', 'site', '-c', 'id', '-c', 'wanted', '-c', 'state', '-c', 'message');
      assert.equal(problems.stdout, 'us-east-1 a1 present error Nova said 409\nus-east-1 old absent error removal from this site failed: Nova said 403\n');
      const one = await cli('sync', 'status', '--site', 'eu-west-1', '-f', 'value', '-c', 'state');
      assert.equal(one.stdout, 'in-sync\n');
    });

    it('write show reports a committed write, exits 1 for one not committed and 5 for one still unknown', async () => {
      ok(await cli('flavor', 'create', 'w', '--id', 'w', '--vcpus', '1', '--ram', '512', '--disk', '1'));
      const [, options] = lastWrite();
      const run = await cli('write', 'show', `${options.clientId}:${options.seq}`, '-f', 'json');
      ok(run);
      assert.equal((JSON.parse(run.stdout) as Record<string, unknown>).status, 'committed');
      const absent = await cli('write', 'show', 'cli-nobody:1');
      assert.equal(absent.code, 1);
      assert.match(absent.stderr, /not committed as of index \d+/);
      assert.match(absent.stderr, /hint: a copy still in flight may yet commit/);
      h.service.writeStatuses.set('cli-old:1', { writeId: 'cli-old:1', status: 'unknown', appliedIndex: 9, message: 'older than the last 32 writes remembered' });
      const forgotten = await cli('write', 'show', 'cli-old:1');
      assert.equal(forgotten.code, 5);
      assert.match(forgotten.stdout, /older than the last 32 writes remembered/);
      const typo = await cli('write', 'show', 'cli-old');
      assert.equal(typo.code, 2);
      assert.match(typo.stderr, /not a write id/);
    });
  });
});
