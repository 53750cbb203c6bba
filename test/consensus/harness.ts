// An in-test Raft cluster: N real cores, each with a MemoryDisk standing for what it persisted, wired
// by a deterministic Bus. The harness is the runtime of consensus/types.ts's Ready contract (send
// messagesEarly, persist, send messages, apply, advance) and checks the safety invariants on every
// step, tick, persist and apply (invariants.ts). A crash throws the Raft object away and keeps the
// disk; a restart rebuilds the core from the disk, so anything not persisted is lost.
import { DEFAULT_RAFT_CONFIG, type ProposeResult, type RaftBootState, type RaftConfig } from '../../consensus/api.js';
import { bootstrapState, emptyBootState } from '../../consensus/bootstrap.js';
import { decodeConfChange } from '../../consensus/confchange.js';
import { Raft } from '../../consensus/raft.js';
import type { ConfChange, ConfState, Entry, MemberId, Message, ReadState, Ready, SnapshotMeta } from '../../consensus/types.js';
import { EntryType } from '../../consensus/types.js';
import { Bus, NO_FAULTS, type BusFaults } from './bus.js';
import { encodeStateImage, HarnessError, MemoryDisk } from './disk.js';
import { InvariantViolation, SafetyChecker } from './invariants.js';
import { fnv1a, seededUniform } from './rng.js';

export { Bus, NO_FAULTS, type BusFaults } from './bus.js';
export { HarnessError, MemoryDisk } from './disk.js';
export { InvariantViolation, SafetyChecker } from './invariants.js';

export type CoreConfig = Omit<RaftConfig, 'id' | 'random'>;

/** Where a scheduled crash hits inside the next Ready: before or after its writes are durable. */
export type CrashPoint = 'beforePersist' | 'afterPersist';

export interface ClusterOptions {
  voters: MemberId[];
  learners?: MemberId[];
  seed: number;
  config?: Partial<CoreConfig>;
  faults?: BusFaults;
  /** Deep-copy messages between members, as a real transport would (default true). */
  cloneMessages?: boolean;
  /** Extra bytes in every snapshot image compact() makes (to see a transfer in many chunks). */
  imagePadBytes?: number;
}

export interface ObservedReadState extends ReadState {
  /** Bus step at which the Ready carrying it was handled. */
  at: number;
}

export interface Member {
  readonly id: MemberId;
  /** null while crashed. */
  raft: Raft | null;
  readonly disk: MemoryDisk;
  incarnation: number;
  /** Set by crash(id, point): the next Ready crashes the member at that point. */
  crashPoint: CrashPoint | null;
  /** Bus steps a Ready's write takes (0 = done at once). While it is in flight the member keeps
   *  stepping messages and ticking, as the replica runtime does while awaiting its store. */
  diskDelaySteps: number;
  /** The Ready handed out and not yet advanced (its write in flight). */
  inflight: { ready: Ready; doneAt: number } | null;
  /** Highest commit index whose entries were recorded as committed (this incarnation). */
  commitSeen: number;
  /** The commit index must never go below this (this incarnation). */
  commitFloor: number;
  readonly readStates: ObservedReadState[];
  readiesHandled: number;
}

/** Bound on rounds of settle(): a cluster that never goes quiet without ticks has a message loop. */
export const MAX_SETTLE_ROUNDS = 2_000;
const MAJORITY = (n: number): number => Math.floor(n / 2) + 1;

const encoder = new TextEncoder();
const decoder = new TextDecoder();
export const utf8 = (text: string): Uint8Array => encoder.encode(text);
export const text = (data: Uint8Array): string => decoder.decode(data);

/** Applies one membership step to a ConfState, as the one-voter-at-a-time rule defines it. */
export function applyConfChange(conf: ConfState, change: ConfChange): ConfState {
  const voters = conf.voters.filter((m) => m !== change.member);
  const learners = conf.learners.filter((m) => m !== change.member);
  if (change.type === 'addVoter' || change.type === 'promote') voters.push(change.member);
  if (change.type === 'addLearner' || change.type === 'demote') learners.push(change.member);
  return { voters: voters.sort(), learners: learners.sort() };
}

