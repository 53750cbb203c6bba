// The Raft core: a deterministic state machine with no I/O (DESIGN.md, consensus/). The runtime
// feeds it ticks, messages and proposals, and drains Ready batches; see types.ts for the order in
// which a Ready must be handled and api.ts for the public surface.
//
// Decisions worth knowing (each is covered by tests):
// - Membership changes one at a time and take effect when their entry is appended to a log.
// - PreVote and CheckQuorum: a member that heard from a live leader within the election timeout
//   ignores vote requests (unless they come from a leadership transfer); the leader steps down
//   as soon as it has not heard from a quorum of voters for a whole election timeout.
// - Entries handed out in a Ready count as durable once advance(ready) is called; the leader
//   counts itself toward commit only for those.
// - ReadIndex requests that arrive before the leader has committed an entry of its term are
//   queued (bounded) and start their round once it has.
import type { ProposeResult, RaftBootState, RaftConfig, RaftCore, RefusalReason } from './api.js';
import { applyConfChange, confChangeShapeError, decodeConfChange, encodeConfChange } from './confchange.js';
import { EMPTY_CONF, Membership } from './membership.js';
import { Progress } from './progress.js';
import { majorityMatch, quorumSize, tallyVotes } from './quorum.js';
import { entryBytes, RaftLog } from './raft-log.js';
import { ReadIndexRounds } from './read-only.js';
import { SnapshotReceiver } from './snapshot-receiver.js';
import {
  EntryType,
  type ConfChange,
  type ConfState,
  type Entry,
  type FollowerProgress,
  type HardState,
  type MemberId,
  type Message,
  type RaftStatus,
  type ReadState,
  type Ready,
  type Role,
  type Snapshot,
  type SnapshotMeta,
} from './types.js';

/** Bound on the committed entries handed out in one Ready (at least one entry always goes). */
export const MAX_COMMITTED_BYTES_PER_READY = 1 << 20;
/** Reads waiting for the new leader's first commit in its term; more are refused ('noQuorum'). */
export const MAX_QUEUED_READS = 4096;
/** Reads waiting for their heartbeat quorum; more are refused ('noQuorum'). */
export const MAX_PENDING_READS = 8192;

const NO_ENTRIES: Entry[] = [];
const EMPTY_DATA = new Uint8Array(0);

type TransferResult = ReturnType<RaftCore['transferLeader']>;
type ReadResult = ReturnType<RaftCore['readIndex']>;

function invariant(message: string): Error {
  return new Error(`raft invariant: ${message}`);
}

function validateConfig(config: RaftConfig): void {
  const positiveInt = (name: keyof RaftConfig): void => {
    const value = config[name];
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
      throw new Error(`raft config: ${name} must be a positive integer, got ${String(value)}`);
    }
  };
  if (typeof config.id !== 'string' || config.id.length === 0) throw new Error('raft config: id must be a non-empty string');
  if (typeof config.random !== 'function') throw new Error('raft config: random must be a function returning [0, 1)');
  for (const name of ['electionTimeoutTicks', 'heartbeatTicks', 'maxEntriesPerAppend', 'maxBytesPerAppend', 'maxInflightAppends', 'snapshotChunkBytes', 'maxUncommittedBytes'] as const) {
    positiveInt(name);
  }
  if (config.heartbeatTicks >= config.electionTimeoutTicks) {
    throw new Error('raft config: heartbeatTicks must be smaller than electionTimeoutTicks');
  }
}

export class Raft implements RaftCore {
  readonly id: MemberId;
  private readonly cfg: RaftConfig;

  // ---- persistent state (mirrored in HardState)
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

  // ---- Ready bookkeeping: what has been handed out, and what the runtime confirmed durable
  private outstanding: Ready | null = null;
  private handedTo: number;
  private persistedTo: number;
  private appliedHandedTo: number;
  private applied: number;
  private handedHardState: HardState;
  private persistedTerm: number;
  private snapshotToInstall: Snapshot | null = null;
  private msgsEarly: Message[] = [];
  private msgs: Message[] = [];
  private readStates: ReadState[] = [];

  // ---- time
  private tickCount = 0;
  private electionElapsed = 0;
  private heartbeatElapsed = 0;
  private randomizedElectionTimeout = 0;

  // ---- candidate
  private readonly votes = new Map<MemberId, boolean>();

