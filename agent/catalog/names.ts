// Identifier formats. Validation uses only code in this folder (no multiaddr or peer-id library) so
// that a dependency upgrade on one site can never change a verdict that every site must agree on.
import { SpecError, checkString, type StringRule } from './spec-reader.js';
import { MAX_ADDRESS_CHARS, MAX_CLIENT_ID_CHARS } from './limits.js';
import type { ResourceKind } from './types.js';

const NAME_HINT = "start with a letter or digit, then letters, digits, '.', '_' or '-'";

/** Site and protection-group names: also Raft member ids and record-key segments (no '/'). */
export const SITE_NAME: StringRule = { min: 1, max: 63, pattern: /^[A-Za-z0-9][A-Za-z0-9._-]*$/, patternHint: NAME_HINT };
export const PROTECTION_GROUP_NAME: StringRule = SITE_NAME;
export const REGION_NAME: StringRule = { min: 1, max: 64, pattern: /^[A-Za-z0-9][A-Za-z0-9._-]*$/, patternHint: NAME_HINT };

/** Nova's flavor id format (no leading/trailing space); checkResourceId also refuses '.' and '..'. */
export const FLAVOR_ID: StringRule = {
  min: 1,
  max: 255,
  pattern: /^(?! )[A-Za-z0-9. _-]+(?<! )$/,
  patternHint: "letters, digits, ' ', '.', '_' or '-', no leading or trailing space",
};

/** Keystone ids are 32 hex characters by default; other identity backends use up to 64. */
export const PROJECT_ID: StringRule = {
  min: 1,
  max: 64,
  pattern: /^[A-Za-z0-9_-]+$/,
  patternHint: "letters, digits, '_' or '-'",
};

/** Lower-case canonical UUID (Glance image ids, Nova server ids). */
export const UUID: StringRule = {
  min: 1,
  max: 36,
  pattern: /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/,
  patternHint: 'a lower-case UUID such as 3f2a6c1e-8d4b-4c2a-9e1f-0a1b2c3d4e5f',
};

export const LABEL_KEY: StringRule = {
  min: 1,
  max: 63,
  pattern: /^[A-Za-z0-9]([A-Za-z0-9._/-]*[A-Za-z0-9])?$/,
  patternHint: "letters, digits, '.', '_', '/' or '-', starting and ending with a letter or digit",
};

export const LABEL_VALUE: StringRule = {
  min: 0,
  max: 63,
  pattern: /^[A-Za-z0-9._:@+/-]*$/,
  patternHint: "letters, digits, '.', '_', ':', '@', '+', '/' or '-'",
};

/** Client ids of writers (free-form but printable, no white space). */
export const CLIENT_ID: StringRule = { min: 1, max: MAX_CLIENT_ID_CHARS, pattern: /^\S+$/, patternHint: 'no white space' };

/** Resource id rule per kind; the site name, project id and group name double as ids. */
export const ID_RULES: Record<ResourceKind, StringRule> = {
  site: SITE_NAME,
  flavor: FLAVOR_ID,
  image: UUID,
  quota: PROJECT_ID,
  'protection-group': PROTECTION_GROUP_NAME,
};

// ---------------------------------------------------------------- the resource id rule

/**
 * '.' and '..' as a whole path segment: URL parsers resolve them (also when written %2e), so no
 * escaping can carry one in a cloud URL such as /flavors/{id}/os-extra_specs.
 */
const DOT_SEGMENT = /^\.\.?$/;

/** Whether `text` can stand for itself as one URL path segment once percent-escaped. */
export function isSafePathSegment(text: string): boolean {
  return text.length > 0 && !DOT_SEGMENT.test(text);
}

/**
 * THE resource id rule, used wherever an id is accepted (catalog apply, sync reports, the admin
 * API): the kind's format (ID_RULES) and a safe URL path segment, because every site's driver puts
 * the id into its cloud's URLs. Throws SpecError naming `field`.
 */
export function checkResourceId(kind: ResourceKind, value: unknown, field = 'id'): string {
  const id = checkString(value, field, ID_RULES[kind]);
  if (!isSafePathSegment(id)) {
    throw new SpecError(field, `${field} ${JSON.stringify(id)} cannot be a ${kind} id: '.' and '..' are not usable as a path segment in cloud URLs`);
  }
  return id;
}

// ---------------------------------------------------------------- libp2p peer ids

