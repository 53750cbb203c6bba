// Sites made by hand around an AgentCluster: a new site directory with its key and config (as an
// operator writes them), for restores, recoveries and joins.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { initSite } from '../../agent/daemon/init.js';
import { AdminHttp } from '../agent/admin-http.js';
import { AgentProcess } from '../agent/agent-process.js';
import { freePort } from '../agent/cluster.js';

export const TEST_TIMING = { tickMs: 50, electionTimeoutTicks: 10, heartbeatTicks: 1 };

export interface HandMadeSite {
  site: AgentProcess;
  /** Writes (or rewrites) its agent.yaml. */
  writeConfig(options: { clusterId: string; peers?: Array<{ site: string; addr: string }> }): Promise<void>;
}

/** A site directory under `root` with a fresh key and a free port; its config is written by writeConfig. */
export async function handMadeSite(root: string, name: string): Promise<HandMadeSite> {
  const dir = join(root, name);
  const { peerId } = await initSite(join(dir, 'data'));
  const site = new AgentProcess({ name, dir, port: await freePort(), peerId });
  return { site, writeConfig: (options) => writeSiteConfig(site, options) };
}

export async function writeSiteConfig(site: AgentProcess, options: { clusterId: string; peers?: Array<{ site: string; addr: string }> }): Promise<void> {
  const config = {
    site: { name: site.name, region: 'eu-west', country: 'IE', labels: { env: 'e2e' } },
    clusterId: options.clusterId,
    dataDir: site.dataDir,
    listen: [`/ip4/${site.host}/tcp/${site.port}`],
    peers: options.peers ?? [],
    adminSocket: site.socketPath,
    cloud: { type: 'none' },
    timing: TEST_TIMING,
    voters: 5,
    log: { level: 'info' },
  };
  await writeFile(site.configPath, stringify(config));
}

/** The status of a site the cluster helper does not track by name (a second process under a site's name). */
export async function statusOf(site: AgentProcess): Promise<{ appliedIndex: number; leader: string | null }> {
  const admin = new AdminHttp(site.socketPath);
  try {
    return await admin.status();
  } finally {
    await admin.close();
  }
}
