// clouds.yaml, secure.yaml and OS_* parsing: good files load, bad ones fail naming file and field.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CloudConfigError, configFromEnvironment, loadCloudsYaml, resolveCloudConfig } from '../../drivers/index.js';
import { identityV3Url, tokenRequestBody } from '../../drivers/openstack/keystone.js';

describe('OpenStack credentials', () => {
  let dir: string;
  const file = (name: string, text: string) => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };
  const configError = (field: RegExp | string) => (err: unknown) => {
    assert.ok(err instanceof CloudConfigError, `expected CloudConfigError, got ${String(err)}`);
    if (typeof field === 'string') assert.equal(err.field, field);
    else assert.match(err.message, field);
    return true;
  };

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'stackraft-clouds-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('loads a password cloud, merging secrets from secure.yaml next to it', () => {
    const sub = join(dir, 'merged');
    mkdirSync(sub);
    writeFileSync(
      join(sub, 'clouds.yaml'),
      `clouds:
  site-a:
    auth:
      auth_url: https://keystone.example.org:5000
      username: stackraft
      project_name: ops
      user_domain_name: Default
      project_domain_id: default
    region_name: RegionTwo
    interface: internal
    cacert: /etc/ssl/ca.pem
    image_endpoint_override: https://glance.example.org/
    identity_api_version: 3
`,
    );
    writeFileSync(join(sub, 'secure.yaml'), 'clouds:\n  site-a:\n    auth:\n      password: 007123\n');
    const c = loadCloudsYaml({ cloud: 'site-a', path: join(sub, 'clouds.yaml') });
    assert.equal(c.auth.type, 'password');
    assert.equal(c.auth.password, '007123', 'a numeric password keeps its digits');
    assert.equal(c.auth.username, 'stackraft');
    assert.equal(c.auth.userDomainName, 'Default');
    assert.equal(c.auth.projectDomainId, 'default');
    assert.equal(c.regionName, 'RegionTwo');
    assert.equal(c.interface, 'internal');
    assert.equal(c.caCertFile, '/etc/ssl/ca.pem');
    assert.equal(c.insecure, false);
    assert.deepEqual(c.endpointOverrides, { image: 'https://glance.example.org/' });
    assert.match(c.source, /site-a/);
  });

  it('loads an application credential and infers the auth type from the secret', () => {
    const path = file('app.yaml', 'clouds:\n  x:\n    auth:\n      auth_url: http://k:5000/v3\n      application_credential_id: abc\n      application_credential_secret: s\n    verify: false\n');
    const c = loadCloudsYaml({ cloud: 'x', path });
    assert.equal(c.auth.type, 'applicationCredential');
    assert.equal(c.insecure, true);
    assert.deepEqual(tokenRequestBody(c.auth), { auth: { identity: { methods: ['application_credential'], application_credential: { id: 'abc', secret: 's' } } } });
  });

  it('fills user and project domains from domain_name, and builds a project-scoped password login', () => {
    const path = file('dom.yaml', 'clouds:\n  x:\n    auth:\n      auth_url: http://k:5000\n      username: u\n      password: p\n      project_name: pr\n      domain_name: D\n');
    const c = loadCloudsYaml({ cloud: 'x', path });
    assert.deepEqual(tokenRequestBody(c.auth), {
      auth: {
        identity: { methods: ['password'], password: { user: { name: 'u', domain: { name: 'D' }, password: 'p' } } },
        scope: { project: { name: 'pr', domain: { name: 'D' } } },
      },
    });
    assert.equal(identityV3Url(c.auth.authUrl), 'http://k:5000/v3');
    assert.equal(identityV3Url('http://k:5000/v3/'), 'http://k:5000/v3');
  });

  it('searches the standard paths in order and says where it looked', () => {
    const found = file('found.yaml', 'clouds:\n  y:\n    auth:\n      auth_url: http://k\n      application_credential_id: a\n      application_credential_secret: b\n');
    const c = loadCloudsYaml({ cloud: 'y', searchPaths: [join(dir, 'missing.yaml'), found] });
    assert.match(c.source, /found\.yaml/);
    assert.throws(() => loadCloudsYaml({ cloud: 'y', searchPaths: [join(dir, 'nope1.yaml'), join(dir, 'nope2.yaml')] }), configError(/not found \(looked in .*nope1\.yaml, .*nope2\.yaml\)/));
  });

  it('names the clouds that exist when the asked one does not', () => {
    const path = file('two.yaml', 'clouds:\n  a: {auth: {auth_url: "http://k"}}\n  b: {auth: {auth_url: "http://k"}}\n');
    assert.throws(() => loadCloudsYaml({ cloud: 'c', path }), configError(/clouds\.c is not defined \(clouds defined: a, b\)/));
  });

  it('reports bad YAML, a missing clouds key, a missing auth_url and unsupported settings', () => {
    assert.throws(() => loadCloudsYaml({ cloud: 'x', path: file('bad.yaml', 'clouds:\n  x: [unclosed\n') }), configError(/not valid YAML/));
    assert.throws(() => loadCloudsYaml({ cloud: 'x', path: file('nokey.yaml', 'other: 1\n') }), configError('clouds'));
    assert.throws(() => loadCloudsYaml({ cloud: 'x', path: file('noauth.yaml', 'clouds:\n  x:\n    region_name: R\n') }), configError('clouds.x.auth'));
    assert.throws(() => loadCloudsYaml({ cloud: 'x', path: file('nourl.yaml', 'clouds:\n  x:\n    auth:\n      username: u\n') }), configError('clouds.x.auth.auth_url'));
    assert.throws(() => loadCloudsYaml({ cloud: 'x', path: file('oidc.yaml', 'clouds:\n  x:\n    auth_type: v3oidcpassword\n    auth:\n      auth_url: http://k\n') }), configError(/clouds\.x\.auth_type "v3oidcpassword" is not supported/));
    assert.throws(() => loadCloudsYaml({ cloud: 'x', path: file('v2.yaml', 'clouds:\n  x:\n    identity_api_version: 2\n    auth:\n      auth_url: http://k\n') }), configError(/must be 3/));
    assert.throws(() => loadCloudsYaml({ cloud: 'x', path: file('iface.yaml', 'clouds:\n  x:\n    interface: private\n    auth: {auth_url: "http://k", application_credential_id: a, application_credential_secret: b}\n') }), configError(/must be public, internal or admin/));
    assert.throws(() => loadCloudsYaml({ cloud: 'x', path: file('nodomain.yaml', 'clouds:\n  x:\n    auth: {auth_url: "http://k", username: u, password: p, project_name: q}\n') }), configError('clouds.x.auth.user_domain_name'));
    assert.throws(() => loadCloudsYaml({ cloud: 'x', path: file('list.yaml', 'clouds:\n  x:\n    auth: {auth_url: [a, b]}\n') }), configError('clouds.x.auth.auth_url'));
  });

  it('reads OS_* variables like an openrc file, and refuses an empty environment', () => {
    const c = configFromEnvironment({
      OS_AUTH_URL: 'http://127.0.0.1:5000/v3',
      OS_USERNAME: 'admin',
      OS_PASSWORD: 'admin',
      OS_PROJECT_NAME: 'admin',
      OS_USER_DOMAIN_NAME: 'Default',
      OS_PROJECT_DOMAIN_NAME: 'Default',
      OS_REGION_NAME: 'RegionOne',
      OS_ENDPOINT_TYPE: 'publicURL',
      OS_INSECURE: 'true',
    });
    assert.equal(c.source, 'environment');
    assert.equal(c.interface, 'public');
    assert.equal(c.regionName, 'RegionOne');
    assert.equal(c.insecure, true);
    assert.equal(c.auth.type, 'password');
    assert.throws(() => configFromEnvironment({ OS_AUTH_URL: 'http://k', OS_USERNAME: 'u', OS_PROJECT_NAME: 'p', OS_DOMAIN_NAME: 'D' }), configError('OS_PASSWORD'));
    assert.throws(() => resolveCloudConfig({ env: {} }), configError(/no OpenStack credentials/));
  });

  it('prefers a named cloud (or OS_CLOUD with OS_CLIENT_CONFIG_FILE) over OS_* variables', () => {
    const path = file('pick.yaml', 'clouds:\n  picked:\n    auth: {auth_url: "http://picked", application_credential_id: a, application_credential_secret: b}\n');
    const env = { OS_CLOUD: 'picked', OS_CLIENT_CONFIG_FILE: path, OS_AUTH_URL: 'http://env' };
    assert.equal(resolveCloudConfig({ env }).auth.authUrl, 'http://picked');
    assert.equal(resolveCloudConfig({ env: { OS_AUTH_URL: 'http://env', OS_APPLICATION_CREDENTIAL_ID: 'a', OS_APPLICATION_CREDENTIAL_SECRET: 'b' } }).auth.authUrl, 'http://env');
  });
});

