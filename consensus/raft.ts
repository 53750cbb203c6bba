// The Raft core: a deterministic state machine with no I/O (DESIGN.md, consensus/). The runtime
// feeds it ticks, messages and proposals, and drains Ready batches; see types.ts for the order in
// which a Ready must be handled and api.ts for the public surface. This file holds roles, terms,
// voting, the follower's side of replication, commit, membership and reads; the leader's per-member
// replication is in replication.ts and the Ready bookkeeping in ready-tracker.ts.
//
// Decisions worth knowing (each is covered by the core-* tests):
// - Membership changes one at a time and takes effect when its entry is appended to a log. A voter
//   taken out by a change still uncommitted in its log may still campaign (see mayCampaign).
// - PreVote and CheckQuorum: a member that heard from a live leader within the election timeout
//   ignores vote requests (unless they come from a leadership transfer); the leader steps down
//   as soon as it has not heard from a quorum of voters for a whole election timeout.
// - Entries handed out in a Ready count as durable once advance(ready) is called; the leader
//   counts itself toward commit only for those.
// - ReadIndex requests that arrive before the leader has committed an entry of its term are
//   queued (bounded) and start their round once it has.
//
// Message fields per type (beyond type/from/to/term):
//   preVote, vote      index/logTerm = candidate's last entry; transfer = asked for by timeoutNow.
//                      A preVote carries the term the candidate would campaign in (its term + 1).
//   preVoteResp, voteResp  reject; a granted preVoteResp carries the term asked for.
//   append             index/logTerm = previous entry; entries; commit = leader's commit.
//   appendResp         index = last index now matching the leader (success), or the rejected
//                      previous index with rejectHint/hintTerm (the follower's last entry whose term
//                      is <= the leader's logTerm) so the leader can skip a whole conflicting term.
//                      Also the answer to any stale-term leader message (reject, with our term).
//   heartbeat          commit = min(leader commit, follower match); readRound = ReadIndex round;
//                      index = last index sent to the follower before it (replicate state only).
//   heartbeatResp      readRound echoed; index/logTerm = follower's last entry (the leader learns
//                      match from it by Log Matching); reject + rejectHint = follower's last index
//                      when it lacks entries sent before the heartbeat (an append was lost).
//   snapshot           snapshot = one chunk; snapshotResp: snapshot.offset = bytes held, done when
//                      installed. timeoutNow: campaign now (leadership transfer).
import type { ProposeResult, RaftBootState, RaftConfig, RaftCore, RefusalReason } from './api.js';
import { InvariantError } from './invariant.js';
import { validateRaftConfig } from './config-check.js';
import { applyConfChange, confChangeShapeError, decodeConfChange, encodeConfChange } from './confchange.js';
import { EMPTY_CONF, Membership } from './membership.js';
import type { Progress } from './progress.js';
import { TRANSFER_HOLD_TIMEOUTS, betterPlacedVoter, campaignRetryRange, electionTimeoutRange, preVoteGrantHoldTicks, quorumRttTicks, type PlacedVoter, type TimeoutBounds } from './placement.js';
import { majorityMatch, quorumSize, tallyVotes } from './quorum.js';
import { logFromBoot, type RaftLog } from './raft-log.js';
import { ReadIndexRounds } from './read-only.js';
import { ReadyTracker } from './ready-tracker.js';
import { RelayFeeds } from './relay-feeds.js';
import { RelayPlan, spreadByName } from './relay-plan.js';
import { Replication } from './replication.js';
import { SnapshotReceiver } from './snapshot-receiver.js';
import {
  EntryType,
  type ConfChange,
  type ConfState,
  type Entry,
  type FollowerProgress,
  type MemberId,
  type Message,
  type RaftStatus,
  type RaftSummary,
  type Ready,
  type Role,
  type Snapshot,
  type SnapshotMeta,
} from './types.js';

export { MAX_COMMITTED_BYTES_PER_READY } from './ready-tracker.js';
/** Reads waiting for the new leader's first commit in its term; more are refused ('noQuorum'). */
export const MAX_QUEUED_READS = 4096;
/** Reads waiting for their heartbeat quorum; more are refused ('noQuorum'). */
export const MAX_PENDING_READS = 8192;
/** A (pre-)candidate asks unanswered voters again every this many heartbeat intervals (a WAN round trip fits). */
export const VOTE_RESEND_HEARTBEATS = 3;

const NO_ENTRIES: Entry[] = [];
const EMPTY_DATA = new Uint8Array(0);

type TransferResult = ReturnType<RaftCore['transferLeader']>;
type ReadResult = ReturnType<RaftCore['readIndex']>;

/** A broken rule of the algorithm (see consensus/invariant.ts), for the throw sites below. */
function invariant(message: string): Error {
  return new InvariantError(`raft invariant: ${message}`);
}

export class Raft implements RaftCore {
  readonly id: MemberId;
  private readonly cfg: RaftConfig;

  // ---- persistent state (what HardState carries)
  private term: number;
  private vote: MemberId;
  private commit: number;

  // ---- volatile state
  private role: Role = 'follower';
  private leader: MemberId = '';
  private readonly log: RaftLog;
  private readonly members: Membership;
  private selfIsVoter = false;
  /** The latest snapshot this member holds (made by compact() or received): what it sends. */
  private snapshot: Snapshot | null;
  private readonly out: ReadyTracker;
  /** Position (and membership there) of the last entry handed out to be applied: see compact(). */
  private lastHandedApplied: SnapshotMeta | null = null;

  // ---- time
  private tickCount = 0;
  private electionElapsed = 0;
  private heartbeatElapsed = 0;
  private randomizedElectionTimeout = 0;
  private readonly electionTimeoutMaxTicks: number;
  /** Measured round trips to the other voters, in ticks (setLinkRtts): inputs, bounded by the voters. */
  private readonly linkRtts = new Map<MemberId, number>();
  /** This member's quorum round trip from linkRtts (placement.ts), if enough of them are known. */
  private ownQuorumRtt: number | undefined = undefined;

  // ---- candidate
  private readonly votes = new Map<MemberId, boolean>();
  /** Ticks since this (pre-)campaign started, and whether a leadership transfer asked for it. */
  private campaignElapsed = 0;
  private campaignTransfer = false;
  /** Campaigns (terms stood in as a candidate) since this member last followed or was a leader. */
  private campaigns = 0;
  /** A voter refused this candidacy (it voted for a rival, or holds a newer log): the short retry applies. */
  private campaignRefused = false;

