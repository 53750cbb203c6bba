// Version discovery of the mock cloud: the documents keystoneauth and openstacksdk read before their
// first real call (Keystone's root and /v3, Nova's, Glance's and Cinder's version lists), so the
// standard clients (python-openstackclient, openstacksdk, gophercloud) find their endpoints here as
// they do on a real cloud. No token is needed, as on the real services.
import { NOVA_MAX_MICROVERSION, NOVA_MIN_MICROVERSION } from './nova.js';
import { route, sendJson, type Route } from './http-kit.js';

/** Keystone's API version the mock claims (Zed's). */
export const KEYSTONE_VERSION = 'v3.14';
/** Glance image API versions the mock serves (v2.16: Zed's latest). */
export const GLANCE_VERSIONS = ['v2.16', 'v2.15', 'v2.9', 'v2.7', 'v2.6', 'v2.5', 'v2.4', 'v2.3', 'v2.2', 'v2.1', 'v2.0'];
/** Cinder v3 microversions; the mock only serves quota sets, which every microversion has. */
export const CINDER_MIN_MICROVERSION = '3.0';
export const CINDER_MAX_MICROVERSION = '3.70';

function selfLink(href: string): Array<Record<string, string>> {
  return [{ rel: 'self', href }];
}

function keystoneVersion(base: string): Record<string, unknown> {
  return {
    id: KEYSTONE_VERSION,
    status: 'stable',
    updated: '2020-04-07T00:00:00Z',
    links: selfLink(`${base}/identity/v3/`),
    'media-types': [{ base: 'application/json', type: 'application/vnd.openstack.identity-v3+json' }],
  };
}

function novaVersion(base: string): Record<string, unknown> {
  return {
    id: 'v2.1',
    status: 'CURRENT',
    version: NOVA_MAX_MICROVERSION,
    min_version: NOVA_MIN_MICROVERSION,
    updated: '2013-07-23T11:33:21Z',
    links: selfLink(`${base}/compute/v2.1/`),
    'media-types': [{ base: 'application/json', type: 'application/vnd.openstack.compute+json;version=2.1' }],
  };
}

function glanceVersions(base: string): Array<Record<string, unknown>> {
  return GLANCE_VERSIONS.map((id, i) => ({ id, status: i === 0 ? 'CURRENT' : 'SUPPORTED', links: selfLink(`${base}/image/v2/`) }));
}

function cinderVersion(base: string): Record<string, unknown> {
  return {
    id: 'v3.0',
    status: 'CURRENT',
    version: CINDER_MAX_MICROVERSION,
    min_version: CINDER_MIN_MICROVERSION,
    updated: '2023-01-01T00:00:00Z',
    links: selfLink(`${base}/volume/v3/`),
    'media-types': [{ base: 'application/json', type: 'application/vnd.openstack.volume+json;version=3' }],
  };
}

/** Discovery routes; `base` gives the server's own URL (known only once it listens). */
export function discoveryRoutes(base: () => string): Route[] {
  const open = { auth: false };
  return [
    // Keystone answers its root with 300 Multiple Choices and the list; /v3 with the one version.
    route('GET', /^\/identity\/?$/, 'identity', (r) => sendJson(r.res, 300, { versions: { values: [keystoneVersion(base())] } }), open),
    route('GET', /^\/identity\/v3\/?$/, 'identity', (r) => sendJson(r.res, 200, { version: keystoneVersion(base()) }), open),
    route('GET', /^\/compute\/?$/, 'compute', (r) => sendJson(r.res, 200, { versions: [novaVersion(base())] }), open),
    route('GET', /^\/compute\/v2\.1\/?$/, 'compute', (r) => sendJson(r.res, 200, { version: novaVersion(base()) }), open),
    route('GET', /^\/image\/?$/, 'image', (r) => sendJson(r.res, 300, { versions: glanceVersions(base()) }), open),
    route('GET', /^\/image\/versions\/?$/, 'image', (r) => sendJson(r.res, 200, { versions: glanceVersions(base()) }), open),
    route('GET', /^\/volume\/?$/, 'volume', (r) => sendJson(r.res, 300, { versions: [cinderVersion(base())] }), open),
    route('GET', /^\/volume\/v3\/?$/, 'volume', (r) => sendJson(r.res, 200, { versions: [cinderVersion(base())] }), open),
  ];
}
