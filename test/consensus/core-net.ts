// A tiny, synchronous network of Raft cores for the core-* tests: messages are queued and
// delivered by hand, every Ready is "persisted" at once (kept in a per-member store so tests can
// check what was durable when), and applied entries are recorded per member.
import { DEFAULT_RAFT_CONFIG, type RaftBootState, type RaftConfig } from '../../consensus/api.js';
import { bootstrapState, emptyBootState } from '../../consensus/bootstrap.js';
import { seededRandom } from '../../consensus/prng.js';
import { Raft } from '../../consensus/raft.js';
import type { Entry, HardState, MemberId, Message, ReadState, Ready, Snapshot } from '../../consensus/types.js';

export type ConfigOverrides = Partial<Omit<RaftConfig, 'id' | 'random'>>;

export function makeConfig(id: MemberId, seed: number, overrides: ConfigOverrides = {}): RaftConfig {
  return { ...DEFAULT_RAFT_CONFIG, id, random: seededRandom(seed), ...overrides };
}

/** What a member's disk holds, built only from Readies. */
export interface FakeStore {
  hardState: HardState;
  entries: Entry[];
  snapshot: Snapshot | null;
}

export type MessageFilter = (m: Message) => boolean;

export class Net {
  readonly nodes = new Map<MemberId, Raft>();
  readonly stores = new Map<MemberId, FakeStore>();
  readonly applied = new Map<MemberId, Entry[]>();
  readonly readStates = new Map<MemberId, ReadState[]>();
  readonly readies = new Map<MemberId, Ready[]>();
  /** Messages sent and not yet delivered, in send order. */
  queue: Message[] = [];
  /** Members cut off from everyone (messages to and from them are dropped). */
  readonly isolated = new Set<MemberId>();
  /** Extra drop rules; a message is dropped if any returns true. */
  readonly drops: MessageFilter[] = [];
  /** Every message that was delivered, for assertions. */
  delivered: Message[] = [];
  keepReadies = false;

  constructor(
    voters: MemberId[],
    readonly overrides: ConfigOverrides = {},
    learners: MemberId[] = [],
    seedBase = 1,
  ) {
    if (voters.length === 0) return; // members are added one by one with add()
    const boot = bootstrapState(voters, learners);
    [...voters, ...learners].forEach((id, i) => this.add(id, boot, seedBase + i));
  }

  add(id: MemberId, boot: RaftBootState = emptyBootState(), seed = 100 + this.nodes.size): Raft {
    const node = new Raft(makeConfig(id, seed, this.overrides), structuredBoot(boot));
    this.nodes.set(id, node);
    this.stores.set(id, { hardState: { ...boot.hardState }, entries: [...boot.entries], snapshot: boot.snapshot });
    this.applied.set(id, []);
    this.readStates.set(id, []);
    this.readies.set(id, []);
    return node;
  }

  node(id: MemberId): Raft {
    const n = this.nodes.get(id);
    if (!n) throw new Error(`no node ${id}`);
    return n;
  }

  /** Replaces a member by a fresh core booted from what its store holds (a crash and restart). */
  restart(id: MemberId, seed = 999): Raft {
    const store = this.stores.get(id) as FakeStore;
    const applied = this.applied.get(id) as Entry[];
    const node = new Raft(makeConfig(id, seed, this.overrides), {
      hardState: { ...store.hardState },
      snapshot: store.snapshot,
      entries: [...store.entries],
      applied: applied.length === 0 ? (store.snapshot?.meta.index ?? 0) : applied[applied.length - 1].index,
    });
    this.nodes.set(id, node);
    return node;
  }

