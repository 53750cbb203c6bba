// What a site is built from. The daemon passes the wall clock, LevelDB, libp2p and an OpenStack
// (or mock) driver; the simulator passes virtual time, the in-memory store over its simulated disk,
// its simulated WAN and an in-memory cloud. compose.ts builds the same site from either.
import type { Clock, Logger, LogStore, StateMachine, Transport } from '../../consensus/ports.js';
import type { ReplicaConfig } from '../../consensus/replica.js';
import type { ConfChange, Entry, Role } from '../../consensus/types.js';
import type { CloudDriver } from '../../drivers/index.js';
import type { ReconcilerOptions } from '../reconciler/index.js';
import type { Catalog } from '../catalog/index.js';
import type { BlobStorage, BlobStreams, TransferActivity } from '../blobs/ports.js';
import type { RateClock } from '../blobs/rate.js';
import type { SiteBlobSettings } from '../blobs/site-blobs.js';

/** A site's blob parts (agent/blobs): where its blobs live and how it reaches members' blob servers. */
export interface BlobPorts {
  /** The daemon's BlobStore (which also takes uploads); the simulator's modelled store. */
  store: BlobStorage;
  streams: BlobStreams;
  /** Time for transfer rates and caps (real in the daemon). */
  rateClock: RateClock;
  settings?: SiteBlobSettings;
  /** Told when bits move (the daemon sizes its heap for it); absent in the simulator. */
  transfers?: TransferActivity;
}
import type { DrActionRunner } from '../dr/action.js';
import type { DrObserver } from '../dr/dr-agent.js';

/** Who this site is, as its own `site` record says. */
export interface SiteProfile {
  name: string;
  region: string;
  /** ISO 3166-1 alpha-2; absent when the operator did not give one. */
  country?: string;
  labels: Record<string, string>;
}

/** The addresses other sites should dial, without the `/p2p/` part; empty when none is dialable. */
export type AddressSource = () => string[];

/** What the transport knows about its links, for the admin service's status and metrics. */
export interface LinkFacts {
  rttMs(member: string): number | undefined;
  /** Frames the transport refused so far, by reason (monotonic counts). */
  badFrames(): Record<string, number>;
  /** Connections refused because the peer is not a member (monotonic count). */
  gaterRefusals(): number;
  linkUp(member: string): boolean;
  /** The peer id this site's transport runs under now (a key rotation changes it); absent: the settings' peerId. */
  localPeerId?(): string;
}

export interface SitePorts {
  /** Timers and elapsed time: real in the daemon, the site's virtual clock in the simulator. */
  clock: Clock;
  /** Milliseconds since the Unix epoch, for command timestamps and client ids. */
  epochMs: () => number;
  /** A PRNG for each named use (`raft`, `reconciler`): seeded from the site's seed in the simulator. */
  random(use: 'raft' | 'reconciler' | 'dr'): () => number;
  store: LogStore;
  transport: Transport;
  /** The site's cloud; undefined for a site with no cloud to manage (`cloud: { type: none }`). */
  cloud: CloudDriver | undefined;
  addresses: AddressSource;
  links: LinkFacts;
  logger: Logger;
  /** Runs the DR steps the catalog gives this site (agent/dr/action.ts); absent: every step fails saying none is configured. */
  drActions?: DrActionRunner;
  /** A logger for one component (`reconciler`, ...); the parent logger when absent. */
  componentLogger?(component: string): Logger;
  /** Image bits over the peer network; a site without them holds no blobs (URL sources only). */
  blobs?: BlobPorts;
}

export interface SiteSettings {
  profile: SiteProfile;
  clusterId: string;
  /** The cluster incarnation of this site's disk ('' for the original; agent/recovery/incarnation.ts). */
  incarnation?: string;
  peerId: string;
  version: string;
  /** How many voters the cluster should have (housekeeping promotes learners up to it). */
  voters: number;
  replica: Omit<ReplicaConfig, 'id' | 'random'>;
  reconciler?: Partial<ReconcilerOptions>;
  /** Sync reports not seen committed within this long are retried (default: the replica's proposal timeout). */
  reportTimeoutMs?: number;
  /** Export the process's own metrics (CPU, memory, event loop): one agent per process only. */
  processMetrics?: boolean;
  /** Committed changes kept for `watch` to replay (default MAX_WATCH_EVENTS; the simulator, which has no watchers, keeps none). */
  watchEvents?: number;
  /** How the catalog decodes entries (CatalogOptions.commandDecode): 'shared' in the simulator, whose sites apply the same entry objects. */
  commandDecode?: 'own' | 'shared';
}

/** Observers of the site's replica; the daemon logs and refreshes its peer directory, the simulator checks. */
export interface SiteObservers {
  onApplied?(entry: Entry, result: unknown): void;
  onConfChangeApplied?(change: ConfChange, entry: Entry): void;
  onRoleChange?(role: Role, term: number, leader: string): void;
  onFatal?(error: Error): void;
  /** Wraps the catalog as the replica's state machine (the simulator observes every apply). */
  wrapStateMachine?(catalog: Catalog): StateMachine;
  /** What the site's DR agent does: acting as primary, steps started (the simulator's checkers). */
  dr?: DrObserver;
}
