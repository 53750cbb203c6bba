// What becomes of a write sent through a follower, on three real agent processes: after the
// follower is killed with SIGKILL and restarted, every write sent through it still commits (its
// forwarded request ids must not repeat those of its previous life, which the leader remembers).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { AgentCluster } from './cluster.js';
import { flavorSpec } from './fixtures.js';

/** Writes per phase: more than enough for ids of the two lives to overlap, few enough to stay quick. */
const WRITES = 30;
/** Each write's own bound: a dropped write shows as 504 UNKNOWN after this long instead of 10 s. */
const WRITE_TIMEOUT_MS = 3_000;

describe('the fate of writes through a follower (real agents)', { timeout: 180_000 }, () => {
  let cluster: AgentCluster;

  before(async () => {
    cluster = await AgentCluster.start({ sites: 3, prefix: 'stackraft-fate-' });
  });

  after(async () => {
    await cluster?.destroy();
  });

  it('kill -9 and restart of a follower: every write sent through it afterwards commits', { timeout: 120_000 }, async () => {
    const { leader } = await cluster.waitForLeader();
    const follower = cluster.sites.find((s) => s.name !== leader)!.name;
    await writeFlavors(follower, 'before', WRITES);

    await cluster.kill(follower);
    await cluster.restart(follower);
    await cluster.waitForLeader();
    const failures = await writeFlavors(follower, 'after', WRITES, false);
    assert.deepEqual(failures, [], `writes through the restarted ${follower} that did not commit`);
  });

  /** Sends `count` flavor writes through `site` one after another; returns (or asserts none are) the failures. */
  async function writeFlavors(site: string, prefix: string, count: number, strict = true): Promise<string[]> {
    const failures: string[] = [];
    for (let i = 1; i <= count; i++) {
      const id = `${prefix}-${i}`;
      const reply = await cluster.admin(site).write('PUT', `/v1/resources/flavor/${id}`, { spec: flavorSpec(id) }, WRITE_TIMEOUT_MS);
      if (reply.status !== 200) failures.push(`${id}: HTTP ${reply.status} ${reply.text}`);
      if (strict) assert.deepEqual(failures, []);
    }
    return failures;
  }
});