  // ---- leader
  private readonly replication: Replication;
  /** Index of the leader's no-op: nothing of its term is committed before it is. */
  private termStartIndex = 0;
  private uncommittedBytes = 0;
  private transferTarget: MemberId = '';
  private transferElapsed = 0;
  /** Tick this member became leader, and of its last hand-over to a better-placed voter. */
  private leaderSinceTick = 0;
  private lastPlacementTick = -Infinity;
  private placementTransfers = 0;
  /** The voter this member handed its leadership to when it last stopped leading ('' otherwise). */
  private handedOverTo: MemberId = '';
  /** New entries go to every follower at the next ready(): one batch instead of one per proposal. */
  private pendingBroadcast = false;
  /** Leader messages may go in messagesEarly only once this member's term is known durable. */
  private leaderMayPipeline = false;
  private readonly readRounds = new ReadIndexRounds();
  private queuedReads: string[] = [];
  private matchScratch: number[] = [];

  /** Which voter relays to which learner (null: the leader feeds every learner itself). */
  private readonly relayPlan: RelayPlan | null;

  // ---- follower
  private readonly snapshotReceiver = new SnapshotReceiver();
  /** As a voter: the learners the leader asked us to relay to. */
  private readonly relayFeeds: RelayFeeds;

  constructor(config: RaftConfig, boot: RaftBootState) {
    validateRaftConfig(config);
    this.cfg = config;
    this.id = config.id;
    this.electionTimeoutMaxTicks = config.electionTimeoutMaxTicks ?? 2 * config.electionTimeoutTicks;
    const snap = boot.snapshot;
    const snapIndex = snap ? snap.meta.index : 0;
    this.log = logFromBoot(snapIndex, snap ? snap.meta.term : 0, boot.entries);
    this.snapshot = snap;
    this.members = new Membership(snap ? snap.meta.conf : EMPTY_CONF, snapIndex);
    for (let i = Math.max(snapIndex + 1, this.log.firstIndex); i <= this.log.lastIndex; i++) {
      const entry = this.log.at(i);
      if (entry.type === EntryType.ConfChange) this.members.append(i, this.confAfter(entry));
    }
    this.selfIsVoter = this.members.isVoter(this.id);

    const hs = boot.hardState;
    this.term = hs.term;
    this.vote = hs.vote;
    this.commit = Math.max(hs.commit, snapIndex);
    if (this.commit > this.log.lastIndex) {
      throw invariant(`boot commit ${this.commit} is beyond the last log index ${this.log.lastIndex}`);
    }
    const applied = Math.max(boot.applied, snapIndex);
    if (applied > this.commit) throw invariant(`boot applied ${applied} is beyond commit ${this.commit}`);
    this.out = new ReadyTracker(this.log.lastIndex, applied, { term: this.term, vote: this.vote, commit: this.commit });
    const appliedTerm = this.log.term(applied);
    if (applied > 0 && appliedTerm !== undefined) {
      this.lastHandedApplied = { index: applied, term: appliedTerm, conf: this.members.confAt(applied) };
    }
    this.replication = new Replication(config, this.id, this.log, {
      commitIndex: () => this.commit,
      latestSnapshot: () => this.snapshot,
      now: () => this.tickCount,
      sendEarly: (m) => this.sendEarly(m),
    });
    this.relayPlan = config.relayLearners ? new RelayPlan(config.electionTimeoutTicks, config.pickRelay ?? spreadByName) : null;
    this.relayFeeds = new RelayFeeds(config, this.id, this.log, {
      commitIndex: () => this.commit,
      latestSnapshot: () => this.snapshot,
      now: () => this.tickCount,
      send: (m) => this.send(m),
    });
    this.resetElectionTimer();
  }

  // =================================================================== public API

  tick(): void {
    this.tickCount++;
    if (this.role === 'leader') {
      this.tickLeader();
    } else {
      this.relayFeeds.tick();
      this.tickElection();
    }
  }

  step(m: Message): void {
    if (m.term > this.term) {
      if (!this.adoptHigherTerm(m)) return;
    } else if (m.term < this.term) {
      this.answerStaleTerm(m);
      return;
    }
    if (this.role === 'leader') {
      const pr = this.replication.get(m.from);
      if (pr !== undefined) pr.lastHeardTick = this.tickCount;
    }
    switch (m.type) {
      case 'preVote':
      case 'vote':
        this.handleVoteRequest(m);
        return;
      case 'preVoteResp':
        if (this.role === 'preCandidate' && (m.term === this.term + 1 || (m.reject === true && m.term === this.term))) {
          this.handleVoteResponse(m);
        }
        return;
      case 'voteResp':
        if (this.role === 'candidate') this.handleVoteResponse(m);
        return;
      case 'append':
        this.acceptLeader(m);
        this.handleAppend(m);
        return;
      case 'heartbeat':
        this.acceptLeader(m);
        this.handleHeartbeat(m);
        return;
      case 'snapshot':
        this.acceptLeader(m);
        this.handleSnapshotChunk(m);
        return;
      case 'appendResp':
      case 'snapshotResp':
        if (this.role === 'leader') this.handleReplicationAnswer(m);
        else this.relayFeeds.onAnswer(m);
        return;
      case 'heartbeatResp':
        if (this.role === 'leader') this.handleHeartbeatResponse(m);
        else this.relayFeeds.onAnswer(m);
        return;
      case 'timeoutNow':
        if (this.role !== 'leader' && this.mayCampaign()) this.becomeCandidate(true);
        return;
    }
  }

  propose(data: Uint8Array): ProposeResult {
    if (!(data instanceof Uint8Array)) throw new TypeError('propose: data must be a Uint8Array');
    const refusal = this.proposalRefusal();
    if (refusal !== null) return this.refuse(refusal);
    if (this.uncommittedBytes > 0 && this.uncommittedBytes + data.byteLength > this.cfg.maxUncommittedBytes) {
      return this.refuse('uncommittedLimit');
    }
    const entry = this.appendAsLeader(EntryType.Normal, data);
    return { ok: true, index: entry.index, term: entry.term };
  }

  proposeConfChange(change: ConfChange): ProposeResult {
    const refusal = this.proposalRefusal();
    if (refusal !== null) return this.refuse(refusal);
    if (this.members.lastChangeIndex > this.commit) {
      return this.refuse('confChangePending', `the change at index ${this.members.lastChangeIndex} is not committed yet`);
    }
    if (this.commit < this.termStartIndex) {
      return this.refuse('confChangePending', 'the leader has not committed an entry of its term yet');
    }
    const shapeProblem = confChangeShapeError(change);
    if (shapeProblem !== null) return this.refuse('invalidConfChange', shapeProblem);
    const outcome = applyConfChange(this.members.current, change);
    if (!outcome.ok) return this.refuse('invalidConfChange', outcome.detail);
    const entry = this.appendAsLeader(EntryType.ConfChange, encodeConfChange(change));
    return { ok: true, index: entry.index, term: entry.term };
  }

