// The bounded "seen" set behind "warn once per refused peer".
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FirstSeen, MAX_REFUSED_PEERS_REMEMBERED } from '../../agent/transport/first-seen.js';

describe('FirstSeen', () => {
  it('says true once per key, then false', () => {
    const seen = new FirstSeen(4);
    assert.equal(seen.firstTime('a'), true);
    assert.equal(seen.firstTime('a'), false);
    assert.equal(seen.firstTime('b'), true);
    assert.equal(seen.firstTime('a'), false);
  });

  it('holds at most its limit, forgetting the oldest key first', () => {
    const seen = new FirstSeen(3);
    for (const key of ['a', 'b', 'c', 'd']) assert.equal(seen.firstTime(key), true);
    assert.equal(seen.size, 3);
    assert.equal(seen.firstTime('b'), false, 'b is still remembered');
    assert.equal(seen.firstTime('a'), true, 'a, the oldest, was forgotten');
    assert.equal(seen.size, 3);
  });

  it('stays bounded under a flood of distinct keys', () => {
    const seen = new FirstSeen(MAX_REFUSED_PEERS_REMEMBERED);
    for (let i = 0; i < MAX_REFUSED_PEERS_REMEMBERED * 5; i++) seen.firstTime(`peer-${i}`);
    assert.equal(seen.size, MAX_REFUSED_PEERS_REMEMBERED);
  });

  it('refuses a limit that is not a positive integer', () => {
    assert.throws(() => new FirstSeen(0), /positive integer/);
  });
});
