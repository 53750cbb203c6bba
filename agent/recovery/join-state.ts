// `<dataDir>/join.json`: what a site set up from a join token remembers until its token is redeemed
// through the log: the site name, the nonce it redeems with, the token's expiry.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileDurably } from './incarnation.js';

export const JOIN_STATE_FILE = 'join.json';
const FORMAT = 'stackraft.join';

export interface JoinState {
  site: string;
  nonce: string;
  expiresAt: number;
  redeemed: boolean;
}

export async function writeJoinState(dataDir: string, state: JoinState): Promise<void> {
  await writeFileDurably(join(dataDir, JOIN_STATE_FILE), `${JSON.stringify({ format: FORMAT, v: 1, ...state })}\n`, 0o600);
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
  const body = JSON.parse(text) as Partial<JoinState> & { format?: unknown };
  if (body.format !== FORMAT || typeof body.site !== 'string' || typeof body.nonce !== 'string' || typeof body.expiresAt !== 'number' || typeof body.redeemed !== 'boolean') {
    throw new Error(`${join(dataDir, JOIN_STATE_FILE)} is damaged: run stackraft init --join again with a new token`);
  }
  return { site: body.site, nonce: body.nonce, expiresAt: body.expiresAt, redeemed: body.redeemed };
}
