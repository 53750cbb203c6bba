// A leader answers a forwarded write to the site that sent it, whichever process runs there by
// then. An answer meant for the follower's previous life must not settle a write of the new one
// (docs/findings.md, S3: with ids counted from 1 in every process, the simulator saw a write that
// was never proposed answered "rejected" with the result of another write).
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { Catalog, encodeCommand, putOp, writeCommand } from '../../agent/catalog/index.js';
import type { WireMessage } from '../../consensus/ports.js';
import { MemoryLogStore } from '../../storage/memory-store.js';
import { flavorSpec } from '../catalog/helpers.js';
import { TestCluster } from './harness.js';

function flavorWrite(clientId: string, seq: number): Uint8Array {
  return encodeCommand(writeCommand({ clientId, seq, time: 0 }, [putOp('flavor', `${clientId}-${seq}`, flavorSpec())]));
}

describe('a late answer to a forwarded write', () => {
  it('meant for the previous process on the follower does not settle a write of the new one', async () => {
    const c = new TestCluster<Catalog>({ voters: ['a', 'b', 'c'], makeStateMachine: () => new Catalog(), seed: 31 });
    await c.start();
    const leader = await c.waitForLeader();
    const follower = ['a', 'b', 'c'].find((n) => n !== leader.name)!;
    const answers: WireMessage[] = [];
    c.net.onSend = (_from, to, m) => void (to === follower && m.kind === 'proposeResult' && answers.push(m));
    const first = await c.run(c.site(follower).replica.propose(flavorWrite('old', 1)));
    assert.equal(first.status, 'committed');
    assert.equal(answers.length, 1);
    const firstIndex = first.status === 'committed' ? first.index : -1;

    const store = await c.crash(follower);
    const back = await c.startSite(follower, new MemoryLogStore({ disk: store.disk }), false);
    await c.clock.advance(2000);
    // The new process forwards its first write; the old answer arrives before the real one.
    const pending = back.replica.propose(flavorWrite('new', 1));
    c.net.inject(leader.name, follower, answers[0]);
    const second = await c.run(pending);
    assert.equal(second.status, 'committed', JSON.stringify(second));
    assert.notEqual(second.status === 'committed' && second.index, firstIndex, 'settled with the old answer');
    await c.clock.advance(500);
    assert.ok(leader.sm.get('flavor', 'new-1'), 'the new write was proposed and applied');
    await c.stopAll();
  });
});
