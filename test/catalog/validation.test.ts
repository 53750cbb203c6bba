import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ResourceKind } from '../../agent/catalog/types.js';
import {
  Harness,
  IMAGE_ID,
  PROJECT,
  SHA256,
  expectOk,
  flavorSpec,
  imageSpec,
  peerIdFor,
  protectionGroupSpec,
  quotaSpec,
  siteSpec,
} from './helpers.js';

interface Case {
  name: string;
  kind: ResourceKind;
  id: string;
  spec: unknown;
  field: string;
  /** Text the message must contain. */
  says?: string;
}

function assertRefused(harness: Harness, c: Case): void {
  const { result } = harness.write({ op: 'put', kind: c.kind, id: c.id, spec: c.spec as object });
  assert.equal(result.ok, false, `${c.name}: expected a refusal`);
  if (result.ok) return;
  assert.equal(result.code, 'VALIDATION', c.name);
  assert.equal(result.code === 'VALIDATION' && result.field, c.field, `${c.name}: ${JSON.stringify(result)}`);
  assert.equal(result.code === 'VALIDATION' && result.opIndex, 0);
  if (c.says) assert.match(result.message, new RegExp(c.says), c.name);
  assert.equal(harness.catalog.get(c.kind, c.id), undefined, `${c.name}: nothing stored`);
}

describe('site validation', () => {
  const cases: Case[] = [
    { name: 'missing peerId', kind: 'site', id: 's1', spec: { ...siteSpec('s1', 1), peerId: undefined }, field: 'spec.peerId', says: 'required' },
    { name: 'bad peerId', kind: 'site', id: 's1', spec: siteSpec('s1', 1, { peerId: 'not-a-peer' }), field: 'spec.peerId' },
    { name: 'name differs from id', kind: 'site', id: 's1', spec: siteSpec('s2', 1), field: 'spec.name', says: 'must equal' },
    { name: 'bad id', kind: 'site', id: 'bad/name', spec: siteSpec('bad/name', 1), field: 'id' },
    { name: 'no addresses', kind: 'site', id: 's1', spec: siteSpec('s1', 1, { addresses: [] }), field: 'spec.addresses' },
    { name: 'bad ip4', kind: 'site', id: 's1', spec: siteSpec('s1', 1, { addresses: ['/ip4/300.1.1.1/tcp/1'] }), field: 'spec.addresses[0]' },
    { name: 'bad port', kind: 'site', id: 's1', spec: siteSpec('s1', 1, { addresses: ['/ip4/1.1.1.1/tcp/70000'] }), field: 'spec.addresses[0]' },
    { name: 'unknown protocol', kind: 'site', id: 's1', spec: siteSpec('s1', 1, { addresses: ['/ip4/1.1.1.1/sctp/5'] }), field: 'spec.addresses[0]', says: 'unknown protocol' },
    {
      name: 'address names another peer',
      kind: 'site',
      id: 's1',
      spec: siteSpec('s1', 1, { addresses: [`/ip4/1.1.1.1/tcp/1/p2p/${peerIdFor(9)}`] }),
      field: 'spec.addresses[0]',
      says: 'not this site',
    },
    { name: 'country not ISO', kind: 'site', id: 's1', spec: siteSpec('s1', 1, { country: 'UK' }), field: 'spec.country' },
    { name: 'country too long', kind: 'site', id: 's1', spec: siteSpec('s1', 1, { country: 'USA' }), field: 'spec.country' },
    { name: 'missing region', kind: 'site', id: 's1', spec: { ...siteSpec('s1', 1), region: undefined }, field: 'spec.region' },
    { name: 'bad label key', kind: 'site', id: 's1', spec: siteSpec('s1', 1, { labels: { '-x': 'y' } }), field: 'spec.labels key' },
    { name: 'bad label value', kind: 'site', id: 's1', spec: siteSpec('s1', 1, { labels: { x: 'a b' } }), field: 'spec.labels.x' },
    { name: 'bad role', kind: 'site', id: 's1', spec: siteSpec('s1', 1, { role: 'leader' }), field: 'spec.role' },
    { name: 'unknown field', kind: 'site', id: 's1', spec: siteSpec('s1', 1, { zone: 'a' }), field: 'spec.zone', says: 'unknown field' },
    { name: 'spec not an object', kind: 'site', id: 's1', spec: [1, 2], field: 'spec' },
  ];
  for (const c of cases) it(`refuses ${c.name}`, () => assertRefused(new Harness(), c));

  it('normalizes country case, defaults role and name', () => {
    const harness = new Harness();
    const spec = siteSpec('lyon', 3, { country: 'fr', role: undefined, name: undefined });
    expectOk(harness.write({ op: 'put', kind: 'site', id: 'lyon', spec }).result);
    const site = harness.catalog.get('site', 'lyon');
    assert.equal(site?.spec.country, 'FR');
    assert.equal(site?.spec.role, 'learner');
    assert.equal(site?.spec.name, 'lyon');
    assert.equal(site?.placement, undefined);
  });

  it('accepts the multiaddr and peer id forms libp2p prints', () => {
    const harness = new Harness();
    const relay = peerIdFor(40);
    const rsa = `Qm${'a'.repeat(44)}`;
    const addresses = [
      '/ip6/2001:db8::7/tcp/4001',
      '/dns/site.example.org/tcp/443/wss',
      '/ip4/198.51.100.4/udp/4001/quic-v1',
      `/ip4/198.51.100.9/tcp/4001/p2p/${relay}/p2p-circuit/p2p/${rsa}`,
    ];
    expectOk(harness.write({ op: 'put', kind: 'site', id: 'rsa', spec: siteSpec('rsa', 11, { peerId: rsa, addresses }) }).result);
    const cid = `bafzaa${'a'.repeat(50)}`;
    expectOk(harness.write({ op: 'put', kind: 'site', id: 'cid', spec: siteSpec('cid', 12, { peerId: cid, addresses: ['/ip4/1.2.3.4/tcp/1'] }) }).result);
    assert.deepEqual(harness.catalog.get('site', 'rsa')?.spec.addresses, addresses);
  });

  it('refuses a peer id already used by another site', () => {
    const harness = new Harness();
    expectOk(harness.write({ op: 'put', kind: 'site', id: 'a', spec: siteSpec('a', 1) }).result);
    const { result } = harness.write({ op: 'put', kind: 'site', id: 'b', spec: siteSpec('b', 1) });
    assert.equal(!result.ok && result.code === 'VALIDATION' && result.field, 'spec.peerId');
  });

  it('refuses a placement on a site', () => {
    const { result } = new Harness().write({ op: 'put', kind: 'site', id: 'a', spec: siteSpec('a', 1), placement: 'all' });
    assert.equal(!result.ok && result.code === 'VALIDATION' && result.field, 'placement');
  });
});

