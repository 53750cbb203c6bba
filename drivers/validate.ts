// Checks a spec before any request, so a bad spec fails with a message naming the field instead of
// half-applying and then failing on the cloud. The catalog validates too; this guards other callers.
import { InvalidSpecError } from './errors.js';
import { EXTRA_SPEC_MARKER_PREFIX, IMAGE_MARKER_PREFIX, isGlanceOwnedAttribute } from './markers.js';
import { QUOTA_KEYS_BY_PART } from './quota-keys.js';
import type { CloudFlavorSpec, CloudImageSpec, QuotaPart, CloudQuotaSpec } from './types.js';

/** Nova and Cinder store sizes and counts in signed 32-bit columns. */
export const MAX_INT32 = 2_147_483_647;
export const MAX_NAME_CHARS = 255;
export const MAX_EXTRA_SPEC_CHARS = 255;
export const MAX_PROPERTY_VALUE_CHARS = 65_535;
export const MAX_SOURCE_URL_CHARS = 2048;

export const GLANCE_DISK_FORMATS: readonly string[] = ['ami', 'ari', 'aki', 'vhd', 'vhdx', 'vmdk', 'raw', 'qcow2', 'vdi', 'iso', 'ploop'];
export const GLANCE_CONTAINER_FORMATS: readonly string[] = ['ami', 'ari', 'aki', 'bare', 'ovf', 'ova', 'docker', 'compressed'];

const FLAVOR_ID = /^(?! )[A-Za-z0-9. _-]+(?<! )$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const PROJECT_ID = /^[A-Za-z0-9_-]{1,64}$/;
const SHA256 = /^[0-9a-f]{64}$/;
const SHA512 = /^[0-9a-f]{128}$/;

class Checker {
  constructor(
    private readonly kind: string,
    private readonly id: string,
  ) {}

  fail(field: string, problem: string): never {
    throw new InvalidSpecError(this.kind, this.id, field, problem);
  }

  string(field: string, value: unknown, maxChars: number, minChars = 1): string {
    if (typeof value !== 'string') this.fail(field, `must be a string (got ${typeof value})`);
    if (value.length < minChars || value.length > maxChars) this.fail(field, `must have ${minChars} to ${maxChars} characters`);
    return value;
  }

  int(field: string, value: unknown, min: number, max = MAX_INT32): number {
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
      this.fail(field, `must be an integer from ${min} to ${max} (got ${JSON.stringify(value)})`);
    }
    return value;
  }

  bool(field: string, value: unknown): boolean {
    if (typeof value !== 'boolean') this.fail(field, `must be true or false (got ${JSON.stringify(value)})`);
    return value;
  }

  record(field: string, value: unknown): Record<string, unknown> {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) this.fail(field, 'must be an object');
    return value as Record<string, unknown>;
  }

  stringArray(field: string, value: unknown, maxChars: number): string[] {
    if (!Array.isArray(value)) this.fail(field, 'must be an array of strings');
    value.forEach((item, i) => this.string(`${field}[${i}]`, item, maxChars));
    if (new Set(value).size !== value.length) this.fail(field, 'must not repeat a value');
    return value as string[];
  }
}

export function validateFlavorSpec(spec: CloudFlavorSpec): void {
  const id = typeof spec?.id === 'string' ? spec.id : '?';
  const c = new Checker('flavor', id);
  c.string('id', spec.id, MAX_NAME_CHARS);
  if (!FLAVOR_ID.test(spec.id)) c.fail('id', "may use letters, digits, ' ', '.', '_' and '-' only, without leading or trailing space");
  if (spec.id === '.' || spec.id === '..') c.fail('id', "must not be '.' or '..' (URL parsers resolve them)");
  c.string('name', spec.name, MAX_NAME_CHARS);
  c.int('vcpus', spec.vcpus, 1);
  c.int('ram', spec.ram, 1);
  c.int('disk', spec.disk, 0);
  c.int('ephemeral', spec.ephemeral, 0);
  c.int('swap', spec.swap, 0);
  if (typeof spec.rxtxFactor !== 'number' || !Number.isFinite(spec.rxtxFactor) || spec.rxtxFactor <= 0) {
    c.fail('rxtxFactor', `must be a number above 0 (got ${JSON.stringify(spec.rxtxFactor)})`);
  }
  c.bool('isPublic', spec.isPublic);
  const extraSpecs = c.record('extraSpecs', spec.extraSpecs);
  for (const [key, value] of Object.entries(extraSpecs)) {
    c.string(`extraSpecs key ${JSON.stringify(key)}`, key, MAX_EXTRA_SPEC_CHARS);
    if (key.startsWith(EXTRA_SPEC_MARKER_PREFIX)) c.fail(`extraSpecs.${key}`, `uses the reserved prefix '${EXTRA_SPEC_MARKER_PREFIX}'`);
    c.string(`extraSpecs.${key}`, value, MAX_EXTRA_SPEC_CHARS, 0);
  }
  if (spec.description !== undefined) c.string('description', spec.description, 65_535, 0);
  if (spec.accessProjects !== undefined) {
    const projects = c.stringArray('accessProjects', spec.accessProjects, 64);
    projects.forEach((p, i) => PROJECT_ID.test(p) || c.fail(`accessProjects[${i}]`, 'is not a project id'));
    if (spec.isPublic && projects.length > 0) c.fail('accessProjects', 'must be empty for a public flavor');
  }
}

