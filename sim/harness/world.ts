// The simulated world: every site, the network between them, and the wiring from what the sites do
// to the checkers and statistics. It is also the fault target: the fault executor crashes and
// restarts sites, slows or breaks their disks, skews their clocks, cuts links and changes the
// membership through the methods here.
import type { DrActionRequest } from '../../agent/dr/action.js';
import { DrFencingChecker } from '../checkers/dr-fencing.js';
import type { Entry, MemberId, Role, SnapshotMeta, ConfChange } from '../../consensus/types.js';
import { StoreWriteError } from '../../storage/errors.js';
import type { CloudDriver } from '../../drivers/index.js';
import type { BlobPorts } from '../../agent/site/ports.js';
import { RaftSafetyChecker } from '../checkers/raft-safety.js';
import type { SiteLocation } from '../cities.js';
import type { FaultTarget } from '../faults.js';
import type { SimNetwork } from '../network.js';
import { LeaderEgress } from './leader-egress.js';
import { QuorumTimeline, majorityConnected } from './quorum-timeline.js';
import type { Prng } from '../prng.js';
import type { Scheduler, SiteClock } from '../scheduler.js';
import type { TraceHash } from '../stats.js';
import type { LinkCut, LinkFaultKind } from '../wan.js';
import { ApplyLog } from './apply-log.js';
import { CommitLatency } from './commit-latency.js';
import { EntryFactsCache } from './entries.js';
import type { WriteRecord } from './history.js';
import type { SimHooks } from './hooks.js';
import { LeaderTracker } from './leader-tracker.js';
import { MembershipWorker } from './membership.js';
import { voterCount, type SimOptions } from './options.js';
import { ReachabilityLog } from './reachability.js';
import { SimSite, type SiteEvents } from './site.js';

export interface Topology {
  locations: SiteLocation[];
  voters: MemberId[];
  learners: MemberId[];
}

export interface WorldStats {
  crashes: number;
  restarts: number;
  diskFatal: number;
  otherFatal: number;
  snapshotsInstalled: number;
  /** The last fatal errors that were not disk failures (a replica broke an invariant). */
  fatalMessages: string[];
}

/** Follows the sites' lives (the clouds do); called after the world's own bookkeeping. */
export interface SiteObserver {
  siteStarted(site: SimSite): void;
  siteDown(site: SimSite): void;
}

/** Gives an incarnation of a site its cloud driver, on the incarnation's clock. */
export type CloudProvider = (site: string, clock: SiteClock) => CloudDriver;
/** Gives an incarnation of a site its blob ports (sim/blobs/run.ts), on the incarnation's clock. */
export type BlobProvider = (site: string, clock: SiteClock) => BlobPorts;

/** Fatal messages kept for the report. */
const MAX_FATAL_MESSAGES = 20;

export class World implements SiteEvents {
  readonly sites: SimSite[];
  readonly byName = new Map<string, SimSite>();
  readonly checker: RaftSafetyChecker;
  readonly leaders = new LeaderTracker();
  /** What the leaders sent while leading (relays bound it). */
  readonly leaderEgress: LeaderEgress;
  /** Whether a quorum of voters could talk to each other, over the run (splits election times). */
  readonly quorumTimeline: QuorumTimeline;
  readonly applyLog = new ApplyLog();
  readonly latency: CommitLatency;
  readonly reach = new ReachabilityLog();
  readonly drFencing = new DrFencingChecker();
  readonly membership: MembershipWorker;
  readonly facts = new EntryFactsCache();
  readonly stats: WorldStats = { crashes: 0, restarts: 0, diskFatal: 0, otherFatal: 0, snapshotsInstalled: 0, fatalMessages: [] };
  readonly observers: SiteObserver[] = [];
  /** Set when the run has clouds (--clouds on). */
  cloudProvider: CloudProvider | null = null;
  /** Set when the run places an image over the peer network (--image-size). */
  blobProvider: BlobProvider | null = null;
  /** Narrates the run (faults, crashes, elections, membership) for --verbose; silent by default. */
  log: (line: string) => void = () => undefined;