  // ---- leader
  private readonly progress = new Map<MemberId, Progress>();
  /** Index of the leader's no-op: nothing of its term is committed before it is. */
  private termStartIndex = 0;
  private uncommittedBytes = 0;
  private transferTarget: MemberId = '';
  private transferElapsed = 0;
  /** New entries to send to every follower at the next ready() (one batch instead of one per proposal). */
  private pendingBroadcast = false;
  /** Leader messages may go in messagesEarly only once this member's term is known durable. */
  private leaderMayPipeline = false;
  private readonly readRounds = new ReadIndexRounds();
  private queuedReads: string[] = [];
  private matchScratch: number[] = [];

  // ---- follower
  private readonly snapshotReceiver = new SnapshotReceiver();

  constructor(config: RaftConfig, boot: RaftBootState) {
    validateConfig(config);
    this.cfg = config;
    this.id = config.id;
    const snap = boot.snapshot;
    const snapIndex = snap ? snap.meta.index : 0;
    const snapTerm = snap ? snap.meta.term : 0;
    this.log = Raft.bootLog(snapIndex, snapTerm, boot.entries);
    this.snapshot = snap;
    this.members = new Membership(snap ? snap.meta.conf : EMPTY_CONF, snapIndex);
    for (let i = Math.max(snapIndex + 1, this.log.firstIndex); i <= this.log.lastIndex; i++) {
      const entry = this.log.at(i);
      if (entry.type === EntryType.ConfChange) this.applyConfEntry(entry);
    }
    this.selfIsVoter = this.members.isVoter(this.id);

    const hs = boot.hardState;
    this.term = hs.term;
    this.vote = hs.vote;
    this.commit = Math.max(hs.commit, snapIndex);
    if (this.commit > this.log.lastIndex) {
      throw invariant(`boot commit ${this.commit} is beyond the last log index ${this.log.lastIndex}`);
    }
    this.applied = Math.max(boot.applied, snapIndex);
    if (this.applied > this.commit) throw invariant(`boot applied ${this.applied} is beyond commit ${this.commit}`);
    this.appliedHandedTo = this.applied;
    this.handedTo = this.log.lastIndex;
    this.persistedTo = this.log.lastIndex;
    this.handedHardState = { term: this.term, vote: this.vote, commit: this.commit };
    this.persistedTerm = this.term;
    this.resetElectionTimer();
  }

  /** The log a member restarts with; entries overlapping the snapshot are kept when they agree with it. */
  private static bootLog(snapIndex: number, snapTerm: number, entries: Entry[]): RaftLog {
    if (entries.length === 0) return new RaftLog(snapIndex, snapTerm, []);
    const first = entries[0].index;
    const last = entries[entries.length - 1].index;
    if (first === snapIndex + 1) return new RaftLog(snapIndex, snapTerm, entries);
    if (first > snapIndex + 1) throw invariant(`boot log starts at ${first} but the snapshot ends at ${snapIndex}`);
    if (last <= snapIndex) return new RaftLog(snapIndex, snapTerm, []);
    const atSnapshot = entries[snapIndex - first];
    if (atSnapshot.term !== snapTerm) {
      throw invariant(`boot log has term ${atSnapshot.term} at the snapshot index ${snapIndex}, snapshot says ${snapTerm}`);
    }
    // The first entry becomes the base: its term is known, which a retained prefix needs.
    return new RaftLog(first, entries[0].term, entries.slice(1));
  }

  // =================================================================== public API

  tick(): void {
    this.tickCount++;
    if (this.role === 'leader') this.tickLeader();
    else this.tickElection();
  }

  step(m: Message): void {
    if (m.term > this.term) {
      if (!this.adoptHigherTerm(m)) return;
    } else if (m.term < this.term) {
      this.answerStaleTerm(m);
      return;
    }
    if (this.role === 'leader') {
      const pr = this.progress.get(m.from);
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
        if (this.role === 'leader') this.handleAppendResponse(m);
        return;
      case 'heartbeatResp':
        if (this.role === 'leader') this.handleHeartbeatResponse(m);
        return;
      case 'snapshotResp':
        if (this.role === 'leader') this.handleSnapshotResponse(m);
        return;
      case 'timeoutNow':
        if (this.role !== 'leader' && this.selfIsVoter) this.becomeCandidate(true);
        return;
    }
  }

