// One site, built the same way in both worlds: the replica runtime over the store and transport it
// is given, the catalog as its state machine, the write path, the admin service, the housekeeping
// loop (self-registration, learner promotion) and the reconciler of the site's cloud. The daemon
// (agent/daemon/site-agent.ts) adds what only a process has: identity, sockets, the peer directory;
// the simulator (sim/harness/site.ts) adds its observers. Neither repeats any of this.
import type { StateMachine } from '../../consensus/ports.js';
import { Replica } from '../../consensus/replica.js';
import { Catalog } from '../catalog/index.js';
import { DaemonService } from '../daemon/service.js';
import { createAgentMetrics, setRole, type AgentMetrics } from '../ops/metrics.js';
import { SiteReconciler } from '../reconciler/index.js';
import { CatalogWriter } from '../write/catalog-writer.js';
import { ChangeFeed, MAX_WATCH_EVENTS } from '../watch/change-feed.js';
import { feedChanges } from '../watch/feed-changes.js';
import { SiteBlobs } from '../blobs/site-blobs.js';
import { NO_ACTION_RUNNER } from '../dr/action.js';
import { DrAgent } from '../dr/dr-agent.js';
import { Housekeeping } from './housekeeping.js';
import { relayInLearnersRegion } from './relay-choice.js';
import type { SiteObservers, SitePorts, SiteSettings } from './ports.js';

export class Site {
  private stopping: Promise<void> | null = null;
  private dutiesStarted = false;

  private constructor(
    readonly replica: Replica,
    readonly catalog: Catalog,
    readonly writer: CatalogWriter,
    readonly service: DaemonService,
    readonly metrics: AgentMetrics,
    readonly housekeeping: Housekeeping,
    /** null for a site with no cloud to manage. */
    readonly reconciler: SiteReconciler | null,
    /** Committed resource changes, for watch. */
    readonly changes: ChangeFeed,
    /** Runs this site's disaster-recovery steps and fences it. */
    readonly dr: DrAgent,
    /** null for a site built without blob ports. */
    readonly blobs: SiteBlobs | null = null,
  ) {}