  constructor(
    readonly scheduler: Scheduler,
    readonly network: SimNetwork,
    readonly topology: Topology,
    prng: Prng,
    readonly options: SimOptions,
    hooks: SimHooks,
    private readonly trace: TraceHash,
  ) {
    this.checker = new RaftSafetyChecker(String(options.seed));
    this.latency = new CommitLatency(network.wan, options.diskMedianMs);
    this.leaderEgress = new LeaderEgress((site) => network.egressBytesOf(site));
    this.quorumTimeline = new QuorumTimeline(scheduler, options.durationMs, () => this.quorumConnectedNow());
    this.membership = new MembershipWorker(scheduler, {
      leaderSite: () => this.leaderSite(),
      retire: (site) => this.retire(site),
      rebuild: (site) => this.rebuild(site),
      log: (line) => this.log(line),
    });
    const context = {
      scheduler,
      network,
      prng,
      replicaConfig: {
        tickMs: options.tickMs,
        raft: { electionTimeoutTicks: options.electionTimeoutTicks, heartbeatTicks: options.heartbeatTicks, ...(options.relayLearners === false ? { relayLearners: false } : {}), leaderPlacement: options.leaderPlacement !== false },
        proposalTimeoutMs: options.proposalTimeoutMs,
        snapshotEveryEntries: options.snapshotEveryEntries,
        retainEntries: options.retainEntries,
      },
      bootstrap: { voters: topology.voters, learners: topology.learners },
      voters: voterCount(options),
      cloudFor: (site: string, clock: SiteClock) => this.cloudProvider?.(site, clock),
      blobsFor: (site: string, clock: SiteClock) => this.blobProvider?.(site, clock),
      // The modelled round trip stands for libp2p's measured one (the fetcher prefers near holders).
      rttMs: (from: string, to: string) => (this.blobProvider === null ? undefined : network.wan.baseOneWayMs(from, to) + network.wan.baseOneWayMs(to, from)),
      diskMedianMs: options.diskMedianMs,
      diskSigma: options.diskSigma,
      events: this,
      hooks,
    };
    this.sites = topology.locations.map((loc) => new SimSite(loc, context));
    for (const s of this.sites) this.byName.set(s.name, s);
  }

  /** Starts every site (their opens complete as virtual time runs). */
  bootAll(): void {
    for (const s of this.sites) void s.boot();
    this.quorumTimeline.start();
  }

  /** Could a majority of the voters (as the running site of the highest term knows them) talk to each other now? */
  quorumConnectedNow(): boolean {
    let newest: SimSite | undefined;
    for (const s of this.sites) if (s.isUp && s.replica && (newest === undefined || s.term > newest.term)) newest = s;
    if (newest === undefined) return false;
    const wan = this.network.wan;
    const now = this.scheduler.now();
    return majorityConnected(
      newest.replica!.conf().voters,
      (v) => this.byName.get(v)?.isUp === true,
      (a, b) => !wan.isBlocked(a, b, now),
    );
  }

  site(name: string): SimSite {
    const s = this.byName.get(name);
    if (!s) throw new Error(`unknown site ${name}`);
    return s;
  }

  upSites(): SimSite[] {
    return this.sites.filter((s) => s.isUp);
  }

  siteNames(): string[] {
    return this.sites.map((s) => s.name);
  }

  /** The running site that leads the highest term, if any. */
  leaderSite(): SimSite | undefined {
    let best: SimSite | undefined;
    for (const s of this.sites) {
      if (s.isUp && s.role === 'leader' && (best === undefined || s.term > best.term)) best = s;
    }
    return best;
  }

  onWriteCommitted(rec: WriteRecord, index: number, site: string): void {
    // The term of the entry applied there (by any state machine), else the one the answering site logged.
    const term = this.applyLog.termOf(index) ?? this.byName.get(site)?.store?.terms.termAt(index) ?? 0;
    this.checker.onWriteCommitted({ writeId: rec.writeId, index, term, atMs: this.scheduler.now(), site });
  }

  onWriteRefused(rec: WriteRecord, site: string): void {
    this.checker.onWriteRefused({ writeId: rec.writeId, atMs: this.scheduler.now(), site, code: rec.code });
  }

  get electionTimeoutMs(): number {
    return this.options.tickMs * this.options.electionTimeoutTicks;
  }

  // ------------------------------------------------------------------ site events

  onStarted(site: SimSite, appliedIndex: number): void {
    this.log(`${site.name} started (incarnation ${site.incarnation}, applied ${appliedIndex})`);
    this.reach.siteUp(site.name, this.scheduler.now());
    this.checker.onRestart(site.name, appliedIndex, this.scheduler.now());
    this.refreshLeaderReach();
    for (const o of this.observers) o.siteStarted(site);
  }

