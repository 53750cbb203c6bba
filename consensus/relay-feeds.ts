// A voter's side of relayed replication (DESIGN.md, "Relays"): it feeds the learners its leader
// listed, with the same appends, heartbeats and snapshot chunks a leader sends (Replication), but
// only up to its own commit index, and reports to the leader how far each learner got.
//
// Why a learner fed this way stays safe:
// - A relay sends entries only up to its commit index, and a commit index is only ever set to an
//   index the leader of some term committed: every entry a learner receives from a relay is
//   committed, identical in every log that holds it (Log Matching, Leader Completeness). So a relay
//   never sends anything a later leader could contradict, and it may keep feeding after its leader
//   died: it only ever repeats committed history.
// - The learner takes it through the ordinary follower checks (previous index and term must
//   match, nothing at or below its own commit is truncated, commit = min(sent commit, last new)),
//   so it applies only committed entries, in order, as from a leader.
// - The relay's messages carry its current term and name the leader (`leader`); a learner of a
//   later term refuses them (stale term) and the relay learns the newer term. The relay drops its
//   list whenever its term or leader changes; only the leader of its term gives it a new one.
// - Learners do not vote, so nothing a relay says can change an election.
import type { RaftConfig } from './api.js';
import type { RaftLog } from './raft-log.js';
import { Replication } from './replication.js';
import type { MemberId, Message, RelayedProgress, Snapshot } from './types.js';

export interface RelayHost {
  commitIndex(): number;
  latestSnapshot(): Snapshot | null;
  now(): number;
  send(m: Message): void;
}

export class RelayFeeds {
  private readonly replication: Replication;
  private term = 0;
  private leader: MemberId = '';
  private heartbeatElapsed = 0;
  /** Commit index the learners were last sent appends for. */
  private sentCommit = 0;

  constructor(
    private readonly cfg: RaftConfig,
    id: MemberId,
    log: RaftLog,
    private readonly host: RelayHost,
  ) {
    this.replication = new Replication(cfg, id, log, {
      commitIndex: () => host.commitIndex(),
      latestSnapshot: () => host.latestSnapshot(),
      now: () => host.now(),
      lastSendable: () => host.commitIndex(),
      sendEarly: (m) => {
        m.leader = this.leader;
        host.send(m);
      },
    });
  }

  get active(): boolean {
    return this.replication.size > 0;
  }

  /** The leader of `term` lists the learners this member relays to. */
  assign(term: number, leader: MemberId, learners: readonly MemberId[]): void {
    this.term = term;
    this.leader = leader;
    this.replication.track(term, learners);
    this.sentCommit = this.host.commitIndex();
    this.replication.broadcastAppends(); // probes to new learners; the others have all up to commit
  }

  /** The term or the leader changed: the list came from a leader that no longer leads. */
  clear(): void {
    if (this.replication.size > 0) this.replication.track(this.term, []);
  }

  /** True when `m` answered one of our feeds (and was consumed). */
  onAnswer(m: Message): boolean {
    const pr = this.replication.get(m.from);
    if (pr === undefined || m.term !== this.term) return false;
    pr.lastHeardTick = this.host.now();
    if (m.type === 'heartbeatResp') {
      // Only a claim at or below our commit says the learner holds committed history: above it our
      // own log may still be replaced, so a match learned there could make us vouch for entries
      // that never commit (heartbeats tell the learner commit = min(our commit, match)).
      const claim = (m.index ?? 0) <= this.host.commitIndex() ? m : { ...m, index: undefined, logTerm: undefined };
      this.replication.onHeartbeatResponse(pr, claim);
    } else if (m.type === 'appendResp') {
      if (this.replication.onAppendResponse(pr, m) === 'ignored') return true;
    } else if (m.type === 'snapshotResp') {
      if (this.replication.onSnapshotResponse(pr, m) === 'ignored') return true;
    } else {
      return false;
    }
    this.replication.sendAppend(pr);
    return true;
  }

  /** A tick of the relay's clock: heartbeats to its learners every heartbeat interval. */
  tick(): void {
    if (!this.active) return;
    if (++this.heartbeatElapsed < this.cfg.heartbeatTicks) return;
    this.heartbeatElapsed = 0;
    this.replication.broadcastHeartbeats(0);
  }

  /** The relay's commit index moved: forward what became committed. */
  sendNewEntries(): void {
    const commit = this.host.commitIndex();
    if (!this.active || commit <= this.sentCommit) return;
    this.sentCommit = commit;
    this.replication.broadcastAppends();
  }

  /** What the leader hears back: every learner's match (capped at our commit) and when we last heard it. */
  report(): RelayedProgress[] {
    const now = this.host.now();
    const commit = this.host.commitIndex();
    const list: RelayedProgress[] = [];
    for (const pr of this.replication.all()) {
      if (pr.lastHeardTick === -Infinity) continue;
      list.push({ member: pr.member, match: Math.min(pr.match, commit), heardTicksAgo: now - pr.lastHeardTick });
    }
    return list;
  }
}
