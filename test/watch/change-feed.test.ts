// The change feed behind `stackraft watch`: replay then live without a gap or a duplicate, the kind
// filter, bounded history dropped a whole index at a time, COMPACTED refusals and resets.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ChangeFeed, MAX_WATCHERS, type ChangeEvent, type WatchEnd } from '../../agent/watch/change-feed.js';
import { feedChanges } from '../../agent/watch/feed-changes.js';
import { Catalog } from '../../agent/catalog/catalog.js';
import { encodeCommand, writeCommand } from '../../agent/catalog/command.js';
import { EntryType } from '../../consensus/types.js';
import { flavorSpec } from '../catalog/helpers.js';

function change(index: number, id: string, kind: ChangeEvent['kind'] = 'flavor'): ChangeEvent {
  return { index, type: 'put', kind, id, resource: null };
}

function collector(): { events: ChangeEvent[]; ends: WatchEnd[]; watcher: { onEvent(e: ChangeEvent): void; onEnd(e: WatchEnd): void } } {
  const events: ChangeEvent[] = [];
  const ends: WatchEnd[] = [];
  return { events, ends, watcher: { onEvent: (e) => void events.push(e), onEnd: (e) => void ends.push(e) } };
}

describe('ChangeFeed', () => {
  it('replays from an index, then follows live changes, each once', () => {
    const feed = new ChangeFeed(10);
    feed.record(11, [change(11, 'a')]);
    feed.record(12, []);
    feed.record(13, [change(13, 'b'), change(13, 'c')]);
    const c = collector();
    const started = feed.watch({ fromIndex: 12 }, c.watcher);
    assert.ok(started.ok);
    assert.deepEqual(c.events.map((e) => e.id), ['b', 'c']);
    feed.record(14, [change(14, 'd')]);
    assert.deepEqual(c.events.map((e) => [e.index, e.id]), [[13, 'b'], [13, 'c'], [14, 'd']]);
    started.cancel();
    feed.record(15, [change(15, 'e')]);
    assert.equal(c.events.length, 3, 'nothing after cancel');
  });

  it('without fromIndex follows only what is applied from now on; the kind filter applies to replay and live', () => {
    const feed = new ChangeFeed(0);
    feed.record(1, [change(1, 'old')]);
    const now = collector();
    assert.ok(feed.watch({}, now.watcher).ok);
    const groups = collector();
    assert.ok(feed.watch({ fromIndex: 1, kind: 'protection-group' }, groups.watcher).ok);
    feed.record(2, [change(2, 'f2'), change(2, 'pg', 'protection-group')]);
    assert.deepEqual(now.events.map((e) => e.id), ['f2', 'pg']);
    assert.deepEqual(groups.events.map((e) => e.id), ['pg']);
  });

  it('keeps a bounded history, dropping whole indices; an older fromIndex is refused COMPACTED with the first index kept', () => {
    const feed = new ChangeFeed(0, 3);
    feed.record(1, [change(1, 'a'), change(1, 'b')]);
    feed.record(2, [change(2, 'c'), change(2, 'd')]);
    assert.equal(feed.firstIndex, 2, 'index 1 went whole, so index 2 is complete');
    const refused = feed.watch({ fromIndex: 1 }, collector().watcher);
    assert.equal(refused.ok, false);
    assert.equal(!refused.ok && refused.code, 'COMPACTED');
    assert.equal(!refused.ok && refused.firstIndex, 2);
    assert.match(!refused.ok ? refused.message : '', /index 1 has been compacted away/);
    const c = collector();
    assert.ok(feed.watch({ fromIndex: 2 }, c.watcher).ok);
    assert.deepEqual(c.events.map((e) => e.id), ['c', 'd']);
  });

  it('a reset (snapshot installed) ends every watcher with COMPACTED and where to resume', () => {
    const feed = new ChangeFeed(0);
    const c = collector();
    assert.ok(feed.watch({}, c.watcher).ok);
    feed.reset(50);
    assert.deepEqual(c.ends.map((e) => [e.code, e.resumeFrom]), [['COMPACTED', 51]]);
    assert.equal(feed.watcherCount, 0);
    assert.equal(feed.firstIndex, 51);
  });

  it('refuses more than MAX_WATCHERS watchers as BUSY', () => {
    const feed = new ChangeFeed(0);
    for (let i = 0; i < MAX_WATCHERS; i++) assert.ok(feed.watch({}, collector().watcher).ok);
    const refused = feed.watch({}, collector().watcher);
    assert.equal(!refused.ok && refused.code, 'BUSY');
  });

  it('is fed by the catalog as entries apply: puts carry the resource as applied, deletes carry null', () => {
    const catalog = new Catalog();
    const feed = new ChangeFeed(0);
    const sm = feedChanges(catalog, catalog, feed);
    const c = collector();
    assert.ok(feed.watch({ fromIndex: 1 }, c.watcher).ok);
    const command = (seq: number, ops: Parameters<typeof writeCommand>[1]) => encodeCommand(writeCommand({ clientId: 'w', seq, time: 1000 + seq }, ops));
    sm.apply({ index: 1, term: 1, type: EntryType.Normal, data: command(1, [{ op: 'put', kind: 'flavor', id: 'f1', spec: flavorSpec() }]) });
    sm.apply({ index: 2, term: 1, type: EntryType.Normal, data: new Uint8Array() });
    sm.apply({ index: 3, term: 1, type: EntryType.Normal, data: command(2, [{ op: 'delete', kind: 'flavor', id: 'f1' }]) });
    assert.deepEqual(c.events.map((e) => [e.index, e.type, e.kind, e.id, e.resource?.revision ?? null]), [[1, 'put', 'flavor', 'f1', 1], [3, 'delete', 'flavor', 'f1', null]]);
  });
});