  propose(data: Uint8Array): ProposeResult {
    if (!(data instanceof Uint8Array)) throw new TypeError('propose: data must be a Uint8Array');
    const refusal = this.proposalRefusal();
    if (refusal !== null) return this.refuse(refusal);
    const size = data.byteLength;
    if (this.uncommittedBytes > 0 && this.uncommittedBytes + size > this.cfg.maxUncommittedBytes) {
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
    if (!this.members.isVoter(to)) return { ok: false, reason: 'unknownMember', leader: this.leader };
    if (this.transferTarget === to) return { ok: true };
    this.transferTarget = to;
    this.transferElapsed = 0;
    const pr = this.progress.get(to) as Progress;
    if (pr.match === this.log.lastIndex) this.sendTimeoutNow(to);
    else this.sendAppend(pr);
    return { ok: true };
  }

  reportUnreachable(member: MemberId): void {
    if (this.role !== 'leader') return;
    const pr = this.progress.get(member);
    if (pr === undefined) return;
    if (pr.state === 'replicate') pr.becomeProbe();
    else if (pr.state === 'snapshot') pr.snapshotSentTick = -Infinity; // resend from the last acked offset
  }

  compact(index: number, data: Uint8Array, retainEntries: number): SnapshotMeta {
    if (!Number.isInteger(index) || index < 1) throw new Error(`compact: index must be a positive integer, got ${index}`);
    if (!Number.isInteger(retainEntries) || retainEntries < 0) throw new Error(`compact: retainEntries must be >= 0, got ${retainEntries}`);
    if (!(data instanceof Uint8Array)) throw new Error('compact: data must be a Uint8Array');
    if (index > this.applied) throw new Error(`compact: index ${index} is beyond the applied index ${this.applied}`);
    const current = this.snapshot ? this.snapshot.meta.index : 0;
    if (index < current) throw new Error(`compact: index ${index} is older than the current snapshot at ${current}`);
    const term = this.log.term(index);
    if (term === undefined) throw new Error(`compact: index ${index} is no longer in the log (first ${this.log.firstIndex})`);
    this.snapshot = { meta: { index, term, conf: this.members.confAt(index) }, data };
    this.log.compactTo(Math.max(this.log.firstIndex, index - retainEntries + 1));
    this.members.compactTo(index);
    return this.snapshot.meta;
  }

  hasReady(): boolean {
    if (this.outstanding !== null) return false;
    return (
      this.pendingBroadcast ||
      this.msgsEarly.length > 0 ||
      this.msgs.length > 0 ||
      this.readStates.length > 0 ||
      this.snapshotToInstall !== null ||
      this.handedTo < this.log.lastIndex ||
      this.appliedHandedTo < Math.min(this.commit, this.log.lastIndex) ||
      this.hardStateChanged()
    );
  }

  ready(): Ready {
    if (this.outstanding !== null) throw new Error('raft: ready() called before advance() of the previous Ready');
    if (this.pendingBroadcast) this.broadcastAppends();
    this.readRounds.closeOpen();
    const last = this.log.lastIndex;
    const entries = this.handedTo < last ? this.log.slice(this.handedTo + 1, last + 1) : NO_ENTRIES;
    const snapshot = this.snapshotToInstall ?? undefined;
    const committedEntries = this.nextCommittedEntries();
    const rd: Ready = {
      entries,
      messagesEarly: this.msgsEarly,
      messages: this.msgs,
      committedEntries,
      readStates: this.readStates,
      mustSync: entries.length > 0 || snapshot !== undefined || this.term !== this.handedHardState.term || this.vote !== this.handedHardState.vote,
    };
    if (this.hardStateChanged()) {
      rd.hardState = { term: this.term, vote: this.vote, commit: this.commit };
      this.handedHardState = rd.hardState;
    }
    if (snapshot !== undefined) rd.snapshot = snapshot;
    this.handedTo = last;
    if (committedEntries.length > 0) this.appliedHandedTo = committedEntries[committedEntries.length - 1].index;
    this.snapshotToInstall = null;
    this.msgsEarly = [];
    this.msgs = [];
    this.readStates = [];
    this.outstanding = rd;
    return rd;
  }

  advance(rd: Ready): void {
    if (rd !== this.outstanding) throw new Error('raft: advance() called with a Ready that is not the outstanding one');
    this.outstanding = null;
    if (rd.hardState !== undefined) {
      this.persistedTerm = rd.hardState.term;
      if (this.role === 'leader' && this.persistedTerm === this.term) this.leaderMayPipeline = true;
    }
    if (rd.snapshot !== undefined) {
      this.persistedTo = Math.max(this.persistedTo, Math.min(rd.snapshot.meta.index, this.handedTo));
      this.applied = Math.max(this.applied, rd.snapshot.meta.index);
    }
    if (rd.entries.length > 0) {
      const lastWritten = rd.entries[rd.entries.length - 1].index;
      // A truncation since ready() lowered handedTo: what was written past it is no longer ours.
      this.persistedTo = Math.max(this.persistedTo, Math.min(lastWritten, this.handedTo));
    }
    if (rd.committedEntries.length > 0) {
      this.applied = Math.max(this.applied, rd.committedEntries[rd.committedEntries.length - 1].index);
    }
    if (this.role === 'leader') this.maybeCommit();
  }

  status(): RaftStatus {
    const status: RaftStatus = {
      id: this.id,
      role: this.role,
      term: this.term,
      vote: this.vote,
      leader: this.leader,
      commit: this.commit,
      applied: this.applied,
      firstIndex: this.log.firstIndex,
      lastIndex: this.log.lastIndex,
      conf: this.members.current,
      transferTarget: this.transferTarget,
    };
    if (this.role === 'leader') {
      const list: FollowerProgress[] = [];
      if (this.members.isMember(this.id)) {
        list.push({
          member: this.id,
          isLearner: !this.selfIsVoter,
          match: this.persistedTo,
          next: this.log.lastIndex + 1,
          state: 'replicate',
          inflight: 0,
          recentActive: true,
        });
      }
      for (const pr of this.progress.values()) {
        list.push({
          member: pr.member,
          isLearner: pr.isLearner,
          match: pr.match,
          next: pr.next,
          state: pr.state,
          inflight: pr.inflights.count,
          recentActive: this.tickCount - pr.lastHeardTick < this.cfg.electionTimeoutTicks,
        });
      }
      status.progress = list;
    }
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
      if (voter === this.id) active++;
      else {
        const pr = this.progress.get(voter);
        if (pr !== undefined && this.tickCount - pr.lastHeardTick < this.cfg.electionTimeoutTicks) active++;
      }
    }
    return active >= quorumSize(voters.length);
  }