describe('flavor validation', () => {
  const cases: Case[] = [
    { name: 'vcpus 0', kind: 'flavor', id: 'f', spec: flavorSpec({ vcpus: 0 }), field: 'spec.vcpus' },
    { name: 'vcpus fractional', kind: 'flavor', id: 'f', spec: flavorSpec({ vcpus: 1.5 }), field: 'spec.vcpus', says: 'integer' },
    { name: 'vcpus string', kind: 'flavor', id: 'f', spec: flavorSpec({ vcpus: '2' }), field: 'spec.vcpus' },
    { name: 'ram 0', kind: 'flavor', id: 'f', spec: flavorSpec({ ram: 0 }), field: 'spec.ram' },
    { name: 'ram over int32', kind: 'flavor', id: 'f', spec: flavorSpec({ ram: 2 ** 31 }), field: 'spec.ram' },
    { name: 'negative disk', kind: 'flavor', id: 'f', spec: flavorSpec({ disk: -1 }), field: 'spec.disk' },
    { name: 'missing disk', kind: 'flavor', id: 'f', spec: { name: 'x', vcpus: 1, ram: 1 }, field: 'spec.disk', says: 'required' },
    { name: 'negative swap', kind: 'flavor', id: 'f', spec: flavorSpec({ swap: -5 }), field: 'spec.swap' },
    { name: 'negative ephemeral', kind: 'flavor', id: 'f', spec: flavorSpec({ ephemeral: -1 }), field: 'spec.ephemeral' },
    { name: 'zero rxtx', kind: 'flavor', id: 'f', spec: flavorSpec({ rxtxFactor: 0 }), field: 'spec.rxtxFactor' },
    { name: 'empty name', kind: 'flavor', id: 'f', spec: flavorSpec({ name: '' }), field: 'spec.name' },
    { name: 'long name', kind: 'flavor', id: 'f', spec: flavorSpec({ name: 'x'.repeat(256) }), field: 'spec.name' },
    { name: 'name with edge space', kind: 'flavor', id: 'f', spec: flavorSpec({ name: ' x' }), field: 'spec.name' },
    { name: 'isPublic not bool', kind: 'flavor', id: 'f', spec: flavorSpec({ isPublic: 'yes' }), field: 'spec.isPublic' },
    { name: 'extra spec key', kind: 'flavor', id: 'f', spec: flavorSpec({ extraSpecs: { 'hw/cpu': '1' } }), field: 'spec.extraSpecs key' },
    { name: 'extra spec value', kind: 'flavor', id: 'f', spec: flavorSpec({ extraSpecs: { 'hw:cpu': 2 } }), field: 'spec.extraSpecs.hw:cpu' },
    { name: 'id with slash', kind: 'flavor', id: 'a/b', spec: flavorSpec(), field: 'id' },
    { name: 'id with edge space', kind: 'flavor', id: 'a ', spec: flavorSpec(), field: 'id' },
    { name: "id '.'", kind: 'flavor', id: '.', spec: flavorSpec(), field: 'id', says: 'not' },
    { name: "id '..'", kind: 'flavor', id: '..', spec: flavorSpec(), field: 'id', says: 'not' },
    { name: "extra spec key '..'", kind: 'flavor', id: 'f', spec: flavorSpec({ extraSpecs: { '..': '1' } }), field: 'spec.extraSpecs key' },
    { name: 'access on a public flavor', kind: 'flavor', id: 'f', spec: flavorSpec({ accessProjects: [PROJECT] }), field: 'spec.accessProjects', says: 'private' },
    { name: 'access not a list', kind: 'flavor', id: 'f', spec: flavorSpec({ isPublic: false, accessProjects: PROJECT }), field: 'spec.accessProjects' },
    { name: 'access project id', kind: 'flavor', id: 'f', spec: flavorSpec({ isPublic: false, accessProjects: ['a b'] }), field: 'spec.accessProjects[0]' },
    { name: 'access project twice', kind: 'flavor', id: 'f', spec: flavorSpec({ isPublic: false, accessProjects: ['p1', 'p1'] }), field: 'spec.accessProjects[1]' },
  ];
  for (const c of cases) it(`refuses ${c.name}`, () => assertRefused(new Harness(), c));

  it('fills Nova defaults', () => {
    const harness = new Harness();
    expectOk(harness.write({ op: 'put', kind: 'flavor', id: 'm1.small', spec: flavorSpec() }).result);
    assert.deepEqual(harness.catalog.get('flavor', 'm1.small')?.spec, {
      name: 'm1.small',
      vcpus: 1,
      ram: 2048,
      disk: 20,
      ephemeral: 0,
      swap: 0,
      rxtxFactor: 1,
      isPublic: true,
      extraSpecs: {},
    });
  });
});

