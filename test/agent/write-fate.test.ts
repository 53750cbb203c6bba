// What becomes of a write, on three real agent processes: after a follower is killed with SIGKILL
// and restarted, every write sent through it still commits (its forwarded request ids must not
// repeat those of its previous life, which the leader remembers); and GET /v1/writes/:id (`stackraft
// write show`) never claims more than the log proves, on the leader or on a follower.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { AgentCluster } from './cluster.js';
import { flavorSpec } from './fixtures.js';
import { runCli } from './run-cli.js';

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

  it('a follower asked about a write the leader has just acknowledged answers committed, never "did not commit"', { timeout: 60_000 }, async () => {
    const { leader } = await cluster.waitForLeader();
    const followers = cluster.sites.filter((s) => s.name !== leader).map((s) => s.name);
    const wrong: string[] = [];
    for (let i = 1; i <= WRITES; i++) {
      const id = `acked-${i}`;
      const reply = await cluster.admin(leader).write('PUT', `/v1/resources/flavor/${id}`, { spec: flavorSpec(id) }, WRITE_TIMEOUT_MS);
      assert.equal(reply.status, 200, reply.text);
      const { writeId, index } = reply.json as { writeId: string; index: number };
      const answers = await Promise.all(followers.map((f) => cluster.admin(f).request('GET', `/v1/writes/${encodeURIComponent(writeId)}`)));
      answers.forEach((a, j) => {
        if (a.status !== 200 || a.json.status !== 'committed' || a.json.index !== index) wrong.push(`${writeId} (index ${index}) on ${followers[j]}: HTTP ${a.status} ${a.text}`);
      });
    }
    assert.deepEqual(wrong, []);
  });

  it('sequences a client skipped are "not committed, never can be" (HTTP and CLI); the next one "not committed yet"', { timeout: 60_000 }, async () => {
    const { leader } = await cluster.waitForLeader();
    const follower = cluster.sites.find((s) => s.name !== leader)!.name;
    const clientId = `gaps-${randomUUID()}`;
    for (const seq of [1, 4]) {
      const id = `gap-${seq}-${clientId.slice(-8)}`;
      const reply = await cluster.admin(leader).request('PUT', `/v1/resources/flavor/${id}`, { spec: flavorSpec(id), clientId, seq, timeoutMs: WRITE_TIMEOUT_MS });
      assert.equal(reply.status, 200, reply.text);
    }
    const ask = (seq: number) => cluster.admin(follower).request('GET', `/v1/writes/${clientId}:${seq}`);
    assert.equal((await ask(1)).json.status, 'committed');
    assert.equal((await ask(4)).json.status, 'committed');
    for (const seq of [2, 3]) {
      const skipped = await ask(seq);
      assert.equal(skipped.status, 404, `seq ${seq}: ${skipped.text}`);
      assert.equal(skipped.json.error.final, true);
      assert.match(skipped.json.error.message, /never can be/);
    }
    const next = await ask(5);
    assert.equal(next.status, 404, next.text);
    assert.equal(next.json.error.final, false);

    const cli = await runCli(['write', 'show', `${clientId}:2`], { socket: cluster.site(follower).socketPath });
    assert.equal(cli.code, 1, cli.stderr);
    assert.match(cli.stderr, /never can be/);
    assert.match(cli.stderr, /hint: it will never commit/);
    const shown = await runCli(['write', 'show', `${clientId}:4`, '-f', 'json'], { socket: cluster.site(follower).socketPath });
    assert.equal(shown.code, 0, shown.stderr);
    assert.equal(JSON.parse(shown.stdout).status, 'committed');
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
