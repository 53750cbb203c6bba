// The daemon of one site: what only a process has (identity, the store (write-ahead log + LevelDB), the libp2p
// transport and its peer directory, the admin socket, the metrics endpoint) around the site that
// agent/site/compose.ts builds (replica, catalog, write path, admin service, housekeeping,
// reconciler) — the same composition the simulator runs. Started in that order, stopped in reverse.
import { drActionFromConfig } from '../dr/from-config.js';
import { randomInt } from 'node:crypto';
import { join } from 'node:path';
import { seededRandom } from '../../consensus/prng.js';
import type { LogStore } from '../../consensus/ports.js';
import { openDurableStore } from '../../storage/durable-store.js';
import { powerLossModeFromEnv } from './power-loss.js';
import { startAdminServer, type AdminServer } from '../admin/server.js';
import type { Catalog } from '../catalog/index.js';
import type { AgentConfig } from '../config/schema.js';
import type { AgentMetrics } from '../ops/metrics.js';
import { startMetricsHttpServer, type MetricsHttpServer } from '../ops/metrics-http.js';
import type { AgentLogger } from '../ops/logger.js';
import type { Replica } from '../../consensus/replica.js';
import { loadOrCreateIdentity } from '../transport/identity.js';
import { Libp2pTransport } from '../transport/libp2p-transport.js';
import { cloudDriverFromConfig, type SiteReconciler } from '../reconciler/index.js';
import { Site } from '../site/compose.js';
import type { SitePorts, SiteSettings } from '../site/ports.js';
import { realClock } from './real-clock.js';
import { directoryKey, directoryMembers, type SeedPeer } from './site-directory.js';
import { cliVersion } from '../cli/version.js';
import { nodeBlobDisk } from '../blobs/disk.js';
import { localBlobSource } from '../blobs/local-source.js';
import { realRateClock } from '../blobs/rate.js';
import { BlobStore } from '../blobs/store.js';
import { libp2pBlobStreams } from '../transport/blob-streams.js';
import { readClusterIncarnation } from '../recovery/incarnation.js';
import { pendingRecoveryProblem } from '../recovery/seed-store.js';
import { JoinRedeemer } from '../recovery/join-redeem.js';
import { readJoinState } from '../recovery/join-state.js';
import { KeyRotator } from '../recovery/key-rotation.js';
import { JoinDoor } from '../recovery/join-door.js';
import { JOIN_PROTOCOL, MAX_JOIN_STREAMS_PER_CONNECTION } from '../recovery/join-wire.js';
import { byteStreamOf } from '../transport/blob-streams.js';
import { joinDoorOpen, registerJoinMetrics } from './join-metrics.js';
import { HeapGrowthWhileTransferring } from '../ops/transfer-heap.js';

const LOOPBACK_INBOUND_PER_SECOND = 100;
/** How often the peer directory is recomputed without an applied entry (join tokens expire). */
const DIRECTORY_REFRESH_MS = 1_000;

export interface StartOptions {
  /** Found a new cluster with this site as its only voter (ignored when the store holds state). */
  bootstrap: boolean;
}

export class SiteAgent {
  private directoryFingerprint = '';
  /** What the last refresh read: the site records and the membership (see refreshDirectoryIfInputsChanged). */
  private directoryInputs: { sites: readonly object[]; conf: object } | null = null;
  private stopping: Promise<void> | null = null;
  private metricsHttp: MetricsHttpServer | null = null;
  private admin: AdminServer | null = null;
  private site: Site | null = null;
  private directoryTimer: NodeJS.Timeout | null = null;
  private redeemer: JoinRedeemer | null = null;
  private rotator: KeyRotator | null = null;

  private constructor(
    readonly config: AgentConfig,
    readonly logger: AgentLogger,
    readonly peerId: string,
    readonly store: LogStore,
    readonly transport: Libp2pTransport,
  ) {}

  get replica(): Replica {
    return this.running().replica;
  }

  get catalog(): Catalog {
    return this.running().catalog;
  }

  get metrics(): AgentMetrics {
    return this.running().metrics;
  }

  /** Reconciler wiring (agent/reconciler): null for a site with `cloud: { type: none }`. */
  get reconciler(): SiteReconciler | null {
    return this.running().reconciler;
  }