describe('flavor project access', () => {
  it('stores the access list of a private flavor sorted; none means no field; a patch replaces or removes the list', () => {
    const harness = new Harness();
    const [first] = expectOk(harness.write({ op: 'put', kind: 'flavor', id: 'p', spec: flavorSpec({ isPublic: false, accessProjects: ['p2', 'p1'] }) }).result);
    assert.deepEqual(harness.catalog.get('flavor', 'p')?.spec.accessProjects, ['p1', 'p2']);
    const [same] = expectOk(harness.write({ op: 'put', kind: 'flavor', id: 'p', spec: flavorSpec({ isPublic: false, accessProjects: ['p1', 'p2'] }) }).result);
    assert.equal(same, first, 'the same set in another order is no change');
    expectOk(harness.write({ op: 'patch', kind: 'flavor', id: 'p', spec: { accessProjects: ['p3'] } }).result);
    assert.deepEqual(harness.catalog.get('flavor', 'p')?.spec.accessProjects, ['p3']);
    expectOk(harness.write({ op: 'patch', kind: 'flavor', id: 'p', spec: { accessProjects: null } }).result);
    assert.equal(Object.hasOwn(harness.catalog.get('flavor', 'p')!.spec, 'accessProjects'), false);
    expectOk(harness.write({ op: 'put', kind: 'flavor', id: 'q', spec: flavorSpec({ isPublic: false, accessProjects: [] }) }).result);
    assert.equal(Object.hasOwn(harness.catalog.get('flavor', 'q')!.spec, 'accessProjects'), false);
  });
});