  onRole(site: SimSite, role: Role, term: number, leader: MemberId, before?: Role): void {
    const now = this.scheduler.now();
    if (role === 'leader') this.leaderEgress.onLeader(site.name);
    else this.leaderEgress.onNotLeader(site.name);
    if (role === 'leader') {
      const st = site.replica!.status();
      const terms = site.store!.terms;
      this.checker.onLeaderElected({ site: site.name, term, atMs: now, lastIndex: st.lastIndex, termAt: (i) => terms.termAt(i) });
      if (this.handedOverUnseen(site.name, term)) this.leaders.onHandedOverUnseen(site.name);
      this.leaders.onElected(site.name, term, now);
      this.log(`${site.name} leads term ${term} (last index ${st.lastIndex})`);
      this.trace.mixString(site.name);
      this.trace.mixU32(term);
    } else {
      const current = this.leaders.leader;
      const handedOverTo = current?.site === site.name ? site.replica?.status().handedOverTo : undefined;
      if (current?.site === site.name && handedOverTo !== undefined) this.leaders.onHandedOver(site.name, current.term, handedOverTo, now);
      else if (current?.site === site.name) this.leaders.onLost(site.name, current.term, now, 'step-down');
      if (role !== 'follower' || current?.site === site.name) this.log(`${site.name} is ${role} in term ${term}`);
      else if (before === 'preCandidate' || before === 'candidate') this.log(`${site.name} ends its campaign as follower in term ${term}${leader === '' ? '' : ` of ${leader}`}`);
    }
  }

  /**
   * The previous leader transferred to `site` and has not been seen stepping down: it is still
   * heading there (the target won before the far old leader even got its vote request), or its
   * step-down is still on its way to the harness (a disk write).
   */
  private handedOverUnseen(site: string, term: number): boolean {
    const before = this.leaders.leader;
    if (before === null || before.term >= term) return false;
    const st = this.byName.get(before.site)?.replica?.status();
    return st !== undefined && (st.handedOverTo === site || (st.role === 'leader' && st.transferTarget === site));
  }

  onStateMachineApply(_site: SimSite, entry: Entry, result: unknown): void {
    if (this.applyLog.has(entry.index)) return;
    this.applyLog.note(entry.index, entry.term, this.facts.of(entry), result, this.scheduler.now());
  }

  onApplied(site: SimSite, entry: Entry, _result: unknown): void {
    const now = this.scheduler.now();
    const facts = this.facts.of(entry);
    this.checker.onApplied(site.name, { index: entry.index, term: entry.term, digest: facts.digest, writeIds: facts.writeId ? [facts.writeId] : [] }, now);
    if (site.role === 'leader' && site.term === entry.term && site.replica) {
      this.latency.onLeaderApplied(site.name, entry, site.replica.conf(), now);
    }
  }

  onConfChangeApplied(site: SimSite, _change: ConfChange, entry: Entry): void {
    // The entry's own term: what this state machine executed, not what a shadow of its log says.
    const digest = this.facts.of(entry).digest;
    this.checker.onApplied(site.name, { index: entry.index, term: entry.term, digest }, this.scheduler.now());
  }

  onEntriesWritten(site: SimSite, entries: readonly Entry[]): void {
    if (site.role === 'leader') this.latency.onLeaderHolds(site.name, site.term, entries, this.scheduler.now());
  }

  onEntriesSent(site: SimSite, term: number, entries: readonly Entry[]): void {
    if (site.role === 'leader' && term === site.term) this.latency.onLeaderHolds(site.name, site.term, entries, this.scheduler.now());
  }

  onDrActing(site: SimSite, group: string, epoch: number | null): void {
    const resource = site.catalog?.get('protection-group', group);
    const applied = resource?.spec;
    this.drFencing.onActing(site.name, group, epoch, applied?.failoverEpoch, applied?.primarySite === site.name, String(resource?.createdAt), this.scheduler.now());
  }

  onDrStep(site: SimSite, request: DrActionRequest): void {
    const resource = site.catalog?.get('protection-group', request.group);
    this.drFencing.onStepStarted(request, resource?.spec.failoverEpoch, String(resource?.createdAt), this.scheduler.now());
  }

  onSnapshotInstalled(site: SimSite, meta: SnapshotMeta): void {
    this.stats.snapshotsInstalled++;
    this.checker.onSnapshotInstalled(site.name, meta.index, meta.term, this.scheduler.now());
  }