  ticksSinceHeard(member: MemberId): number {
    if (member === this.id) return 0;
    if (this.role !== 'leader') return Infinity;
    const pr = this.progress.get(member);
    return pr === undefined ? Infinity : this.tickCount - pr.lastHeardTick;
  }

  entries(lo: number, hi: number): Entry[] {
    const from = Math.max(lo, this.log.firstIndex);
    const to = Math.min(hi, this.log.lastIndex + 1);
    return from < to ? this.log.slice(from, to) : [];
  }

  // =================================================================== terms and roles

  /** A message from a later term. Returns false when the message is to be ignored. */
  private adoptHigherTerm(m: Message): boolean {
    if ((m.type === 'vote' || m.type === 'preVote') && m.transfer !== true && this.inLease()) {
      // Leader stickiness: a live leader exists, so this candidate is disrupting, not needed.
      return false;
    }
    if (m.type === 'preVote') return true; // answering a pre-vote never changes our term
    if (m.type === 'preVoteResp' && m.reject !== true) return true; // a grant for the term we would campaign in
    const fromLeader = m.type === 'append' || m.type === 'heartbeat' || m.type === 'snapshot';
    this.becomeFollower(m.term, fromLeader ? m.from : '');
    return true;
  }

  /** A message from an earlier term: answer with our term where that makes the sender step down. */
  private answerStaleTerm(m: Message): void {
    switch (m.type) {
      case 'append':
      case 'heartbeat':
      case 'snapshot':
        this.send({ type: 'appendResp', from: this.id, to: m.from, term: this.term, index: 0, reject: true });
        return;
      case 'preVote':
        this.send({ type: 'preVoteResp', from: this.id, to: m.from, term: this.term, reject: true });
        return;
      case 'vote':
        this.send({ type: 'voteResp', from: this.id, to: m.from, term: this.term, reject: true });
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
    if (term > this.term) {
      this.term = term;
      this.vote = '';
    }
    this.leaveLeadership();
    this.role = 'follower';
    this.leader = leader;
    this.votes.clear();
    this.resetElectionTimer();
  }

  private becomePreCandidate(): void {
    this.leaveLeadership();
    this.role = 'preCandidate';
    this.leader = '';
    this.votes.clear();
    this.votes.set(this.id, true);
    this.resetElectionTimer();
    if (tallyVotes(this.members.voters, this.votes) === 'won') {
      this.becomeCandidate(false);
      return;
    }
    this.requestVotes('preVote', this.term + 1, false);
  }

  private becomeCandidate(transfer: boolean): void {
    this.leaveLeadership();
    this.term += 1;
    this.vote = this.id;
    this.role = 'candidate';
    this.leader = '';
    this.votes.clear();
    this.votes.set(this.id, true);
    this.resetElectionTimer();
    if (tallyVotes(this.members.voters, this.votes) === 'won') {
      this.becomeLeader();
      return;
    }
    this.requestVotes('vote', this.term, transfer);
  }

  /** Vote requests go in `messages`: they must not leave before the new term and vote are durable. */
  private requestVotes(type: 'preVote' | 'vote', term: number, transfer: boolean): void {
    const logTerm = this.log.lastTerm;
    const index = this.log.lastIndex;
    for (const voter of this.members.voters) {
      if (voter === this.id) continue;
      const m: Message = { type, from: this.id, to: voter, term, logTerm, index };
      if (transfer) m.transfer = true;
      this.msgs.push(m);
    }
  }

  private becomeLeader(): void {
    this.role = 'leader';
    this.leader = this.id;
    this.transferTarget = '';
    this.heartbeatElapsed = 0;
    this.uncommittedBytes = 0;
    this.progress.clear();
    let grantedByOthers = false;
    const next = this.log.lastIndex + 1;
    for (const member of [...this.members.voters, ...this.members.current.learners]) {
      if (member === this.id) continue;
      const pr = new Progress(member, this.members.isLearner(member), next, this.cfg.maxInflightAppends);
      if (this.votes.get(member) === true) {
        pr.lastHeardTick = this.tickCount;
        grantedByOthers = true;
      }
      this.progress.set(member, pr);
    }
    this.votes.clear();
    // Voters only answered after our term and vote were durable; alone, we wait for advance().
    this.leaderMayPipeline = grantedByOthers || this.persistedTerm === this.term;
    this.matchScratch = new Array<number>(this.members.voters.length).fill(0);
    const noop = this.appendAsLeader(EntryType.Normal, EMPTY_DATA);
    this.termStartIndex = noop.index;
  }

  /** Forget everything only a leader keeps. Pending reads are dropped, never answered. */
  private leaveLeadership(): void {
    if (this.role !== 'leader') return;
    this.progress.clear();
    this.transferTarget = '';
    this.readRounds.clear();
    this.queuedReads = [];
    this.uncommittedBytes = 0;
    this.pendingBroadcast = false;
    this.leaderMayPipeline = false;
  }

  private resetElectionTimer(): void {
    this.electionElapsed = 0;
    const base = this.cfg.electionTimeoutTicks;
    this.randomizedElectionTimeout = base + Math.min(base - 1, Math.floor(this.cfg.random() * base));
  }

  private tickElection(): void {
    this.electionElapsed++;
    if (this.electionElapsed < this.randomizedElectionTimeout) return;
    if (!this.selfIsVoter) {
      this.resetElectionTimer(); // learners and non-members never campaign
      return;
    }
    if (this.cfg.preVote) this.becomePreCandidate();
    else this.becomeCandidate(false);
  }

  private tickLeader(): void {
    this.heartbeatElapsed++;
    if (this.cfg.checkQuorum && !this.quorumActive()) {
      this.becomeFollower(this.term, '');
      return;
    }
    if (this.transferTarget !== '' && ++this.transferElapsed >= this.cfg.electionTimeoutTicks) {
      this.transferTarget = '';
    }
    if (this.heartbeatElapsed >= this.cfg.heartbeatTicks) {
      this.heartbeatElapsed = 0;
      this.broadcastHeartbeats();
    }
  }

  // =================================================================== voting

  private handleVoteRequest(m: Message): void {
    const isPre = m.type === 'preVote';
    const logTerm = m.logTerm ?? 0;
    const index = m.index ?? 0;
    const lastTerm = this.log.lastTerm;
    const upToDate = logTerm > lastTerm || (logTerm === lastTerm && index >= this.log.lastIndex);
    const canVote =
      this.vote === m.from || (this.vote === '' && this.leader === '') || (isPre && m.term > this.term);
    const type = isPre ? 'preVoteResp' : 'voteResp';
    if (canVote && upToDate) {
      this.send({ type, from: this.id, to: m.from, term: m.term, reject: false });
      if (!isPre) {
        this.vote = m.from;
        this.resetElectionTimer();
      }
    } else {
      this.send({ type, from: this.id, to: m.from, term: this.term, reject: true });
    }
  }

  private handleVoteResponse(m: Message): void {
    if (!this.votes.has(m.from)) this.votes.set(m.from, m.reject !== true);
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
    if (this.role === 'leader') {
      throw invariant(`two leaders in term ${this.term}: ${this.id} and ${m.from}`);
    }
    if (this.role !== 'follower') this.becomeFollower(this.term, m.from);
    else {
      this.leader = m.from;
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
    if (entries.length > 0 && (entries[0].index !== prevIndex + 1 || entries[entries.length - 1].index !== prevIndex + entries.length)) {
      return; // malformed: the transport should have refused it
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
    const lastNew = prevIndex + entries.length;
    const newCommit = Math.min(m.commit ?? 0, lastNew);
    if (newCommit > this.commit) this.commitTo(newCommit);
    this.send({ type: 'appendResp', from: this.id, to: m.from, term: this.term, index: lastNew });
  }

  /** A leader of our term can only send what our committed prefix already says. */
  private checkAgreesWithCommitted(leader: MemberId, entries: Entry[]): void {
    const first = this.log.firstIndex;
    for (const entry of entries) {
      if (entry.index > this.commit) return;
      if (entry.index < first) continue;
      const held = this.log.term(entry.index);
      if (held !== entry.term) {
        throw invariant(`${leader} sent entry ${entry.index} of term ${entry.term}, which would truncate committed entry of term ${held} (commit ${this.commit})`);
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
    if (this.handedTo >= from) this.handedTo = from - 1;
    if (this.persistedTo >= from) this.persistedTo = from - 1;
    if (this.members.truncateFrom(from)) this.onConfChanged();
  }

  private handleHeartbeat(m: Message): void {
    const last = this.log.lastIndex;
    const commit = Math.min(m.commit ?? 0, last);
    if (commit > this.commit) this.commitTo(commit);
    const resp: Message = { type: 'heartbeatResp', from: this.id, to: m.from, term: this.term };
    if (m.readRound) resp.readRound = m.readRound;
    if ((m.index ?? 0) > last) {
      // We lack entries the leader sent before this heartbeat: an append was lost.
      resp.reject = true;
      resp.rejectHint = last;
    }
    this.send(resp);
  }

  private handleSnapshotChunk(m: Message): void {
    const chunk = m.snapshot;
    if (chunk === undefined) return;
    if (chunk.meta.index <= this.commit) {
      this.send({ type: 'appendResp', from: this.id, to: m.from, term: this.term, index: this.commit });
      return;
    }
    const outcome = this.snapshotReceiver.accept(chunk);
    let offset: number;
    let done = false;
    if (outcome.kind === 'ack') offset = outcome.offset;
    else {
      this.restoreSnapshot(outcome.snapshot);
      offset = chunk.totalBytes;
      done = true;
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
    this.snapshotToInstall = snap;
    this.handedTo = index;
    if (this.persistedTo > index) this.persistedTo = index;
    if (this.appliedHandedTo < index) this.appliedHandedTo = index;
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

  private applyConfEntry(entry: Entry): void {
    let change: ConfChange;
    try {
      change = decodeConfChange(entry.data);
    } catch (err) {
      throw invariant(`conf change entry ${entry.index} is unreadable: ${(err as Error).message}`);
    }
    const outcome = applyConfChange(this.members.current, change);
    if (!outcome.ok) throw invariant(`conf change entry ${entry.index} is invalid: ${outcome.detail}`);
    this.members.append(entry.index, outcome.conf);
    this.onConfChanged();
  }

  private onConfChanged(): void {
    this.selfIsVoter = this.members.isVoter(this.id);
    if (this.role !== 'leader') return;
    const next = this.log.lastIndex + 1;
    for (const member of [...this.members.voters, ...this.members.current.learners]) {
      if (member === this.id) continue;
      const pr = this.progress.get(member);
      if (pr === undefined) this.progress.set(member, new Progress(member, this.members.isLearner(member), next, this.cfg.maxInflightAppends));
      else {
        pr.isLearner = this.members.isLearner(member);
        pr.removedAt = 0;
      }
    }
    for (const pr of this.progress.values()) {
      if (pr.removedAt === 0 && !this.members.isMember(pr.member)) {
        // Keep replicating until it holds its removal (see Progress.removedAt); it counts for nothing.
        pr.removedAt = this.members.lastChangeIndex;
        pr.isLearner = true;
      }
    }
    if (this.transferTarget !== '' && !this.members.isVoter(this.transferTarget)) this.transferTarget = '';
    this.matchScratch = new Array<number>(this.members.voters.length).fill(0);
    this.pendingBroadcast = true;
    this.releaseConfirmedReads();
    this.maybeCommit();
  }

  /** Advances commit to what a majority of voters hold, if that entry is of the current term. */
  private maybeCommit(): boolean {
    const voters = this.members.voters;
    const count = voters.length;
    if (count === 0) return false;
    const matches = this.matchScratch;
    for (let i = 0; i < count; i++) {
      const voter = voters[i];
      matches[i] = voter === this.id ? this.persistedTo : (this.progress.get(voter)?.match ?? 0);
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
    this.broadcastHeartbeats();
    let best: Progress | undefined;
    for (const voter of this.members.voters) {
      const pr = this.progress.get(voter);
      if (pr !== undefined && (best === undefined || pr.match > best.match)) best = pr;
    }
    if (best !== undefined && best.match === this.log.lastIndex) this.sendTimeoutNow(best.member);
    this.becomeFollower(this.term, '');
  }

  private broadcastAppends(): void {
    this.pendingBroadcast = false;
    for (const pr of this.progress.values()) this.sendAppend(pr);
  }

  /** Sends as much of the log as flow control allows (one probe, or up to the inflight window). */
  private sendAppend(pr: Progress): void {
    for (;;) {
      if (pr.isPaused()) return;
      const last = this.log.lastIndex;
      if (pr.state === 'replicate' && pr.next > last) return;
      const prevIndex = pr.next - 1;
      const prevTerm = this.log.term(prevIndex);
      if (prevTerm === undefined) {
        this.startSnapshot(pr);
        return;
      }
      const entries =
        pr.next <= last
          ? this.log.slice(pr.next, Math.min(last + 1, pr.next + this.cfg.maxEntriesPerAppend), this.cfg.maxBytesPerAppend)
          : NO_ENTRIES;
      this.sendEarly({
        type: 'append',
        from: this.id,
        to: pr.member,
        term: this.term,
        logTerm: prevTerm,
        index: prevIndex,
        entries,
        commit: this.commit,
      });
      if (pr.state === 'probe') {
        pr.probeSent = true;
        return;
      }
      const lastSent = prevIndex + entries.length;
      pr.next = lastSent + 1;
      pr.inflights.add(lastSent);
    }
  }

  private broadcastHeartbeats(): void {
    const readRound = this.readRounds.newestPendingId;
    for (const pr of this.progress.values()) {
      if (pr.removedAt > 0 && pr.match >= pr.removedAt && pr.sentCommit >= pr.removedAt) {
        this.progress.delete(pr.member); // it knows it was removed: stop talking to it
        continue;
      }
      this.sendHeartbeat(pr, readRound);
      if (pr.state === 'snapshot' && this.tickCount - pr.snapshotSentTick >= this.cfg.electionTimeoutTicks) {
        this.sendSnapshotChunk(pr); // the last chunk (or its ack) got lost
      }
    }
  }

  private sendHeartbeat(pr: Progress, readRound: number): void {
    const m: Message = {
      type: 'heartbeat',
      from: this.id,
      to: pr.member,
      term: this.term,
      commit: Math.min(this.commit, pr.match),
    };
    if (m.commit as number > pr.sentCommit) pr.sentCommit = m.commit as number;
    if (readRound > 0) m.readRound = readRound;
    // In replicate state the follower should hold everything sent before this heartbeat.
    if (pr.state === 'replicate' && pr.next - 1 > pr.match) m.index = pr.next - 1;
    this.sendEarly(m);
  }

  private sendTimeoutNow(to: MemberId): void {
    this.sendEarly({ type: 'timeoutNow', from: this.id, to, term: this.term });
  }

  private handleAppendResponse(m: Message): void {
    const pr = this.progress.get(m.from);
    if (pr === undefined) return;
    const index = m.index ?? 0;
    if (m.reject === true) {
      this.handleAppendRejection(pr, m, index);
      return;
    }
    if (index > this.log.lastIndex) return; // acknowledges entries we never had: ignore
    // In probe state an answer equal to match also ends the probe (e.g. the empty probe after a snapshot).
    const probeAnswered = pr.state === 'probe' && index === pr.match;
    if (pr.maybeUpdate(index) || probeAnswered) {
      if (pr.state === 'probe') pr.becomeReplicate();
      else if (pr.state === 'snapshot' && pr.match >= pr.pendingSnapshot) pr.becomeProbe();
      else if (pr.state === 'replicate') pr.inflights.freeTo(index);
      if (!pr.isLearner) {
        this.maybeCommit();
        if (this.role !== 'leader') return;
      }
      if (pr.member === this.transferTarget && pr.match === this.log.lastIndex) this.sendTimeoutNow(pr.member);
    } else if (pr.state === 'replicate') {
      pr.inflights.freeTo(index);
    }
    this.sendAppend(pr);
  }

  private handleAppendRejection(pr: Progress, m: Message, rejected: number): void {
    if (pr.state === 'snapshot') return;
    if (pr.state === 'replicate' ? rejected <= pr.match : rejected !== pr.next - 1) return; // stale answer
    let probeFrom = m.rejectHint ?? rejected;
    if ((m.hintTerm ?? 0) > 0) probeFrom = this.log.findConflictByTerm(probeFrom, m.hintTerm as number);
    if (pr.state === 'replicate') pr.becomeProbe();
    pr.next = Math.max(pr.match + 1, Math.min(rejected, probeFrom + 1));
    pr.probeSent = false;
    this.sendAppend(pr);
  }

  private handleHeartbeatResponse(m: Message): void {
    const pr = this.progress.get(m.from);
    if (pr === undefined) return;
    if (m.readRound !== undefined && m.readRound > pr.readAck) {
      pr.readAck = m.readRound;
      if (!pr.isLearner) this.releaseConfirmedReads();
    }
    if (pr.state === 'replicate' && m.reject === true && (m.rejectHint ?? 0) < pr.next - 1) pr.becomeProbe();
    if (pr.state === 'probe') pr.probeSent = false;
    if (pr.match < this.log.lastIndex) this.sendAppend(pr);
  }

  private startSnapshot(pr: Progress): void {
    if (this.snapshot === null) {
      throw invariant(`follower ${pr.member} needs index ${pr.next} but the log starts at ${this.log.firstIndex} and there is no snapshot`);
    }
    pr.becomeSnapshot(this.snapshot.meta.index);
    this.sendSnapshotChunk(pr);
  }

  private sendSnapshotChunk(pr: Progress): void {
    const snap = this.snapshot as Snapshot;
    if (snap.meta.index !== pr.pendingSnapshot) {
      pr.becomeSnapshot(snap.meta.index); // compacted again since: send the newer one
    }
    const total = snap.data.byteLength;
    const offset = Math.min(pr.snapshotOffset, total);
    const end = Math.min(offset + this.cfg.snapshotChunkBytes, total);
    pr.snapshotSentTick = this.tickCount;
    this.sendEarly({
      type: 'snapshot',
      from: this.id,
      to: pr.member,
      term: this.term,
      snapshot: { meta: snap.meta, offset, totalBytes: total, data: snap.data.subarray(offset, end), done: end === total },
    });
  }

  private handleSnapshotResponse(m: Message): void {
    const pr = this.progress.get(m.from);
    const chunk = m.snapshot;
    if (pr === undefined || chunk === undefined) return;
    if (pr.state !== 'snapshot' || chunk.meta.index !== pr.pendingSnapshot) return;
    if (chunk.done) {
      pr.maybeUpdate(chunk.meta.index);
      pr.becomeProbe();
      if (!pr.isLearner) {
        this.maybeCommit();
        if (this.role !== 'leader') return;
      }
      this.sendAppend(pr);
      return;
    }
    // An ack of the offset we already continued from is a duplicate (of a resent chunk): answering
    // it again would start a second, parallel stream of chunks. A lost chunk is resent on a timer.
    if (chunk.offset === pr.snapshotOffset) return;
    pr.snapshotOffset = chunk.offset;
    this.sendSnapshotChunk(pr);
  }

  // =================================================================== reads

  private startRead(ctx: string): void {
    if (this.selfIsVoter && this.members.voters.length === 1) {
      this.readStates.push({ index: this.commit, ctx });
      return;
    }
    const roundId = this.readRounds.add(ctx, this.commit);
    if (roundId === 0) return; // joined a round whose heartbeats are not out yet
    for (const voter of this.members.voters) {
      if (voter === this.id) continue;
      const pr = this.progress.get(voter);
      if (pr !== undefined) this.sendHeartbeat(pr, roundId);
    }
  }

  private releaseConfirmedReads(): void {
    if (this.readRounds.pendingReads === 0) return;
    const voters = this.members.voters;
    const needed = quorumSize(voters.length);
    this.readRounds.releaseConfirmed((roundId) => {
      let acks = 0;
      for (const voter of voters) {
        if (voter === this.id) acks++;
        else if ((this.progress.get(voter)?.readAck ?? 0) >= roundId) acks++;
      }
      return acks >= needed;
    }, this.readStates);
  }

  // =================================================================== output

  /** Messages that depend on unpersisted state: sent after the Ready's write is durable. */
  private send(m: Message): void {
    this.msgs.push(m);
  }

  /** Leader traffic that may leave before the Ready's write (once the leader's term is durable). */
  private sendEarly(m: Message): void {
    if (this.leaderMayPipeline) this.msgsEarly.push(m);
    else this.msgs.push(m);
  }

  private hardStateChanged(): boolean {
    const hs = this.handedHardState;
    return hs.term !== this.term || hs.vote !== this.vote || hs.commit !== this.commit;
  }

  private nextCommittedEntries(): Entry[] {
    const hi = Math.min(this.commit, this.log.lastIndex);
    const lo = Math.max(this.appliedHandedTo + 1, this.log.firstIndex);
    if (lo > hi) return NO_ENTRIES;
    return this.log.slice(lo, hi + 1, MAX_COMMITTED_BYTES_PER_READY);
  }
}