  readIndex(ctx: string): ReadResult {
    if (this.role !== 'leader') return { ok: false, reason: 'notLeader', leader: this.leader };
    if (this.cfg.checkQuorum && !this.quorumActive()) return { ok: false, reason: 'noQuorum', leader: this.leader };
    if (this.commit < this.termStartIndex) {
      if (this.queuedReads.length >= MAX_QUEUED_READS) return { ok: false, reason: 'noQuorum', leader: this.leader };
      this.queuedReads.push(ctx);
      return { ok: true };
    }
    if (this.readRounds.pendingReads >= MAX_PENDING_READS) return { ok: false, reason: 'noQuorum', leader: this.leader };
    this.startRead(ctx);
    return { ok: true };
  }

  transferLeader(to: MemberId): TransferResult {
    if (this.role !== 'leader') return { ok: false, reason: 'notLeader', leader: this.leader };
    if (to === this.id) return { ok: true };
    const pr = this.replication.get(to);
    if (!this.members.isVoter(to) || pr === undefined) return { ok: false, reason: 'unknownMember', leader: this.leader };
    if (this.transferTarget === to) return { ok: true };
    this.transferTarget = to;
    this.transferElapsed = 0;
    if (pr.match === this.log.lastIndex) this.replication.sendTimeoutNow(to);
    else this.replication.sendAppend(pr);
    return { ok: true };
  }

  /** Bytes of the entries held in memory (payloads plus a fixed overhead each): what compaction frees. */
  logBytes(): number {
    return this.log.bytes;
  }

  /** The first index held in the log (compaction drops what is below). */
  logFirstIndex(): number {
    return this.log.firstIndex;
  }

  reportUnreachable(member: MemberId): void {
    if (this.role === 'leader') this.replication.reportUnreachable(member);
  }

  /**
   * Takes the snapshot `data` at `index` and drops the log below it except a tail of at most
   * `retainEntries` entries of at most `retainBytes` together (so a slightly lagging follower needs
   * no snapshot). The log's first index afterwards is where the store may compact to.
   */
  compact(index: number, data: Uint8Array, retainEntries: number, retainBytes = Infinity): SnapshotMeta {
    if (!Number.isInteger(index) || index < 1) throw new Error(`compact: index must be a positive integer, got ${index}`);
    if (!Number.isInteger(retainEntries) || retainEntries < 0) throw new Error(`compact: retainEntries must be >= 0, got ${retainEntries}`);
    if (!(retainBytes >= 0)) throw new Error(`compact: retainBytes must be >= 0, got ${retainBytes}`);
    if (!(data instanceof Uint8Array)) throw new Error('compact: data must be a Uint8Array');
    if (index > this.out.applied) throw new Error(`compact: index ${index} is beyond the applied index ${this.out.applied}`);
    const current = this.snapshot ? this.snapshot.meta.index : 0;
    if (index < current) return this.metaBelowReceivedSnapshot(index, current);
    const term = this.log.term(index);
    if (term === undefined) throw new Error(`compact: index ${index} is no longer in the log (first ${this.log.firstIndex})`);
    this.snapshot = { meta: { index, term, conf: this.members.confAt(index) }, data };
    this.log.compactTo(this.log.firstIndexRetaining(index, retainEntries, retainBytes));
    this.members.compactTo(index);
    return this.snapshot.meta;
  }

  /**
   * compact(index) below a snapshot that arrived from the leader while the runtime was applying up
   * to `index` (its write was in flight): nothing changes here, the newer snapshot stays, but the
   * runtime may still persist its image at `index` (the newer snapshot is installed after it).
   */
  private metaBelowReceivedSnapshot(index: number, current: number): SnapshotMeta {
    const point = this.lastHandedApplied;
    if (point === null || point.index !== index) {
      throw new Error(`compact: index ${index} is older than the current snapshot at ${current}`);
    }
    return { index, term: point.term, conf: point.conf };
  }

  takeEarlyMessages(): Message[] {
    // New proposals are not broadcast here but with the next Ready (one append per batch, not per
    // proposal: sending each at once cost more CPU per write than it gained, measured under load).
    const early = this.out.early;
    if (early.length === 0) return early;
    this.out.early = [];
    // A read round's heartbeats may be among them: reads arriving from now on need a new round.
    this.readRounds.closeOpen();
    return early;
  }

  hasReady(): boolean {
    if (this.out.isOutstanding) return false;
    return this.pendingBroadcast || this.out.hasWork(this.log, this.hardState());
  }

  ready(): Ready {
    if (this.out.isOutstanding) throw new InvariantError('raft: ready() called before advance() of the previous Ready');
    if (this.pendingBroadcast) {
      this.pendingBroadcast = false;
      this.replication.broadcastAppends();
    }
    this.readRounds.closeOpen();
    const rd = this.out.take(this.log, this.hardState());
    if (rd.snapshot !== undefined) this.lastHandedApplied = rd.snapshot.meta;
    const applied = rd.committedEntries;
    if (applied.length > 0) {
      const last = applied[applied.length - 1];
      this.lastHandedApplied = { index: last.index, term: last.term, conf: this.members.confAt(last.index) };
    }
    return rd;
  }

  advance(rd: Ready): void {
    this.out.acknowledge(rd);
    if (this.role !== 'leader') return;
    if (this.out.persistedTerm === this.term) this.leaderMayPipeline = true;
    this.maybeCommit(); // our own match may have moved
  }

  summary(): RaftSummary {
    return { role: this.role, term: this.term, leader: this.leader, conf: this.members.current };
  }

  status(): RaftStatus {
    const status: RaftStatus = {
      id: this.id,
      role: this.role,
      term: this.term,
      vote: this.vote,
      leader: this.leader,
      commit: this.commit,
      applied: this.out.applied,
      firstIndex: this.log.firstIndex,
      lastIndex: this.log.lastIndex,
      conf: this.members.current,
      transferTarget: this.transferTarget,
      placementTransfers: this.placementTransfers,
    };
    if (this.handedOverTo !== '') status.handedOverTo = this.handedOverTo;
    if (this.role === 'leader') status.progress = this.progressReport();
    return status;
  }

