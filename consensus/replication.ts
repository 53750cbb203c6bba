// The leader's side of log replication: one Progress per member, what to send each of them
// (appends within flow control, heartbeats, snapshot chunks), and how to read their answers.
// Commit, leadership transfer and reads stay in raft.ts; this file only moves the log.
import { invariant } from './invariant.js';
import type { RaftConfig } from './api.js';
import type { Membership } from './membership.js';
import { Progress } from './progress.js';
import type { RaftLog } from './raft-log.js';
import type { Entry, FollowerProgress, MemberId, Message, Snapshot } from './types.js';

const NO_ENTRIES: Entry[] = [];

export interface ReplicationHost {
  /** The leader's commit index now. */
  commitIndex(): number;
  /** The snapshot sent to members whose next entry was compacted away. */
  latestSnapshot(): Snapshot | null;
  /** The leader's logical clock (ticks). */
  now(): number;
  /** Leader traffic: may leave before the current Ready's write. */
  sendEarly(m: Message): void;
  /** The last index that may be sent (default: the log's last; a relay sends only what is committed). */
  lastSendable?(): number;
}

/** What an answer to an append did: nothing (stale), moved match forward, or only cleared the way. */
export type AppendAnswer = 'ignored' | 'advanced' | 'accepted';

export class Replication {
  private readonly progress = new Map<MemberId, Progress>();
  private term = 0;

  constructor(
    private readonly cfg: RaftConfig,
    private readonly id: MemberId,
    private readonly log: RaftLog,
    private readonly host: ReplicationHost,
  ) {}

  /**
   * A new leadership in `term`: every member starts in probe state just after our last entry.
   * Members that granted their vote count as just heard from. Returns whether any did.
   */
  start(term: number, members: Membership, granted: ReadonlyMap<MemberId, boolean>, now: number): boolean {
    this.term = term;
    this.progress.clear();
    let grantedByOthers = false;
    const next = this.log.lastIndex + 1;
    for (const member of [...members.voters, ...members.current.learners]) {
      if (member === this.id) continue;
      const pr = new Progress(member, members.isLearner(member), next, this.cfg.maxInflightAppends);
      if (granted.get(member) === true) {
        pr.lastHeardTick = now;
        grantedByOthers = true;
      }
      this.progress.set(member, pr);
    }
    return grantedByOthers;
  }

  stop(): void {
    this.progress.clear();
  }

  get(member: MemberId): Progress | undefined {
    return this.progress.get(member);
  }

  all(): IterableIterator<Progress> {
    return this.progress.values();
  }

  /** The membership changed: track new members, update roles, and let removed ones linger. */
  syncMembers(members: Membership): void {
    const next = this.log.lastIndex + 1;
    for (const member of [...members.voters, ...members.current.learners]) {
      if (member === this.id) continue;
      const pr = this.progress.get(member);
      // A member added back after a removal may return with an empty disk: what we knew of its log
      // no longer holds, so it starts over from probing (always safe, at worst slower).
      if (pr === undefined || pr.removedAt !== 0) {
        this.progress.set(member, new Progress(member, members.isLearner(member), next, this.cfg.maxInflightAppends));
      } else {
        pr.isLearner = members.isLearner(member);
      }
    }
    for (const pr of this.progress.values()) {
      if (pr.removedAt === 0 && !members.isMember(pr.member)) {
        // Keep replicating until it holds its removal (see Progress.removedAt); it counts for nothing.
        pr.removedAt = members.lastChangeIndex;
        pr.isLearner = true;
      }
      // Only learners are relayed: a new voter (or a removed member) hears the leader itself at once.
      if (pr.relay !== '' && (!pr.isLearner || pr.removedAt !== 0)) this.feedDirectly(pr);
    }
  }

  /** The leader feeds `pr` itself again (its relay failed, or it is no longer a plain learner). */
  feedDirectly(pr: Progress): void {
    pr.relay = '';
    pr.becomeProbe();
  }

  /** Every member's progress, for status(); recently active = heard within an election timeout. */
  report(now: number): FollowerProgress[] {
    const list: FollowerProgress[] = [];
    for (const pr of this.progress.values()) {
      const view: FollowerProgress = {
        member: pr.member,
        isLearner: pr.isLearner,
        match: pr.match,
        next: pr.next,
        state: pr.state,
        inflight: pr.inflights.count,
        recentActive: now - pr.lastHeardTick < this.cfg.electionTimeoutTicks,
      };
      if (pr.relay !== '') view.relay = pr.relay;
      list.push(view);
    }
    return list;
  }

