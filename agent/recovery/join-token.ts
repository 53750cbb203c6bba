// The join token `stackraft site add NAME --token` prints and `stackraft init --join TOKEN` reads:
// everything a new site needs to find the cluster and prove it was invited, in one line an operator
// can paste.
//
//   stackraft-join-2.<base64url of JSON { v, clusterId, incarnation, site, region, country, labels,
//                                          addrs, members: [{ site, addr }], secret, expiresAt }>
//
// The secret is a one-time random value; the site's record holds only its SHA-256. The joining site
// makes its own key (`init --join`), presents the secret to a member over the join protocol
// (join-door.ts), and the leader redeems the token through the log, which records the site's peer id
// (agent/catalog/rules.ts: once, and only before `expiresAt` in the log's time). The token never
// holds a private key: a copy used after the redemption gets nothing. Format 1 carried the site's
// private key and is refused.
import { createHash, randomBytes } from 'node:crypto';

export const JOIN_TOKEN_PREFIX = 'stackraft-join-';
export const JOIN_TOKEN_VERSION = 2;
/** A token names at most this many members to dial (any one reachable member is enough). */
export const MAX_TOKEN_MEMBERS = 16;
/** Tokens are pasted into shells: far below any command-line limit. */
const MAX_TOKEN_CHARS = 16 * 1024;
export const DEFAULT_JOIN_TTL_MS = 30 * 60_000;
export const MAX_JOIN_TTL_MS = 7 * 24 * 3600_000;

export interface JoinToken {
  clusterId: string;
  /** '' for the original incarnation. */
  incarnation: string;
  site: string;
  region: string;
  country: string;
  labels: Record<string, string>;
  /** The addresses the new site was registered with (it listens on them). */
  addrs: string[];
  /** Members to dial first (their /p2p/ addresses). */
  members: Array<{ site: string; addr: string }>;
  /** The one-time secret (32 random bytes, base64url); the catalog keeps only its SHA-256. */
  secret: string;
  /** Epoch milliseconds (the member's clock when minted); the log decides whether a redemption is in time. */
  expiresAt: number;
}

export class JoinTokenError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'JoinTokenError';
  }
}

/** A token's one-time secret. */
export function newJoinSecret(): string {
  return randomBytes(32).toString('base64url');
}

/** What the site's record keeps of the secret: its SHA-256, hex. */
export function joinSecretHash(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

export function encodeJoinToken(token: JoinToken): string {
  const json = JSON.stringify({ v: JOIN_TOKEN_VERSION, ...token });
  return `${JOIN_TOKEN_PREFIX}${JOIN_TOKEN_VERSION}.${Buffer.from(json, 'utf8').toString('base64url')}`;
}

/** Checks the shape (never the clock: callers compare expiresAt with theirs); throws JoinTokenError. */
export function decodeJoinToken(text: string): JoinToken {
  const trimmed = text.trim();
  if (trimmed.length > MAX_TOKEN_CHARS || !trimmed.startsWith(JOIN_TOKEN_PREFIX)) throw new JoinTokenError(`not a stackraft join token (it does not start with ${JOIN_TOKEN_PREFIX})`);
  const dot = trimmed.indexOf('.');
  const version = Number(trimmed.slice(JOIN_TOKEN_PREFIX.length, dot));
  if (dot < 0 || !Number.isInteger(version)) throw new JoinTokenError('not a stackraft join token (no version)');
  if (version === 1) {
    throw new JoinTokenError(`the join token has format version 1, which carried the site's private key; this stackraft reads version ${JOIN_TOKEN_VERSION}, where the joining site makes its own key: ask for a new token (stackraft site add NAME --token on a member)`);
  }
  if (version !== JOIN_TOKEN_VERSION) throw new JoinTokenError(`the join token has format version ${version}; this stackraft reads version ${JOIN_TOKEN_VERSION}`);
  let body: Record<string, unknown>;
  try {
    body = JSON.parse(Buffer.from(trimmed.slice(dot + 1), 'base64url').toString('utf8')) as Record<string, unknown>;
  } catch {
    throw new JoinTokenError('the join token is damaged (its body is not readable): copy it again, whole');
  }
  const text_ = (name: string): string => {
    if (typeof body?.[name] !== 'string') throw new JoinTokenError(`the join token is damaged (no ${name}): copy it again, whole`);
    return body[name] as string;
  };
  const strings = (value: unknown): value is string[] => Array.isArray(value) && value.every((v) => typeof v === 'string');
  const members = body.members;
  if (!Array.isArray(members) || members.length === 0 || members.length > MAX_TOKEN_MEMBERS || !members.every((m) => typeof m?.site === 'string' && typeof m?.addr === 'string')) {
    throw new JoinTokenError('the join token is damaged (no members to dial): copy it again, whole');
  }
  const labels = body.labels;
  if (typeof labels !== 'object' || labels === null || Array.isArray(labels) || !Object.values(labels).every((v) => typeof v === 'string')) {
    throw new JoinTokenError('the join token is damaged (labels): copy it again, whole');
  }
  if (!strings(body.addrs) || body.addrs.length === 0) throw new JoinTokenError('the join token is damaged (no addresses): copy it again, whole');
  if (typeof body.expiresAt !== 'number' || !Number.isSafeInteger(body.expiresAt)) throw new JoinTokenError('the join token is damaged (no expiry): copy it again, whole');
  return {
    clusterId: text_('clusterId'),
    incarnation: text_('incarnation'),
    site: text_('site'),
    region: text_('region'),
    country: text_('country'),
    labels: labels as Record<string, string>,
    addrs: body.addrs,
    members: (members as Array<{ site: string; addr: string }>).map((m) => ({ site: m.site, addr: m.addr })),
    secret: secretOf(text_('secret')),
    expiresAt: body.expiresAt,
  };
}

function secretOf(text: string): string {
  if (!/^[A-Za-z0-9_-]{43}$/.test(text)) throw new JoinTokenError('the join token is damaged (its secret): copy it again, whole');
  return text;
}

/** `30m`, `2h`, `45s`, `1d` -> milliseconds; null when it is not a duration. */
export function parseTtl(text: string): number | null {
  const match = /^(\d{1,6})(s|m|h|d)$/.exec(text);
  if (!match) return null;
  const unit = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }[match[2] as 's' | 'm' | 'h' | 'd'];
  return Number(match[1]) * unit;
}
