// quickAcceptOf against zod itself: whatever the compiled test accepts, the schema accepts with an
// output equal to the input (so the admin API may skip zod for it), over the write bodies and every
// spec field, for valid values and thousands of mutated ones; and the common write bodies really
// take the quick path (a test that compiled to null would pass the first half doing nothing).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { z } from 'zod';
import { quickAcceptOf } from '../../agent/admin/quick-accept.js';
import { WRITE_BODY_SCHEMAS, putRequest } from '../../agent/admin/requests.js';
import { RESOURCE_KINDS } from '../../agent/admin/service.js';
import { specFieldSchemas } from '../../agent/admin/specs.js';

/** A small seeded generator (mulberry32), so a failure replays. */
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

const ODD_VALUES: unknown[] = [
  null, true, false, 0, -1, 1, 1.5, -0.5, 2 ** 31, 2 ** 53, Number.MAX_SAFE_INTEGER, '', 'x', ' padded ', 'a'.repeat(70), 'a'.repeat(300), 'a'.repeat(1100),
  'line\nbreak', 'all', '*', 'region=eu', 'raw', 'bare', 'public', 'voter', 'qcow2', '0123456789abcdef'.repeat(4), '0123456789abcdef'.repeat(8),
  'https://example.com/image.raw', 'ftp://example.com/x', '12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA', '/ip4/127.0.0.1/tcp/4001',
  'b8a3c5d2-51b2-4a1e-9f3e-7d0c2a1b3c4d', 'DE', 'de', 'D', [], ['x'], [1], ['/ip4/127.0.0.1/tcp/4001'], {}, { a: 'b' }, { a: 1 }, { a: null }, { cores: 4 }, { cores: -2 },
  JSON.parse('{"__proto__": {"x": 1}}'), JSON.parse('{"a": "b", "__proto__": "c"}'),
];

function pick<T>(random: () => number, from: readonly T[]): T {
  return from[Math.floor(random() * from.length)]!;
}

/** Replaces one value somewhere inside `value` (a JSON tree), adds a key, or removes one. */
function mutate(random: () => number, value: unknown, depth = 0): unknown {
  if (value === null || typeof value !== 'object' || depth > 4 || random() < 0.25) return pick(random, ODD_VALUES);
  if (Array.isArray(value)) {
    if (value.length === 0 || random() < 0.2) return [...value, pick(random, ODD_VALUES)];
    const i = Math.floor(random() * value.length);
    return value.map((v, j) => (j === i ? mutate(random, v, depth + 1) : v));
  }
  const copy: Record<string, unknown> = { ...(value as Record<string, unknown>) };
  const keys = Object.keys(copy);
  const roll = random();
  if (roll < 0.1 || keys.length === 0) copy[pick(random, ['unknownField', 'spec', 'seq', 'placement', 'constructor', 'toString'])] = pick(random, ODD_VALUES);
  else if (roll < 0.2) delete copy[pick(random, keys)];
  else {
    const key = pick(random, keys);
    copy[key] = mutate(random, copy[key], depth + 1);
  }
  return copy;
}

/** Holds the compiled test to zod on `value`: an accepted value must parse, to itself. */
function holdsTo(schema: z.ZodType, value: unknown, label: string): boolean {
  const quick = quickAcceptOf(schema);
  if (quick === null || !quick(value)) return false;
  const parsed = schema.safeParse(value);
  assert.ok(parsed.success, `${label}: quick accept took ${JSON.stringify(value)} but zod refused it: ${parsed.success ? '' : parsed.error.message}`);
  assert.deepEqual(parsed.data, value, `${label}: zod's output differs from the input ${JSON.stringify(value)}`);
  return true;
}

const PEER = '12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA';
const VALID_BODIES: Record<string, unknown[]> = {
  putBody: [
    { spec: { name: 'm1', vcpus: 1, ram: 512, disk: 1, description: 'x'.repeat(256) }, clientId: 'bench-1', seq: 7, timeoutMs: 10_000 },
    { spec: { name: 'm1' }, placement: 'region=eu', expectedRevision: 0, operator: 'alice', host: 'ops-1', reason: 'why not', force: false },
    { spec: {}, placement: null },
  ],
  patchBody: [{ patch: { vcpus: 2, extraSpecs: { 'hw:cpu': null } }, placement: 'all', seq: 1, clientId: 'c' }],
  deleteBody: [{}, { expectedRevision: 3, clientId: 'c', seq: 2 }],
  controlsOnlyBody: [{}, { force: true, reason: 'lost', operator: 'bob' }],
  batchBody: [
    {
      ops: [
        { op: 'put', kind: 'flavor', id: 'f1', spec: { name: 'f1' }, placement: 'all' },
        { op: 'patch', kind: 'quota', id: 'p', patch: { compute: { cores: 4 } } },
        { op: 'delete', kind: 'image', id: 'b8a3c5d2-51b2-4a1e-9f3e-7d0c2a1b3c4d', expectedRevision: 4 },
      ],
      clientId: 'c',
      seq: 3,
    },
  ],
  siteAddBody: [{ name: 'site-4', peerId: PEER, addrs: ['/ip4/127.0.0.1/tcp/4001'], region: 'eu', country: 'DE', labels: { tier: 'gold' } }],
};

