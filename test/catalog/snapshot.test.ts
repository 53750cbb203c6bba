import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Packr } from 'msgpackr';
import { EntryType, type Entry } from '../../consensus/types.js';
import { Catalog } from '../../agent/catalog/catalog.js';
import { encodeCommand, syncStatusCommand, writeCommand } from '../../agent/catalog/command.js';
import { CatalogFormatError } from '../../agent/catalog/records.js';
import type { CommandResult, ResourceKind, WriteOp } from '../../agent/catalog/types.js';
import { IMAGE_ID, PROJECT, flavorSpec, imageSpec, protectionGroupSpec, quotaSpec, siteSpec } from './helpers.js';

const plainPackr = new Packr({ useRecords: false });

/** mulberry32: a small seeded PRNG so the stream is the same on every run. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SITES = ['paris', 'montreal', 'tokyo', 'sydney'];
const COUNTRIES = ['FR', 'CA', 'JP', 'AU'];

function randomOp(random: () => number): WriteOp {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)];
  const n = Math.floor(random() * 4);
  const kind = pick<ResourceKind>(['site', 'flavor', 'flavor', 'image', 'quota', 'protection-group']);
  const expectedRevision = random() < 0.2 ? Math.floor(random() * 20) : undefined;
  const action = pick(['put', 'put', 'patch', 'delete'] as const);
  const ids: Record<ResourceKind, string> = {
    site: SITES[n],
    flavor: `f${n}`,
    image: IMAGE_ID.slice(0, -1) + String(n),
    quota: PROJECT.slice(0, -1) + String(n),
    'protection-group': `pg${n}`,
  };
  const id = ids[kind];
  if (action === 'delete') return { op: 'delete', kind, id, ...(expectedRevision === undefined ? {} : { expectedRevision }) };
  const specs: Record<ResourceKind, () => Record<string, unknown>> = {
    site: () => siteSpec(id, n, { country: COUNTRIES[n], labels: { tier: pick(['gold', 'silver']) } }),
    flavor: () => flavorSpec({ vcpus: Math.floor(random() * 4), extraSpecs: { 'hw:cpu_policy': pick(['shared', 'dedicated']) } }),
    image: () => imageSpec({ name: `img-${Math.floor(random() * 3)}`, tags: [pick(['a', 'b', 'c'])] }),
    quota: () => quotaSpec({ project: id, compute: { cores: Math.floor(random() * 10) - 1 } }),
    'protection-group': () =>
      protectionGroupSpec({ name: id, primarySite: pick(SITES), secondarySite: pick(SITES), failoverEpoch: Math.floor(random() * 3) }),
  };
  const spec = action === 'patch' ? { [pick(Object.keys(specs[kind]()))]: specs[kind]()[pick(Object.keys(specs[kind]()))] } : specs[kind]();
  const placement = kind !== 'site' && kind !== 'protection-group' && random() < 0.5 ? pick(['all', 'country in (FR, CA)', ['tokyo'], 'labels.tier = gold']) : undefined;
  return {
    op: action,
    kind,
    id,
    spec,
    ...(placement === undefined ? {} : { placement }),
    ...(expectedRevision === undefined ? {} : { expectedRevision }),
  } as WriteOp;
}

/** A reproducible stream of entries: writes, batches, retries, sync reports, no-ops and junk. */
function randomEntries(seed: number, count: number): Entry[] {
  const random = prng(seed);
  const entries: Entry[] = [];
  const seqs = new Map<string, number>();
  let last: Uint8Array = new Uint8Array();
  for (let index = 1; index <= count; index++) {
    const roll = random();
    const clientId = `client-${Math.floor(random() * 5)}`;
    const seq = (seqs.get(clientId) ?? 0) + 1;
    const time = 1_700_000_000_000 + index * 1000;
    let data: Uint8Array;
    if (roll < 0.05) data = new Uint8Array();
    else if (roll < 0.08) data = new Uint8Array([0xc1, index & 0xff]);
    else if (roll < 0.15) data = last; // a retry of the previous command
    else if (roll < 0.25) {
      seqs.set(clientId, seq);
      const reports = [0, 1].map(() => ({
        site: SITES[Math.floor(random() * 4)],
        kind: 'flavor' as const,
        id: `f${Math.floor(random() * 4)}`,
        state: (['in-sync', 'pending', 'error', 'unreachable'] as const)[Math.floor(random() * 4)],
      }));
      data = encodeCommand(syncStatusCommand({ clientId, seq, time }, reports));
    } else {
      seqs.set(clientId, seq);
      const ops = Array.from({ length: 1 + Math.floor(random() * 3) }, () => randomOp(random));
      data = encodeCommand(writeCommand({ clientId, seq, time }, ops));
    }
    last = data;
    entries.push({ index, term: 1, type: EntryType.Normal, data });
  }
  return entries;
}