export class Cluster {
  readonly bus: Bus;
  readonly checker = new SafetyChecker();
  readonly members = new Map<MemberId, Member>();
  readonly seed: number;
  config: CoreConfig;
  /** Test hook: every Ready a member hands out, before the harness handles it. */
  onReady: ((id: MemberId, ready: Ready) => void) | null = null;
  /** Test hook: right after a member's advance(), where a runtime would compact. */
  onAdvance: ((id: MemberId) => void) | null = null;
  private readonly cloneMessages: boolean;
  private readonly imagePadBytes: number;

  constructor(opts: ClusterOptions) {
    this.seed = opts.seed;
    this.config = { ...DEFAULT_RAFT_CONFIG, ...opts.config };
    this.bus = new Bus(fnv1a('bus', opts.seed), opts.faults ?? NO_FAULTS);
    this.cloneMessages = opts.cloneMessages ?? true;
    this.imagePadBytes = opts.imagePadBytes ?? 0;
    const learners = opts.learners ?? [];
    for (const id of [...opts.voters, ...learners]) this.addMember(id, bootstrapState(opts.voters, learners));
  }

  // ------------------------------------------------------------ members

  /** Starts a member from `boot` (a new site joining uses emptyBootState()). */
  addMember(id: MemberId, boot: RaftBootState = emptyBootState()): Member {
    if (this.members.has(id)) throw new HarnessError(`member ${id} already exists`);
    const m: Member = {
      id,
      raft: null,
      disk: MemoryDisk.fromBoot(boot),
      incarnation: 0,
      crashPoint: null,
      diskDelaySteps: 0,
      inflight: null,
      commitSeen: 0,
      commitFloor: 0,
      readStates: [],
      readiesHandled: 0,
    };
    this.members.set(id, m);
    this.start(m);
    return m;
  }

  member(id: MemberId): Member {
    const m = this.members.get(id);
    if (!m) throw new HarnessError(`no member ${id}`);
    return m;
  }

  raft(id: MemberId): Raft {
    const r = this.member(id).raft;
    if (!r) throw new HarnessError(`member ${id} is crashed`);
    return r;
  }

  live(): Member[] {
    return [...this.members.values()].filter((m) => m.raft !== null);
  }

  ids(): MemberId[] {
    return [...this.members.keys()];
  }

  /** Crash now (lose everything not persisted), or at a point inside the member's next Ready. */
  crash(id: MemberId, point: CrashPoint | 'now' = 'now'): void {
    const m = this.member(id);
    if (point !== 'now') {
      m.crashPoint = point;
      return;
    }
    m.raft = null;
    m.inflight = null; // a write in flight when the member dies never became durable
  }

  restart(id: MemberId): void {
    const m = this.member(id);
    if (m.raft) throw new HarnessError(`member ${id} is running`);
    this.start(m);
  }

  /** The live leader of the highest term, if any. */
  leader(): MemberId | undefined {
    let best: { id: MemberId; term: number } | undefined;
    for (const m of this.live()) {
      const s = m.raft!.status();
      if (s.role === 'leader' && (!best || s.term > best.term)) best = { id: m.id, term: s.term };
    }
    return best?.id;
  }

  // ------------------------------------------------------------ inputs

  tick(id: MemberId): void {
    const m = this.member(id);
    if (!m.raft) return;
    m.raft.tick();
    this.observe(m);
  }

  tickAll(): void {
    for (const m of this.live()) this.tick(m.id);
  }

  propose(data: string | Uint8Array, at?: MemberId): ProposeResult {
    const id = at ?? this.leader();
    if (id === undefined) return { ok: false, reason: 'notLeader', leader: '' };
    const m = this.member(id);
    const result = this.raft(id).propose(typeof data === 'string' ? utf8(data) : data);
    this.observe(m);
    return result;
  }

