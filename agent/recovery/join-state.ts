// `<dataDir>/join.json`: what a site set up from a join token remembers until its token is redeemed
// through the log: the site name, the token's one-time secret (mode 0600, dropped once redeemed) and
// its expiry. A site set up from a format-1 token kept a nonce instead; such a file is still read.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileDurably } from './incarnation.js';

export const JOIN_STATE_FILE = 'join.json';
const FORMAT = 'stackraft.join';

export interface JoinState {
  site: string;
  expiresAt: number;
  redeemed: boolean;
  /** The token's secret, presented to a member (format 2); absent once redeemed. */
  secret?: string;
  /** A format-1 site's redemption nonce. */
  nonce?: string;
}

export async function writeJoinState(dataDir: string, state: JoinState): Promise<void> {
  await writeFileDurably(join(dataDir, JOIN_STATE_FILE), `${JSON.stringify({ format: FORMAT, v: 2, ...state })}\n`, 0o600);
}

/** null when the site was not set up from a token; throws on a damaged file. */
export async function readJoinState(dataDir: string): Promise<JoinState | null> {
  let text: string;
  try {
    text = await readFile(join(dataDir, JOIN_STATE_FILE), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  const damaged = new Error(`${join(dataDir, JOIN_STATE_FILE)} is damaged: run stackraft init --join again with a new token`);
  let body: Partial<JoinState> & { format?: unknown };
  try {
    body = JSON.parse(text) as Partial<JoinState> & { format?: unknown };
  } catch {
    throw damaged;
  }
  if (body.format !== FORMAT || typeof body.site !== 'string' || typeof body.expiresAt !== 'number' || typeof body.redeemed !== 'boolean') throw damaged;
  if (body.secret !== undefined && typeof body.secret !== 'string') throw damaged;
  if (body.nonce !== undefined && typeof body.nonce !== 'string') throw damaged;
  return {
    site: body.site,
    expiresAt: body.expiresAt,
    redeemed: body.redeemed,
    ...(body.secret === undefined ? {} : { secret: body.secret }),
    ...(body.nonce === undefined ? {} : { nonce: body.nonce }),
  };
}
