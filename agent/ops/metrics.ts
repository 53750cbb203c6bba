// The Prometheus metrics the agent exports. One registry per agent (the dev cluster runs several
// agents in one process, so nothing here touches prom-client's global registry).
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Role } from '../../consensus/types.js';

export const METRIC_PREFIX = 'stackraft_';

/** Every Raft role the role gauge reports; exactly one of them is 1 at a time. */
export const ROLE_LABELS: readonly Role[] = ['follower', 'preCandidate', 'candidate', 'leader'];

/** fsync of one Ready batch: sub-millisecond on NVMe, hundreds of ms on a struggling disk. */
const FSYNC_BUCKETS_SECONDS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];
/** A write from the admin socket to its outcome: a WAN round trip to a voter quorum, or a timeout. */
const WRITE_BUCKETS_SECONDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

export interface AgentMetrics {
  readonly registry: Registry;
  /** 1 for the current role, 0 for the others (use setRole). */
  readonly role: Gauge<'role'>;
  readonly term: Gauge;
  readonly commitIndex: Gauge;
  readonly appliedIndex: Gauge;
  /** Leader only: highest log index known replicated on each peer. */
  readonly peerMatchIndex: Gauge<'peer'>;
  /** Round-trip time to each peer, in seconds (Prometheus base unit). */
  readonly peerRttSeconds: Gauge<'peer'>;
  readonly proposalsCommitted: Counter;
  /** Refused proposals by refusal code (NO_LEADER, NO_QUORUM, PEER_UNREACHABLE, BUSY). */
  readonly proposalsRefused: Counter<'reason'>;
  /** commitIndex - appliedIndex, in entries. */
  readonly applyLagEntries: Gauge;
  readonly fsyncSeconds: Histogram;
  /** Transport frames dropped before reaching the core, by reason (too_large, bad_shape, cluster_id, version, ...). */
  readonly badFrames: Counter<'reason'>;
  /** Connections the member gater refused (the remote peer is not a member), both directions. */
  readonly gaterRefusals: Counter;
  /** Admin socket requests refused by the admin layer itself (malformed JSON, unknown route, ...). */
  readonly badAdminRequests: Counter<'reason'>;
  /** Every admin request by method, route template and HTTP status. */
  readonly adminRequests: Counter<'method' | 'route' | 'status'>;
  /** Write latency from the admin request to its outcome (committed, refused, rejected, unknown). */
  readonly writeSeconds: Histogram<'outcome'>;
  /** 1 while this agent knows a leader (itself included), 0 while it knows none. */
  readonly leaderKnown: Gauge;
  /** Voters in this agent's configuration, and how many of them make a quorum. */
  readonly voters: Gauge;
  readonly quorumSize: Gauge;
  /** Voters this agent can reach now (itself included; others by an open link). */
  readonly votersReachable: Gauge;
  /** 1 while the link to a member is open, 0 while it is down or being redialled. */
  readonly peerLinkUp: Gauge<'peer'>;
  /** Resources this site's cloud should have, by sync state (in-sync, pending, error, unreachable). */
  readonly reconcilerResources: Gauge<'state'>;
}

export interface AgentMetricsOptions {
  /** Also collect Node.js process metrics (CPU, memory, event loop lag, handles). Default true. */
  processMetrics?: boolean;
  /** Constant labels on every series, e.g. { site: 'eu-west-1' } when several agents share a process. */
  defaultLabels?: Record<string, string>;
}