  /** Handles one Ready of `id` if it has one; returns it. */
  processReady(id: MemberId): Ready | null {
    const node = this.node(id);
    if (!node.hasReady()) return null;
    const rd = node.ready();
    const store = this.stores.get(id) as FakeStore;
    for (const m of rd.messagesEarly) {
      if (!EARLY_TYPES.has(m.type)) throw new Error(`persistence contract: ${m.type} in messagesEarly`);
      // A heartbeat answer leaves before this Ready's write: what it claims must be durable already.
      if (m.type === 'heartbeatResp') {
        if (store.hardState.term !== m.term) throw new Error(`persistence contract: heartbeat answer in term ${m.term} sent before the term was durable`);
        checkDurableBeforeSend(m, store);
      }
    }
    this.queue.push(...rd.messagesEarly);
    if (rd.snapshot) {
      store.snapshot = rd.snapshot;
      store.entries = store.entries.filter((e) => e.index > (rd.snapshot as Snapshot).meta.index);
      if (store.entries.length > 0 && store.entries[0].index !== rd.snapshot.meta.index + 1) store.entries = [];
    }
    if (rd.entries.length > 0) {
      const first = rd.entries[0].index;
      const storedLast = store.entries.length > 0 ? store.entries[store.entries.length - 1].index : 0;
      if (first <= storedLast) store.entries = store.entries.filter((e) => e.index < first);
      for (const e of rd.entries) store.entries.push(e);
    }
    if (rd.hardState) store.hardState = { ...rd.hardState };
    for (const m of rd.messages) checkDurableBeforeSend(m, store);
    this.queue.push(...rd.messages);
    const applied = this.applied.get(id) as Entry[];
    for (const e of rd.committedEntries) applied.push(e);
    (this.readStates.get(id) as ReadState[]).push(...rd.readStates);
    if (this.keepReadies) (this.readies.get(id) as Ready[]).push(rd);
    node.advance(rd);
    return rd;
  }

  /** Handles Readies of every member until none has one. */
  processAllReadies(): void {
    for (let round = 0; round < 100; round++) {
      let any = false;
      for (const id of this.nodes.keys()) if (this.processReady(id)) any = true;
      if (!any) return;
    }
    throw new Error('readies did not settle');
  }

  isDropped(m: Message): boolean {
    return this.isolated.has(m.from) || this.isolated.has(m.to) || this.drops.some((f) => f(m)) || !this.nodes.has(m.to);
  }

  /** Delivers queued messages (and the ones they cause) until the network is quiet. */
  stabilize(maxMessages = 100_000): void {
    let count = 0;
    for (;;) {
      this.processAllReadies();
      if (this.queue.length === 0) return;
      const batch = this.queue;
      this.queue = [];
      for (const m of batch) {
        if (++count > maxMessages) throw new Error('network did not settle');
        if (this.isDropped(m)) continue;
        this.delivered.push(m);
        this.node(m.to).step(m);
      }
    }
  }

  /** Delivers only the currently queued messages (one hop), after handling pending Readies. */
  deliverOnce(): void {
    this.processAllReadies();
    const batch = this.queue;
    this.queue = [];
    for (const m of batch) {
      if (this.isDropped(m)) continue;
      this.delivered.push(m);
      this.node(m.to).step(m);
    }
  }

  tick(id: MemberId, times = 1): void {
    for (let i = 0; i < times; i++) this.node(id).tick();
  }

  tickAll(times = 1): void {
    for (let i = 0; i < times; i++) for (const n of this.nodes.values()) n.tick();
  }

  /** Ticks every member, delivering messages after each tick, `times` times. */
  run(times: number): void {
    for (let i = 0; i < times; i++) {
      this.tickAll();
      this.stabilize();
    }
  }

  /** Ticks `id` alone until it leaves the follower role, then lets the network settle. */
  campaign(id: MemberId): void {
    const node = this.node(id);
    for (let i = 0; i < 1000 && node.status().role === 'follower'; i++) node.tick();
    this.stabilize();
  }

  leaders(): MemberId[] {
    return [...this.nodes.entries()].filter(([id, n]) => !this.isolated.has(id) && n.status().role === 'leader').map(([id]) => id);
  }

  /** Proposes on `leader` and returns the index. */
  propose(leader: MemberId, text: string): number {
    const r = this.node(leader).propose(new TextEncoder().encode(text));
    if (!r.ok) throw new Error(`proposal refused: ${r.reason}`);
    return r.index;
  }

  /** Texts of the Normal, non-empty entries `id` applied, in order. */
  appliedTexts(id: MemberId): string[] {
    return (this.applied.get(id) as Entry[]).filter((e) => e.type === 0 && e.data.byteLength > 0).map((e) => new TextDecoder().decode(e.data));
  }
}