export function validateImageSpec(spec: CloudImageSpec): void {
  const id = typeof spec?.id === 'string' ? spec.id : '?';
  const c = new Checker('image', id);
  c.string('id', spec.id, 36);
  if (!UUID.test(spec.id)) c.fail('id', 'must be a lower-case UUID');
  c.string('name', spec.name, MAX_NAME_CHARS);
  if (!GLANCE_DISK_FORMATS.includes(spec.diskFormat)) c.fail('diskFormat', `must be one of ${GLANCE_DISK_FORMATS.join(', ')}`);
  if (!GLANCE_CONTAINER_FORMATS.includes(spec.containerFormat)) {
    c.fail('containerFormat', `must be one of ${GLANCE_CONTAINER_FORMATS.join(', ')}`);
  }
  if (spec.visibility !== 'public' && spec.visibility !== 'community') c.fail('visibility', "must be 'public' or 'community'");
  c.int('minDisk', spec.minDisk, 0);
  c.int('minRam', spec.minRam, 0);
  c.bool('protected', spec.protected);
  const properties = c.record('properties', spec.properties);
  for (const [key, value] of Object.entries(properties)) {
    c.string(`properties key ${JSON.stringify(key)}`, key, MAX_NAME_CHARS);
    if (isGlanceOwnedAttribute(key)) c.fail(`properties.${key}`, 'is an attribute Glance owns, not a custom property');
    if (key.startsWith(IMAGE_MARKER_PREFIX)) c.fail(`properties.${key}`, `uses the reserved prefix '${IMAGE_MARKER_PREFIX}'`);
    c.string(`properties.${key}`, value, MAX_PROPERTY_VALUE_CHARS, 0);
  }
  c.stringArray('tags', spec.tags, MAX_NAME_CHARS);
  const source = c.record('source', spec.source);
  const url = c.string('source.url', source.url, MAX_SOURCE_URL_CHARS);
  const parsed = URL.canParse(url) ? new URL(url) : c.fail('source.url', 'is not a URL');
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') c.fail('source.url', 'must be http or https');
  if (parsed.username !== '' || parsed.password !== '') c.fail('source.url', 'must not carry credentials');
  if (source.sha256 === undefined && source.sha512 === undefined) c.fail('source', 'needs sha256 or sha512');
  if (source.sha256 !== undefined && !SHA256.test(String(source.sha256))) c.fail('source.sha256', 'must be 64 lower-case hex digits');
  if (source.sha512 !== undefined && !SHA512.test(String(source.sha512))) c.fail('source.sha512', 'must be 128 lower-case hex digits');
}

export function validateQuotaSpec(spec: CloudQuotaSpec): void {
  const project = typeof spec?.project === 'string' ? spec.project : '?';
  const c = new Checker('quota', project);
  c.string('project', spec.project, 64);
  if (!PROJECT_ID.test(spec.project)) c.fail('project', "may use letters, digits, '_' and '-' only");
  for (const part of ['compute', 'volume', 'network'] as QuotaPart[]) {
    const given = spec[part];
    if (given === undefined) continue;
    const fields = c.record(part, given);
    const known = QUOTA_KEYS_BY_PART[part];
    for (const [field, value] of Object.entries(fields)) {
      if (!Object.hasOwn(known, field)) c.fail(`${part}.${field}`, `is not a ${part} quota (known: ${Object.keys(known).join(', ')})`);
      if (value !== undefined) c.int(`${part}.${field}`, value, -1);
    }
  }
}

export function validateProjectId(project: string): void {
  const c = new Checker('quota', typeof project === 'string' ? project : '?');
  c.string('project', project, 64);
  if (!PROJECT_ID.test(project)) c.fail('project', "may use letters, digits, '_' and '-' only");
}