  proposeConfChange(change: ConfChange, at?: MemberId): ProposeResult {
    const id = at ?? this.leader();
    if (id === undefined) return { ok: false, reason: 'notLeader', leader: '' };
    const result = this.raft(id).proposeConfChange(change);
    this.observe(this.member(id));
    return result;
  }

  /** Was the entry (index, term) seen committed by any member? */
  isCommitted(index: number, term: number): boolean {
    return this.checker.committed.get(index)?.term === term;
  }

  /** Compacts `id` at its applied index with the harness state image; mirrors it on the disk. */
  compact(id: MemberId, retainEntries: number): number {
    const m = this.member(id);
    const raft = this.raft(id);
    const index = m.disk.appliedIndex;
    const data = encodeStateImage({ index, hash: m.disk.stateHash }, this.imagePadBytes);
    const meta: SnapshotMeta | void = raft.compact(index, data, retainEntries);
    if (!meta) throw new InvariantViolation(`${id}: compact() returned no SnapshotMeta (api.ts: it returns the snapshot it made)`);
    const term = m.disk.term(index);
    if (meta.index !== index || (term !== undefined && meta.term !== term)) {
      throw new InvariantViolation(`${id}: compact(${index}) returned meta (${meta.index}, term ${meta.term}), disk has term ${term}`);
    }
    const expected = this.confAt(m.disk, index);
    if (expected && !sameConf(expected, meta.conf)) {
      throw new InvariantViolation(
        `${id}: compact(${index}) returned conf ${JSON.stringify(meta.conf)}, log says ${JSON.stringify(expected)}`,
      );
    }
    m.disk.compact(meta, data, index - retainEntries + 1);
    this.checker.noteStateHash(id, index, m.disk.stateHash);
    this.observe(m);
    return index;
  }

  // ------------------------------------------------------------ driving

  /** Delivers the messages due at this bus step. */
  deliverDue(): number {
    const due = this.bus.takeDue();
    for (const msg of due) this.deliver(msg);
    return due.length;
  }

  /** Each live member completes a due write and hands out at most one new Ready. */
  handleReadies(): void {
    for (const m of this.members.values()) this.handleReady(m);
  }

  /** One bus step: deliver what is due, handle Readies, advance the bus clock. */
  round(): void {
    this.deliverDue();
    this.handleReadies();
    this.bus.now++;
  }

  /**
   * Runs rounds without ticking until no message is in flight and no Ready is pending. Without
   * ticks a correct core goes quiet, so by default not settling is an error (a message loop);
   * `strict: false` just stops after maxRounds (a test whose network rewrites messages).
   */
  settle(maxRounds = MAX_SETTLE_ROUNDS, strict = true): number {
    for (let rounds = 0; rounds < maxRounds; rounds++) {
      if (this.bus.pending() === 0 && !this.anyReady()) return rounds;
      this.round();
    }
    if (!strict) return maxRounds;
    throw new HarnessError(`cluster did not settle within ${maxRounds} rounds (an endless message exchange without ticks)`);
  }

  /** `ticks` times: tick every live member, then settle. */
  runTicks(ticks: number): void {
    for (let i = 0; i < ticks; i++) {
      this.tickAll();
      this.settle();
    }
  }

  /** Ticks and settles until `done()` holds; throws naming `what` after maxTicks. */
  waitFor(what: string, done: () => boolean, maxTicks = 300): number {
    for (let ticks = 0; ticks <= maxTicks; ticks++) {
      this.settle();
      if (done()) return ticks;
      this.tickAll();
    }
    throw new HarnessError(`timed out after ${maxTicks} ticks waiting for ${what} (seed ${this.seed})`);
  }

  /** Waits for a live leader that every live voter of its conf follows. */
  electLeader(maxTicks = 300): MemberId {
    let leader: MemberId | undefined;
    this.waitFor('a leader', () => {
      leader = this.leader();
      if (leader === undefined) return false;
      const { term } = this.raft(leader).status();
      return this.live().every((m) => {
        const s = m.raft!.status();
        return s.term === term || !this.raft(leader!).conf().voters.includes(m.id);
      });
    }, maxTicks);
    return leader!;
  }