const VALID_SPECS: Record<string, Record<string, unknown>> = {
  flavor: { name: 'm1', vcpus: 4, ram: 2048, disk: 20, ephemeral: 0, swap: 0, rxtxFactor: 1.5, isPublic: false, extraSpecs: { 'hw:cpu_policy': 'dedicated' }, description: 'd', accessProjects: ['0123456789abcdef0123456789abcdef'] },
  image: { name: 'i', diskFormat: 'raw', containerFormat: 'bare', visibility: 'public', minDisk: 1, minRam: 0, protected: false, properties: { os: 'linux' }, tags: ['a'], source: { url: 'https://example.com/i.raw', sha256: '0123456789abcdef'.repeat(4) } },
  quota: { project: 'p1', compute: { cores: 10, ram: -1 }, volume: { gigabytes: 100 } },
  site: { name: 'site-1', peerId: PEER, addresses: ['/ip4/127.0.0.1/tcp/4001'], region: 'eu', country: 'DE', labels: { tier: 'gold' }, role: 'voter' },
  'protection-group': { name: 'pg1', project: 'p1', replicationType: 'async', primarySite: 'site-1', secondarySite: 'site-2', volumeType: 'ssd', members: ['b8a3c5d2-51b2-4a1e-9f3e-7d0c2a1b3c4d'] },
};

describe('quickAcceptOf: never accepts what zod refuses, never changes what zod would', () => {
  it('the write bodies: valid ones take the quick path, and mutated ones are zod-consistent', () => {
    const random = prng(12);
    for (const [name, schema] of Object.entries(WRITE_BODY_SCHEMAS)) {
      assert.notEqual(quickAcceptOf(schema), null, `${name} does not compile: every write would pay for zod`);
      let accepted = 0;
      for (const body of VALID_BODIES[name] ?? []) {
        assert.ok(holdsTo(schema, body, name), `${name}: the valid body ${JSON.stringify(body)} does not take the quick path`);
        for (let i = 0; i < 1500; i++) if (holdsTo(schema, mutate(random, body), name)) accepted++;
      }
      // Some mutations stay valid (an optional field removed, a value swapped for a fitting one).
      if ((VALID_BODIES[name] ?? []).length > 0) assert.ok(accepted > 0, `${name}: no mutated body was accepted: the mutations test nothing`);
    }
  });

  it('every spec field of every kind is zod-consistent on valid and mutated values', () => {
    const random = prng(34);
    let compiledFields = 0;
    for (const kind of RESOURCE_KINDS) {
      const spec = VALID_SPECS[kind] ?? {};
      for (const [field, schema] of Object.entries(specFieldSchemas(kind))) {
        if (quickAcceptOf(schema) !== null) compiledFields++;
        const valid = spec[field];
        if (valid !== undefined) holdsTo(schema, valid, `${kind}.${field}`);
        for (let i = 0; i < 400; i++) holdsTo(schema, mutate(random, valid ?? pick(random, ODD_VALUES)), `${kind}.${field}`);
        for (const odd of ODD_VALUES) holdsTo(schema, odd, `${kind}.${field}`);
      }
    }
    assert.ok(compiledFields > 30, `only ${compiledFields} spec fields compiled`);
    for (const field of ['name', 'vcpus', 'ram', 'disk', 'description', 'isPublic', 'extraSpecs']) {
      const schema = specFieldSchemas('flavor')[field]!;
      assert.ok(holdsTo(schema, VALID_SPECS.flavor![field], `flavor.${field}`), `flavor.${field} does not take the quick path`);
    }
  });

  it('a refused body still gets zod\'s own message, field by field', () => {
    const problemsOf = (body: object): Array<{ field: string; message: string }> => {
      try {
        putRequest('flavor', 'f1', body);
      } catch (err) {
        return (err as { problems: Array<{ field: string; message: string }> }).problems.map(({ field, message }) => ({ field, message }));
      }
      return assert.fail('the body was accepted');
    };
    assert.deepEqual(problemsOf({ spec: { name: 'f1', vcpus: 1, ram: 512, disk: 1 }, seq: 0 }), [{ field: 'seq', message: 'expected a positive integer, got 0' }]);
    assert.deepEqual(problemsOf({ spec: { name: 'f1', vcpus: 0, ram: 512, disk: 1 } }), [{ field: 'spec.vcpus', message: 'expected a positive integer, got 0' }]);
    assert.deepEqual(problemsOf({ spec: { name: 'f1', vcpus: 1, ram: 512, disk: 1 }, operator: ' alice' }).length, 1);
  });

  it('a null placement still means every site, on the quick path and off it', () => {
    const placementOf = (body: object): unknown => (putRequest('flavor', 'f1', { spec: { name: 'f1', vcpus: 1, ram: 512, disk: 1 }, ...body }).op as { placement?: string }).placement;
    assert.equal(placementOf({ placement: null }), 'all');
    assert.equal(placementOf({ placement: 'region=eu' }), 'region=eu');
    assert.equal(placementOf({}), undefined);
    assert.equal('placement' in putRequest('flavor', 'f1', { spec: { name: 'f1', vcpus: 1, ram: 512, disk: 1 } }).op, false);
  });

  it('schemas with parts it does not know compile to null (zod is asked)', () => {
    assert.equal(quickAcceptOf(z.string().transform((s) => s.trim())), null);
    assert.equal(quickAcceptOf(z.url()), null);
    assert.equal(quickAcceptOf(z.string().default('x')), null);
    assert.equal(quickAcceptOf(z.union([z.string(), z.url()])), null);
    assert.equal(quickAcceptOf(z.object({ a: z.string() }).extend({ b: z.number().default(1) })), null);
  });

  it('a plain (stripping) object accepts only inputs without unknown keys', () => {
    const schema = z.object({ a: z.string() });
    assert.equal(holdsTo(schema, { a: 'x' }, 'plain'), true);
    assert.equal(quickAcceptOf(schema)!({ a: 'x', b: 1 }), false);
  });
});
