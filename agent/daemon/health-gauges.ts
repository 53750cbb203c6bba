// The gauges that dashboards and alerts read to judge a cluster's health, set at each scrape from
// what this agent knows now: whether it knows a leader, how many voters it can reach against the
// quorum, each member's link, and its own site's sync states.
import type { RaftStatus } from '../../consensus/types.js';
import { SYNC_STATES, type Catalog } from '../catalog/index.js';
import type { AgentMetrics } from '../ops/metrics.js';
import { toSyncStatusView } from './sync-view.js';

export interface HealthInputs {
  site: string;
  status: RaftStatus;
  linkUp(member: string): boolean;
  catalog: Catalog;
}

export function setHealthGauges(m: AgentMetrics, h: HealthInputs): void {
  const { voters, learners } = h.status.conf;
  m.leaderKnown.set(h.status.leader === '' ? 0 : 1);
  m.voters.set(voters.length);
  m.quorumSize.set(voters.length === 0 ? 0 : Math.floor(voters.length / 2) + 1);
  m.votersReachable.set(voters.filter((v) => v === h.site || h.linkUp(v)).length);
  for (const member of [...voters, ...learners]) if (member !== h.site) m.peerLinkUp.set({ peer: member }, h.linkUp(member) ? 1 : 0);
  const counts = new Map<string, number>(SYNC_STATES.map((state) => [state, 0]));
  const own = toSyncStatusView(h.catalog).sites.find((s) => s.site === h.site);
  for (const r of own?.resources ?? []) counts.set(r.state, (counts.get(r.state) ?? 0) + 1);
  for (const [state, n] of counts) m.reconcilerResources.set({ state }, n);
}