  /** Ticks only `id` (everyone else's clock stands still) until it leads: an election it must win. */
  campaignByTicking(id: MemberId, maxTicks = 300, settleRounds?: number): number {
    for (let ticks = 0; ticks <= maxTicks; ticks++) {
      if (settleRounds === undefined) this.settle();
      else this.settle(settleRounds, false);
      if (this.raft(id).status().role === 'leader') return this.raft(id).status().term;
      this.tick(id);
    }
    throw new HarnessError(`${id} did not win an election within ${maxTicks} of its ticks (seed ${this.seed})`);
  }

  /** Crash and restart (nothing unpersisted to lose once settled): clears leader leases and progress. */
  reboot(...ids: MemberId[]): void {
    for (const id of ids) {
      this.crash(id);
      this.restart(id);
    }
  }

  /** Proposes at the leader and waits until the entry is seen committed; returns its index. */
  write(data: string, maxTicks = 300): { index: number; term: number } {
    const result = this.propose(data);
    if (!result.ok) throw new HarnessError(`proposal "${data}" refused: ${result.reason} ${result.detail ?? ''}`);
    this.waitFor(`"${data}" to commit`, () => this.isCommitted(result.index, result.term), maxTicks);
    return { index: result.index, term: result.term };
  }

  /** Waits until every live member has applied through `index`. */
  waitApplied(index: number, ids: MemberId[] = this.live().map((m) => m.id), maxTicks = 300): void {
    this.waitFor(`${ids.join(',')} to apply ${index}`, () => ids.every((id) => this.member(id).disk.appliedIndex >= index), maxTicks);
  }

  // ------------------------------------------------------------ internals

  private start(m: Member): void {
    const boot = m.disk.bootState();
    const random = seededUniform(fnv1a(`${m.id}#${m.incarnation}`, this.seed));
    m.raft = new Raft({ ...this.config, id: m.id, random }, boot);
    m.incarnation++;
    m.crashPoint = null;
    m.inflight = null;
    m.commitSeen = 0;
    m.commitFloor = m.disk.appliedIndex;
    this.observe(m);
  }

  private anyReady(): boolean {
    for (const m of this.members.values()) if (m.raft && (m.inflight !== null || m.raft.hasReady())) return true;
    return false;
  }

  private deliver(msg: Message): void {
    const m = this.members.get(msg.to);
    if (!m?.raft) return;
    m.raft.step(this.cloneMessages ? structuredClone(msg) : msg);
    this.observe(m);
  }

  private send(from: Member, msg: Message): void {
    if (msg.from !== from.id) throw new InvariantViolation(`${from.id} sent a message claiming to be from ${msg.from}`);
    if (msg.to === from.id) throw new InvariantViolation(`${from.id} sent a ${msg.type} to itself`);
    this.bus.send(msg);
  }

  /** Completes a write that is due, then hands out the next Ready if there is one. */
  private handleReady(m: Member): void {
    if (m.inflight && m.inflight.doneAt <= this.bus.now) this.finishReady(m);
    const raft = m.raft;
    if (!raft || m.inflight || !raft.hasReady()) return;
    const rd = raft.ready();
    m.readiesHandled++;
    this.onReady?.(m.id, rd);
    for (const msg of rd.messagesEarly) this.send(m, msg);
    if (m.crashPoint === 'beforePersist') return this.crash(m.id);
    m.inflight = { ready: rd, doneAt: this.bus.now + m.diskDelaySteps };
    if (m.diskDelaySteps === 0) this.finishReady(m);
  }

  /** The write is durable: send what depended on it, apply, answer reads, advance. */
  private finishReady(m: Member): void {
    const raft = m.raft!;
    const rd = m.inflight!.ready;
    m.inflight = null;
    this.persist(m, rd);
    if (m.crashPoint === 'afterPersist') return this.crash(m.id);
    for (const msg of rd.messages) this.send(m, msg);
    for (const e of rd.committedEntries) this.apply(m, e);
    for (const rs of rd.readStates) m.readStates.push({ ...rs, at: this.bus.now });
    raft.advance(rd);
    this.observe(m);
    this.onAdvance?.(m.id);
  }