  conf(): ConfState {
    return this.members.current;
  }

  quorumActive(): boolean {
    if (this.role !== 'leader') return false;
    const voters = this.members.voters;
    let active = 0;
    for (const voter of voters) {
      if (voter === this.id || this.ticksSinceHeard(voter) < this.cfg.electionTimeoutTicks) active++;
    }
    return active >= quorumSize(voters.length);
  }

  ticksSinceHeard(member: MemberId): number {
    if (member === this.id) return 0;
    if (this.role !== 'leader') return Infinity;
    const pr = this.replication.get(member);
    return pr === undefined ? Infinity : this.tickCount - pr.lastHeardTick;
  }

  entries(lo: number, hi: number): Entry[] {
    const from = Math.max(lo, this.log.firstIndex);
    const to = Math.min(hi, this.log.lastIndex + 1);
    return from < to ? this.log.slice(from, to) : [];
  }

  setLinkRtts(rttTicks: ReadonlyMap<MemberId, number>): void {
    this.linkRtts.clear();
    for (const voter of this.members.voters) {
      const rtt = rttTicks.get(voter);
      if (voter !== this.id && rtt !== undefined && Number.isFinite(rtt) && rtt >= 0) this.linkRtts.set(voter, rtt);
    }
    this.ownQuorumRtt = quorumRttTicks(this.id, this.members.voters, (v) => this.linkRtts.get(v));
  }

  // =================================================================== terms and roles

  /** A message from a later term. Returns false when the message is to be ignored. */
  private adoptHigherTerm(m: Message): boolean {
    if ((m.type === 'vote' || m.type === 'preVote') && m.transfer !== true && this.inLease()) {
      return false; // leader stickiness: a live leader exists, this candidate would only disrupt
    }
    if (m.type === 'preVote') return true; // answering a pre-vote never changes our term
    if (m.type === 'preVoteResp' && m.reject !== true) return true; // a grant for the term we would campaign in
    const fromLeader = m.type === 'append' || m.type === 'heartbeat' || m.type === 'snapshot';
    const handover = this.role === 'leader' && m.type === 'vote' && m.transfer === true && m.from === this.transferTarget;
    this.becomeFollower(m.term, fromLeader ? (m.leader ?? m.from) : '');
    if (handover) this.handedOverTo = m.from;
    return true;
  }

  /** A message from an earlier term: answer with our term where that makes the sender step down. */
  private answerStaleTerm(m: Message): void {
    const base = { from: this.id, to: m.from, term: this.term, reject: true };
    switch (m.type) {
      case 'append':
      case 'heartbeat':
      case 'snapshot':
        this.send({ type: 'appendResp', index: 0, ...base });
        return;
      case 'preVote':
        this.send({ type: 'preVoteResp', ...base });
        return;
      case 'vote':
        this.send({ type: 'voteResp', ...base });
        return;
      default:
        return;
    }
  }

  /** Under CheckQuorum, true while this member has reason to believe a live leader exists. */
  private inLease(): boolean {
    if (!this.cfg.checkQuorum) return false;
    if (this.role === 'leader') return true;
    return this.leader !== '' && this.electionElapsed < this.cfg.electionTimeoutTicks;
  }

  private becomeFollower(term: number, leader: MemberId): void {
    if (term < this.term) throw invariant(`term would go back from ${this.term} to ${term}`);
    if (term !== this.term || leader !== this.leader) this.relayFeeds.clear(); // its list came from another leadership
    if (term > this.term) {
      this.term = term;
      this.vote = '';
    }
    this.leaveLeadership();
    this.role = 'follower';
    this.leader = leader;
    if (leader !== '') this.campaigns = 0;
    this.votes.clear();
    this.resetElectionTimer();
  }

  private becomePreCandidate(): void {
    this.relayFeeds.clear();
    this.leaveLeadership();
    this.role = 'preCandidate';
    this.leader = '';
    this.votes.clear();
    this.votes.set(this.id, true);
    this.resetElectionTimer();
    this.campaignElapsed = 0;
    this.campaignTransfer = false;
    if (tallyVotes(this.members.voters, this.votes) === 'won') this.becomeCandidate(false);
    else this.requestVotes('preVote', this.term + 1, false);
  }

  private becomeCandidate(transfer: boolean): void {
    this.relayFeeds.clear();
    this.leaveLeadership();
    this.dropUnsentVoteRequests();
    this.term += 1;
    this.vote = this.id;
    this.role = 'candidate';
    this.leader = '';
    this.campaigns++;
    this.campaignRefused = false;
    this.votes.clear();
    this.votes.set(this.id, true);
    this.resetElectionTimer();
    this.campaignElapsed = 0;
    this.campaignTransfer = transfer;
    if (tallyVotes(this.members.voters, this.votes) === 'won') this.becomeLeader();
    else this.requestVotes('vote', this.term, transfer);
  }

  /**
   * Vote requests go in `messages`: they must not leave before the new term and vote are durable.
   * `unansweredOnly`: a resend to the voters that have not answered yet.
   */
  private requestVotes(type: 'preVote' | 'vote', term: number, transfer: boolean, unansweredOnly = false): void {
    const logTerm = this.log.lastTerm;
    const index = this.log.lastIndex;
    for (const voter of this.members.voters) {
      if (voter === this.id || (unansweredOnly && this.votes.has(voter))) continue;
      const m: Message = { type, from: this.id, to: voter, term, logTerm, index };
      if (transfer) m.transfer = true;
      this.send(m);
    }
  }

  private becomeLeader(): void {
    this.relayFeeds.clear();
    this.relayPlan?.reset();
    this.role = 'leader';
    this.leader = this.id;
    this.campaigns = 0;
    this.transferTarget = '';
    this.handedOverTo = '';
    this.leaderSinceTick = this.tickCount;
    this.lastPlacementTick = -Infinity;
    this.heartbeatElapsed = 0;
    this.uncommittedBytes = 0;
    const grantedByOthers = this.replication.start(this.term, this.members, this.votes, this.tickCount);
    this.votes.clear();
    // Voters answered only after our term and vote were durable; alone, we wait for advance().
    this.leaderMayPipeline = grantedByOthers || this.out.persistedTerm === this.term;
    this.matchScratch = new Array<number>(this.members.voters.length).fill(0);
    this.termStartIndex = this.appendAsLeader(EntryType.Normal, EMPTY_DATA).index;
  }

