// Where the OpenStack driver gets its credentials: a standard clouds.yaml entry (plus secure.yaml)
// or the OS_* environment variables of an openrc file. Every problem names the file and the field.
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { CloudConfigError } from '../errors.js';

export type EndpointInterface = 'public' | 'internal' | 'admin';
export type EndpointKind = 'image' | 'compute' | 'volume' | 'network';

export interface AuthConfig {
  /** Keystone URL; '/v3' is added when missing. */
  authUrl: string;
  type: 'password' | 'applicationCredential';
  username?: string;
  userId?: string;
  password?: string;
  userDomainName?: string;
  userDomainId?: string;
  projectName?: string;
  projectId?: string;
  projectDomainName?: string;
  projectDomainId?: string;
  applicationCredentialId?: string;
  applicationCredentialName?: string;
  applicationCredentialSecret?: string;
}

export interface OpenStackCloudConfig {
  /** Where the settings came from ('clouds.yaml /path (cloud x)' or 'environment'), for messages. */
  source: string;
  auth: AuthConfig;
  regionName?: string;
  interface: EndpointInterface;
  /** PEM file of the CA that signs the cloud's certificates. */
  caCertFile?: string;
  /** Skip TLS verification (verify: false / OS_INSECURE): for labs only. */
  insecure: boolean;
  /** URLs that replace the catalog's endpoint of a service. */
  endpointOverrides: Partial<Record<EndpointKind, string>>;
}

/** openstacksdk's search order. */
export function defaultCloudsYamlPaths(): string[] {
  return [resolve('clouds.yaml'), join(homedir(), '.config', 'openstack', 'clouds.yaml'), '/etc/openstack/clouds.yaml'];
}

const AUTH_FIELDS: Record<string, keyof AuthConfig> = {
  auth_url: 'authUrl',
  username: 'username',
  user_id: 'userId',
  password: 'password',
  user_domain_name: 'userDomainName',
  user_domain_id: 'userDomainId',
  project_name: 'projectName',
  tenant_name: 'projectName',
  project_id: 'projectId',
  tenant_id: 'projectId',
  project_domain_name: 'projectDomainName',
  project_domain_id: 'projectDomainId',
  application_credential_id: 'applicationCredentialId',
  application_credential_name: 'applicationCredentialName',
  application_credential_secret: 'applicationCredentialSecret',
};

const PASSWORD_AUTH_TYPES = ['password', 'v3password'];
const APP_CREDENTIAL_AUTH_TYPES = ['v3applicationcredential', 'applicationcredential', 'application_credential'];

const ENDPOINT_OVERRIDE_KEYS: Record<string, EndpointKind> = {
  image_endpoint_override: 'image',
  compute_endpoint_override: 'compute',
  block_storage_endpoint_override: 'volume',
  volume_endpoint_override: 'volume',
  volumev3_endpoint_override: 'volume',
  network_endpoint_override: 'network',
};

function parseInterface(source: string, field: string, value: string | undefined): EndpointInterface {
  if (value === undefined || value === '') return 'public';
  const v = value.replace(/URL$/, '');
  if (v === 'public' || v === 'internal' || v === 'admin') return v;
  throw new CloudConfigError(source, field, `must be public, internal or admin (got ${JSON.stringify(value)})`);
}

function parseBool(source: string, field: string, value: string): boolean {
  const v = value.toLowerCase();
  if (['true', 'yes', '1', 'on'].includes(v)) return true;
  if (['false', 'no', '0', 'off'].includes(v)) return false;
  throw new CloudConfigError(source, field, `must be true or false (got ${JSON.stringify(value)})`);
}