  /** The voter (other than us) holding the most of the log, if any. */
  mostCaughtUp(voters: readonly MemberId[]): Progress | undefined {
    let best: Progress | undefined;
    for (const voter of voters) {
      const pr = this.progress.get(voter);
      if (pr !== undefined && (best === undefined || pr.match > best.match)) best = pr;
    }
    return best;
  }

  // ------------------------------------------------------------------ sending

  broadcastAppends(): void {
    for (const pr of this.progress.values()) this.sendAppend(pr);
  }

  /**
   * A relay's set of learners (relay-feeds.ts): progress kept for those still listed, new ones
   * probed from just after what may be sent, the rest forgotten.
   */
  track(term: number, members: readonly MemberId[]): void {
    this.term = term;
    const keep = new Set(members);
    for (const member of this.progress.keys()) if (!keep.has(member)) this.progress.delete(member);
    const next = this.lastSendable() + 1;
    for (const member of members) {
      if (member !== this.id && !this.progress.has(member)) {
        this.progress.set(member, new Progress(member, true, next, this.cfg.maxInflightAppends));
      }
    }
  }

  get size(): number {
    return this.progress.size;
  }

  private lastSendable(): number {
    return this.host.lastSendable ? this.host.lastSendable() : this.log.lastIndex;
  }

