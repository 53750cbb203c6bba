// The daemon of one site: identity, store (write-ahead log + LevelDB), catalog, libp2p transport, replica runtime,
// write path, admin socket and the housekeeping loop (self-registration, learner promotion),
// started in that order and stopped in reverse.
import { randomInt } from 'node:crypto';
import { join } from 'node:path';
import { seededRandom } from '../../consensus/prng.js';
import { Replica } from '../../consensus/replica.js';
import type { LogStore } from '../../consensus/ports.js';
import { openDurableStore } from '../../storage/durable-store.js';
import { startAdminServer, type AdminServer } from '../admin/server.js';
import { Catalog } from '../catalog/index.js';
import type { AgentConfig } from '../config/schema.js';
import { createAgentMetrics, setRole, type AgentMetrics } from '../ops/metrics.js';
import { startMetricsHttpServer, type MetricsHttpServer } from '../ops/metrics-http.js';
import type { AgentLogger } from '../ops/logger.js';
import { loadOrCreateIdentity } from '../transport/identity.js';
import { Libp2pTransport } from '../transport/libp2p-transport.js';
import { CatalogWriter } from '../write/catalog-writer.js';
import { SiteReconciler, cloudDriverFromConfig } from '../reconciler/index.js';
import { Housekeeping } from './housekeeping.js';
import { realClock } from './real-clock.js';
import { DaemonService } from './service.js';
import { directoryKey, directoryMembers, type SeedPeer } from './site-directory.js';
import { cliVersion } from '../cli/version.js';

const LOOPBACK_INBOUND_PER_SECOND = 100;

export interface StartOptions {
  /** Found a new cluster with this site as its only voter (ignored when the store holds state). */
  bootstrap: boolean;
}

export class SiteAgent {
  private directoryFingerprint = '';
  private stopping: Promise<void> | null = null;
  /** Reconciler wiring (agent/reconciler): null for a site with `cloud: { type: none }`. */
  reconciler: SiteReconciler | null = null;

  private constructor(
    readonly config: AgentConfig,
    readonly logger: AgentLogger,
    readonly peerId: string,
    readonly store: LogStore,
    readonly catalog: Catalog,
    readonly transport: Libp2pTransport,
    readonly replica: Replica,
    readonly metrics: AgentMetrics,
    private readonly housekeeping: Housekeeping,
    private admin: AdminServer | null,
  ) {}

  private metricsHttp: MetricsHttpServer | null = null;

