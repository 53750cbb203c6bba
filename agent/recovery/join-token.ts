// The join token `stackraft site add NAME --token` prints and `stackraft init --join TOKEN` reads:
// everything a new site needs to find and join the cluster, in one line an operator can paste.
//
//   stackraft-join-1.<base64url of JSON { v, clusterId, incarnation, site, region, country, labels,
//                                          addrs, members: [{ site, addr }], key, expiresAt }>
//
// The secret is the new site's private key, minted on the member that ran `site add` (its peer id
// goes into the site's record through the log, so every member admits it at once, with no peer id
// copied by hand). Its use is one-time through the log: the joining agent redeems it with a
// compare-and-set of its own `site` record (`join.redeemedBy` = a nonce drawn by `init --join`), so
// a second site started from the same token finds it redeemed by another and stops; and members
// refuse the site's peer id once `join.expiresAt` passes unredeemed (agent/daemon/site-directory.ts).
import { randomBytes } from 'node:crypto';
import { generateKeyPair, privateKeyToProtobuf } from '@libp2p/crypto/keys';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';

export const JOIN_TOKEN_PREFIX = 'stackraft-join-';
export const JOIN_TOKEN_VERSION = 1;
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
  /** The new site's private key (libp2p protobuf), base64. */
  key: string;
  /** Epoch milliseconds. */
  expiresAt: number;
}

export class JoinTokenError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'JoinTokenError';
  }
}

/** A new site identity for a token: its peer id (for the record) and its key (for the token). */
export async function mintJoinKey(): Promise<{ peerId: string; key: string }> {
  const privateKey = await generateKeyPair('Ed25519');
  return { peerId: peerIdFromPrivateKey(privateKey).toString(), key: Buffer.from(privateKeyToProtobuf(privateKey)).toString('base64') };
}

/** The one-time nonce a joining site redeems its token with. */
export function newJoinNonce(): string {
  return randomBytes(16).toString('hex');
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
    key: text_('key'),
    expiresAt: body.expiresAt,
  };
}

/** `30m`, `2h`, `45s`, `1d` -> milliseconds; null when it is not a duration. */
export function parseTtl(text: string): number | null {
  const match = /^(\d{1,6})(s|m|h|d)$/.exec(text);
  if (!match) return null;
  const unit = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }[match[2] as 's' | 'm' | 'h' | 'd'];
  return Number(match[1]) * unit;
}