  /** Forget everything only a leader keeps. Pending reads are dropped, never answered. */
  private leaveLeadership(): void {
    if (this.role !== 'leader') return;
    this.replication.stop();
    this.transferTarget = '';
    this.handedOverTo = '';
    this.readRounds.clear();
    this.queuedReads = [];
    this.uncommittedBytes = 0;
    this.pendingBroadcast = false;
    this.leaderMayPipeline = false;
  }

  /**
   * A new timeout from the range the measured round trips allow (placement.ts; [T, 2T) without them).
   * A candidate that a voter refused waits only for its vote round (campaignRetryRange): a split
   * vote is settled by campaigning again, and a candidate has no leader's lease to respect.
   */
  private resetElectionTimer(): void {
    this.electionElapsed = 0;
    const retry = this.role === 'candidate' && this.campaignRefused;
    const { low, spread } = retry ? this.campaignRetry() : electionTimeoutRange(this.timeoutBounds());
    this.randomizedElectionTimeout = low + Math.min(spread - 1, Math.floor(this.cfg.random() * spread));
  }

  private timeoutBounds(): TimeoutBounds {
    return {
      minTicks: this.cfg.electionTimeoutTicks,
      maxTicks: this.electionTimeoutMaxTicks,
      heartbeatTicks: this.cfg.heartbeatTicks,
      leaderRttTicks: this.leader === '' ? undefined : this.linkRtts.get(this.leader),
      quorumRttTicks: this.ownQuorumRtt,
    };
  }

  private campaignRetry(): { low: number; spread: number } {
    return campaignRetryRange(this.timeoutBounds(), this.campaigns, VOTE_RESEND_HEARTBEATS * this.cfg.heartbeatTicks);
  }

  /**
   * The first refusal of a candidacy is what tells a split vote (voters that chose a rival) from
   * silence (requests or answers lost, a voter still in its lease): only then does the candidate
   * cut its wait to the retry range, counted from the start of its campaign. Silence alone keeps
   * the ordinary timeout and the resends to the voters that have not answered: going back through
   * a pre-vote round early only paid that round again under message loss (issue 16, 100-site traces:
   * a candidate whose granted votes were lost started over 0.7 s in and took 3.3 election timeouts).
   */
  private shortenWaitOnRefusal(): void {
    if (this.role !== 'candidate' || this.campaignRefused) return;
    this.campaignRefused = true;
    const { low, spread } = this.campaignRetry();
    this.randomizedElectionTimeout = Math.min(this.randomizedElectionTimeout, low + Math.min(spread - 1, Math.floor(this.cfg.random() * spread)));
  }

  /**
   * Having granted a pre-vote, leave the pre-candidate the time to ask for votes before our own
   * timeout can fire (preVoteGrantHoldTicks): campaigning in that window only makes a second
   * candidate for the same term. A pre-candidate steps back for a rival that outranks it (a more
   * up-to-date log, or as up to date and the lower name), so of two that started within a round
   * trip of each other one goes on. Timing only: who may be elected is unchanged.
   */
  private holdAfterPreVoteGrant(m: Message): void {
    const hold = preVoteGrantHoldTicks(this.ownQuorumRtt, this.linkRtts.get(m.from));
    if (hold === undefined) return;
    if (this.role === 'preCandidate') {
      const sameLog = (m.logTerm ?? 0) === this.log.lastTerm && (m.index ?? 0) === this.log.lastIndex;
      if (sameLog && m.from > this.id) return; // we outrank it: go on
      this.becomeFollower(this.term, '');
    }
    if (this.role === 'follower') this.randomizedElectionTimeout = Math.max(this.randomizedElectionTimeout, this.electionElapsed + hold);
  }

  /**
   * Voters campaign; learners and non-members never do. One exception keeps the cluster live: a
   * voter that an uncommitted change in its own log removed or demoted may still be needed to
   * elect the leader that commits that change (Raft dissertation 4.2.2), so it may campaign until
   * it knows the change is committed. Votes are counted in its latest configuration, which does
   * not include itself.
   */
  private mayCampaign(): boolean {
    if (this.selfIsVoter) return true;
    const lastChange = this.members.lastChangeIndex;
    if (lastChange <= this.commit) return false;
    return this.members.confAt(lastChange - 1).voters.includes(this.id);
  }

  private tickElection(): void {
    this.electionElapsed++;
    if (this.electionElapsed < this.randomizedElectionTimeout) {
      if (this.role === 'preCandidate' || this.role === 'candidate') this.resendVoteRequests();
      return;
    }
    if (!this.mayCampaign()) {
      this.resetElectionTimer();
      return;
    }
    if (this.cfg.preVote) this.becomePreCandidate();
    else this.becomeCandidate(false);
  }

  /**
   * A request or answer lost on the WAN would otherwise cost a whole new election timeout (and a
   * new term for a candidate): the (pre-)candidate asks the voters that have not answered again,
   * every VOTE_RESEND_HEARTBEATS heartbeat intervals. Answering twice is harmless: a voter grants
   * the candidate it already voted for in this term again, and a pre-vote changes nothing.
   */
  private resendVoteRequests(): void {
    const every = VOTE_RESEND_HEARTBEATS * this.cfg.heartbeatTicks;
    if (++this.campaignElapsed % every !== 0) return;
    if (this.role === 'preCandidate') this.requestVotes('preVote', this.term + 1, false, true);
    else this.requestVotes('vote', this.term, this.campaignTransfer, true);
  }

  /**
   * Resent requests of the term we are leaving, still queued (ticks without a Ready between them):
   * they would ask for a vote in a term we have given up, so they never leave.
   */
  private dropUnsentVoteRequests(): void {
    const queued = this.out.later;
    if (queued.some((m) => m.type === 'vote')) this.out.later = queued.filter((m) => m.type !== 'vote');
  }

  private tickLeader(): void {
    this.heartbeatElapsed++;
    if (this.cfg.checkQuorum && !this.quorumActive()) {
      this.urgeSuccessorOnStepDown();
      this.becomeFollower(this.term, '');
      return;
    }
    if (this.transferTarget !== '' && ++this.transferElapsed >= this.cfg.electionTimeoutTicks) {
      this.transferTarget = ''; // the target did not take over in time: abort
    }
    if (this.heartbeatElapsed >= this.cfg.heartbeatTicks) {
      this.heartbeatElapsed = 0;
      this.broadcastHeartbeats();
    }
    if ((this.tickCount - this.leaderSinceTick) % this.cfg.electionTimeoutTicks === 0) this.maybeHandOverToBetterPlaced();
  }