  /**
   * Opens the site from what its store holds (nothing runs yet). `ports.cloud` is already built:
   * the daemon builds it first, so a bad clouds.yaml stops the agent before it opens anything.
   */
  static async open(settings: SiteSettings, ports: SitePorts, observers: SiteObservers = {}): Promise<Site> {
    const logger = ports.logger;
    const catalog = new Catalog(settings.commandDecode === undefined ? {} : { commandDecode: settings.commandDecode });
    const changes = new ChangeFeed(0, settings.watchEvents ?? MAX_WATCH_EVENTS);
    // Every series carries the site, so one Prometheus scraping all sites can tell them apart by name.
    const metrics = createAgentMetrics({ processMetrics: settings.processMetrics ?? false, defaultLabels: { site: settings.profile.name } });
    let reconciler: SiteReconciler | null = null;
    let blobs: SiteBlobs | null = null;
    let dr: DrAgent | null = null;
    const replica = await Replica.open(
      {
        ...settings.replica,
        raft: { ...settings.replica.raft, pickRelay: relayInLearnersRegion((site) => catalog.get('site', site)?.spec.region) },
        id: settings.profile.name,
        random: ports.random('raft'),
      },
      {
        clock: ports.clock,
        store: ports.store,
        transport: ports.transport,
        rttMs: ports.links.rttMs,
        stateMachine: notifyOnRestore(feedChanges(observers.wrapStateMachine?.(catalog) ?? catalog, catalog, changes), () => {
          reconciler?.catalogChanged();
          blobs?.catalogChanged();
          dr?.catalogChanged();
        }),
        logger,
        hooks: {
          onApplied: (entry, result) => {
            observers.onApplied?.(entry, result);
            reconciler?.catalogChanged();
            blobs?.catalogChanged();
            dr?.catalogChanged();
          },
          onConfChangeApplied: (change, entry) => observers.onConfChangeApplied?.(change, entry),
          onRoleChange: (role, term, leader) => {
            setRole(metrics, role);
            metrics.term.set(term);
            observers.onRoleChange?.(role, term, leader);
          },
          onPersist: (ms) => metrics.fsyncSeconds.observe(ms / 1000),
          onFatal: (error) => observers.onFatal?.(error),
        },
      },
    );
    const writer = new CatalogWriter(replica, catalog, ports.epochMs);
    dr = new DrAgent({
      site: settings.profile.name,
      catalog,
      writer,
      runner: ports.drActions ?? NO_ACTION_RUNNER,
      clock: ports.clock,
      epochMs: ports.epochMs,
      random: ports.random('dr'),
      logger: ports.componentLogger?.('dr') ?? logger,
      ...(observers.dr === undefined ? {} : { observer: observers.dr }),
    });
    const housekeeping = new Housekeeping({
      profile: settings.profile,
      peerId: settings.peerId,
      voters: settings.voters,
      addresses: ports.addresses,
      replica,
      catalog,
      writer,
      clock: ports.clock,
      epochMs: ports.epochMs,
      logger,
    });
    if (ports.cloud !== undefined) {
      reconciler = new SiteReconciler({
        site: settings.profile.name,
        driver: ports.cloud,
        replica,
        catalog,
        clock: ports.clock,
        epochMs: ports.epochMs,
        random: ports.random('reconciler'),
        logger: ports.componentLogger?.('reconciler') ?? logger,
        options: settings.reconciler,
        reportTimeoutMs: settings.reportTimeoutMs,
      });
    }
    if (ports.blobs !== undefined) {
      blobs = new SiteBlobs({
        site: settings.profile.name,
        clusterId: settings.clusterId,
        catalog,
        ...ports.blobs,
        clock: ports.clock,
        rttMs: ports.links.rttMs,
        cloudHoldsImage: (id) => reconciler?.holdsImageBits(id) ?? false,
        ...(ports.cloud?.downloadImage !== undefined ? { cloudImageBits: async (id: string) => (await ports.cloud!.downloadImage!(id)).body } : {}),
        logger: ports.componentLogger?.('blobs') ?? logger,
      });
      blobs.registerMetrics(metrics.registry);
    }
    const service = new DaemonService({
      clusterId: settings.clusterId,
      site: settings.profile.name,
      peerId: settings.peerId,
      version: settings.version,
      replica,
      catalog,
      writer,
      metrics,
      clock: ports.clock,
      incarnation: settings.incarnation ?? '',
      epochMs: ports.epochMs,
      changes,
      ...ports.links,
      ...(blobs !== null ? { blobs } : {}),
      ...(ports.cloud !== undefined ? { cloud: ports.cloud } : {}),
    });
    return new Site(replica, catalog, writer, service, metrics, housekeeping, reconciler, changes, dr, blobs);
  }

  /** Starts the replica, then the housekeeping loop and the reconciler (the transport is already listening). */
  start(options: { holdDuties?: boolean } = {}): void {
    this.replica.start();
    if (!options.holdDuties) this.startDuties();
  }

  /**
   * Housekeeping (which writes this site's own record) and the reconciler. A site joining with a
   * token holds them until its token is redeemed: a second site started from the same token must
   * not write the record of the first before it learns the token is used.
   */
  startDuties(): void {
    if (this.dutiesStarted) return;
    this.dutiesStarted = true;
    this.housekeeping.start();
    this.reconciler?.start();
    this.blobs?.start();
    this.dr.start();
  }

  /** Graceful stop: housekeeping, the reconciler (bounded wait for a cloud call), then the replica. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      this.changes.close();
      this.dr.stop();
      this.housekeeping.stop();
      this.blobs?.stop();
      await this.reconciler?.stop();
      await this.replica.stop();
    })();
    return this.stopping;
  }

  /**
   * The process died (the simulator's crash): nothing of this life may act again. Nothing is
   * awaited, nothing is flushed; the store and the clock are the caller's to kill.
   */
  halt(): void {
    this.dr.stop();
    this.housekeeping.stop();
    this.blobs?.stop();
    this.reconciler?.halt();
  }
}

/** A snapshot installed from the leader changes the catalog without an apply: the reconciler hears of it too. */
function notifyOnRestore(inner: StateMachine, restored: () => void): StateMachine {
  return {
    apply: (entry) => inner.apply(entry),
    snapshot: () => inner.snapshot(),
    restore: (image) => {
      const records = inner.restore(image);
      restored();
      return records;
    },
    load: (records) => inner.load(records),
  };
}
