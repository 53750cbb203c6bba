// The write path on a cluster of real replica runtimes (in-memory store, virtual time): every
// refusal provoked, and a refused write checked absent on every site afterwards.
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { Catalog, deleteOp, drOp, patchOp, putOp, type WriteOp } from '../../agent/catalog/index.js';
import { CatalogWriter, type CatalogWriteOutcome } from '../../agent/write/catalog-writer.js';
import { flavorSpec, protectionGroupSpec, siteSpec } from '../catalog/helpers.js';
import { TestCluster } from './harness.js';

const VOTERS = ['s1', 's2', 's3', 's4', 's5'];
const LEARNERS = ['l1'];
const VM1 = '0b1c2d3e-4f50-4a6b-8c7d-8e9fa0b1c2d3';
const VM2 = '1c2d3e4f-5061-4b7c-9d8e-9fa0b1c2d3e4';
const ELECTION_MS = 1000; // 10 ticks of 100 ms (the defaults)

class WriteCluster {
  readonly c = new TestCluster<Catalog>({ voters: VOTERS, learners: LEARNERS, makeStateMachine: () => new Catalog(), seed: 11 });
  private seq = 0;

  writer(site: string): CatalogWriter {
    const s = this.c.site(site);
    return new CatalogWriter(s.replica, s.sm, () => this.c.clock.now());
  }

  async write(site: string, ops: WriteOp[], ids?: { clientId: string; seq: number }, timeoutMs?: number): Promise<CatalogWriteOutcome> {
    this.seq += 1;
    const { clientId, seq } = ids ?? { clientId: 'test', seq: this.seq };
    return this.c.run(this.writer(site).write(ops, { clientId, seq, timeoutMs }), 120_000);
  }

  /** Lets the cluster replicate and apply everywhere. */
  async settle(ms = 500): Promise<void> {
    await this.c.clock.advance(ms);
  }

  flavorEverywhere(id: string): Array<number | undefined> {
    return this.c.names.map((n) => this.c.site(n).sm.get('flavor', id)?.revision);
  }

  others(site: string): string[] {
    return this.c.names.filter((n) => n !== site);
  }
}

async function started(): Promise<WriteCluster> {
  const w = new WriteCluster();
  await w.c.start();
  await w.c.waitForLeader();
  return w;
}

function expectCommitted(o: CatalogWriteOutcome): Extract<CatalogWriteOutcome, { status: 'committed' }> {
  assert.equal(o.status, 'committed', JSON.stringify(o));
  return o as Extract<CatalogWriteOutcome, { status: 'committed' }>;
}