/** Fills domains from domain_name/domain_id, picks the auth type, and checks what Keystone will need. */
function finishAuth(source: string, fieldName: (key: string) => string, auth: Partial<AuthConfig>, authType: string | undefined, domain: { name?: string; id?: string }): AuthConfig {
  const a = { ...auth };
  if (a.userDomainName === undefined && a.userDomainId === undefined) {
    if (domain.id !== undefined) a.userDomainId = domain.id;
    else if (domain.name !== undefined) a.userDomainName = domain.name;
  }
  if (a.projectDomainName === undefined && a.projectDomainId === undefined) {
    if (domain.id !== undefined) a.projectDomainId = domain.id;
    else if (domain.name !== undefined) a.projectDomainName = domain.name;
  }
  if (a.authUrl === undefined || a.authUrl === '') throw new CloudConfigError(source, fieldName('auth_url'), 'is missing');
  if (!URL.canParse(a.authUrl) || !/^https?:$/.test(new URL(a.authUrl).protocol)) {
    throw new CloudConfigError(source, fieldName('auth_url'), `is not an http(s) URL (got ${JSON.stringify(a.authUrl)})`);
  }
  let type: AuthConfig['type'];
  if (authType === undefined || authType === '') {
    type = a.applicationCredentialSecret !== undefined ? 'applicationCredential' : 'password';
  } else if (PASSWORD_AUTH_TYPES.includes(authType)) {
    type = 'password';
  } else if (APP_CREDENTIAL_AUTH_TYPES.includes(authType)) {
    type = 'applicationCredential';
  } else {
    throw new CloudConfigError(source, fieldName('auth_type'), `${JSON.stringify(authType)} is not supported (use password or v3applicationcredential)`);
  }
  const need = (ok: boolean, field: string, problem: string) => {
    if (!ok) throw new CloudConfigError(source, fieldName(field), problem);
  };
  if (type === 'password') {
    need(a.username !== undefined || a.userId !== undefined, 'username', 'is missing (or user_id)');
    need(a.password !== undefined, 'password', 'is missing');
    need(a.userId !== undefined || a.userDomainName !== undefined || a.userDomainId !== undefined, 'user_domain_name', 'is missing (or user_domain_id, domain_name): Keystone needs the domain of a user named by name');
    need(a.projectId !== undefined || a.projectName !== undefined, 'project_name', 'is missing (or project_id): stackraft needs a project-scoped token');
    need(a.projectId !== undefined || a.projectDomainName !== undefined || a.projectDomainId !== undefined, 'project_domain_name', 'is missing (or project_domain_id, domain_name)');
  } else {
    need(a.applicationCredentialSecret !== undefined, 'application_credential_secret', 'is missing');
    need(a.applicationCredentialId !== undefined || a.applicationCredentialName !== undefined, 'application_credential_id', 'is missing (or application_credential_name)');
    if (a.applicationCredentialId === undefined) {
      need(a.username !== undefined || a.userId !== undefined, 'username', 'is needed with application_credential_name (or user_id)');
      need(a.userId !== undefined || a.userDomainName !== undefined || a.userDomainId !== undefined, 'user_domain_name', 'is needed with application_credential_name and username');
    }
  }
  return { ...(a as AuthConfig), type };
}

// ---------------------------------------------------------------- clouds.yaml

export type YamlMap = Record<string, unknown>;