const BASE58BTC = '[1-9A-HJ-NP-Za-km-z]';
/** Qm... (sha256 multihash, RSA keys) or 12D3KooW... / 16Uiu2... (identity multihash of Ed25519 / secp256k1 keys). */
const PEER_ID_BASE58 = new RegExp(`^(Qm${BASE58BTC}{44}|1${BASE58BTC}{45,99})$`);
/** CIDv1 in base32 (libp2p-key codec), e.g. bafzaa... */
const PEER_ID_CID = /^b[a-z2-7]{50,120}$/;

/** Checks the text form of a libp2p peer id (shape only; the host proves the key when it dials). */
export function checkPeerId(value: unknown, field: string): string {
  const text = checkString(value, field, { min: 1, max: 128 });
  if (!PEER_ID_BASE58.test(text) && !PEER_ID_CID.test(text)) {
    throw new SpecError(field, `${field} is not a libp2p peer id (expected e.g. 12D3KooW... or Qm...)`);
  }
  return text;
}

// ---------------------------------------------------------------- multiaddrs

type ValueCheck = (value: string) => boolean;

const DNS_LABEL = /^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;

function isHostname(value: string): boolean {
  return value.length <= 253 && value.split('.').every((label) => DNS_LABEL.test(label));
}

function isIpv4(value: string): boolean {
  const parts = value.split('.');
  return parts.length === 4 && parts.every((part) => /^(0|[1-9][0-9]{0,2})$/.test(part) && Number(part) <= 255);
}

function isIpv6(value: string): boolean {
  return value.includes(':') && value.length <= 45 && /^[0-9A-Fa-f:.]+$/.test(value) && !value.includes(':::');
}

function isPort(value: string): boolean {
  return /^(0|[1-9][0-9]{0,4})$/.test(value) && Number(value) <= 65535;
}

function isPeerIdText(value: string): boolean {
  return PEER_ID_BASE58.test(value) || PEER_ID_CID.test(value);
}

/** Protocols a stackraft peer may advertise: name -> check of its value (null = takes no value). */
const MULTIADDR_PROTOCOLS: Record<string, ValueCheck | null> = {
  ip4: isIpv4,
  ip6: isIpv6,
  dns: isHostname,
  dns4: isHostname,
  dns6: isHostname,
  dnsaddr: isHostname,
  tcp: isPort,
  udp: isPort,
  'quic-v1': null,
  tls: null,
  sni: isHostname,
  noise: null,
  ws: null,
  wss: null,
  'p2p-circuit': null,
  p2p: isPeerIdText,
};

const NETWORK_PROTOCOLS = ['ip4', 'ip6', 'dns', 'dns4', 'dns6', 'dnsaddr'];

/**
 * Checks a multiaddr string such as /ip4/203.0.113.7/tcp/4001/p2p/12D3KooW...; a /p2p/ component
 * must name `peerId` (the site's own id) unless it precedes /p2p-circuit (a relay).
 */
export function checkMultiaddr(value: unknown, field: string, peerId: string | undefined): string {
  const text = checkString(value, field, { min: 1, max: MAX_ADDRESS_CHARS, pattern: /^\/\S+$/, patternHint: "starts with '/'" });
  const parts = text.slice(1).split('/');
  if (!NETWORK_PROTOCOLS.includes(parts[0])) {
    throw new SpecError(field, `${field} must start with one of /${NETWORK_PROTOCOLS.join(', /')} (got /${parts[0]})`);
  }
  let ownPeerId: string | undefined;
  for (let i = 0; i < parts.length; i++) {
    const name = parts[i];
    if (!Object.hasOwn(MULTIADDR_PROTOCOLS, name)) {
      throw new SpecError(field, `${field} uses unknown protocol '${name}' (known: ${Object.keys(MULTIADDR_PROTOCOLS).join(', ')})`);
    }
    const check = MULTIADDR_PROTOCOLS[name];
    if (check === null) continue;
    const protocolValue = parts[++i];
    if (protocolValue === undefined || !check(protocolValue)) {
      throw new SpecError(field, `${field} has an invalid /${name} value ${JSON.stringify(protocolValue ?? '')}`);
    }
    if (name === 'p2p') ownPeerId = parts[i + 1] === 'p2p-circuit' ? undefined : protocolValue;
  }
  if (ownPeerId !== undefined && ownPeerId !== peerId) {
    throw new SpecError(field, peerId === undefined ? `${field} names peer ${ownPeerId}, but this site has no peer id yet` : `${field} names peer ${ownPeerId}, not this site's peerId ${peerId}`);
  }
  return text;
}
