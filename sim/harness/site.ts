// One simulated site across its lives: a disk that survives crashes, and per incarnation a clock,
// an in-memory store over that disk, and the site the daemon runs, built by the same composition
// (agent/site/compose.ts: replica, catalog, write path, admin service, housekeeping, reconciler)
// from the simulator's ports. A crash kills the incarnation at once (unsynced writes lost, timers
// silenced, network presence gone); callbacks of a dead incarnation are ignored, so a zombie's
// promises can never reach the checkers.
import type { DrActionRequest } from '../../agent/dr/action.js';
import { SimDrActions } from './dr-actions.js';
import type { Catalog } from '../../agent/catalog/index.js';
import { Site } from '../../agent/site/compose.js';
import type { BlobPorts, SitePorts, SiteSettings } from '../../agent/site/ports.js';
import type { CatalogWriter } from '../../agent/write/catalog-writer.js';
import { citySlug } from '../cities.js';
import type { ApplyResult, StateMachine, Transport } from '../../consensus/ports.js';
import { silentLogger } from '../../consensus/ports.js';
import type { Replica, ReplicaConfig } from '../../consensus/replica.js';
import type { CloudDriver } from '../../drivers/index.js';
import type { ConfChange, Entry, MemberId, Role, SnapshotMeta } from '../../consensus/types.js';
import { MemoryDisk } from '../../storage/memory-disk.js';
import { MemoryLogStore } from '../../storage/memory-store.js';
import type { SiteLocation } from '../cities.js';
import type { SimNetwork } from '../network.js';
import type { Prng } from '../prng.js';
import { SiteClock, type Scheduler } from '../scheduler.js';
import { SIM_RECONCILER_OPTIONS, SIM_REPORT_TIMEOUT_MS } from './cloud-tuning.js';
import { simPeerId, simSiteAddress } from './identity.js';
import { ObservedStore } from './observed-store.js';
import { observeSentEntries } from './observed-transport.js';

export type DownReason = 'crash' | 'disk' | 'removed';
export type SiteState = 'down' | 'starting' | 'up';

/** Virtual time 0 is this wall-clock instant in command timestamps (2024-01-01T00:00:00Z). */
export const SIM_EPOCH_MS = 1_704_067_200_000;
/** Every simulated frame would carry this cluster id; the sites' cloud drivers mark with it. */
export const SIM_CLUSTER_ID = 'sim';
/** What a simulated site's admin service reports as its version. */
const SIM_VERSION = 'sim';
/** Clamp of one simulated fsync, whatever the log-normal draws. */
const MIN_FSYNC_MS = 0.2;
const MAX_FSYNC_MS = 50;
/** "Fail every write from now on" for a failing disk (MemoryDisk counts down planned failures). */
const FAIL_FOREVER = 1_000_000_000;

/** What a site tells the world; the world wires it to the checkers and statistics. */
export interface SiteEvents {
  onStarted(site: SimSite, appliedIndex: number): void;
  /** `before`: the role it had until now (the narration names a campaign that ended without a win). */
  onRole(site: SimSite, role: Role, term: number, leader: MemberId, before?: Role): void;
  /** Any state machine applied an entry (before it is durable): the first such apply fixes its effect. */
  onStateMachineApply(site: SimSite, entry: Entry, result: unknown): void;
  /** The replica applied a Normal entry and made it durable. */
  onApplied(site: SimSite, entry: Entry, result: unknown): void;
  onConfChangeApplied(site: SimSite, change: ConfChange, entry: Entry): void;
  onEntriesWritten(site: SimSite, entries: readonly Entry[]): void;
  /** The site sent these entries in an append of `term` (its own or relayed). */
  onEntriesSent(site: SimSite, term: number, entries: readonly Entry[]): void;
  onSnapshotInstalled(site: SimSite, meta: SnapshotMeta): void;
  onFatal(site: SimSite, error: Error): void;
  /** The site's DR agent started (epoch) or stopped (null) acting as a group's primary. */
  onDrActing?(site: SimSite, group: string, epoch: number | null): void;
  /** The site's DR agent is about to run a step's action. */
  onDrStep?(site: SimSite, request: DrActionRequest): void;
}

/** Test-only injection points: a planted bug lives in the test that passes one of these. */
export interface SiteHooks {
  wrapTransport?(site: string, transport: Transport): Transport;
  wrapStateMachine?(site: string, stateMachine: StateMachine): StateMachine;
}