export function createAgentMetrics(options: AgentMetricsOptions = {}): AgentMetrics {
  const registry = new Registry();
  if (options.defaultLabels) registry.setDefaultLabels(options.defaultLabels);
  if (options.processMetrics ?? true) collectDefaultMetrics({ register: registry, prefix: METRIC_PREFIX });
  const registers = [registry];
  const name = (suffix: string): string => METRIC_PREFIX + suffix;

  const metrics: AgentMetrics = {
    registry,
    role: new Gauge({ name: name('raft_role'), help: 'Current Raft role of this agent (1 for the current role).', labelNames: ['role'], registers }),
    term: new Gauge({ name: name('raft_term'), help: 'Current Raft term.', registers }),
    commitIndex: new Gauge({ name: name('raft_commit_index'), help: 'Highest log index known committed.', registers }),
    appliedIndex: new Gauge({ name: name('raft_applied_index'), help: 'Highest log index applied to the catalog.', registers }),
    peerMatchIndex: new Gauge({ name: name('raft_peer_match_index'), help: 'Leader only: highest log index replicated on each peer.', labelNames: ['peer'], registers }),
    peerRttSeconds: new Gauge({ name: name('peer_rtt_seconds'), help: 'Round-trip time to each peer.', labelNames: ['peer'], registers }),
    proposalsCommitted: new Counter({ name: name('proposals_committed_total'), help: 'Proposals committed.', registers }),
    proposalsRefused: new Counter({ name: name('proposals_refused_total'), help: 'Proposals refused, by refusal code.', labelNames: ['reason'], registers }),
    applyLagEntries: new Gauge({ name: name('raft_apply_lag_entries'), help: 'Committed entries not yet applied (commit index - applied index).', registers }),
    fsyncSeconds: new Histogram({ name: name('storage_fsync_seconds'), help: 'Latency of one synced storage batch.', buckets: FSYNC_BUCKETS_SECONDS, registers }),
    badFrames: new Counter({ name: name('transport_bad_frames_total'), help: 'Transport frames refused before reaching Raft, by reason.', labelNames: ['reason'], registers }),
    gaterRefusals: new Counter({ name: name('transport_connections_refused_total'), help: 'Connections refused by the member gater: the remote peer is not a member.', registers }),
    badAdminRequests: new Counter({ name: name('admin_bad_requests_total'), help: 'Admin socket requests refused by the admin layer, by reason.', labelNames: ['reason'], registers }),
    adminRequests: new Counter({ name: name('admin_requests_total'), help: 'Admin socket requests by method, route and status.', labelNames: ['method', 'route', 'status'], registers }),
    leaderKnown: new Gauge({ name: name('raft_leader_known'), help: 'Whether this agent knows a leader (1) or not (0).', registers }),
    voters: new Gauge({ name: name('raft_voters'), help: 'Voters in the current configuration.', registers }),
    quorumSize: new Gauge({ name: name('raft_quorum_size'), help: 'Voters needed for a quorum (a majority of the voters).', registers }),
    votersReachable: new Gauge({ name: name('raft_voters_reachable'), help: 'Voters this agent can reach now, itself included.', registers }),
    peerLinkUp: new Gauge({ name: name('peer_link_up'), help: 'Whether the link to each member is open (1) or down (0).', labelNames: ['peer'], registers }),
    reconcilerResources: new Gauge({ name: name('reconciler_resources'), help: "Resources this site's cloud should have, by sync state.", labelNames: ['state'], registers }),
    writeSeconds: new Histogram({ name: name('write_seconds'), help: 'Admin write latency to its outcome.', labelNames: ['outcome'], buckets: WRITE_BUCKETS_SECONDS, registers }),
  };
  setRole(metrics, 'follower');
  return metrics;
}

/** Sets the role gauge: 1 for `role`, 0 for every other role, so a dashboard can sum by role. */
export function setRole(metrics: AgentMetrics, role: Role): void {
  for (const each of ROLE_LABELS) metrics.role.set({ role: each }, each === role ? 1 : 0);
}

/** Drops a peer's per-peer series when it leaves the membership (keeps label cardinality bounded). */
export function forgetPeer(metrics: AgentMetrics, peer: string): void {
  metrics.peerMatchIndex.remove({ peer });
  metrics.peerRttSeconds.remove({ peer });
  metrics.peerLinkUp.remove({ peer });
}