  static async start(config: AgentConfig, logger: AgentLogger, options: StartOptions): Promise<SiteAgent> {
    // Reconciler wiring: the cloud driver first, so a bad clouds.yaml stops the agent before it opens anything.
    const cloudDriver = cloudDriverFromConfig(config.cloud, logger.child({ component: 'driver' }));
    const identity = await loadOrCreateIdentity(config.dataDir);
    const peerId = identity.peerId.toString();
    const store = await openDurableStore(join(config.dataDir, 'raft'), logger);
    const catalog = new Catalog();
    // Every series carries the site, so one Prometheus scraping all sites can tell them apart by name.
    const metrics = createAgentMetrics({ defaultLabels: { site: config.site.name } });
    const seeds = seedPeers(config);
    const transport = new Libp2pTransport({
      clusterId: config.clusterId,
      localMember: config.site.name,
      privateKey: identity.privateKey,
      listenAddrs: config.listen,
      announceAddrs: config.announce,
      members: directoryMembers(config.site.name, [], seeds),
      logger,
      // All sites of a dev cluster or a test share 127.0.0.1: libp2p's per-host rate limit of 5
      // connections a second would throttle their reconnects after a restart.
      ...(config.listen.every((a) => a.startsWith('/ip4/127.')) ? { inboundConnectionsPerHostPerSecond: LOOPBACK_INBOUND_PER_SECOND } : {}),
    });
    let agent: SiteAgent | null = null;
    const replica = await Replica.open(
      {
        id: config.site.name,
        tickMs: config.timing.tickMs,
        raft: { electionTimeoutTicks: config.timing.electionTimeoutTicks, heartbeatTicks: config.timing.heartbeatTicks },
        random: seededRandom(randomInt(2 ** 31)),
        bootstrap: options.bootstrap ? { voters: [config.site.name] } : undefined,
      },
      {
        clock: realClock,
        store,
        transport,
        stateMachine: catalog,
        logger,
        hooks: {
          onApplied: () => {
            agent?.refreshDirectory();
            agent?.reconciler?.catalogChanged();
          },
          onRoleChange: (role, term, leader) => {
            setRole(metrics, role);
            metrics.term.set(term);
            logger.info({ role, term, leader: leader || null }, `role ${role}, term ${term}, leader ${leader || 'unknown'}`);
          },
          onPersist: (ms) => metrics.fsyncSeconds.observe(ms / 1000),
          onFatal: (err) => {
            logger.fatal({ err: err.message }, 'the replica stopped on a fatal error; the agent exits so systemd can restart it');
            void agent?.stop().finally(() => process.exit(1));
          },
        },
      },
    );
    await transport.start();
    const writer = new CatalogWriter(replica, catalog, () => Date.now());
    const housekeeping = new Housekeeping({ config, peerId, replica, catalog, writer, transport, logger });
    agent = new SiteAgent(config, logger, peerId, store, catalog, transport, replica, metrics, housekeeping, null);
    agent.refreshDirectory();
    replica.start();
    housekeeping.start();
    // Reconciler wiring: converge this site's cloud to the catalog (none for `cloud: { type: none }`).
    if (cloudDriver !== undefined) {
      agent.reconciler = new SiteReconciler({ site: config.site.name, driver: cloudDriver, replica, catalog, clock: realClock, logger: logger.child({ component: 'reconciler' }) });
      agent.reconciler.start();
    }
    const service = new DaemonService({
      clusterId: config.clusterId,
      site: config.site.name,
      peerId,
      version: cliVersion(),
      replica,
      catalog,
      writer,
      metrics,
      rttMs: (m) => transport.rttMs(m),
      badFrames: () => ({ ...transport.counters.badFrames }),
      gaterRefusals: () => transport.counters.gaterRefusals,
      linkUp: (m) => transport.peerStatus().some((p) => p.member === m && p.state === 'open'),
      sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
    });
    agent.admin = await startAdminServer({ socketPath: config.adminSocket, service, metrics, logger });
    if (config.metrics.listen) {
      agent.metricsHttp = await startMetricsHttpServer({ listen: config.metrics.listen, metrics: () => service.metrics(), logger });
    }
    logger.info({ site: config.site.name, peerId, listen: transport.multiaddrs(), socket: config.adminSocket }, 'stackraft agent started');
    return agent;
  }

  /** Keeps the transport's member map in step with the catalog's site records. */
  refreshDirectory(): void {
    const members = directoryMembers(this.config.site.name, this.catalog.sites(), seedPeers(this.config));
    const key = directoryKey(members);
    if (key === this.directoryFingerprint) return;
    this.directoryFingerprint = key;
    try {
      this.transport.setMembers(members);
    } catch (err) {
      this.logger.error({ err: (err as Error).message }, 'a site record has an address the transport cannot use; keeping the previous member map');
    }
  }

  /** SIGTERM: stop taking requests, let in-flight work finish, close the store. */
  stop(): Promise<void> {
    this.stopping ??= this.shutdown();
    return this.stopping;
  }

  private async shutdown(): Promise<void> {
    this.logger.info({}, 'stopping: closing the admin socket, finishing in-flight writes');
    this.housekeeping.stop();
    await this.reconciler?.stop();
    await this.admin?.close();
    await this.metricsHttp?.close();
    await this.replica.stop();
    await this.transport.stop();
    await this.store.close();
    this.logger.info({}, 'stopped');
  }
}

function seedPeers(config: AgentConfig): SeedPeer[] {
  return config.peers.map((p) => ({ site: p.site, addr: p.addr }));
}
