// The joining side of a token's redemption, with its ports faked (members, streams, clock): which
// member it asks, when it follows a leader hint, when it stops, and what it says. The log decides a
// redemption; the joiner's own clock decides only when to give up asking.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import type { ByteStream } from '../../agent/blobs/ports.js';
import { GIVE_UP_AFTER_EXPIRY_MS, JoinRedeemer } from '../../agent/recovery/join-redeem.js';
import { JOIN_STATE_FILE } from '../../agent/recovery/join-state.js';
import { encodeJoinAnswer, type JoinAnswer } from '../../agent/recovery/join-wire.js';

const EXPIRES_AT = Date.parse('2026-12-07T12:00:00Z');
const quiet = { debug() {}, info() {}, warn() {}, error() {} };

/** A stream whose peer answers `answer` once our side ends. */
function answering(answer: JoinAnswer): ByteStream {
  return {
    write: async () => undefined,
    end: async () => undefined,
    incoming: (async function* () {
      yield encodeJoinAnswer(answer);
    })(),
    abort: () => undefined,
  };
}

describe('JoinRedeemer', () => {
  let dir = '';
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'stackraft-redeem-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  function redeemer(answers: Record<string, JoinAnswer | 'down'>, now: () => number) {
    const asked: string[] = [];
    const out = { refused: [] as string[], redeemed: 0, asked };
    const r = new JoinRedeemer({
      dataDir: dir,
      state: { site: 'site-4', expiresAt: EXPIRES_AT, redeemed: false, secret: 's'.repeat(43) },
      clusterId: 'c1',
      incarnation: 'original',
      members: () => Object.keys(answers),
      open: async (member) => {
        asked.push(member);
        const a = answers[member];
        if (a === 'down') throw new Error('connection refused');
        return answering(a);
      },
      logger: quiet,
      redeemed: () => void out.redeemed++,
      refused: (message) => void out.refused.push(message),
      now,
    });
    return { r, out };
  }

  it('keeps asking while no member answers, and gives up only GIVE_UP_AFTER_EXPIRY_MS past the expiry by its own clock', async () => {
    let now = EXPIRES_AT + GIVE_UP_AFTER_EXPIRY_MS - 1;
    const { r, out } = redeemer({ 'site-1': 'down', 'site-2': 'down' }, () => now);
    await r.start();
    assert.deepEqual(out.refused, [], 'still within the grace: keeps asking');
    assert.ok(out.asked.filter((m) => m === 'site-1').length >= 1 && out.asked.includes('site-2'), 'every member was asked');
    now = EXPIRES_AT + GIVE_UP_AFTER_EXPIRY_MS + 1;
    await r.step();
    assert.equal(out.refused.length, 1);
    assert.match(out.refused[0], /no member answered before the token's expiry \(2026-12-07T12:00:00\.000Z\) was long past by this machine's clock/);
    assert.match(out.refused[0], /last: asking site-2 to redeem the token failed: connection refused/);
    assert.match(out.refused[0], /stackraft site add site-4 --token/);
    const asked = out.asked.length;
    await r.step();
    assert.equal(out.asked.length, asked, 'stopped: asks nobody after giving up');
    assert.equal(out.redeemed, 0);
  });

  it('an answer long past the expiry still counts: the log, not this clock, decides', async () => {
    const { r, out } = redeemer({ 'site-1': { ok: true, index: 42 } }, () => EXPIRES_AT + 10 * GIVE_UP_AFTER_EXPIRY_MS);
    await r.start();
    assert.equal(out.redeemed, 1);
    assert.deepEqual(out.refused, []);
    const state = JSON.parse(await readFile(join(dir, JOIN_STATE_FILE), 'utf8')) as Record<string, unknown>;
    assert.equal(state.redeemed, true);
    assert.equal(state.secret, undefined, 'the secret is dropped once redeemed');
  });

  it('follows a NOT_LEADER hint to the leader, and asks it first on the next round', async () => {
    const { r, out } = redeemer(
      {
        'site-1': { ok: false, code: 'NOT_LEADER', message: 'ask site-3', leader: 'site-3' },
        'site-2': 'down',
        'site-3': { ok: false, code: 'NO_LEADER', message: 'electing' },
      },
      () => EXPIRES_AT - 1,
    );
    await r.start();
    assert.deepEqual(out.asked.slice(-2), ['site-1', 'site-3'], 'site-1 names site-3, which is asked at once');
    const before = out.asked.length;
    await r.step();
    assert.equal(out.asked[before], 'site-3', 'the next round starts at the hinted leader');
    assert.deepEqual(out.refused, []);
    r.stop();
  });

  it('stops at once on a final refusal (USED), with advice, without asking the other members', async () => {
    const { r, out } = redeemer({ 'site-1': { ok: false, code: 'USED', message: 'this join token was already used by another site' }, 'site-2': 'down' }, () => EXPIRES_AT - 1);
    await r.start();
    assert.equal(out.refused.length, 1);
    assert.match(out.refused[0], /already used by another site; ask for a new one with `stackraft site add site-4 --token` after `stackraft site remove site-4`/);
    assert.equal(out.asked.includes('site-2'), false);
  });
});