describe('image validation', () => {
  const cases: Case[] = [
    { name: 'uppercase uuid id', kind: 'image', id: IMAGE_ID.toUpperCase(), spec: imageSpec(), field: 'id' },
    { name: 'non-uuid id', kind: 'image', id: 'ubuntu', spec: imageSpec(), field: 'id', says: 'UUID' },
    { name: 'disk format', kind: 'image', id: IMAGE_ID, spec: imageSpec({ diskFormat: 'img' }), field: 'spec.diskFormat' },
    { name: 'container format', kind: 'image', id: IMAGE_ID, spec: imageSpec({ containerFormat: 'zip' }), field: 'spec.containerFormat' },
    { name: 'private visibility', kind: 'image', id: IMAGE_ID, spec: imageSpec({ visibility: 'private' }), field: 'spec.visibility' },
    { name: 'negative minDisk', kind: 'image', id: IMAGE_ID, spec: imageSpec({ minDisk: -1 }), field: 'spec.minDisk' },
    { name: 'reserved property', kind: 'image', id: IMAGE_ID, spec: imageSpec({ properties: { owner: 'x' } }), field: 'spec.properties.owner' },
    { name: 'tag not string', kind: 'image', id: IMAGE_ID, spec: imageSpec({ tags: ['a', 3] }), field: 'spec.tags[1]' },
    { name: 'missing source', kind: 'image', id: IMAGE_ID, spec: { ...imageSpec(), source: undefined }, field: 'spec.source' },
    { name: 'ftp url', kind: 'image', id: IMAGE_ID, spec: imageSpec({ source: { url: 'ftp://x/y', sha256: SHA256 } }), field: 'spec.source.url' },
    {
      name: 'credentials in url',
      kind: 'image',
      id: IMAGE_ID,
      spec: imageSpec({ source: { url: 'https://user:pw@x.org/y', sha256: SHA256 } }),
      field: 'spec.source.url',
      says: 'credentials',
    },
    { name: 'no digest', kind: 'image', id: IMAGE_ID, spec: imageSpec({ source: { url: 'https://x.org/y' } }), field: 'spec.source.sha256' },
    { name: 'short sha256', kind: 'image', id: IMAGE_ID, spec: imageSpec({ source: { url: 'https://x.org/y', sha256: 'abc' } }), field: 'spec.source.sha256' },
    {
      name: 'non-hex sha512',
      kind: 'image',
      id: IMAGE_ID,
      spec: imageSpec({ source: { url: 'https://x.org/y', sha512: 'z'.repeat(128) } }),
      field: 'spec.source.sha512',
    },
  ];
  for (const c of cases) it(`refuses ${c.name}`, () => assertRefused(new Harness(), c));

  it('fills Glance defaults, sorts tags, lower-cases digests', () => {
    const harness = new Harness();
    const spec = imageSpec({ tags: ['b', 'a', 'b'], source: { url: 'https://x.org/y', sha512: 'AB'.repeat(64) } });
    expectOk(harness.write({ op: 'put', kind: 'image', id: IMAGE_ID, spec }).result);
    const image = harness.catalog.get('image', IMAGE_ID);
    assert.equal(image?.spec.visibility, 'public');
    assert.equal(image?.spec.protected, false);
    assert.equal(image?.spec.minDisk, 0);
    assert.deepEqual(image?.spec.tags, ['a', 'b']);
    assert.equal(image?.spec.source.sha512, 'ab'.repeat(64));
    assert.deepEqual(image?.placement, { type: 'all', text: 'all' });
  });
});

describe('quota validation', () => {
  const cases: Case[] = [
    { name: 'project differs from id', kind: 'quota', id: 'other', spec: quotaSpec(), field: 'spec.project' },
    { name: 'below -1', kind: 'quota', id: PROJECT, spec: quotaSpec({ compute: { cores: -2 } }), field: 'spec.compute.cores' },
    { name: 'unknown limit', kind: 'quota', id: PROJECT, spec: quotaSpec({ volume: { disks: 1 } }), field: 'spec.volume.disks' },
    { name: 'unknown group', kind: 'quota', id: PROJECT, spec: quotaSpec({ dns: { zones: 1 } }), field: 'spec.dns' },
    { name: 'no limits', kind: 'quota', id: PROJECT, spec: { project: PROJECT }, field: 'spec' },
    { name: 'group not object', kind: 'quota', id: PROJECT, spec: quotaSpec({ network: 5 }), field: 'spec.network' },
    { name: 'bad project id', kind: 'quota', id: 'proj ect', spec: { compute: { cores: 1 } }, field: 'id' },
  ];
  for (const c of cases) it(`refuses ${c.name}`, () => assertRefused(new Harness(), c));

  it('accepts -1 (unlimited) and keeps only given limits', () => {
    const harness = new Harness();
    expectOk(harness.write({ op: 'put', kind: 'quota', id: PROJECT, spec: { network: { ports: -1 } } }).result);
    assert.deepEqual(harness.catalog.get('quota', PROJECT)?.spec, { project: PROJECT, network: { ports: -1 } });
  });
});

