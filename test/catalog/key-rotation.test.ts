// The catalog's rules for a key rotation (agent/recovery/key-rotation.ts): a site announces a next
// peer id, and its peer id then changes only to that id, in the write that drops the announcement.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { expectOk, Harness, peerIdFor, siteSpec } from './helpers.js';

function refusal(result: { ok: boolean }): { field?: string; message?: string } {
  assert.equal(result.ok, false, 'the write should have been refused');
  return result as { field?: string; message?: string };
}

describe('site key rotation rules', () => {
  function withSites(): Harness {
    const h = new Harness();
    h.addTwoSites();
    return h;
  }
  const next = peerIdFor(9);

  it('announces a next id, then moves the peer id to it and drops the announcement', () => {
    const h = withSites();
    expectOk(h.write({ op: 'patch', kind: 'site', id: 'paris', spec: { nextPeerId: next } }).result);
    assert.equal(h.catalog.get('site', 'paris')?.spec.nextPeerId, next);
    expectOk(h.write({ op: 'patch', kind: 'site', id: 'paris', spec: { peerId: next, nextPeerId: null, addresses: ['/ip4/10.0.0.1/tcp/4001'] } }).result);
    const spec = h.catalog.get('site', 'paris')?.spec;
    assert.equal(spec?.peerId, next);
    assert.equal(spec?.nextPeerId, undefined);
  });

  it('refuses, while a rotation is announced, a peer id other than the announced one', () => {
    const h = withSites();
    expectOk(h.write({ op: 'patch', kind: 'site', id: 'paris', spec: { nextPeerId: next } }).result);
    const other = refusal(h.write({ op: 'patch', kind: 'site', id: 'paris', spec: { peerId: peerIdFor(10), nextPeerId: null, addresses: ['/ip4/10.0.0.1/tcp/4001'] } }).result);
    assert.equal(other.field, 'spec.peerId');
    assert.match(other.message ?? '', /rotating its key to/);
    const kept = refusal(h.write({ op: 'patch', kind: 'site', id: 'paris', spec: { peerId: next, addresses: ['/ip4/10.0.0.1/tcp/4001'] } }).result);
    assert.equal(kept.field, 'spec.nextPeerId');
    assert.equal(h.catalog.get('site', 'paris')?.spec.peerId, peerIdFor(1), 'nothing changed');
  });

  it('refuses a next id another site uses, or equal to the site\'s own', () => {
    const h = withSites();
    assert.equal(refusal(h.write({ op: 'patch', kind: 'site', id: 'paris', spec: { nextPeerId: peerIdFor(2) } }).result).field, 'spec.nextPeerId');
    assert.equal(refusal(h.write({ op: 'patch', kind: 'site', id: 'paris', spec: { nextPeerId: peerIdFor(1) } }).result).field, 'spec.nextPeerId');
    expectOk(h.write({ op: 'patch', kind: 'site', id: 'paris', spec: { nextPeerId: next } }).result);
    const clash = refusal(h.write({ op: 'put', kind: 'site', id: 'lyon', spec: siteSpec('lyon', 3, { peerId: next, addresses: ['/ip4/10.0.0.3/tcp/4001'] }) }).result);
    assert.match(clash.message ?? '', /rotating to/);
  });

  it('refuses a new site with a peer id another site has; a site that keeps its ids may still be patched', () => {
    const h = withSites();
    const taken = refusal(h.write({ op: 'put', kind: 'site', id: 'lyon', spec: siteSpec('lyon', 3, { peerId: peerIdFor(2), addresses: ['/ip4/10.0.0.3/tcp/4001'] }) }).result);
    assert.equal(taken.field, 'spec.peerId');
    assert.match(taken.message ?? '', /already used by site/);
    expectOk(h.write({ op: 'patch', kind: 'site', id: 'paris', spec: { addresses: ['/ip4/10.0.0.9/tcp/4001'] } }).result);
    assert.equal(h.catalog.get('site', 'lyon'), undefined);
  });

  it('refuses a write that both replaces the peer id and announces a rotation', () => {
    const h = withSites();
    const both = refusal(h.write({ op: 'patch', kind: 'site', id: 'paris', spec: { peerId: peerIdFor(11), nextPeerId: next, addresses: ['/ip4/10.0.0.1/tcp/4001'] } }).result);
    assert.equal(both.field, 'spec.nextPeerId');
  });
});

describe('peer-id lookup (ResourceStore.sitesHoldingPeerId, kept with every site write)', () => {
  it('frees an id its site rotated away from or was deleted with, and sees a batch\'s own earlier sites', () => {
    const h = new Harness();
    h.addTwoSites();
    const next = peerIdFor(9);
    expectOk(h.write({ op: 'patch', kind: 'site', id: 'paris', spec: { nextPeerId: next } }).result);
    assert.match(refusal(h.write({ op: 'put', kind: 'site', id: 'lyon', spec: siteSpec('lyon', 9, { addresses: ['/ip4/10.0.0.3/tcp/4001'] }) }).result).message ?? '', /rotating to/);
    expectOk(h.write({ op: 'patch', kind: 'site', id: 'paris', spec: { peerId: next, nextPeerId: null, addresses: ['/ip4/10.0.0.1/tcp/4001'] } }).result);
    const taken = refusal(h.write({ op: 'put', kind: 'site', id: 'lyon', spec: siteSpec('lyon', 9, { addresses: ['/ip4/10.0.0.3/tcp/4001'] }) }).result);
    assert.match(taken.message ?? '', /already used by site paris/, 'the rotated-to id is paris\'s now');
    expectOk(h.write({ op: 'put', kind: 'site', id: 'lyon', spec: siteSpec('lyon', 1, { addresses: ['/ip4/10.0.0.3/tcp/4001'] }) }).result);
    assert.equal(h.catalog.get('site', 'lyon')?.spec.peerId, peerIdFor(1), 'the id paris rotated away from is free');
    expectOk(h.write({ op: 'delete', kind: 'site', id: 'lyon' }).result);
    // One batch: the first new site takes the freed id, the second is refused for it, so neither is written.
    const batch = h.write(
      { op: 'put', kind: 'site', id: 'nice', spec: siteSpec('nice', 1, { addresses: ['/ip4/10.0.0.4/tcp/4001'] }) },
      { op: 'put', kind: 'site', id: 'lille', spec: siteSpec('lille', 1, { addresses: ['/ip4/10.0.0.5/tcp/4001'] }) },
    );
    assert.match(refusal(batch.result).message ?? '', /already used by site nice/);
    assert.equal(h.catalog.get('site', 'nice'), undefined);
    expectOk(h.write({ op: 'put', kind: 'site', id: 'nice', spec: siteSpec('nice', 1, { addresses: ['/ip4/10.0.0.4/tcp/4001'] }) }).result);
  });
});