  /** Sends as much of the log as flow control allows (one probe, or up to the inflight window). */
  sendAppend(pr: Progress): void {
    if (pr.relay !== '') return; // a relay feeds it
    for (;;) {
      if (pr.isPaused()) return;
      const last = this.lastSendable();
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
      this.host.sendEarly({
        type: 'append',
        from: this.id,
        to: pr.member,
        term: this.term,
        logTerm: prevTerm,
        index: prevIndex,
        entries,
        commit: this.host.commitIndex(),
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

  /** One heartbeat to everyone (carrying the newest pending read round), resending stalled snapshot chunks. */
  broadcastHeartbeats(readRound: number, relayListFor?: (member: MemberId) => MemberId[] | undefined): void {
    const now = this.host.now();
    for (const pr of this.progress.values()) {
      if (pr.removedAt > 0 && pr.match >= pr.removedAt && pr.sentCommit >= pr.removedAt) {
        this.progress.delete(pr.member); // it knows it was removed: stop talking to it
        continue;
      }
      const relayTo = relayListFor?.(pr.member);
      this.sendHeartbeat(pr, readRound, relayTo === undefined ? undefined : { relayTo });
      if (pr.state === 'snapshot' && now - pr.snapshotSentTick >= this.cfg.electionTimeoutTicks) {
        this.sendSnapshotChunk(pr); // the last chunk (or its ack) got lost
      }
    }
  }

  sendHeartbeat(pr: Progress, readRound: number, extra?: Pick<Message, 'relayTo'>): void {
    if (pr.relay !== '') return; // a relay feeds it
    const commit = Math.min(this.host.commitIndex(), pr.match);
    const m: Message = { type: 'heartbeat', from: this.id, to: pr.member, term: this.term, commit };
    if (commit > pr.sentCommit) pr.sentCommit = commit;
    if (readRound > 0) m.readRound = readRound;
    // In replicate state the follower should hold everything sent before this heartbeat.
    if (pr.state === 'replicate' && pr.next - 1 > pr.match) m.index = pr.next - 1;
    if (extra?.relayTo !== undefined) m.relayTo = extra.relayTo;
    this.host.sendEarly(m);
  }

  sendTimeoutNow(to: MemberId): void {
    this.host.sendEarly({ type: 'timeoutNow', from: this.id, to, term: this.term });
  }

  // ------------------------------------------------------------------ answers

  onAppendResponse(pr: Progress, m: Message): AppendAnswer {
    const index = m.index ?? 0;
    if (m.reject === true) return this.onAppendRejection(pr, m, index);
    if (index > this.log.lastIndex) return 'ignored'; // acknowledges entries we never had
    // In probe state an answer equal to match also ends the probe (e.g. the empty probe after a snapshot).
    const probeAnswered = pr.state === 'probe' && index === pr.match;
    if (pr.maybeUpdate(index) || probeAnswered) {
      if (pr.state === 'probe') pr.becomeReplicate();
      else if (pr.state === 'snapshot' && pr.match >= pr.pendingSnapshot) pr.becomeProbe();
      else if (pr.state === 'replicate') pr.inflights.freeTo(index);
      return 'advanced';
    }
    if (pr.state === 'replicate') pr.inflights.freeTo(index);
    return 'accepted';
  }

  /** Backs `next` off, skipping a whole conflicting term when the follower sent a hint. */
  private onAppendRejection(pr: Progress, m: Message, rejected: number): AppendAnswer {
    if (pr.state === 'snapshot') return 'ignored';
    if (pr.state === 'replicate' ? rejected <= pr.match : rejected !== pr.next - 1) return 'ignored'; // stale
    let probeFrom = m.rejectHint ?? rejected;
    if ((m.hintTerm ?? 0) > 0) probeFrom = this.log.findConflictByTerm(probeFrom, m.hintTerm as number);
    if (pr.state === 'replicate') pr.becomeProbe();
    pr.next = Math.max(pr.match + 1, Math.min(rejected, probeFrom + 1));
    pr.probeSent = false;
    return 'accepted';
  }

  /**
   * Reads a heartbeat answer: a newer read round acknowledged, a match learned from the member's
   * last (index, term), a lost append (probe again). The caller sends what is due afterwards.
   */
  onHeartbeatResponse(pr: Progress, m: Message): { readAcked: boolean; matchAdvanced: boolean } {
    let readAcked = false;
    if (m.readRound !== undefined && m.readRound > pr.readAck) {
      pr.readAck = m.readRound;
      readAcked = true;
    }
    let matchAdvanced = false;
    const claimed = m.index ?? 0;
    if (claimed > pr.match && m.logTerm !== undefined) {
      if (this.log.term(claimed) === m.logTerm) {
        // Same entry at the same index: by Log Matching the member holds our log up to there.
        matchAdvanced = pr.maybeUpdate(claimed);
        if (pr.state === 'replicate') pr.inflights.freeTo(claimed);
        else if (pr.state === 'probe') pr.becomeReplicate();
        else if (pr.match >= pr.pendingSnapshot) pr.becomeProbe();
      } else if (pr.state === 'replicate') {
        // It holds entries we cannot vouch for (compacted here, or not ours): find out by probing.
        pr.becomeProbe();
      }
    }
    // A gap below what we sent before the heartbeat: an append was lost, so probe again.
    if (pr.state === 'replicate' && m.reject === true && (m.rejectHint ?? 0) < pr.next - 1) pr.becomeProbe();
    if (pr.state === 'probe') pr.probeSent = false;
    return { readAcked, matchAdvanced };
  }

  /** 'advanced' once the whole snapshot is installed (match = its index). */
  onSnapshotResponse(pr: Progress, m: Message): AppendAnswer {
    const chunk = m.snapshot;
    if (chunk === undefined || pr.state !== 'snapshot' || chunk.meta.index !== pr.pendingSnapshot) return 'ignored';
    if (chunk.done) {
      pr.maybeUpdate(chunk.meta.index);
      pr.becomeProbe();
      return 'advanced';
    }
    // An ack of the offset we already continued from is a duplicate (of a resent chunk): answering
    // it again would start a second, parallel stream of chunks. A lost chunk is resent on a timer.
    if (chunk.offset === pr.snapshotOffset) return 'ignored';
    pr.snapshotOffset = chunk.offset;
    this.sendSnapshotChunk(pr);
    return 'accepted';
  }

  /** The transport could not deliver: stop pipelining, or resend the snapshot from the last ack. */
  reportUnreachable(member: MemberId): void {
    const pr = this.progress.get(member);
    if (pr === undefined) return;
    if (pr.state === 'replicate') pr.becomeProbe();
    else if (pr.state === 'snapshot') pr.snapshotSentTick = -Infinity; // resent at the next heartbeat
  }

  // ------------------------------------------------------------------ snapshots

  private startSnapshot(pr: Progress): void {
    const snap = this.host.latestSnapshot();
    invariant(snap !== null, () => `raft invariant: ${pr.member} needs index ${pr.next} but the log starts at ${this.log.firstIndex} and there is no snapshot`);
    pr.becomeSnapshot(snap.meta.index);
    this.sendSnapshotChunk(pr);
  }

  private sendSnapshotChunk(pr: Progress): void {
    const snap = this.host.latestSnapshot() as Snapshot;
    if (snap.meta.index !== pr.pendingSnapshot) pr.becomeSnapshot(snap.meta.index); // compacted again since
    const total = snap.data.byteLength;
    const offset = Math.min(pr.snapshotOffset, total);
    const end = Math.min(offset + this.cfg.snapshotChunkBytes, total);
    pr.snapshotSentTick = this.host.now();
    this.host.sendEarly({
      type: 'snapshot',
      from: this.id,
      to: pr.member,
      term: this.term,
      snapshot: { meta: snap.meta, offset, totalBytes: total, data: snap.data.subarray(offset, end), done: end === total },
    });
  }
}
