// site: one stackraft agent and the cloud beside it.
import { MAX_SITE_ADDRESSES, MAX_SITE_LABELS } from './limits.js';
import { normalizeCountryCode } from './countries.js';
import { LABEL_KEY, LABEL_VALUE, REGION_NAME, checkMultiaddr, checkPeerId } from './names.js';
import {
  SpecError,
  expectObject,
  readEnum,
  readNameEqualToId,
  readString,
  readStringMap,
  rejectUnknownFields,
  type Fields,
} from './spec-reader.js';
import type { SiteJoin, SiteSpec } from './types.js';

const SITE_FIELDS = ['name', 'peerId', 'addresses', 'region', 'country', 'labels', 'role', 'join', 'nextPeerId'] as const;
const JOIN_FIELDS = ['expiresAt', 'redeemedBy', 'secretHash'] as const;
const SECRET_HASH = /^[0-9a-f]{64}$/;
/** A redeeming agent's nonce: what agent/recovery/join-token.ts draws. */
const JOIN_NONCE = /^[A-Za-z0-9-]{1,64}$/;

export function normalizeSiteSpec(input: unknown, id: string): SiteSpec {
  const spec = expectObject(input, 'spec');
  rejectUnknownFields(spec, SITE_FIELDS, 'spec');
  const name = readNameEqualToId(spec, 'name', id);
  const join = spec.join === undefined || spec.join === null ? undefined : readJoin(spec.join);
  const awaitingKey = join !== undefined && join.redeemedBy === undefined;
  if ((spec.peerId === undefined || spec.peerId === null) && !awaitingKey) {
    throw new SpecError('spec.peerId', 'spec.peerId is required (only a site waiting for its join token to be redeemed has none)');
  }
  const peerId = spec.peerId === undefined || spec.peerId === null ? undefined : checkPeerId(spec.peerId, 'spec.peerId');
  return {
    name,
    ...(peerId === undefined ? {} : { peerId }),
    addresses: readAddresses(spec, peerId),
    region: readString(spec, 'region', 'spec', REGION_NAME),
    country: readCountry(spec),
    labels: readStringMap(spec, 'labels', 'spec', { maxEntries: MAX_SITE_LABELS, key: LABEL_KEY, value: LABEL_VALUE }),
    role: readEnum(spec, 'role', 'spec', ['voter', 'learner'] as const, 'learner'),
    ...(join === undefined ? {} : { join }),
    ...(spec.nextPeerId === undefined || spec.nextPeerId === null ? {} : { nextPeerId: readNextPeerId(spec.nextPeerId, peerId) }),
  };
}

function readNextPeerId(input: unknown, peerId: string | undefined): string {
  if (peerId === undefined) throw new SpecError('spec.nextPeerId', 'a site without a peer id has no key to rotate');
  const next = checkPeerId(input, 'spec.nextPeerId');
  if (next === peerId) throw new SpecError('spec.nextPeerId', 'spec.nextPeerId must differ from spec.peerId (it is the key a rotation moves to)');
  return next;
}

function readJoin(input: unknown): SiteJoin {
  const join = expectObject(input, 'spec.join');
  rejectUnknownFields(join, JOIN_FIELDS, 'spec.join');
  const expiresAt = join.expiresAt;
  if (typeof expiresAt !== 'number' || !Number.isSafeInteger(expiresAt) || expiresAt <= 0) {
    throw new SpecError('spec.join.expiresAt', 'spec.join.expiresAt must be a time in epoch milliseconds');
  }
  let secretHash: string | undefined;
  if (join.secretHash !== undefined && join.secretHash !== null) {
    if (typeof join.secretHash !== 'string' || !SECRET_HASH.test(join.secretHash)) throw new SpecError('spec.join.secretHash', 'spec.join.secretHash must be 64 lower-case hex digits (a SHA-256)');
    secretHash = join.secretHash;
  }
  const hashed = secretHash === undefined ? {} : { secretHash };
  if (join.redeemedBy === undefined || join.redeemedBy === null) return { expiresAt, ...hashed };
  if (typeof join.redeemedBy !== 'string' || !JOIN_NONCE.test(join.redeemedBy)) {
    throw new SpecError('spec.join.redeemedBy', 'spec.join.redeemedBy must be 1-64 letters, digits or -');
  }
  return { expiresAt, redeemedBy: join.redeemedBy, ...hashed };
}

function readAddresses(spec: Fields, peerId: string | undefined): string[] {
  const list = spec.addresses;
  if (!Array.isArray(list) || list.length === 0 || list.length > MAX_SITE_ADDRESSES) {
    throw new SpecError('spec.addresses', `spec.addresses must list 1-${MAX_SITE_ADDRESSES} multiaddrs`);
  }
  const addresses = list.map((address, i) => checkMultiaddr(address, `spec.addresses[${i}]`, peerId));
  const duplicate = addresses.findIndex((address, i) => addresses.indexOf(address) !== i);
  if (duplicate >= 0) throw new SpecError(`spec.addresses[${duplicate}]`, `spec.addresses lists ${addresses[duplicate]} twice`);
  return addresses;
}

function readCountry(spec: Fields): string {
  const text = readString(spec, 'country', 'spec', { min: 2, max: 2 });
  const code = normalizeCountryCode(text);
  if (code === undefined) {
    throw new SpecError('spec.country', `spec.country ${JSON.stringify(text)} is not an ISO 3166-1 alpha-2 code (e.g. CA, US, DE)`);
  }
  return code;
}
