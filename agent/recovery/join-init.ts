// `stackraft init --join TOKEN`: sets up a new site from a join token — its own key (made here, never
// sent anywhere), its config, the cluster incarnation and the token's secret its agent redeems the
// token with — so that starting the agent is all that is left. Nothing is overwritten: an existing
// config, store or incarnation of another cluster life makes it refuse (a foreign token or a used
// directory). The expiry is not judged here: the log decides it when the redemption applies.
import { access, mkdir, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { stringify } from 'yaml';
import { CONFIG_DEFAULTS } from '../config/schema.js';
import { loadOrCreateIdentity } from '../transport/identity.js';
import { readClusterIncarnation, writeClusterIncarnation, writeFileDurably } from './incarnation.js';
import { decodeJoinToken, JoinTokenError } from './join-token.js';
import { writeJoinState } from './join-state.js';

export interface JoinInitOptions {
  token: string;
  configPath: string;
  dataDir?: string;
  adminSocket?: string;
  /** Listen addresses; default the addresses the site was registered with. */
  listen?: string[];
}

export interface JoinInitResult {
  site: string;
  clusterId: string;
  peerId: string;
  configPath: string;
  dataDir: string;
  expiresAt: number;
}

export async function joinInit(options: JoinInitOptions): Promise<JoinInitResult> {
  const token = decodeJoinToken(options.token);
  await refuseExistingConfig(options.configPath, token.clusterId);
  const dataDir = options.dataDir ?? CONFIG_DEFAULTS.dataDir;
  if (await exists(join(dataDir, 'raft'))) throw new JoinTokenError(`${dataDir} already holds a site's store: a join token sets up a new site in an empty data directory`);
  const { incarnation } = await readClusterIncarnation(dataDir);
  if (incarnation !== '' && incarnation !== token.incarnation) {
    throw new JoinTokenError(`${dataDir} belongs to cluster incarnation ${incarnation}, the token to ${token.incarnation || 'the original one'}: a foreign token, or a used data directory`);
  }
  // The site's own key: made here (or the one `stackraft init` already made), never in the token.
  const identity = await loadOrCreateIdentity(dataDir);
  if (token.incarnation !== '') await writeClusterIncarnation(dataDir, token.incarnation, 'join');
  await writeJoinState(dataDir, { site: token.site, secret: token.secret, expiresAt: token.expiresAt, redeemed: false });
  const listen = options.listen && options.listen.length > 0 ? options.listen : token.addrs;
  const config = {
    site: { name: token.site, region: token.region, country: token.country, labels: token.labels },
    clusterId: token.clusterId,
    dataDir,
    listen,
    ...(listen.join() !== token.addrs.join() ? { announce: token.addrs } : {}),
    peers: token.members,
    adminSocket: options.adminSocket ?? CONFIG_DEFAULTS.adminSocket,
    // The token cannot know this site's cloud: set it here to have the site's cloud managed.
    cloud: { type: 'none' },
  };
  await mkdir(dirname(options.configPath), { recursive: true });
  await writeFileDurably(options.configPath, `# written by stackraft init --join for site ${token.site}\n${stringify(config)}`, 0o640);
  return { site: token.site, clusterId: token.clusterId, peerId: identity.peerId.toString(), configPath: options.configPath, dataDir, expiresAt: token.expiresAt };
}

async function refuseExistingConfig(path: string, clusterId: string): Promise<void> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  const other = /^clusterId:\s*(\S+)/m.exec(text)?.[1];
  if (other !== undefined && other !== clusterId) {
    throw new JoinTokenError(`${path} is the config of cluster ${other}, and the token is for cluster ${clusterId}: a foreign token (nothing was changed)`);
  }
  throw new JoinTokenError(`${path} already exists: a join writes a new site's config (move it away, or give --config another path); nothing was changed`);
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}