const EARLY_TYPES = new Set(['append', 'heartbeat', 'heartbeatResp', 'snapshot', 'timeoutNow']);

/** What a message claims must already be on the sender's disk when it leaves. */
function checkDurableBeforeSend(m: Message, store: FakeStore): void {
  const hs = store.hardState;
  if (m.type === 'vote' && (hs.term !== m.term || hs.vote !== m.from)) {
    throw new Error(`persistence contract: vote request for term ${m.term} sent before term/vote were durable`);
  }
  if (m.type === 'voteResp' && m.reject !== true && (hs.term !== m.term || hs.vote !== m.to)) {
    throw new Error(`persistence contract: vote for ${m.to} in term ${m.term} sent before it was durable`);
  }
  if (m.type === 'heartbeatResp') {
    const last = store.entries.length > 0 ? store.entries[store.entries.length - 1].index : (store.snapshot?.meta.index ?? 0);
    if ((m.index ?? 0) > Math.max(last, store.snapshot?.meta.index ?? 0)) {
      throw new Error(`persistence contract: heartbeat answer claims ${m.index} but only ${last} is durable`);
    }
    const held = store.entries.find((e) => e.index === m.index);
    if (held !== undefined && m.logTerm !== undefined && held.term !== m.logTerm) {
      throw new Error(`persistence contract: heartbeat answer claims term ${m.logTerm} at ${m.index}, the disk holds term ${held.term}`);
    }
  }
  if (m.type === 'appendResp' && m.reject !== true) {
    const last = store.entries.length > 0 ? store.entries[store.entries.length - 1].index : (store.snapshot?.meta.index ?? 0);
    if ((m.index ?? 0) > Math.max(last, store.snapshot?.meta.index ?? 0)) {
      throw new Error(`persistence contract: append acknowledged through ${m.index} but only ${last} is durable`);
    }
  }
}

function structuredBoot(boot: RaftBootState): RaftBootState {
  return { hardState: { ...boot.hardState }, snapshot: boot.snapshot, entries: [...boot.entries], applied: boot.applied };
}

export function text(s: string): Uint8Array {
  return new TextEncoder().encode(s);
}

export function entry(index: number, term: number, data = ''): Entry {
  return { index, term, type: 0, data: text(data) };
}

// ---------------------------------------------------------------- single-core helpers

/** A founding member of `voters` (plus `learners`), driven by hand. */
export function founder(id: MemberId, voters: MemberId[], overrides: ConfigOverrides = {}, learners: MemberId[] = [], seed = 7): Raft {
  return new Raft(makeConfig(id, seed, overrides), bootstrapState(voters, learners));
}

/** Takes and acknowledges the next Ready (as if persisted at once); an empty Ready if none. */
export function drain(node: Raft): Ready {
  if (!node.hasReady()) {
    return { entries: [], messagesEarly: [], messages: [], committedEntries: [], readStates: [], mustSync: false };
  }
  const rd = node.ready();
  node.advance(rd);
  return rd;
}

/** All messages of a Ready, early ones first. */
export function sent(rd: Ready): Message[] {
  return [...rd.messagesEarly, ...rd.messages];
}

/** Ticks `node` until its role changes from follower (bounded). Returns the ticks taken. */
export function tickUntilCampaign(node: Raft, limit = 1000): number {
  for (let i = 1; i <= limit; i++) {
    node.tick();
    if (node.status().role !== 'follower') return i;
  }
  throw new Error(`${node.id} did not campaign within ${limit} ticks`);
}

/**
 * Makes `node` (preVote off in its config, or not) leader of its cluster by answering its
 * campaign with grants from `grantors`. Returns the term it leads.
 */
export function electByHand(node: Raft, grantors: MemberId[]): number {
  tickUntilCampaign(node);
  if (node.status().role === 'preCandidate') {
    const term = node.status().term + 1;
    for (const g of grantors) node.step({ type: 'preVoteResp', from: g, to: node.id, term, reject: false });
  }
  const term = node.status().term;
  drain(node);
  for (const g of grantors) node.step({ type: 'voteResp', from: g, to: node.id, term, reject: false });
  if (node.status().role !== 'leader') throw new Error(`${node.id} did not win`);
  return term;
}