  /**
   * A leader that hears no quorum may still be heard: a link that fails one way (the leader cannot
   * hear) leaves every follower in its lease, ignoring pre-votes, until a whole election timeout
   * after this step-down (issue 16: such elections took 2-2.4 election timeouts with a quorum
   * connected). So, as when a removed leader steps down, it asks the most caught-up voter it could
   * not hear to campaign now (the dissertation's TimeoutNow: a transfer vote is not refused for a
   * lease). A voter it still hears is on its side of any cut and is not asked: without pre-vote its
   * campaign would only raise its term. Only a voter holding every committed entry is asked, and
   * voters grant it only if its log is as up to date as theirs: nothing committed can be lost.
   */
  private urgeSuccessorOnStepDown(): void {
    let best: { member: MemberId; match: number } | undefined;
    for (const voter of this.members.voters) {
      const pr = voter === this.id ? undefined : this.replication.get(voter);
      if (pr === undefined || pr.match < this.commit || this.ticksSinceHeard(voter) < this.cfg.electionTimeoutTicks) continue;
      if (best === undefined || pr.match > best.match || (pr.match === best.match && voter < best.member)) best = { member: voter, match: pr.match };
    }
    if (best !== undefined) this.replication.sendTimeoutNow(best.member);
  }

  /**
   * Leadership goes to a live, caught-up voter whose quorum round trip beats ours clearly
   * (placement.ts), through the ordinary transfer: it campaigns, and voters grant it only if its
   * log is up to date, so nothing here can change what is committed. At most one hand-over per
   * TRANSFER_HOLD_TIMEOUTS election timeouts of one leadership, and none before it has led that
   * long; each hop needs a strictly lower quorum round trip by a margin, so with steady
   * measurements the leadership cannot come back (test/consensus/core-placement.test.ts).
   */
  private maybeHandOverToBetterPlaced(): void {
    if (this.cfg.leaderPlacement === false || this.transferTarget !== '' || !this.selfIsVoter) return;
    const hold = TRANSFER_HOLD_TIMEOUTS * this.cfg.electionTimeoutTicks;
    if (this.tickCount - this.leaderSinceTick < hold || this.tickCount - this.lastPlacementTick < hold) return;
    const own = this.ownQuorumRtt;
    if (own === undefined || this.commit < this.termStartIndex) return;
    const candidates: PlacedVoter[] = [];
    for (const voter of this.members.voters) {
      const pr = voter === this.id ? undefined : this.replication.get(voter);
      if (pr === undefined || pr.reportedQuorumRtt === undefined || pr.match < this.commit) continue;
      if (this.tickCount - pr.lastHeardTick > this.cfg.heartbeatTicks * 2) continue;
      candidates.push({ member: voter, quorumRttTicks: pr.reportedQuorumRtt });
    }
    const target = betterPlacedVoter(candidates, own);
    if (target === undefined) return;
    this.lastPlacementTick = this.tickCount;
    this.placementTransfers++;
    this.transferLeader(target);
  }

  /** Heartbeats to every member fed directly; relays get their learner lists in theirs when due. */
  private broadcastHeartbeats(): void {
    const plan = this.relayPlan;
    if (plan === null) {
      this.replication.broadcastHeartbeats(this.readRounds.newestPendingId);
      return;
    }
    const voters = this.members.voters.filter((v) => v !== this.id);
    plan.plan(this.replication, voters, this.tickCount);
    this.replication.broadcastHeartbeats(this.readRounds.newestPendingId, (member) =>
      this.members.isVoter(member) ? plan.listFor(member, this.tickCount) : undefined,
    );
  }

  // =================================================================== voting

  private handleVoteRequest(m: Message): void {
    const isPre = m.type === 'preVote';
    const logTerm = m.logTerm ?? 0;
    const index = m.index ?? 0;
    const lastTerm = this.log.lastTerm;
    const upToDate = logTerm > lastTerm || (logTerm === lastTerm && index >= this.log.lastIndex);
    const canVote = this.vote === m.from || (this.vote === '' && this.leader === '') || (isPre && m.term > this.term);
    const type = isPre ? 'preVoteResp' : 'voteResp';
    if (canVote && upToDate) {
      // A granted pre-vote carries the term asked for; our own term does not change.
      this.send({ type, from: this.id, to: m.from, term: m.term, reject: false });
      if (!isPre) {
        this.vote = m.from;
        this.resetElectionTimer();
      } else {
        this.holdAfterPreVoteGrant(m);
      }
    } else {
      this.send({ type, from: this.id, to: m.from, term: this.term, reject: true });
    }
  }

  private handleVoteResponse(m: Message): void {
    if (!this.votes.has(m.from)) this.votes.set(m.from, m.reject !== true);
    if (m.reject === true) this.shortenWaitOnRefusal();
    const outcome = tallyVotes(this.members.voters, this.votes);
    if (outcome === 'won') {
      if (this.role === 'preCandidate') this.becomeCandidate(false);
      else this.becomeLeader();
    } else if (outcome === 'lost') {
      this.becomeFollower(this.term, '');
    }
  }

  // =================================================================== follower side

  /** A leader of our term spoke: follow it and restart the election timer. */
  private acceptLeader(m: Message): void {
    const leader = m.leader ?? m.from; // a relay names the leader it relays for
    if (this.role === 'leader') throw invariant(`two leaders in term ${this.term}: ${this.id} and ${leader}`);
    if (this.role !== 'follower' || leader !== this.leader) {
      this.becomeFollower(this.term, leader);
    } else {
      this.resetElectionTimer();
    }
  }

  private handleAppend(m: Message): void {
    const prevIndex = m.index ?? 0;
    const prevTerm = m.logTerm ?? 0;
    const entries = m.entries ?? NO_ENTRIES;
    if (prevIndex < this.commit) {
      // Everything up to our commit is settled; tell the leader where to continue.
      this.checkAgreesWithCommitted(m.from, entries);
      this.send({ type: 'appendResp', from: this.id, to: m.from, term: this.term, index: this.commit });
      return;
    }
    const n = entries.length;
    if (n > 0 && (entries[0].index !== prevIndex + 1 || entries[n - 1].index !== prevIndex + n)) {
      return; // malformed (the transport should have refused it): ignore, the leader will retry
    }
    if (!this.log.matchTerm(prevIndex, prevTerm)) {
      const hint = this.log.findConflictByTerm(Math.min(prevIndex, this.log.lastIndex), prevTerm);
      this.send({
        type: 'appendResp',
        from: this.id,
        to: m.from,
        term: this.term,
        index: prevIndex,
        reject: true,
        rejectHint: hint,
        hintTerm: this.log.term(hint) ?? 0,
      });
      return;
    }
    this.appendFromLeader(entries);
    const lastNew = prevIndex + n;
    const newCommit = Math.min(m.commit ?? 0, lastNew);
    if (newCommit > this.commit) this.commitTo(newCommit);
    this.send({ type: 'appendResp', from: this.id, to: m.from, term: this.term, index: lastNew });
    this.relayFeeds.sendNewEntries();
  }

