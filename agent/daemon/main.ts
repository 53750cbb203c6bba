// `stackraft agent [--config FILE] [--bootstrap]`: runs the daemon until SIGTERM or SIGINT.
import '../runtime/promise-shim.js';
import { parseArgs } from 'node:util';
import { getHeapStatistics } from 'node:v8';
import { ConfigError, loadConfig } from '../config/load.js';
import { DEFAULT_CONFIG_PATH, type AgentConfig } from '../config/schema.js';
import { createLogger } from '../ops/logger.js';
import { applyHeapGrowthPercent } from '../ops/memory.js';
import { SiteAgent } from './site-agent.js';

const USAGE = `usage: stackraft agent [--config FILE] [--bootstrap]

Runs the stackraft agent of this site (what the systemd unit starts).
  --config FILE   configuration file (default ${DEFAULT_CONFIG_PATH})
  --bootstrap     found a new cluster with this site as its first voter; only the very first site
                  of a cluster starts with it, and it is ignored once the data directory holds state
`;

export async function run(argv: string[]): Promise<number> {
  let values: { config?: string; bootstrap?: boolean; help?: boolean };
  try {
    ({ values } = parseArgs({ args: argv, options: { config: { type: 'string' }, bootstrap: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } } }));
  } catch (err) {
    process.stderr.write(`stackraft agent: ${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  let config: AgentConfig;
  try {
    config = await loadConfig(values.config ?? DEFAULT_CONFIG_PATH);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`stackraft agent: invalid configuration, nothing was started:\n${err.message}\n`);
      return 2;
    }
    throw err;
  }
  const logger = createLogger({ level: config.log.level, base: { site: config.site.name } });
  process.on('unhandledRejection', (reason) => {
    logger.error({ err: reason instanceof Error ? reason.stack : String(reason) }, 'unhandled rejection (a bug: please report it); the agent keeps running');
  });
  applyHeapGrowthPercent(config.memory.heapGrowthPercent);
  logger.info({ heapGrowthPercent: config.memory.heapGrowthPercent, heapLimitBytes: getHeapStatistics().heap_size_limit, execArgv: process.execArgv }, 'V8 heap sizing');
  let agent: SiteAgent;
  try {
    agent = await SiteAgent.start(config, logger, { bootstrap: values.bootstrap === true });
  } catch (err) {
    const message = (err as Error).message;
    logger.fatal({ err: message }, 'the agent could not start');
    process.stderr.write(`stackraft agent: could not start: ${message}\n`);
    return 1;
  }
  const signal = await new Promise<string>((resolve) => {
    process.once('SIGTERM', () => resolve('SIGTERM'));
    process.once('SIGINT', () => resolve('SIGINT'));
  });
  logger.info({ signal }, `received ${signal}`);
  await agent.stop();
  return 0;
}