function applyAll(catalog: Catalog, entries: Entry[], store?: Map<string, Uint8Array>): CommandResult[] {
  return entries.map((entry) => {
    const { result, ops } = catalog.apply(entry);
    for (const op of ops) {
      if (op.type === 'put') store?.set(op.key, op.value);
      else store?.delete(op.key);
    }
    return result as CommandResult;
  });
}

describe('determinism and durability', () => {
  const entries = randomEntries(20240611, 600);

  it('two catalogs applying the same stream give the same results and byte-identical snapshots', () => {
    const a = new Catalog();
    const b = new Catalog();
    const resultsA = applyAll(a, entries);
    const resultsB = applyAll(b, entries);
    assert.deepEqual(resultsA, resultsB);
    assert.deepEqual(a.snapshot(), b.snapshot());
    // The stream must exercise both outcomes, or this test proves little.
    const oks = resultsA.filter((r) => r.ok && !('noop' in r)).length;
    const codes = new Set<string>(resultsA.filter((r) => !r.ok).map((r) => (r.ok ? '' : r.code)));
    assert.ok(oks > 50, `only ${oks} successful commands`);
    for (const code of ['VALIDATION', 'CONFLICT', 'NOT_FOUND']) assert.ok(codes.has(code), `no ${code} in the stream`);
    assert.ok(a.stats().syncEntries > 0 && a.stats().resources.flavor > 0);
  });

  it('a different stream gives a different snapshot', () => {
    const a = new Catalog();
    const b = new Catalog();
    applyAll(a, entries);
    applyAll(b, randomEntries(7, 600));
    assert.notDeepEqual(a.snapshot(), b.snapshot());
  });

  it('snapshot -> restore mid-stream, then the rest, equals the live catalog', () => {
    const live = new Catalog();
    applyAll(live, entries.slice(0, 300));
    const image = live.snapshot();
    const restored = new Catalog();
    const records = restored.restore(image);
    assert.equal(restored.appliedIndex, 300);
    assert.deepEqual(restored.snapshot(), image);
    assert.deepEqual(records, live.records());
    const liveResults = applyAll(live, entries.slice(300));
    const restoredResults = applyAll(restored, entries.slice(300));
    assert.deepEqual(restoredResults, liveResults);
    assert.deepEqual(restored.snapshot(), live.snapshot());
    assert.deepEqual(restored.get('site', 'paris'), live.get('site', 'paris'));
  });

  it('load(records) after applying the ops to a record map equals the live state', () => {
    const live = new Catalog();
    const store = new Map<string, Uint8Array>();
    applyAll(live, entries, store);
    const loaded = new Catalog();
    loaded.load([...store.entries()]);
    assert.equal(loaded.appliedIndex, live.appliedIndex);
    assert.deepEqual(loaded.snapshot(), live.snapshot());
    assert.deepEqual(loaded.syncMatrix(), live.syncMatrix());
    assert.deepEqual([...store.keys()].sort(), live.records().map(([key]) => key));
  });

  it('restore replaces whatever state was there', () => {
    const source = new Catalog();
    applyAll(source, entries.slice(0, 100));
    const target = new Catalog();
    applyAll(target, randomEntries(99, 200));
    target.restore(source.snapshot());
    assert.deepEqual(target.snapshot(), source.snapshot());
  });
});

describe('format versions', () => {
  it('refuses a snapshot of an unknown version or format', () => {
    const catalog = new Catalog();
    const future = plainPackr.pack({ format: 'stackraft.catalog', v: 2, records: [] });
    assert.throws(() => catalog.restore(future), (error: unknown) => error instanceof CatalogFormatError && /version 2/.test(error.message));
    assert.throws(() => catalog.restore(plainPackr.pack({ hello: 1 })), CatalogFormatError);
    assert.throws(() => catalog.restore(new Uint8Array([0xc1])), CatalogFormatError);
  });

  it('refuses a record of an unknown version and keeps the previous state', () => {
    const catalog = new Catalog();
    applyAll(catalog, randomEntries(3, 50));
    const before = catalog.snapshot();
    const records: Array<[string, Uint8Array]> = [
      ...catalog.records(),
      ['r/flavor/zzz', plainPackr.pack({ v: 2, resource: {} })],
    ];
    assert.throws(() => catalog.load(records), (error: unknown) => error instanceof CatalogFormatError && /r\/flavor\/zzz.*version 2/.test(error.message));
    assert.deepEqual(catalog.snapshot(), before);
    assert.throws(() => catalog.load([['q/odd', plainPackr.pack({ v: 1 })]]), /unknown prefix/);
  });
});