  /** A leader of our term can only send what our committed prefix already says. */
  private checkAgreesWithCommitted(leader: MemberId, entries: Entry[]): void {
    const first = this.log.firstIndex;
    for (const entry of entries) {
      if (entry.index > this.commit) return;
      if (entry.index < first) continue;
      const held = this.log.term(entry.index);
      if (held !== entry.term) {
        throw invariant(
          `${leader} sent entry ${entry.index} of term ${entry.term}, which would truncate committed entry of term ${held} (commit ${this.commit})`,
        );
      }
    }
  }

  /** Appends what the log lacks, replacing a conflicting suffix (never at or below commit). */
  private appendFromLeader(entries: Entry[]): void {
    const last = this.log.lastIndex;
    let i = 0;
    while (i < entries.length && entries[i].index <= last && this.log.term(entries[i].index) === entries[i].term) i++;
    if (i === entries.length) return;
    const from = entries[i].index;
    if (from <= last) this.truncateLog(from);
    for (; i < entries.length; i++) {
      const entry = entries[i];
      this.log.append(entry);
      if (entry.type === EntryType.ConfChange) this.applyConfEntry(entry);
    }
  }

  private truncateLog(from: number): void {
    if (from <= this.commit) throw invariant(`truncating the log at ${from}, at or below commit ${this.commit}`);
    this.log.truncateFrom(from);
    this.out.truncatedFrom(from);
    if (this.members.truncateFrom(from)) this.onConfChanged();
  }

  private handleHeartbeat(m: Message): void {
    const last = this.log.lastIndex;
    const commit = Math.min(m.commit ?? 0, last);
    if (commit > this.commit) this.commitTo(commit);
    const fromLeader = m.leader === undefined;
    if (fromLeader && m.relayTo !== undefined) this.relayFeeds.assign(this.term, m.from, m.relayTo);
    else this.relayFeeds.sendNewEntries();
    // Our last (index, term): if the leader holds the same entry, Log Matching says we hold its log
    // up to there, which lets it learn our match even when our append acknowledgements were lost.
    const resp: Message = { type: 'heartbeatResp', from: this.id, to: m.from, term: this.term, index: last, logTerm: this.log.lastTerm };
    if (m.readRound) resp.readRound = m.readRound;
    if (fromLeader && this.relayFeeds.active) resp.relayed = this.relayFeeds.report();
    if (fromLeader && this.selfIsVoter && this.ownQuorumRtt !== undefined) resp.quorumRtt = this.ownQuorumRtt;
    if ((m.index ?? 0) > last) {
      // We lack entries the leader sent before this heartbeat: an append was lost.
      resp.reject = true;
      resp.rejectHint = last;
    }
    this.answerHeartbeat(resp);
  }

  /**
   * A heartbeat's answer is the leader's evidence of contact (CheckQuorum, ReadIndex): it must not
   * wait behind a slow disk write. Once our term is durable it leaves before the next write,
   * vouching only for the durable part of our log (the leader learns a match from it, and a match
   * counts toward commit); otherwise it waits for the write like every answer.
   */
  private answerHeartbeat(resp: Message): void {
    const durable = Math.min(this.out.persistedTo, this.log.lastIndex);
    const durableTerm = this.log.term(durable);
    if (this.out.persistedTerm !== this.term || durableTerm === undefined) {
      this.send(resp);
      return;
    }
    resp.index = durable;
    resp.logTerm = durableTerm;
    this.out.early.push(resp);
  }

  private handleSnapshotChunk(m: Message): void {
    const chunk = m.snapshot;
    if (chunk === undefined) return;
    if (chunk.meta.index <= this.commit) {
      this.send({ type: 'appendResp', from: this.id, to: m.from, term: this.term, index: this.commit });
      return;
    }
    const outcome = this.snapshotReceiver.accept(chunk);
    let offset = chunk.totalBytes;
    let done = true;
    if (outcome.kind === 'ack') {
      offset = outcome.offset;
      done = false;
    } else {
      this.restoreSnapshot(outcome.snapshot);
    }
    this.send({
      type: 'snapshotResp',
      from: this.id,
      to: m.from,
      term: this.term,
      snapshot: { meta: chunk.meta, offset, totalBytes: chunk.totalBytes, data: EMPTY_DATA, done },
    });
  }

  /** A whole snapshot arrived. If our log already holds its last entry we only learn the commit. */
  private restoreSnapshot(snap: Snapshot): void {
    const { index, term, conf } = snap.meta;
    if (this.log.matchTerm(index, term)) {
      this.commitTo(index);
      return;
    }
    this.log.reset(index, term);
    this.members.reset(conf, index);
    this.onConfChanged();
    this.commitTo(index);
    this.snapshot = snap;
    this.out.snapshotRestored(snap);
  }

  private commitTo(index: number): void {
    if (index < this.commit) throw invariant(`commit would go back from ${this.commit} to ${index}`);
    this.commit = index;
  }

  // =================================================================== leader side

  private proposalRefusal(): RefusalReason | null {
    if (this.role !== 'leader') return 'notLeader';
    if (this.transferTarget !== '') return 'transferPending';
    if (this.cfg.checkQuorum && !this.quorumActive()) return 'noQuorum';
    return null;
  }

  private refuse(reason: RefusalReason, detail?: string): ProposeResult {
    const result: ProposeResult = { ok: false, reason, leader: this.leader };
    if (detail !== undefined) result.detail = detail;
    return result;
  }

  private appendAsLeader(type: EntryType, data: Uint8Array): Entry {
    const entry: Entry = { index: this.log.lastIndex + 1, term: this.term, type, data };
    this.log.append(entry);
    this.uncommittedBytes += data.byteLength;
    this.pendingBroadcast = true;
    if (type === EntryType.ConfChange) this.applyConfEntry(entry);
    return entry;
  }

  private handleReplicationAnswer(m: Message): void {
    const pr = this.replication.get(m.from);
    if (pr === undefined) return;
    const answer = m.type === 'appendResp' ? this.replication.onAppendResponse(pr, m) : this.replication.onSnapshotResponse(pr, m);
    if (answer === 'ignored') return;
    if (answer === 'advanced' && !this.afterMatchAdvanced(pr)) return;
    this.replication.sendAppend(pr);
  }

