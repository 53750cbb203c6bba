// A join token's redemption in the catalog (agent/catalog/rules.ts): a site waiting for its token has
// no peer id; the redemption records the joining site's own peer id once, and only while the time
// in the redemption's entry is before the token's expiry. The applying replica's clock plays no part.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { expectOk, Harness, peerIdFor } from './helpers.js';

const HASH = 'ab'.repeat(32);

function waitingSite(h: Harness, expiresAt: number): void {
  expectOk(
    h.write({
      op: 'put',
      kind: 'site',
      id: 'lyon',
      spec: { name: 'lyon', addresses: ['/ip4/10.0.0.9/tcp/4001'], region: 'eu-west', country: 'FR', labels: {}, role: 'learner', join: { expiresAt, secretHash: HASH } },
    }).result,
  );
}

function redeem(h: Harness, peerId: string) {
  return h.write({ op: 'patch', kind: 'site', id: 'lyon', spec: { peerId, join: { redeemedBy: peerId } } }).result;
}

describe('join token redemption in the log', () => {
  it('a waiting site has no peer id; the redemption records the joiner\'s id once', () => {
    const h = new Harness();
    const expiresAt = h.time + 60_000;
    waitingSite(h, expiresAt);
    assert.equal(h.catalog.get('site', 'lyon')?.spec.peerId, undefined);
    expectOk(redeem(h, peerIdFor(5)));
    const spec = h.catalog.get('site', 'lyon')?.spec;
    assert.equal(spec?.peerId, peerIdFor(5));
    assert.deepEqual(spec?.join, { expiresAt, redeemedBy: peerIdFor(5), secretHash: HASH });
    const second = redeem(h, peerIdFor(6));
    assert.equal(second.ok, false);
    assert.match((second as { message: string }).message, /already used by another site/);
    assert.equal(h.catalog.get('site', 'lyon')?.spec.peerId, peerIdFor(5), 'the second redemption changed nothing');
  });

  it('refuses a redemption whose entry is stamped at or after the expiry, whatever the applying clock says', () => {
    const h = new Harness();
    const expiresAt = h.time + 5_000;
    waitingSite(h, expiresAt);
    h.time = expiresAt - 1; // the next write is stamped expiresAt + 999
    const late = redeem(h, peerIdFor(5));
    assert.equal(late.ok, false);
    assert.equal((late as { field: string }).field, 'spec.join.expiresAt');
    assert.match((late as { message: string }).message, /the join token expired at .* \(this redemption's entry is stamped /);
    assert.equal(h.catalog.get('site', 'lyon')?.spec.peerId, undefined);

    const inTime = new Harness();
    inTime.time = 0;
    waitingSite(inTime, 1_000_000);
    inTime.time = 1_000_000 - 1_001; // stamped 999,999: still in time
    expectOk(redeem(inTime, peerIdFor(5)));
  });

  it('a waiting site gets a peer id only from its redemption', () => {
    const h = new Harness();
    waitingSite(h, h.time + 60_000);
    const direct = h.write({ op: 'patch', kind: 'site', id: 'lyon', spec: { peerId: peerIdFor(7) } }).result;
    assert.equal(direct.ok, false);
    assert.equal((direct as { field: string }).field, 'spec.peerId');
    const mismatched = h.write({ op: 'patch', kind: 'site', id: 'lyon', spec: { peerId: peerIdFor(7), join: { redeemedBy: peerIdFor(8) } } }).result;
    assert.equal(mismatched.ok, false);
    assert.equal((mismatched as { field: string }).field, 'spec.peerId');
  });

  it('refuses a write that would take a member\'s peer id away (a token minted under a member\'s name)', () => {
    const h = new Harness();
    h.addTwoSites();
    const replaced = h.write({
      op: 'put',
      kind: 'site',
      id: 'paris',
      spec: { name: 'paris', addresses: ['/ip4/10.0.0.9/tcp/4001'], region: 'eu-west', country: 'FR', labels: {}, role: 'learner', join: { expiresAt: h.time + 60_000, secretHash: HASH } },
    }).result;
    assert.equal(replaced.ok, false);
    assert.match((replaced as { message: string }).message, /which a write cannot remove: remove the site first/);
    assert.equal(h.catalog.get('site', 'paris')?.spec.peerId, peerIdFor(1));
  });

  it('refuses a site record with no peer id unless it waits for a token', () => {
    const h = new Harness();
    const bare = h.write({ op: 'put', kind: 'site', id: 'nice', spec: { name: 'nice', addresses: ['/ip4/10.0.0.8/tcp/4001'], region: 'eu-west', country: 'FR', labels: {}, role: 'learner' } }).result;
    assert.equal(bare.ok, false);
    assert.match((bare as { message: string }).message, /only a site waiting for its join token/);
  });
});
