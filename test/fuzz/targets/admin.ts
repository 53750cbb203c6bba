// Admin requests through the real request handling (handleAdminRequest: router, percent-decoding,
// query flags, content-type and size checks, JSON body, zod request schemas, spec checks, error
// mapping, metrics), in-process with the body as a stream. The service behind it answers every
// call at once, so what is fuzzed is the decoding of the request, not the catalog. An input is
//
//   METHOD SP URL LF (NAME: VALUE LF)* LF BODY
//
// METHOD is taken from what Node's HTTP parser accepts (others never reach the handler). A 500
// answer is a finding: it means the handler threw something other than its own refusal.
import { METHODS, type IncomingMessage, type ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { silentLogger } from '../../../consensus/ports.js';
import { handleAdminRequest, type AdminRequestDeps } from '../../../agent/admin/server.js';
import { adminRoutes } from '../../../agent/admin/routes.js';
import { RESOURCE_KINDS, writeIdFor, type AgentService, type WriteOutcome } from '../../../agent/admin/service.js';
import { createAgentMetrics } from '../../../agent/ops/metrics.js';
import type { Prng } from '../../../sim/prng.js';
import { baseStatus } from '../../admin/fake-service.js';
import { concat, type Mutator } from '../mutate.js';
import { accepted, rejected, text, utf8, type FuzzTarget, type Outcome } from '../target.js';

const committed = (): WriteOutcome => ({ status: 'committed', writeId: writeIdFor('fuzz', 1), index: 1, revisions: [] });

/** Answers every call without keeping anything (a million requests must not grow it). */
const service: AgentService = {
  status: async () => baseStatus(),
  write: async () => committed(),
  writeStatus: async (writeId) => ({ writeId, status: 'not-committed', final: true, asOfIndex: 1, message: 'not in the log' }),
  get: async () => ({ status: 'ok', value: null, meta: { appliedIndex: 1, commitIndex: 1, linearizable: false, stalenessMs: 0 } }),
  list: async () => ({ status: 'ok', value: [], meta: { appliedIndex: 1, commitIndex: 1, linearizable: false, stalenessMs: 0 } }),
  siteAdd: async () => committed(),
  siteRemove: async () => committed(),
  memberPromote: async () => committed(),
  memberDemote: async () => committed(),
  leaderTransfer: async (site) => ({ status: 'transferred', leader: site, term: 2 }),
  syncStatus: async () => ({ sites: [] }),
  // Keeps nothing: every watch is refused as if the history were compacted.
  watch: () => ({ ok: false, code: 'COMPACTED', message: 'nothing is kept', firstIndex: 1 }),
  metrics: async () => '',
};

const deps: AdminRequestDeps = { router: adminRoutes(), service, metrics: createAgentMetrics({ processMetrics: false }), logger: silentLogger };

const SPECS: Record<string, Record<string, unknown>> = {
  flavor: { name: 'm1.small', vcpus: 1, ram: 2048, disk: 20, extraSpecs: { 'hw:cpu_policy': 'shared' }, isPublic: true },
  image: { name: 'debian', diskFormat: 'qcow2', containerFormat: 'bare', source: { url: 'https://example.org/d.qcow2', sha256: 'a'.repeat(64) }, tags: ['x'], properties: { os: 'linux' } },
  quota: { project: 'p1', compute: { cores: 10, ram: -1 }, volume: { gigabytes: 100 }, network: { port: 5 } },
  'protection-group': { name: 'pg1', project: 'p1', replicationType: 'async', primarySite: 'a', secondarySite: 'b', volumeType: 'rbd', members: [] },
  site: { name: 's1', peerId: '12D3KooWxyz', addresses: ['/ip4/10.0.0.1/tcp/4001'], region: 'eu-west', country: 'DE', labels: { tier: 'gold' } },
};
const IDS = ['m1.small', 'a', 'pg1', 'p1', 's1', 'x'.repeat(256), '%2F', '%zz', '..', '%00', 'é', '%E0%A4%A', '%C0%AF', '+', ' ', '%20'];
const SEGMENT_KINDS = [...RESOURCE_KINDS, 'flavors', 'FLAVOR', '', '%66lavor', 'constructor', '__proto__'];

interface RequestShape {
  method: string;
  url: string;
  headers: Array<[string, string]>;
  body: Uint8Array;
}

function encode(request: RequestShape): Uint8Array {
  const head = [`${request.method} ${request.url}`, ...request.headers.map(([k, v]) => `${k}: ${v}`)].join('\n');
  return concat(utf8(`${head}\n\n`), request.body);
}

function decode(input: Uint8Array): RequestShape {
  let split = -1;
  for (let i = 0; i + 1 < input.length; i++) {
    if (input[i] === 10 && input[i + 1] === 10) {
      split = i;
      break;
    }
  }
  const head = text(split < 0 ? input : input.subarray(0, split)).split('\n');
  const body = split < 0 ? new Uint8Array(0) : input.subarray(split + 2);
  const first = head[0] ?? '';
  const space = first.indexOf(' ');
  const method = space < 0 ? first : first.slice(0, space);
  const url = space < 0 ? '/' : first.slice(space + 1);
  const headers: Array<[string, string]> = [];
  for (const line of head.slice(1)) {
    const colon = line.indexOf(':');
    if (colon > 0) headers.push([line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim()]);
  }
  return { method, url, headers, body };
}

function bodyFor(template: string, kind: string, rng: Prng): Record<string, unknown> | undefined {
  const controls = rng.chance(0.5) ? { clientId: `c-${rng.int(9)}`, seq: 1 + rng.int(9), timeoutMs: 1000 } : {};
  if (template.includes('/resources/:kind/:id')) {
    const spec = SPECS[kind] ?? SPECS.flavor;
    return rng.chance(0.5) ? { spec, placement: rng.pick(['all', 'region=eu-west', null]), ...controls } : { patch: spec, expectedRevision: 3, ...controls };
  }
  if (template === '/v1/batch') return { ops: [{ op: 'put', kind, id: 'x1', spec: SPECS[kind] ?? SPECS.flavor }, { op: 'delete', kind: 'flavor', id: 'old' }], ...controls };
  if (template === '/v1/sites') return { name: 's2', peerId: '12D3KooWxyz', addrs: ['/ip4/10.0.0.2/tcp/4001/p2p/12D3KooWxyz'], region: 'eu', country: 'de', labels: { a: 'b' }, ...controls };
  if (template === '/v1/leader/transfer') return { site: 's2', timeoutMs: 5000 };
  return rng.chance(0.5) ? controls : undefined;
}

const ROUTES: Array<[string, string]> = [
  ['GET', '/v1/status'], ['GET', '/v1/resources/:kind'], ['GET', '/v1/resources/:kind/:id'], ['PUT', '/v1/resources/:kind/:id'],
  ['PATCH', '/v1/resources/:kind/:id'], ['DELETE', '/v1/resources/:kind/:id'], ['POST', '/v1/batch'], ['GET', '/v1/writes/:writeId'],
  ['POST', '/v1/sites'], ['DELETE', '/v1/sites/:site'], ['GET', '/v1/members'], ['POST', '/v1/members/:site/promote'],
  ['POST', '/v1/members/:site/demote'], ['POST', '/v1/leader/transfer'], ['GET', '/v1/sync'], ['GET', '/metrics'],
];

function deepJson(rng: Prng): string {
  const depth = 1 + rng.int(rng.chance(0.5) ? 100 : 50_000);
  const open = rng.chance(0.5) ? '[' : '{"a":';
  const close = open === '[' ? ']' : '}';
  return `{"spec":{"name":${open.repeat(depth)}1${close.repeat(depth)}}}`;
}

function generate(rng: Prng, m: Mutator): Uint8Array {
  const [routeMethod, template] = rng.pick(ROUTES);
  const kind = rng.chance(0.8) ? rng.pick(RESOURCE_KINDS) : rng.pick(SEGMENT_KINDS);
  const path = template
    .replace(':kind', kind)
    .replace(':id', rng.chance(0.7) ? 'x1' : rng.pick(IDS))
    .replace(':writeId', rng.chance(0.5) ? 'c-1:1' : m.string())
    .replace(':site', rng.chance(0.7) ? 's2' : rng.pick(IDS));
  const query = rng.chance(0.3) ? `?linearizable=${rng.pick(['', 'true', '1', 'false', 'yes', '%ff', 'true&linearizable=false'])}` : '';
  const method = rng.chance(0.85) ? routeMethod : rng.pick(METHODS);
  let body: Uint8Array = new Uint8Array(0);
  const shape = bodyFor(template, kind, rng);
  if (rng.chance(0.05)) body = utf8(deepJson(rng));
  else if (shape !== undefined || rng.chance(0.1)) {
    const value = rng.chance(0.7) ? m.tree(shape ?? {}, false) : (shape ?? m.any(0, false));
    let json: string;
    try {
      json = JSON.stringify(value) ?? 'null';
    } catch {
      json = deepJson(rng);
    }
    body = utf8(json);
  }
  const headers: Array<[string, string]> = [];
  if (body.length > 0 || rng.chance(0.1)) headers.push(['content-type', rng.chance(0.9) ? 'application/json' : rng.pick(['text/plain', 'application/json; charset=latin1', 'APPLICATION/JSON', '', 'application/jsonx'])]);
  if (body.length > 0 || rng.chance(0.1)) headers.push(['content-length', rng.chance(0.9) ? String(body.length) : rng.pick(['0', '-1', '999999999', 'abc', '1e3', ''])]);
  if (rng.chance(0.05)) headers.push(['transfer-encoding', 'chunked']);
  return encode({ method, url: path + query, headers, body });
}

function seeds(): Uint8Array[] {
  const json = (value: unknown) => utf8(JSON.stringify(value));
  const h = (body: Uint8Array): Array<[string, string]> => [['content-type', 'application/json'], ['content-length', String(body.length)]];
  const put = json({ spec: SPECS.flavor });
  const batch = json({ ops: [{ op: 'put', kind: 'quota', id: 'q1', spec: SPECS.quota }] });
  return [
    encode({ method: 'GET', url: '/v1/status', headers: [], body: new Uint8Array(0) }),
    encode({ method: 'PUT', url: '/v1/resources/flavor/m1.small', headers: h(put), body: put }),
    encode({ method: 'POST', url: '/v1/batch', headers: h(batch), body: batch }),
    encode({ method: 'GET', url: '/v1/resources/image/a%2Fb?linearizable=true', headers: [], body: new Uint8Array(0) }),
  ];
}

/** Collects what the handler writes. */
class ResponseRecorder {
  status = 0;
  body = '';
  headersSent = false;
  destroyed = false;
  writeHead(status: number): this {
    this.status = status;
    this.headersSent = true;
    return this;
  }
  end(text?: string): this {
    this.body += text ?? '';
    return this;
  }
  destroy(): this {
    this.destroyed = true;
    return this;
  }
}

async function run(input: Uint8Array): Promise<Outcome> {
  const request = decode(input);
  // Node's parser refuses unknown methods before any handler runs.
  if (!METHODS.includes(request.method)) return rejected('http-parser', 'unknown method');
  const req = Readable.from(request.body.length > 0 ? [Buffer.from(request.body)] : []) as unknown as IncomingMessage;
  Object.assign(req, { method: request.method, url: request.url, headers: Object.fromEntries(request.headers) });
  const res = new ResponseRecorder();
  await handleAdminRequest(req, res as unknown as ServerResponse, deps);
  if (res.status === 0) throw new Error('the handler wrote no response');
  if (res.status >= 200 && res.status < 300) return accepted();
  const answer = JSON.parse(res.body) as { error?: { code?: string; message?: string } };
  const code = answer.error?.code;
  if (typeof code !== 'string') throw new Error(`status ${res.status} without an error code: ${res.body.slice(0, 200)}`);
  if (res.status >= 500) throw new Error(`status ${res.status}: ${answer.error?.message ?? ''}`);
  return rejected(code, answer.error?.message ?? '');
}

export const adminTarget: FuzzTarget = {
  name: 'admin',
  covers: 'agent/admin: handleAdminRequest, Router, readJsonBody, request schemas, checkSpec, error mapping',
  maxInputBytes: 64 * 1024,
  dictionary: ['/v1/', 'resources/', 'flavor', 'image', '%', '%2F', '?linearizable=', '"spec":', '"patch":', '"ops":', '"op":"put"', '"__proto__":', '{', '}', '[', ']', 'null', '1e999', '-0', '"\\u0000"', 'content-length: ', 'content-type: application/json'],
  seeds,
  generate,
  run,
};