  static async start(config: AgentConfig, logger: AgentLogger, options: StartOptions): Promise<SiteAgent> {
    // The cloud driver first, so a bad clouds.yaml stops the agent before it opens anything.
    // The driver opens blob-sourced images from the site's blob store, which exists once the site is open.
    let siteRef: Site | null = null;
    const localSource = localBlobSource({ store: () => siteRef?.blobs?.store ?? null, progress: (root) => siteRef?.blobs?.progress(root) });
    const cloud = cloudDriverFromConfig(config.cloud, logger.child({ component: 'driver' }), localSource, config.clusterId);
    const pendingRecovery = await pendingRecoveryProblem(config.dataDir);
    if (pendingRecovery !== null) throw new Error(pendingRecovery);
    const { incarnation } = await readClusterIncarnation(config.dataDir);
    const identity = await loadOrCreateIdentity(config.dataDir);
    const peerId = identity.peerId.toString();
    const powerLoss = powerLossModeFromEnv(logger);
    const opened = await openDurableStore(join(config.dataDir, 'raft'), logger, powerLoss?.fs);
    const store = powerLoss ? powerLoss.arm(opened) : opened;
    const transport = new Libp2pTransport({
      clusterId: config.clusterId,
      incarnation,
      localMember: config.site.name,
      privateKey: identity.privateKey,
      listenAddrs: config.listen,
      announceAddrs: config.announce,
      members: directoryMembers(config.site.name, [], seedPeers(config)),
      logger,
      // All sites of a dev cluster or a test share 127.0.0.1: libp2p's per-host rate limit of 5
      // connections a second would throttle their reconnects after a restart.
      ...(config.listen.every((a) => a.startsWith('/ip4/127.')) ? { inboundConnectionsPerHostPerSecond: LOOPBACK_INBOUND_PER_SECOND } : {}),
    });
    const agent = new SiteAgent(config, logger, peerId, store, transport);
    const blobStore = await BlobStore.open(nodeBlobDisk(join(config.dataDir, 'blobs')), { maxBytes: config.blobs.maxBytes, logger: logger.child({ component: 'blobs' }) });
    const site = await Site.open({ ...siteSettings(config, peerId, options), incarnation }, agent.ports(cloud, blobStore), {
      onApplied: () => agent.refreshDirectoryIfInputsChanged(),
      // A removal takes a site's seed entry out of the directory too (revocation): see directoryMembers.
      onConfChangeApplied: () => agent.refreshDirectory(),
      onRoleChange: (role, term, leader) => logger.info({ role, term, leader: leader || null }, `role ${role}, term ${term}, leader ${leader || 'unknown'}`),
      onFatal: (err) => {
        logger.fatal({ err: err.message }, 'the replica stopped on a fatal error; the agent exits so systemd can restart it');
        void agent.stop().finally(() => process.exit(1));
      },
    });
    agent.site = site;
    siteRef = site;
    await transport.start();
    agent.refreshDirectory();
    // Join tokens expire with time, not with an applied entry.
    agent.directoryTimer = setInterval(() => agent.refreshDirectory(), DIRECTORY_REFRESH_MS);
    agent.directoryTimer.unref();
    const joinState = await readJoinState(config.dataDir);
    const redeeming = joinState !== null && !joinState.redeemed;
    site.start({ holdDuties: redeeming });
    const door = new JoinDoor({ clusterId: config.clusterId, incarnation, site: config.site.name, catalog: site.catalog, service: site.service, replica: site.replica, logger, now: () => Date.now() });
    await transport.handleProtocol(JOIN_PROTOCOL, MAX_JOIN_STREAMS_PER_CONNECTION, (stream, peer) => void door.serve(byteStreamOf(stream), peer), { guests: true });
    registerJoinMetrics(site.metrics.registry, door, transport.guests);
    if (joinState !== null && redeeming) {
      agent.redeemer = new JoinRedeemer({
        dataDir: config.dataDir,
        state: joinState,
        clusterId: config.clusterId,
        incarnation,
        members: () => seedPeers(config).map((p) => p.site).filter((name, i, all) => name !== config.site.name && all.indexOf(name) === i),
        open: async (member, signal) => byteStreamOf(await transport.dialMember(member, JOIN_PROTOCOL, signal)),
        logger,
        now: () => Date.now(),
        redeemed: () => site.startDuties(),
        refused: (message) => {
          logger.fatal({ err: message }, 'join refused; the agent exits');
          process.stderr.write(`stackraft agent: join refused: ${message}\n`);
          void agent.stop().finally(() => process.exit(1));
        },
      });
      void agent.redeemer.start();
    }
    agent.rotator = new KeyRotator({
      dataDir: config.dataDir,
      site: config.site.name,
      catalog: site.catalog,
      service: site.service,
      transport,
      logger,
      now: () => Date.now(),
      fatal: (message) => {
        logger.fatal({ err: message }, 'key rotation failed; the agent exits');
        void agent.stop().finally(() => process.exit(1));
      },
    });
    await agent.rotator.start();
    site.service.attachKeyRotation(agent.rotator);
    agent.admin = await startAdminServer({ socketPath: config.adminSocket, service: site.service, metrics: site.metrics, logger });
    if (config.metrics.listen) {
      agent.metricsHttp = await startMetricsHttpServer({ listen: config.metrics.listen, metrics: () => site.service.metrics(), logger });
    }
    logger.info({ site: config.site.name, peerId, incarnation: incarnation || 'original', listen: transport.multiaddrs(), socket: config.adminSocket }, 'stackraft agent started');
    return agent;
  }