  private handleHeartbeatResponse(m: Message): void {
    const pr = this.replication.get(m.from);
    if (pr === undefined) return;
    if (m.quorumRtt !== undefined && !pr.isLearner) pr.reportedQuorumRtt = m.quorumRtt;
    if (m.relayed !== undefined && this.relayPlan !== null && !pr.isLearner) {
      this.relayPlan.onReport(this.replication, m.from, m.relayed, this.log.lastIndex, this.tickCount);
    }
    const { readAcked, matchAdvanced } = this.replication.onHeartbeatResponse(pr, m);
    if (readAcked && !pr.isLearner) this.releaseConfirmedReads();
    if (matchAdvanced && !this.afterMatchAdvanced(pr)) return;
    if (pr.match < this.log.lastIndex) this.replication.sendAppend(pr);
  }

  /** A member holds more of the log: commit, and finish a transfer to it. False if we stepped down. */
  private afterMatchAdvanced(pr: Progress): boolean {
    if (!pr.isLearner) {
      this.maybeCommit();
      if (this.role !== 'leader') return false; // the commit removed us
    }
    if (pr.member === this.transferTarget && pr.match === this.log.lastIndex) this.replication.sendTimeoutNow(pr.member);
    return true;
  }

  /** Advances commit to what a majority of voters hold, if that entry is of the current term. */
  private maybeCommit(): boolean {
    const voters = this.members.voters;
    const count = voters.length;
    if (count === 0) return false;
    const matches = this.matchScratch;
    for (let i = 0; i < count; i++) {
      const voter = voters[i];
      matches[i] = voter === this.id ? this.out.persistedTo : (this.replication.get(voter)?.match ?? 0);
    }
    const index = majorityMatch(matches, count);
    if (index <= this.commit || this.log.term(index) !== this.term) return false;
    this.releaseUncommittedBytes(this.commit, index);
    this.commitTo(index);
    if (this.queuedReads.length > 0 && this.commit >= this.termStartIndex) {
      const queued = this.queuedReads;
      this.queuedReads = [];
      for (const ctx of queued) this.startRead(ctx);
    }
    if (!this.selfIsVoter && this.commit >= this.members.lastChangeIndex) this.stepDownAfterRemoval();
    return true;
  }

  private releaseUncommittedBytes(oldCommit: number, newCommit: number): void {
    for (let i = Math.max(oldCommit + 1, this.termStartIndex); i <= newCommit && this.uncommittedBytes > 0; i++) {
      this.uncommittedBytes -= this.log.at(i).data.byteLength;
    }
    if (this.uncommittedBytes < 0) this.uncommittedBytes = 0;
  }

  /**
   * The change removing (or demoting) this leader is committed: tell everyone the commit, ask the
   * most caught-up voter to campaign at once, and step down.
   */
  private stepDownAfterRemoval(): void {
    this.replication.broadcastHeartbeats(0);
    const best = this.replication.mostCaughtUp(this.members.voters);
    if (best !== undefined && best.match === this.log.lastIndex) this.replication.sendTimeoutNow(best.member);
    this.becomeFollower(this.term, '');
  }

  // =================================================================== membership

  /** The membership after the ConfChange `entry` (which the leader validated when proposing it). */
  private confAfter(entry: Entry): ConfState {
    let change: ConfChange;
    try {
      change = decodeConfChange(entry.data);
    } catch (err) {
      throw invariant(`conf change entry ${entry.index} is unreadable: ${(err as Error).message}`);
    }
    const outcome = applyConfChange(this.members.current, change);
    if (!outcome.ok) throw invariant(`conf change entry ${entry.index} is invalid: ${outcome.detail}`);
    return outcome.conf;
  }

  private applyConfEntry(entry: Entry): void {
    this.members.append(entry.index, this.confAfter(entry));
    this.onConfChanged();
  }

  private onConfChanged(): void {
    this.selfIsVoter = this.members.isVoter(this.id);
    if (this.role !== 'leader') return;
    this.replication.syncMembers(this.members);
    if (this.transferTarget !== '' && !this.members.isVoter(this.transferTarget)) this.transferTarget = '';
    this.matchScratch = new Array<number>(this.members.voters.length).fill(0);
    this.pendingBroadcast = true;
    this.releaseConfirmedReads();
    this.maybeCommit(); // the quorum changed
  }

  // =================================================================== reads

  private startRead(ctx: string): void {
    if (this.selfIsVoter && this.members.voters.length === 1) {
      this.out.readStates.push({ index: this.commit, ctx });
      return;
    }
    const roundId = this.readRounds.add(ctx, this.commit);
    if (roundId === 0) return; // joined a round whose heartbeats are not out yet
    for (const voter of this.members.voters) {
      const pr = voter === this.id ? undefined : this.replication.get(voter);
      if (pr !== undefined) this.replication.sendHeartbeat(pr, roundId);
    }
  }

  private releaseConfirmedReads(): void {
    if (this.readRounds.pendingReads === 0) return;
    const voters = this.members.voters;
    const needed = quorumSize(voters.length);
    this.readRounds.releaseConfirmed((roundId) => {
      let acks = 0;
      for (const voter of voters) {
        if (voter === this.id || (this.replication.get(voter)?.readAck ?? 0) >= roundId) acks++;
      }
      return acks >= needed;
    }, this.out.readStates);
  }

  // =================================================================== output

  /** Messages that depend on unpersisted state: sent after the Ready's write is durable. */
  private send(m: Message): void {
    this.out.later.push(m);
  }

  /** Leader traffic that may leave before the Ready's write (once the leader's term is durable). */
  private sendEarly(m: Message): void {
    if (this.leaderMayPipeline) this.out.early.push(m);
    else this.out.later.push(m);
  }

  private hardState(): { term: number; vote: MemberId; commit: number } {
    return { term: this.term, vote: this.vote, commit: this.commit };
  }

  private progressReport(): FollowerProgress[] {
    const self: FollowerProgress[] = [];
    if (this.members.isMember(this.id)) {
      self.push({
        member: this.id,
        isLearner: !this.selfIsVoter,
        match: this.out.persistedTo,
        next: this.log.lastIndex + 1,
        state: 'replicate',
        inflight: 0,
        recentActive: true,
      });
    }
    return [...self, ...this.replication.report(this.tickCount)];
  }
}