function isMap(v: unknown): v is YamlMap {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** clouds.yaml and secure.yaml are small; anything bigger is not one. */
export const MAX_CLOUDS_YAML_BYTES = 1 << 20;

function readYamlFile(path: string): YamlMap {
  let text: string;
  try {
    const bytes = readFileSync(path);
    if (bytes.length > MAX_CLOUDS_YAML_BYTES) throw new CloudConfigError(path, '', `is ${bytes.length} bytes; a clouds.yaml is at most ${MAX_CLOUDS_YAML_BYTES}`);
    text = bytes.toString('utf8');
  } catch (err) {
    if (err instanceof CloudConfigError) throw err;
    throw new CloudConfigError(path, '', `cannot be read: ${(err as Error).message}`);
  }
  return parseCloudsYamlText(text, path);
}

/** Parses the text of a clouds.yaml or secure.yaml; `path` names it in errors. Throws CloudConfigError. */
export function parseCloudsYamlText(text: string, path: string): YamlMap {
  let doc: unknown;
  try {
    // failsafe: every scalar stays a string (a numeric password or project id keeps its digits).
    doc = parseYaml(text, { schema: 'failsafe', prettyErrors: true, logLevel: 'error' });
  } catch (err) {
    throw new CloudConfigError(path, '', `is not valid YAML: ${(err as Error).message}`);
  }
  if (doc === null || doc === undefined) return {};
  if (!isMap(doc)) throw new CloudConfigError(path, '', 'must be a YAML mapping with a top-level "clouds" key');
  return doc;
}

function deepMerge(base: YamlMap, over: YamlMap): YamlMap {
  const out: YamlMap = { ...base };
  for (const [k, v] of Object.entries(over)) out[k] = isMap(v) && isMap(out[k]) ? deepMerge(out[k] as YamlMap, v) : v;
  return out;
}

function stringField(source: string, field: string, value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw new CloudConfigError(source, field, 'must be a single value, not a list or mapping');
  return value;
}

export interface CloudsYamlOptions {
  cloud: string;
  /** An explicit file; otherwise the first of `searchPaths` that exists. */
  path?: string;
  searchPaths?: string[];
}

export function loadCloudsYaml(options: CloudsYamlOptions): OpenStackCloudConfig {
  const candidates = options.path !== undefined ? [options.path] : (options.searchPaths ?? defaultCloudsYamlPaths());
  const path = candidates.find((p) => existsSync(p));
  if (path === undefined) {
    throw new CloudConfigError('clouds.yaml', '', `not found (looked in ${candidates.join(', ')})`);
  }
  let doc = readYamlFile(path);
  const securePath = join(dirname(path), 'secure.yaml');
  if (existsSync(securePath)) doc = deepMerge(doc, readYamlFile(securePath));
  return cloudFromDocument(doc, path, options.cloud);
}

/** The settings of `cloud` in a parsed clouds.yaml (secure.yaml already merged in). Throws CloudConfigError. */
export function cloudFromDocument(doc: YamlMap, path: string, cloud: string): OpenStackCloudConfig {
  const source = `${path} (cloud ${JSON.stringify(cloud)})`;
  const clouds = doc.clouds;
  if (!isMap(clouds)) throw new CloudConfigError(path, 'clouds', 'is missing or not a mapping');
  const entry = clouds[cloud];
  if (!isMap(entry)) {
    throw new CloudConfigError(path, `clouds.${cloud}`, `is not defined (clouds defined: ${Object.keys(clouds).join(', ') || 'none'})`);
  }
  const prefix = `clouds.${cloud}.`;
  const authMap = entry.auth;
  if (!isMap(authMap)) throw new CloudConfigError(source, `${prefix}auth`, 'is missing or not a mapping');
  const auth: Partial<AuthConfig> = {};
  for (const [key, value] of Object.entries(authMap)) {
    // hasOwn: a key such as "constructor" must not find Object.prototype's members.
    const field = Object.hasOwn(AUTH_FIELDS, key) ? AUTH_FIELDS[key] : undefined;
    if (field === undefined) continue;
    const text = stringField(source, `${prefix}auth.${key}`, value);
    if (text !== undefined) (auth as Record<string, string>)[field] = text;
  }
  const domain = {
    name: stringField(source, `${prefix}auth.domain_name`, authMap.domain_name),
    id: stringField(source, `${prefix}auth.domain_id`, authMap.domain_id),
  };
  const authType = stringField(source, `${prefix}auth_type`, entry.auth_type);
  const apiVersion = stringField(source, `${prefix}identity_api_version`, entry.identity_api_version);
  if (apiVersion !== undefined && apiVersion !== '3') {
    throw new CloudConfigError(source, `${prefix}identity_api_version`, `must be 3 (got ${apiVersion}): Keystone v2 is not supported`);
  }
  const config: OpenStackCloudConfig = {
    source,
    auth: finishAuth(source, (key) => (key === 'auth_type' ? `${prefix}auth_type` : `${prefix}auth.${key}`), auth, authType, domain),
    interface: parseInterface(source, `${prefix}interface`, stringField(source, `${prefix}interface`, entry.interface ?? entry.endpoint_type)),
    insecure: false,
    endpointOverrides: {},
  };
  const region = stringField(source, `${prefix}region_name`, entry.region_name);
  if (region !== undefined && region !== '') config.regionName = region;
  const verify = stringField(source, `${prefix}verify`, entry.verify);
  if (verify !== undefined) config.insecure = !parseBool(source, `${prefix}verify`, verify);
  const cacert = stringField(source, `${prefix}cacert`, entry.cacert);
  if (cacert !== undefined && cacert !== '') config.caCertFile = cacert;
  for (const [key, kind] of Object.entries(ENDPOINT_OVERRIDE_KEYS)) {
    const url = stringField(source, `${prefix}${key}`, entry[key]);
    if (url !== undefined && url !== '') config.endpointOverrides[kind] = url;
  }
  return config;
}

// ---------------------------------------------------------------- OS_* environment

const ENV_AUTH_FIELDS: Record<string, keyof AuthConfig> = {
  OS_AUTH_URL: 'authUrl',
  OS_USERNAME: 'username',
  OS_USER_ID: 'userId',
  OS_PASSWORD: 'password',
  OS_USER_DOMAIN_NAME: 'userDomainName',
  OS_USER_DOMAIN_ID: 'userDomainId',
  OS_PROJECT_NAME: 'projectName',
  OS_TENANT_NAME: 'projectName',
  OS_PROJECT_ID: 'projectId',
  OS_TENANT_ID: 'projectId',
  OS_PROJECT_DOMAIN_NAME: 'projectDomainName',
  OS_PROJECT_DOMAIN_ID: 'projectDomainId',
  OS_APPLICATION_CREDENTIAL_ID: 'applicationCredentialId',
  OS_APPLICATION_CREDENTIAL_NAME: 'applicationCredentialName',
  OS_APPLICATION_CREDENTIAL_SECRET: 'applicationCredentialSecret',
};

export function configFromEnvironment(env: NodeJS.ProcessEnv): OpenStackCloudConfig {
  const source = 'environment';
  const auth: Partial<AuthConfig> = {};
  for (const [name, field] of Object.entries(ENV_AUTH_FIELDS)) {
    const value = env[name];
    if (value !== undefined && value !== '' && auth[field] === undefined) (auth as Record<string, string>)[field] = value;
  }
  const apiVersion = env.OS_IDENTITY_API_VERSION;
  if (apiVersion !== undefined && apiVersion !== '' && apiVersion !== '3') {
    throw new CloudConfigError(source, 'OS_IDENTITY_API_VERSION', `must be 3 (got ${apiVersion})`);
  }
  const domain = { name: env.OS_DOMAIN_NAME || undefined, id: env.OS_DOMAIN_ID || undefined };
  const config: OpenStackCloudConfig = {
    source,
    auth: finishAuth(source, (key) => `OS_${key.toUpperCase()}`, auth, env.OS_AUTH_TYPE, domain),
    interface: parseInterface(source, 'OS_INTERFACE', env.OS_INTERFACE || env.OS_ENDPOINT_TYPE),
    insecure: env.OS_INSECURE ? parseBool(source, 'OS_INSECURE', env.OS_INSECURE) : false,
    endpointOverrides: {},
  };
  if (env.OS_REGION_NAME) config.regionName = env.OS_REGION_NAME;
  if (env.OS_CACERT) config.caCertFile = env.OS_CACERT;
  return config;
}

export interface ResolveCloudConfigOptions {
  /** A clouds.yaml cloud name; default OS_CLOUD. */
  cloud?: string;
  /** An explicit clouds.yaml; default OS_CLIENT_CONFIG_FILE, then the standard search path. */
  cloudsYamlPath?: string;
  env?: NodeJS.ProcessEnv;
  searchPaths?: string[];
}

/** clouds.yaml when a cloud name is given (or OS_CLOUD is set), otherwise the OS_* variables. */
export function resolveCloudConfig(options: ResolveCloudConfigOptions = {}): OpenStackCloudConfig {
  const env = options.env ?? process.env;
  const cloud = options.cloud ?? (env.OS_CLOUD || undefined);
  if (cloud !== undefined) {
    const path = options.cloudsYamlPath ?? (env.OS_CLIENT_CONFIG_FILE || undefined);
    return loadCloudsYaml({ cloud, path, searchPaths: options.searchPaths });
  }
  if (!env.OS_AUTH_URL) {
    throw new CloudConfigError('environment', '', 'has no OpenStack credentials: name a clouds.yaml cloud (or set OS_CLOUD), or set OS_AUTH_URL and the other OS_* variables');
  }
  return configFromEnvironment(env);
}