describe('write path', () => {
  it('a write sent to a follower or a learner is forwarded, committed, and readable locally on every site', async () => {
    const w = await started();
    const follower = VOTERS.find((n) => n !== w.c.leader()!.name)!;
    const a = expectCommitted(await w.write(follower, [putOp('flavor', 'f1', flavorSpec())]));
    const b = expectCommitted(await w.write('l1', [putOp('flavor', 'f2', flavorSpec({ name: 'm1.large' }))]));
    assert.ok(b.index > a.index);
    await w.settle();
    for (const name of w.c.names) {
      const sm = w.c.site(name).sm;
      assert.equal(sm.get('flavor', 'f1')?.revision, a.index, `f1 on ${name}`);
      assert.equal(sm.get('flavor', 'f2')?.spec.name, 'm1.large', `f2 on ${name}`);
    }
    await w.c.stopAll();
  });

  it('VALIDATION names the field and changes nothing; an atomic batch with one invalid op applies nothing', async () => {
    const w = await started();
    const bad = await w.write('s1', [putOp('flavor', 'f1', flavorSpec({ vcpus: 0 }))]);
    assert.equal(bad.status, 'rejected');
    assert.equal(bad.status === 'rejected' && bad.code, 'VALIDATION');
    assert.equal(bad.status === 'rejected' && bad.field, 'spec.vcpus');
    const batch = await w.write('s2', [putOp('flavor', 'ok1', flavorSpec()), putOp('flavor', 'bad', flavorSpec({ ram: -1 })), putOp('flavor', 'ok2', flavorSpec())]);
    assert.equal(batch.status, 'rejected');
    assert.equal(batch.status === 'rejected' && batch.opIndex, 1);
    await w.settle();
    for (const id of ['f1', 'ok1', 'bad', 'ok2']) assert.deepEqual(w.flavorEverywhere(id), w.c.names.map(() => undefined), id);
    await w.c.stopAll();
  });

  it('CAS: an expected revision that matches applies, one that differs is a CONFLICT returning the current revision', async () => {
    const w = await started();
    const created = expectCommitted(await w.write('s1', [putOp('flavor', 'f1', flavorSpec(), { expectedRevision: 0 })]));
    const rev = created.revisions[0]!.revision;
    const again = await w.write('s1', [putOp('flavor', 'f1', flavorSpec(), { expectedRevision: 0 })]);
    assert.equal(again.status, 'rejected');
    assert.equal(again.status === 'rejected' && again.code, 'CONFLICT');
    const stale = await w.write('s3', [patchOp('flavor', 'f1', { vcpus: 4 }, { expectedRevision: rev + 1000 })]);
    assert.equal(stale.status === 'rejected' && stale.code, 'CONFLICT');
    assert.equal(stale.status === 'rejected' && stale.details?.currentRevision, rev);
    const ok = expectCommitted(await w.write('s3', [patchOp('flavor', 'f1', { vcpus: 4 }, { expectedRevision: rev })]));
    await w.settle();
    for (const name of w.c.names) assert.equal(w.c.site(name).sm.get('flavor', 'f1')?.spec.vcpus, 4);
    expectCommitted(await w.write('s2', [deleteOp('flavor', 'f1', ok.revisions[0]!.revision)]));
    await w.c.stopAll();
  });

  it('exactly once: the same client id and sequence sent twice (through two sites) is applied once', async () => {
    const w = await started();
    const ids = { clientId: 'cli/abc', seq: 7 };
    const first = expectCommitted(await w.write('s1', [putOp('flavor', 'f1', flavorSpec())], ids));
    const retry = expectCommitted(await w.write('s4', [putOp('flavor', 'f1', flavorSpec({ vcpus: 8 }))], ids));
    assert.deepEqual(retry.revisions.map((r) => r.revision), first.revisions.map((r) => r.revision));
    await w.settle();
    for (const name of w.c.names) assert.equal(w.c.site(name).sm.get('flavor', 'f1')?.spec.vcpus, 1, `retry must not apply on ${name}`);
    const status = await w.c.run(w.writer('l1').status('cli/abc', 7));
    assert.equal(status.status, 'committed');
    assert.equal((await w.c.run(w.writer('l1').status('cli/abc', 8))).status, 'not-committed');
    await w.c.stopAll();
  });

  it('NO_QUORUM: a leader cut off from every voter refuses at once, and the write is absent everywhere', async () => {
    const w = await started();
    const leader = w.c.leader()!.name;
    w.c.net.isolate(leader, w.c.names);
    await w.c.clock.advance(ELECTION_MS * 1.2);
    const asked = w.c.clock.now();
    const out = await w.write(leader, [putOp('flavor', 'lost', flavorSpec())]);
    assert.equal(out.status === 'refused' && out.code, 'NO_QUORUM', JSON.stringify(out));
    assert.ok(w.c.clock.now() - asked <= 20, `refusal took ${w.c.clock.now() - asked} ms`);
    w.c.net.healAll();
    await w.c.waitForLeader();
    await w.settle(3000);
    assert.deepEqual(w.flavorEverywhere('lost'), w.c.names.map(() => undefined));
    await w.c.stopAll();
  });

  it('NO_LEADER when no leader can be elected, within one election timeout', async () => {
    const w = await started();
    for (const a of w.c.names) for (const b of w.c.names) if (a < b) w.c.net.cut(a, b);
    await w.c.clock.advance(ELECTION_MS * 4);
    const asked = w.c.clock.now();
    const out = await w.write('s2', [putOp('flavor', 'nope', flavorSpec())]);
    assert.equal(out.status === 'refused' && out.code, 'NO_LEADER', JSON.stringify(out));
    assert.ok(w.c.clock.now() - asked <= ELECTION_MS + 50);
    await w.c.stopAll();
  });

  it('PEER_UNREACHABLE: a protection-group write is refused while its secondary site is cut off, and accepted once it is back', async () => {
    const w = await started();
    expectCommitted(await w.write('s1', VOTERS.map((n, i) => putOp('site', n, siteSpec(n, i)))));
    const leader = w.c.leader()!.name;
    const [primary, secondary] = VOTERS.filter((n) => n !== leader);
    const pg = protectionGroupSpec({ primarySite: primary, secondarySite: secondary });
    expectCommitted(await w.write(leader, [putOp('protection-group', 'pg1', pg)]));

    w.c.net.isolate(secondary!, w.c.names);
    await w.c.clock.advance(ELECTION_MS * 1.5);
    assert.equal(w.c.leader()!.name, leader, 'the healthy majority keeps its leader');
    const asked = w.c.clock.now();
    const refusedOut = await w.write(primary!, [patchOp('protection-group', 'pg1', { members: [VM1] })]);
    assert.equal(refusedOut.status, 'refused', JSON.stringify(refusedOut));
    assert.equal(refusedOut.status === 'refused' && refusedOut.code, 'PEER_UNREACHABLE');
    assert.equal(refusedOut.status === 'refused' && refusedOut.member, secondary);
    assert.ok(w.c.clock.now() - asked <= 50, `refusal took ${w.c.clock.now() - asked} ms; expected one round trip`);
    // Writes that name no unreachable site still go through.
    expectCommitted(await w.write(primary!, [putOp('flavor', 'f1', flavorSpec())]));

    // An operator may force it (an unplanned failover): it commits, and the reason is recorded.
    const forced = await w.c.run(
      w.writer(primary!).write([patchOp('protection-group', 'pg1', { status: 'failed-over', failoverEpoch: 1 })], { clientId: 'ops', seq: 1, force: true, reason: 'site down, failing over' }),
    );
    expectCommitted(forced);
    assert.deepEqual(w.c.site(leader).sm.get('protection-group', 'pg1')?.forced?.reason, 'site down, failing over');

    w.c.net.healAll();
    await w.c.clock.advance(ELECTION_MS);
    expectCommitted(await w.write(primary!, [patchOp('protection-group', 'pg1', { members: [VM2] })]));
    assert.equal(w.c.site(leader).sm.get('protection-group', 'pg1')?.forced, undefined, 'an ordinary write clears the forced mark');
    await w.settle(2000);
    for (const name of w.c.names) {
      assert.deepEqual(w.c.site(name).sm.get('protection-group', 'pg1')?.spec.members, [VM2], name);
    }
    await w.c.stopAll();
  });

  it('PEER_REACHABLE: a forced failover is refused while the leader reaches the primary, and commits once the primary is cut off', async () => {
    const w = await started();
    expectCommitted(await w.write('s1', VOTERS.map((n, i) => putOp('site', n, siteSpec(n, i)))));
    const leader = w.c.leader()!.name;
    const [primary, secondary] = VOTERS.filter((n) => n !== leader);
    expectCommitted(await w.write(leader, [putOp('protection-group', 'pg1', protectionGroupSpec({ primarySite: primary, secondarySite: secondary }))]));
    const force = (seq: number) => w.c.run(w.writer(secondary!).write([drOp('pg1', 'failover', 0, { from: primary, to: secondary })], { clientId: 'ops', seq, force: true, reason: 'primary lost' }));
    // Forwarded by the secondary: the leader decides from its own link facts, and the primary is live.
    const refusedOut = await force(1);
    assert.equal(refusedOut.status === 'refused' && refusedOut.code, 'PEER_REACHABLE', JSON.stringify(refusedOut));
    assert.equal(refusedOut.status === 'refused' && refusedOut.member, primary);
    await w.settle();
    for (const name of w.c.names) assert.equal(w.c.site(name).sm.get('protection-group', 'pg1')?.spec.primarySite, primary, name);

    w.c.net.isolate(primary!, w.c.names);
    await w.c.clock.advance(ELECTION_MS * 1.5);
    expectCommitted(await force(2));
    await w.settle();
    const group = w.c.site(leader).sm.get('protection-group', 'pg1');
    assert.equal(group?.spec.primarySite, secondary);
    assert.equal(group?.spec.failoverEpoch, 1);
    assert.equal(group?.dr?.operation?.forced, 'primary lost');
    await w.c.stopAll();
  });

  it('write status: a never-sent or never-committed sequence below the last one is not reported committed', async () => {
    const w = await started();
    const leader = w.c.leader()!.name;
    // seq 2 is abandoned before it reaches the log (refused: the leader is cut off), seq 3 commits.
    expectCommitted(await w.write(leader, [putOp('flavor', 'a', flavorSpec())], { clientId: 'ab', seq: 1 }));
    w.c.net.isolate(leader, w.c.names);
    await w.c.clock.advance(ELECTION_MS * 1.2);
    const lost = await w.write(leader, [putOp('flavor', 'b', flavorSpec())], { clientId: 'ab', seq: 2 });
    assert.notEqual(lost.status, 'committed');
    w.c.net.healAll();
    await w.c.waitForLeader();
    const follower = VOTERS.find((n) => n !== w.c.leader()!.name)!;
    expectCommitted(await w.write(follower, [putOp('flavor', 'c', flavorSpec())], { clientId: 'ab', seq: 4 }));
    await w.settle();
    for (const site of [follower, 'l1']) {
      const status = async (seq: number) => w.c.run(w.writer(site).status('ab', seq));
      assert.equal((await status(1)).status, 'committed');
      for (const seq of [2, 3]) {
        const s = await status(seq);
        assert.equal(s.status, 'not-committed', `seq ${seq} on ${site}: ${JSON.stringify(s)}`);
        assert.equal(s.status === 'not-committed' && s.final, true);
      }
      assert.equal((await status(4)).status, 'committed');
      const next = await status(5);
      assert.equal(next.status === 'not-committed' && !next.final, true, JSON.stringify(next));
    }
    assert.equal(w.flavorEverywhere('b').filter((r) => r !== undefined).length, 0);
    await w.c.stopAll();
  });

  it('write status on a site that has not applied a committed write: never "not committed"', async () => {
    const w = await started();
    const leader = w.c.leader()!.name;
    const lagging = VOTERS.find((n) => n !== leader)!;
    // The lagging site hears nothing from the leader (so it neither applies nor gets a read barrier answered).
    w.c.net.cut(leader, lagging, true);
    const done = expectCommitted(await w.write(leader, [putOp('flavor', 'late', flavorSpec())], { clientId: 'lag', seq: 1 }));
    assert.equal(w.c.site(lagging).sm.get('flavor', 'late'), undefined, 'not applied there yet');
    const before = await w.c.run(w.writer(lagging).status('lag', 1));
    assert.equal(before.status, 'unknown', JSON.stringify(before));
    w.c.net.healAll();
    const after = await w.c.run(w.writer(lagging).status('lag', 1));
    assert.deepEqual(after, { writeId: 'lag:1', status: 'committed', index: done.index, revisions: [] });
    await w.c.stopAll();
  });

  it('UNKNOWN: a proposal its leader cannot commit is reported unknown, and can be looked up later', async () => {
    const w = await started();
    const leader = w.c.leader()!.name;
    const writer = w.writer(leader);
    const pending = writer.write([putOp('flavor', 'maybe', flavorSpec())], { clientId: 'u', seq: 1, timeoutMs: 300 });
    // Cut the leader off before its followers can acknowledge.
    w.c.net.isolate(leader, w.c.names);
    const out = await w.c.run(pending);
    assert.equal(out.status, 'unknown', JSON.stringify(out));
    assert.match(out.status === 'unknown' ? out.writeId : '', /^u:1$/);
    w.c.net.healAll();
    await w.c.waitForLeader();
    await w.settle(3000);
    const later = await w.c.run(w.writer('s1').status('u', 1));
    const present = w.flavorEverywhere('maybe');
    // Whatever happened, every site agrees, and the status answer matches the catalog.
    assert.ok(present.every((r) => r === present[0]));
    assert.equal(later.status === 'committed', present[0] !== undefined);
    await w.c.stopAll();
  });
});