  /** The daemon's parts: wall clock, LevelDB, libp2p, the configured cloud. */
  private ports(cloud: SitePorts['cloud'], blobStore: BlobStore): SitePorts {
    const { config, transport, logger } = this;
    return {
      clock: realClock,
      epochMs: () => Date.now(),
      random: () => seededRandom(randomInt(2 ** 31)),
      store: this.store,
      transport,
      cloud,
      addresses: () => {
        const announced = config.announce.length > 0 ? config.announce : transport.multiaddrs().map((a) => a.replace(/\/p2p\/[^/]+$/, ''));
        return announced.filter((a) => !a.includes('/ip4/0.0.0.0/'));
      },
      links: {
        rttMs: (m) => transport.rttMs(m),
        badFrames: () => ({ ...transport.counters.badFrames }),
        gaterRefusals: () => transport.counters.gaterRefusals,
        linkUp: (m) => transport.peerStatus().some((p) => p.member === m && p.state === 'open'),
        localPeerId: () => transport.peerId,
      },
      logger,
      componentLogger: (component) => logger.child({ component }),
      blobs: {
        store: blobStore,
        streams: libp2pBlobStreams(transport),
        rateClock: realRateClock,
        transfers: new HeapGrowthWhileTransferring({ basePercent: config.memory.heapGrowthPercent }),
        settings: {
          ...(config.blobs.uploadBytesPerSecond !== undefined ? { uploadBytesPerSecond: config.blobs.uploadBytesPerSecond } : {}),
          ...(config.blobs.downloadBytesPerSecond !== undefined ? { downloadBytesPerSecond: config.blobs.downloadBytesPerSecond } : {}),
        },
      },
      ...(config.dr.action === undefined ? {} : { drActions: drActionFromConfig(config.dr.action) }),
    };
  }

  private running(): Site {
    if (this.site === null) throw new Error('the site is not open yet');
    return this.site;
  }

  /**
   * After each applied entry: refreshes only when a site record or the membership changed since the
   * last refresh. Most entries touch neither, and rebuilding the directory for each cost every
   * replica 1.7-3.4 % of its CPU under load. The catalog replaces a record on every change and never
   * changes one in place (it freezes them), and the core replaces its configuration object on a
   * change, so identity says whether anything changed; time (a join token expiring) is the
   * periodic refresh's part.
   */
  refreshDirectoryIfInputsChanged(): void {
    if (this.site === null) return;
    const last = this.directoryInputs;
    const sites = this.site.catalog.sites();
    if (last !== null && last.conf === this.site.replica.conf() && sameMembers(last.sites, sites)) return;
    this.refreshDirectory();
  }

  /** Keeps the transport's member map in step with the catalog's site records. */
  refreshDirectory(): void {
    if (this.site === null) return;
    const sites = this.site.catalog.sites();
    const conf = this.site.replica.conf();
    this.directoryInputs = { sites, conf };
    const members = directoryMembers(this.config.site.name, sites, seedPeers(this.config), conf);
    this.transport.setJoinDoorOpen(joinDoorOpen(sites, Date.now()));
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
    if (this.directoryTimer) clearInterval(this.directoryTimer);
    this.redeemer?.stop();
    this.rotator?.stop();
    await this.admin?.close();
    await this.metricsHttp?.close();
    await this.site?.stop();
    await this.transport.stop();
    await this.store.close();
    this.logger.info({}, 'stopped');
  }
}

function siteSettings(config: AgentConfig, peerId: string, options: StartOptions): SiteSettings {
  return {
    profile: { name: config.site.name, region: config.site.region, labels: config.site.labels, ...(config.site.country ? { country: config.site.country } : {}) },
    clusterId: config.clusterId,
    peerId,
    version: cliVersion(),
    voters: config.voters,
    replica: {
      tickMs: config.timing.tickMs,
      raft: { electionTimeoutTicks: config.timing.electionTimeoutTicks, heartbeatTicks: config.timing.heartbeatTicks, leaderPlacement: config.timing.leaderPlacement },
      bootstrap: options.bootstrap ? { voters: [config.site.name] } : undefined,
    },
    processMetrics: true,
  };
}

function seedPeers(config: AgentConfig): SeedPeer[] {
  return config.peers.map((p) => ({ site: p.site, addr: p.addr }));
}

/** The same objects in the same order. */
function sameMembers(a: readonly object[], b: readonly object[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