describe('protection-group validation', () => {
  const cases: Case[] = [
    { name: 'bad replicationType', kind: 'protection-group', id: 'pg1', spec: protectionGroupSpec({ replicationType: 'semi' }), field: 'spec.replicationType' },
    { name: 'same sites', kind: 'protection-group', id: 'pg1', spec: protectionGroupSpec({ secondarySite: 'paris' }), field: 'spec.secondarySite' },
    { name: 'unknown site', kind: 'protection-group', id: 'pg1', spec: protectionGroupSpec({ secondarySite: 'tokyo' }), field: 'spec.secondarySite', says: 'not in the catalog' },
    { name: 'member not uuid', kind: 'protection-group', id: 'pg1', spec: protectionGroupSpec({ members: ['vm1'] }), field: 'spec.members[0]' },
    {
      name: 'duplicate member',
      kind: 'protection-group',
      id: 'pg1',
      spec: protectionGroupSpec({ members: ['11111111-2222-4333-8444-555555555555', '11111111-2222-4333-8444-555555555555'] }),
      field: 'spec.members[1]',
    },
    { name: 'bad status', kind: 'protection-group', id: 'pg1', spec: protectionGroupSpec({ status: 'done' }), field: 'spec.status' },
    { name: 'negative epoch', kind: 'protection-group', id: 'pg1', spec: protectionGroupSpec({ failoverEpoch: -1 }), field: 'spec.failoverEpoch' },
    { name: 'unknown mapping', kind: 'protection-group', id: 'pg1', spec: protectionGroupSpec({ mappings: { ports: {} } }), field: 'spec.mappings.ports' },
    { name: 'missing volumeType', kind: 'protection-group', id: 'pg1', spec: { ...protectionGroupSpec(), volumeType: undefined }, field: 'spec.volumeType' },
  ];
  for (const c of cases) {
    it(`refuses ${c.name}`, () => {
      const harness = new Harness();
      harness.addTwoSites();
      assertRefused(harness, c);
    });
  }
});

describe('op shape', () => {
  it('names an unknown kind', () => {
    const { result } = new Harness().write({ op: 'put', kind: 'volume' as never, id: 'x', spec: {} });
    assert.equal(!result.ok && result.code === 'VALIDATION' && result.field, 'kind');
    assert.match(!result.ok ? result.message : '', /unknown kind 'volume'/);
  });

  it('names an unknown op and an unknown op field', () => {
    const harness = new Harness();
    const bad = harness.write({ op: 'upsert', kind: 'flavor', id: 'x' } as never).result;
    assert.equal(!bad.ok && bad.code === 'VALIDATION' && bad.field, 'op');
    const extra = harness.write({ op: 'delete', kind: 'flavor', id: 'x', spec: {} } as never).result;
    assert.equal(!extra.ok && extra.code === 'VALIDATION' && extra.field, 'spec');
  });

  it('refuses an empty or oversized batch', () => {
    const harness = new Harness();
    const empty = harness.write().result;
    assert.equal(!empty.ok && empty.code === 'VALIDATION' && empty.field, 'ops');
    const many = Array.from({ length: 101 }, (_, i) => ({ op: 'delete' as const, kind: 'flavor' as const, id: `f${i}` }));
    const tooMany = harness.write(...many).result;
    assert.equal(!tooMany.ok && tooMany.code === 'VALIDATION' && tooMany.field, 'ops');
  });

  it('refuses a bad expectedRevision', () => {
    const { result } = new Harness().write({ op: 'put', kind: 'flavor', id: 'x', spec: flavorSpec(), expectedRevision: -1 });
    assert.equal(!result.ok && result.code === 'VALIDATION' && result.field, 'expectedRevision');
  });
});
