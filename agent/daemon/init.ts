// `stackraft init`: creates this site's data directory and libp2p key, and prints the peer id and
// the command an operator runs on an existing member to add this site.
import '../runtime/promise-shim.js';
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from '../config/load.js';
import { DEFAULT_CONFIG_PATH } from '../config/schema.js';
import { IdentityError, loadOrCreateIdentity } from '../transport/identity.js';
import { IncarnationFileError } from '../recovery/incarnation.js';
import { joinInit } from '../recovery/join-init.js';
import { JoinTokenError } from '../recovery/join-token.js';

const USAGE = `usage: stackraft init [--config FILE | --data-dir DIR] [-f text|json]
       stackraft init --join TOKEN [--config FILE] [--data-dir DIR] [--admin-socket PATH] [--listen MULTIADDR]...

Creates the data directory and this site's Ed25519 key (mode 0600), or reads them if they exist,
and prints the site's peer id.

With --join TOKEN (printed by \`stackraft site add NAME --token\` on a member): writes this site's
config (default ${DEFAULT_CONFIG_PATH}), its key and the cluster incarnation from the token; then
start the agent, which joins as a learner and redeems the token (once) through the log. Nothing
existing is overwritten; an expired token or a directory of another cluster is refused.
`;

export interface InitResult {
  dataDir: string;
  peerId: string;
  keyFile: string;
  created: boolean;
}

export async function initSite(dataDir: string): Promise<InitResult> {
  const id = await loadOrCreateIdentity(dataDir);
  return { dataDir, peerId: id.peerId.toString(), keyFile: id.keyFile, created: id.created };
}

export async function run(argv: string[]): Promise<number> {
  let values: { config?: string; 'data-dir'?: string; format?: string; help?: boolean; join?: string; 'admin-socket'?: string; listen?: string[] };
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        config: { type: 'string' },
        'data-dir': { type: 'string' },
        format: { type: 'string', short: 'f' },
        help: { type: 'boolean', short: 'h' },
        join: { type: 'string' },
        'admin-socket': { type: 'string' },
        listen: { type: 'string', multiple: true },
      },
    }));
  } catch (err) {
    process.stderr.write(`stackraft init: ${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (values.join !== undefined) return runJoin(values.join, values);
  let dataDir = values['data-dir'];
  let announce: string[] = [];
  let site = '<site-name>';
  if (!dataDir) {
    try {
      const config = await loadConfig(values.config ?? DEFAULT_CONFIG_PATH);
      dataDir = config.dataDir;
      announce = config.announce.length > 0 ? config.announce : config.listen;
      site = config.site.name;
    } catch (err) {
      if (err instanceof ConfigError) {
        process.stderr.write(`stackraft init: invalid configuration:\n${err.message}\n`);
        return 2;
      }
      throw err;
    }
  }
  const result = await initSite(dataDir);
  if (values.format === 'json') {
    process.stdout.write(`${JSON.stringify(result)}\n`);
    return 0;
  }
  process.stdout.write(
    `${result.created ? 'created' : 'found'} the key of this site in ${result.keyFile}\n` +
      `peer id: ${result.peerId}\n\n` +
      `To add this site to a cluster, run on any member:\n` +
      `  stackraft site add ${site} --peer-id ${result.peerId} ${announce.map((a) => `--addr ${a}`).join(' ') || '--addr /ip4/<public-ip>/tcp/7420'} --region <region> --country <CC>\n` +
      `(The first site of a new cluster needs none: start its agent once with --bootstrap.)\n` +
      `A new site can instead join with one token, which writes its config too: run\n` +
      `\`stackraft site add <site-name> --token --addr ... --region ... --country ...\` on a member and\n` +
      `\`stackraft init --join TOKEN\` here (it keeps the key just made).\n`,
  );
  return 0;
}

async function runJoin(token: string, values: { config?: string; 'data-dir'?: string; 'admin-socket'?: string; listen?: string[]; format?: string }): Promise<number> {
  try {
    const result = await joinInit({
      token,
      configPath: values.config ?? DEFAULT_CONFIG_PATH,
      ...(values['data-dir'] ? { dataDir: values['data-dir'] } : {}),
      ...(values['admin-socket'] ? { adminSocket: values['admin-socket'] } : {}),
      ...(values.listen ? { listen: values.listen } : {}),
    });
    if (values.format === 'json') process.stdout.write(`${JSON.stringify(result)}\n`);
    else {
      process.stdout.write(
        `set up site ${result.site} of cluster ${result.clusterId} (peer id ${result.peerId}): config ${result.configPath}, data ${result.dataDir}\n` +
          `start its agent before ${new Date(result.expiresAt).toISOString()} (it redeems the token, once); set \`cloud:\` in the config for the site's cloud to be managed\n`,
      );
    }
    return 0;
  } catch (err) {
    if (err instanceof JoinTokenError || err instanceof IdentityError || err instanceof IncarnationFileError) {
      process.stderr.write(`stackraft init --join: ${err.message}\n`);
      return 1;
    }
    throw err;
  }
}