  onFatal(site: SimSite, error: Error): void {
    const isDisk = error instanceof StoreWriteError || site.diskFailing;
    if (isDisk) this.stats.diskFatal++;
    else {
      this.stats.otherFatal++;
      if (this.stats.fatalMessages.length < MAX_FATAL_MESSAGES) {
        this.stats.fatalMessages.push(`${site.name} at ${this.scheduler.now().toFixed(1)} ms: ${error.message}`);
      }
    }
    this.log(`${site.name} stopped: ${error.message}`);
    // The process exits (as the daemon does on a fatal error); it comes back once the disk works.
    this.killSite(site, 'disk');
    // A write issued while the disk was failing can fail after the fault ended (two faults ending at
    // one instant restart the site first): nothing else would bring it back, so restart it now.
    if (isDisk && !site.diskFailing) {
      this.scheduler.after(0, () => {
        if (site.diskFailing) return;
        site.downReasons.delete('disk');
        this.maybeBoot(site);
      });
    }
  }

  // ------------------------------------------------------------------ lifecycle

  private killSite(site: SimSite, reason: 'crash' | 'disk' | 'removed'): void {
    const wasUp = site.state !== 'down';
    const wasLeader = this.leaders.leader?.site === site.name && site.role === 'leader';
    site.kill(reason);
    this.drFencing.onSiteDown(site.name);
    this.leaderEgress.onNotLeader(site.name);
    for (const o of this.observers) o.siteDown(site);
    if (!wasUp) return;
    this.log(`${site.name} down (${reason})`);
    const now = this.scheduler.now();
    if (reason === 'crash') this.stats.crashes++;
    this.reach.siteDown(site.name, now);
    if (wasLeader) this.leaders.onLost(site.name, null, now, 'crash');
    else this.refreshLeaderReach();
  }

  private maybeBoot(site: SimSite): void {
    if (site.state !== 'down' || site.downReasons.size > 0) return;
    this.stats.restarts++;
    void site.boot();
  }

  private retire(site: SimSite): void {
    this.killSite(site, 'removed');
  }

  private rebuild(site: SimSite): void {
    if (site.state !== 'down') return;
    this.log(`${site.name} rebuilt on an empty disk`);
    site.wipeDisk();
    site.downReasons.delete('removed');
    this.maybeBoot(site);
  }

  // ------------------------------------------------------------------ the fault target

  faultTarget(): FaultTarget {
    const net = this.network;
    return {
      partition: (cut: LinkCut) => {
        const id = net.partition(cut);
        this.reach.cutApplied(id, cut, this.scheduler.now());
        this.refreshLeaderReach();
        return id;
      },
      heal: (cutId?: number) => {
        net.heal(cutId);
        this.reach.cutHealed(cutId, this.scheduler.now());
        this.refreshLeaderReach();
      },
      setLinkFault: (kind: LinkFaultKind, p: number | null) => net.setLinkFault(kind, p),
      crashSite: (name) => this.killSite(this.site(name), 'crash'),
      restartSite: (name) => {
        const s = this.site(name);
        s.downReasons.delete('crash');
        this.maybeBoot(s);
      },
      leaderOf: () => this.leaderSite()?.name,
      setDiskDelay: (name, ms) => void (this.site(name).diskExtraMs = ms),
      setDiskFailing: (name, failing) => {
        const s = this.site(name);
        s.setDiskFailing(failing);
        if (!failing) {
          s.downReasons.delete('disk');
          this.maybeBoot(s);
        }
      },
      setClockRate: (name, rate) => this.site(name).setClockRate(rate),
      removeSite: (name) => this.membership.request(this.site(name), 'absent'),
      addSite: (name) => this.membership.request(this.site(name), 'member'),
    };
  }

  /**
   * A leader cut off from a majority of its voters (by partitions or their crashes) is lost from
   * now; one that gets its majority back before anyone replaced it was never lost.
   */
  private refreshLeaderReach(): void {
    const leader = this.leaderSite();
    if (!leader) return;
    if (this.reachesMajority(leader)) this.leaders.onReconnected(leader.name);
    else this.leaders.onLost(leader.name, leader.term, this.scheduler.now(), 'cut-off');
  }

  /** Can the site exchange messages both ways with a majority of its voters right now? */
  reachesMajority(site: SimSite): boolean {
    const voters = site.replica?.conf().voters ?? [];
    const wan = this.network.wan;
    const now = this.scheduler.now();
    let reachable = 0;
    for (const v of voters) {
      if (v === site.name) {
        reachable++;
        continue;
      }
      const other = this.byName.get(v);
      if (other?.isUp && !wan.isBlocked(site.name, v, now) && !wan.isBlocked(v, site.name, now)) reachable++;
    }
    return reachable >= Math.floor(voters.length / 2) + 1;
  }
}