export interface SiteContext {
  scheduler: Scheduler;
  network: SimNetwork;
  prng: Prng;
  replicaConfig: Omit<ReplicaConfig, 'id' | 'random' | 'bootstrap'>;
  bootstrap: { voters: MemberId[]; learners: MemberId[] };
  /** How many voters the cluster should have (the sites' housekeeping promotes learners up to it). */
  voters: number;
  /** The cloud an incarnation manages (a driver on its clock), or undefined without clouds. */
  cloudFor(site: string, clock: SiteClock): CloudDriver | undefined;
  /** An incarnation's blob ports, or undefined when the run moves no image bits. */
  blobsFor?(site: string, clock: SiteClock): BlobPorts | undefined;
  /** The round trip a site's transport would measure to a member (undefined: not known). */
  rttMs?(from: string, to: string): number | undefined;
  diskMedianMs: number;
  diskSigma: number;
  events: SiteEvents;
  hooks: SiteHooks;
}

/** Passes everything to the catalog and reports each apply (the catalog stays the read model). */
class ReportingStateMachine implements StateMachine {
  constructor(
    private readonly inner: Catalog,
    private readonly report: (entry: Entry, result: unknown) => void,
  ) {}

  apply(entry: Entry): ApplyResult {
    const r = this.inner.apply(entry);
    this.report(entry, r.result);
    return r;
  }

  snapshot(): Uint8Array {
    return this.inner.snapshot();
  }

  restore(image: Uint8Array): Array<[string, Uint8Array]> {
    return this.inner.restore(image);
  }

  load(records: Array<[string, Uint8Array]>): void {
    this.inner.load(records);
  }
}

export class SimSite {
  disk = new MemoryDisk();
  state: SiteState = 'down';
  readonly downReasons = new Set<DownReason>();
  /** Founders re-found from the shared bootstrap when their disk is empty; a wiped site joins instead. */
  mayBootstrap = true;
  incarnation = 0;
  clockRate = 1;
  diskExtraMs = 0;
  diskFailing = false;
  clock: SiteClock | null = null;
  store: ObservedStore | null = null;
  /** The running incarnation's site (null while down). */
  running: Site | null = null;
  role: Role = 'follower';
  term = 0;
  private downSignal: Promise<void> = Promise.resolve();
  private signalDown: () => void = () => undefined;
  private readonly diskRng: Prng;

  constructor(
    readonly location: SiteLocation,
    private readonly ctx: SiteContext,
  ) {
    this.diskRng = ctx.prng.fork(`disk/${location.name}`);
  }

  get name(): string {
    return this.location.name;
  }

  get replica(): Replica | null {
    return this.running?.replica ?? null;
  }

  get catalog(): Catalog | null {
    return this.running?.catalog ?? null;
  }

  get writer(): CatalogWriter | null {
    return this.running?.writer ?? null;
  }

  get isUp(): boolean {
    return this.state === 'up';
  }

  /** Settles when the current incarnation dies (at once if the site is down). */
  whenDown(): Promise<void> {
    return this.downSignal;
  }

  /** Starts a new incarnation from what the disk holds; settles when it runs (or died meanwhile). */
  async boot(): Promise<void> {
    if (this.state !== 'down') throw new Error(`site ${this.name} is already ${this.state}`);
    const { scheduler, network, events, hooks } = this.ctx;
    const inc = ++this.incarnation;
    this.state = 'starting';
    this.role = 'follower';
    this.term = 0;
    this.downSignal = new Promise<void>((resolve) => (this.signalDown = resolve));
    network.setSiteUp(this.name, true);
    const clock = new SiteClock(scheduler, { rate: this.clockRate });
    const live = (): boolean => inc === this.incarnation;
    // Entries and record puts by reference: the simulator never changes a buffer it handed over.
    const memory = new MemoryLogStore({ disk: this.disk, clock, syncDelayMs: () => this.fsyncMs(), name: this.name, shareBuffers: true });
    const store = new ObservedStore(memory, {
      onEntriesWritten: (entries) => live() && events.onEntriesWritten(this, entries),
      onSnapshotInstalled: (meta) => live() && events.onSnapshotInstalled(this, meta),
    });
    const plainTransport = network.transportFor(this.name);
    const hooked = hooks.wrapTransport?.(this.name, plainTransport) ?? plainTransport;
    const transport = observeSentEntries(hooked, (term, entries) => live() && events.onEntriesSent(this, term, entries));
    this.clock = clock;
    this.store = store;
    let site: Site;
    try {
      site = await Site.open(this.settings(), this.ports(inc, clock, store, transport), {
        wrapStateMachine: (catalog) => {
          const reporting = new ReportingStateMachine(catalog, (entry, result) => live() && events.onStateMachineApply(this, entry, result));
          return hooks.wrapStateMachine?.(this.name, reporting) ?? reporting;
        },
        onRoleChange: (role, term, leader) => {
          if (!live()) return;
          const before = this.role;
          this.role = role;
          this.term = term;
          events.onRole(this, role, term, leader, before);
        },
        onApplied: (entry, result) => live() && events.onApplied(this, entry, result),
        onConfChangeApplied: (change, entry) => live() && events.onConfChangeApplied(this, change, entry),
        onFatal: (error) => live() && events.onFatal(this, error),
        dr: {
          onActing: (group, epoch) => live() && events.onDrActing?.(this, group, epoch),
          onStepStarted: (request) => live() && events.onDrStep?.(this, request),
        },
      });
    } catch (err) {
      if (live()) events.onFatal(this, err instanceof Error ? err : new Error(String(err)));
      return;
    }
    if (!live()) return;
    this.running = site;
    this.state = 'up';
    events.onStarted(this, site.replica.appliedIndex);
    site.start();
  }