  private persist(m: Member, rd: Ready): void {
    if (rd.snapshot) {
      m.disk.installSnapshot(rd.snapshot);
      this.checker.noteStateHash(m.id, rd.snapshot.meta.index, m.disk.stateHash);
    }
    if (rd.entries.length > 0) {
      const prevTerms = m.disk.append(rd.entries);
      rd.entries.forEach((e, i) => this.checker.notePersistedEntry(m.id, e, prevTerms[i]));
    }
    if (rd.hardState) {
      this.checker.notePersistedHardState(m.id, m.disk.hardState, rd.hardState);
      m.disk.hardState = { ...rd.hardState };
    }
  }

  private apply(m: Member, e: Entry): void {
    if (e.index !== m.disk.appliedIndex + 1) {
      throw new InvariantViolation(`${m.id}: committed entry ${e.index} handed out after applied ${m.disk.appliedIndex}`);
    }
    if (m.disk.entry(e.index)?.term !== e.term) {
      throw new InvariantViolation(`${m.id}: applying entry (${e.index}, term ${e.term}) that is not persisted`);
    }
    this.checker.noteApplied(m.id, e);
    m.disk.apply(e);
    this.checker.noteStateHash(m.id, e.index, m.disk.stateHash);
  }

  /** Checks what can be checked from the member's status after any input. */
  private observe(m: Member): void {
    const raft = m.raft;
    if (!raft) return;
    const s = raft.status();
    if (s.commit < m.commitFloor) throw new InvariantViolation(`${m.id}: commit index went down ${m.commitFloor} -> ${s.commit}`);
    if (s.commit > s.lastIndex) throw new InvariantViolation(`${m.id}: commit ${s.commit} beyond last index ${s.lastIndex}`);
    m.commitFloor = s.commit;
    if (this.checker.noteStatus(m.id, s)) {
      this.checker.checkLeaderCompleteness(m.id, s.term, s.firstIndex, s.lastIndex, (lo, hi) => raft.entries(lo, hi));
    }
    if (s.commit > m.commitSeen) this.recordCommits(m, raft, s.commit, s.firstIndex, s.role === 'leader');
  }

  private recordCommits(m: Member, raft: Raft, commit: number, firstIndex: number, isLeader: boolean): void {
    const lo = Math.max(m.commitSeen + 1, firstIndex);
    const fresh = lo <= commit ? raft.entries(lo, commit + 1) : [];
    this.checker.noteCommitted(m.id, fresh);
    if (isLeader) {
      const voters = raft.conf().voters;
      for (const e of fresh) {
        const holders = voters.filter((v) => this.members.get(v)?.disk.covers(e.index, e.term)).length;
        if (holders < MAJORITY(voters.length)) {
          throw new InvariantViolation(
            `${m.id} reports (${e.index}, term ${e.term}) committed but only ${holders} of voters [${voters}] persisted it`,
          );
        }
      }
    }
    m.commitSeen = commit;
  }

  /** Membership at `index` from the disk: the snapshot's, then every ConfChange entry up to index. */
  private confAt(disk: MemoryDisk, index: number): ConfState | undefined {
    let conf = disk.snapshot?.meta.conf;
    for (const e of disk.entries) {
      if (e.index > index) break;
      if (e.type !== EntryType.ConfChange || e.index <= disk.snapshotIndex()) continue;
      conf = applyConfChange(conf ?? { voters: [], learners: [] }, decodeConfChange(e.data));
    }
    return conf;
  }
}

export function sameConf(a: ConfState, b: ConfState): boolean {
  const norm = (c: ConfState) => JSON.stringify([[...c.voters].sort(), [...c.learners].sort()]);
  return norm(a) === norm(b);
}