  private settings(): SiteSettings {
    const { location } = this;
    return {
      profile: { name: location.name, region: location.region, country: location.country, labels: { city: citySlug(location.city) } },
      clusterId: SIM_CLUSTER_ID,
      peerId: simPeerId(location.name),
      version: SIM_VERSION,
      voters: this.ctx.voters,
      replica: { ...this.ctx.replicaConfig, bootstrap: this.mayBootstrap ? this.ctx.bootstrap : undefined },
      reconciler: SIM_RECONCILER_OPTIONS,
      reportTimeoutMs: SIM_REPORT_TIMEOUT_MS,
      watchEvents: 0,
      commandDecode: 'shared',
    };
  }

  /** The simulator's parts for one incarnation: its clock, store and network presence, its cloud. */
  private ports(inc: number, clock: SiteClock, store: ObservedStore, transport: Transport): SitePorts {
    const { scheduler, prng } = this.ctx;
    const address = simSiteAddress(this.name);
    const blobs = this.ctx.blobsFor?.(this.name, clock);
    return {
      clock,
      // Virtual wall time: the same for every site and increasing across incarnations (client ids
      // and sync-report sequence numbers of a restarted site must not repeat its earlier life's).
      epochMs: () => SIM_EPOCH_MS + scheduler.now(),
      random: (use) => prng.fork(`${use === 'raft' ? 'replica' : 'reconciler'}/${this.name}/${inc}`).asRandom(),
      store,
      transport,
      cloud: this.ctx.cloudFor(this.name, clock),
      addresses: () => [address],
      drActions: new SimDrActions(clock, prng.fork(`dr-actions/${this.name}/${inc}`).asRandom()),
      links: {
        // Measured on what the site's links delivered (as libp2p's connection monitor does), else the model's.
        rttMs: (member) => this.ctx.network.measuredRttMs(this.name, member) ?? this.ctx.rttMs?.(this.name, member),
        badFrames: () => ({}),
        gaterRefusals: () => 0,
        linkUp: (member) => transport.linkDown?.(member) !== true,
      },
      logger: silentLogger,
      ...(blobs !== undefined ? { blobs } : {}),
    };
  }

  /** The process dies now: unsynced writes are lost, nothing it set up fires again. */
  kill(reason: DownReason): void {
    this.downReasons.add(reason);
    if (this.state === 'down') return;
    this.incarnation++;
    this.ctx.network.setSiteUp(this.name, false);
    this.running?.halt();
    this.clock?.stop();
    this.store?.inner.crash();
    this.state = 'down';
    this.role = 'follower';
    this.running = null;
    this.signalDown();
  }

  /** A brand-new disk (the site is rebuilt before it joins again); it will not re-found the cluster. */
  wipeDisk(): void {
    if (this.state !== 'down') throw new Error(`site ${this.name} must be down to wipe its disk`);
    this.disk = new MemoryDisk();
    this.mayBootstrap = false;
    if (this.diskFailing) this.disk.failNextWrites(FAIL_FOREVER);
  }

  setDiskFailing(failing: boolean): void {
    this.diskFailing = failing;
    this.disk.failNextWrites(failing ? FAIL_FOREVER : 0);
  }

  setClockRate(rate: number): void {
    this.clockRate = rate;
    if (this.state !== 'down') this.clock?.setRate(rate);
  }

  private fsyncMs(): number {
    const base = this.diskRng.logNormal(this.ctx.diskMedianMs, this.ctx.diskSigma);
    return Math.min(MAX_FSYNC_MS, Math.max(MIN_FSYNC_MS, base)) + this.diskExtraMs;
  }
}
