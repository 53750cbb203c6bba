// A cluster of real replica runtimes on virtual time: a manual clock, an in-test network that can
// cut links, and the in-memory store. Used by the replica and write-path tests.
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { seededRandom } from '../../consensus/prng.js';
import type { Clock, LogStore, StateMachine, TimerHandle, Transport, WireMessage } from '../../consensus/ports.js';
import { silentLogger } from '../../consensus/ports.js';
import { Replica, type ReplicaConfig, type ReplicaHooks } from '../../consensus/replica.js';
import type { MemberId } from '../../consensus/types.js';
import { MemoryLogStore } from '../../storage/memory-store.js';

interface Timer {
  at: number;
  seq: number;
  fn: () => void;
  cancelled: boolean;
}

/** Virtual milliseconds; `advance` fires due timers in order and lets promises settle between them. */
export class ManualClock implements Clock {
  private nowMs = 0;
  private seq = 0;
  private timers: Timer[] = [];

  now(): number {
    return this.nowMs;
  }

  setTimer(delayMs: number, callback: () => void): TimerHandle {
    const timer: Timer = { at: this.nowMs + Math.max(0, delayMs), seq: this.seq++, fn: callback, cancelled: false };
    this.timers.push(timer);
    return { cancel: () => void (timer.cancelled = true) };
  }

  async advance(ms: number): Promise<void> {
    const target = this.nowMs + ms;
    for (;;) {
      await settle();
      const next = this.takeNextDue(target);
      if (!next) break;
      this.nowMs = next.at;
      next.fn();
    }
    this.nowMs = target;
    await settle();
  }

  private takeNextDue(limit: number): Timer | undefined {
    this.timers = this.timers.filter((t) => !t.cancelled);
    let best: Timer | undefined;
    for (const t of this.timers) if (t.at <= limit && (!best || t.at < best.at || (t.at === best.at && t.seq < best.seq))) best = t;
    if (best) this.timers.splice(this.timers.indexOf(best), 1);
    return best;
  }
}

async function settle(): Promise<void> {
  // Two turns: a store write resolves, then the replica's continuation schedules more microtasks.
  await yieldToEventLoop();
  await yieldToEventLoop();
}

/** Delivers after `latencyMs`; links can be cut in one or both directions. */
export class TestNetwork {
  private readonly handlers = new Map<MemberId, (from: MemberId, m: WireMessage) => void>();
  private readonly unreachableHandlers = new Map<MemberId, (member: MemberId) => void>();
  private readonly blocked = new Set<string>();
  delivered = 0;
  /** Sees every message sent (before the network decides whether it arrives). */
  onSend: ((from: MemberId, to: MemberId, message: WireMessage) => void) | null = null;

  constructor(private readonly clock: ManualClock, private readonly latencyMs = 5) {}

  transportFor(self: MemberId): Transport {
    return {
      send: (to, message) => this.send(self, to, message),
      onMessage: (h) => void this.handlers.set(self, h),
      onUnreachable: (h) => void this.unreachableHandlers.set(self, h),
    };
  }

  /** Cuts every link to and from `site`. */
  isolate(site: MemberId, others: MemberId[]): void {
    for (const o of others) if (o !== site) this.cut(site, o);
  }

  cut(a: MemberId, b: MemberId, oneWay = false): void {
    this.blocked.add(`${a}>${b}`);
    if (!oneWay) this.blocked.add(`${b}>${a}`);
  }

  healAll(): void {
    this.blocked.clear();
  }

  detach(site: MemberId): void {
    this.handlers.delete(site);
  }

  /** Delivers `message` as if `from` had sent it now (a copy the network made, say). */
  inject(from: MemberId, to: MemberId, message: WireMessage): void {
    this.send(from, to, message);
  }

  private send(from: MemberId, to: MemberId, message: WireMessage): void {
    this.onSend?.(from, to, message);
    if (this.blocked.has(`${from}>${to}`)) return;
    this.clock.setTimer(this.latencyMs, () => {
      if (this.blocked.has(`${from}>${to}`)) return;
      const h = this.handlers.get(to);
      if (!h) return;
      this.delivered += 1;
      h(from, message);
    });
  }
}

export interface TestSite<SM extends StateMachine> {
  name: MemberId;
  store: MemoryLogStore;
  sm: SM;
  replica: Replica;
}

export interface ClusterOptions<SM extends StateMachine> {
  voters: MemberId[];
  learners?: MemberId[];
  makeStateMachine: (site: MemberId) => SM;
  seed?: number;
  tickMs?: number;
  replica?: Partial<ReplicaConfig>;
  /** The runtime's hooks for one site (none by default). */
  hooks?: (site: MemberId) => ReplicaHooks;
  /** The store the replica writes through (default: the site's MemoryLogStore itself), e.g. a slow disk. */
  storeFor?: (site: MemberId, store: MemoryLogStore, clock: ManualClock) => LogStore;
}

export class TestCluster<SM extends StateMachine> {
  readonly clock = new ManualClock();
  readonly net: TestNetwork;
  readonly sites = new Map<MemberId, TestSite<SM>>();
  private readonly opts: ClusterOptions<SM>;
  private readonly random: () => number;

  constructor(opts: ClusterOptions<SM>) {
    this.opts = opts;
    this.net = new TestNetwork(this.clock);
    this.random = seededRandom(opts.seed ?? 1);
  }

  get names(): MemberId[] {
    return [...this.opts.voters, ...(this.opts.learners ?? [])];
  }

  async start(): Promise<void> {
    for (const name of this.names) await this.startSite(name, new MemoryLogStore());
  }

  async startSite(name: MemberId, store: MemoryLogStore, bootstrap = true): Promise<TestSite<SM>> {
    const sm = this.opts.makeStateMachine(name);
    const seed = Math.floor(this.random() * 2 ** 31);
    const replica = await Replica.open(
      {
        id: name,
        tickMs: this.opts.tickMs ?? 100,
        random: seededRandom(seed),
        bootstrap: bootstrap ? { voters: this.opts.voters, learners: this.opts.learners } : undefined,
        ...this.opts.replica,
      },
      { clock: this.clock, store: this.opts.storeFor?.(name, store, this.clock) ?? store, transport: this.net.transportFor(name), stateMachine: sm, logger: silentLogger, hooks: this.opts.hooks?.(name) },
    );
    replica.start();
    const site = { name, store, sm, replica };
    this.sites.set(name, site);
    return site;
  }

  site(name: MemberId): TestSite<SM> {
    const s = this.sites.get(name);
    if (!s) throw new Error(`no site ${name}`);
    return s;
  }

  leader(): TestSite<SM> | undefined {
    let best: TestSite<SM> | undefined;
    for (const s of this.sites.values()) {
      const st = s.replica.status();
      if (s.replica.isStopped || st.role !== 'leader') continue;
      if (!best || st.term > best.replica.status().term) best = s;
    }
    return best;
  }

  /** Advances time until a leader exists (or fails after `limitMs`). */
  async waitForLeader(limitMs = 20_000): Promise<TestSite<SM>> {
    for (let t = 0; t < limitMs; t += 100) {
      const l = this.leader();
      if (l && l.replica.status().commit > 0 && l.replica.appliedIndex >= l.replica.status().commit) return l;
      await this.clock.advance(100);
    }
    throw new Error(`no leader within ${limitMs} virtual ms`);
  }

  /** Runs a promise to completion while advancing virtual time. */
  async run<T>(promise: Promise<T>, limitMs = 60_000): Promise<T> {
    let done = false;
    let value!: T;
    void promise.then((v) => {
      done = true;
      value = v;
    });
    for (let t = 0; t < limitMs && !done; t += 10) await this.clock.advance(10);
    if (!done) throw new Error(`operation did not finish within ${limitMs} virtual ms`);
    return value;
  }

  /** Stops a site as a crash would: unsynced store writes are lost. */
  async crash(name: MemberId): Promise<MemoryLogStore> {
    const s = this.site(name);
    this.net.detach(name);
    await s.replica.stop();
    s.store.crash();
    return s.store;
  }

  async stopAll(): Promise<void> {
    for (const s of this.sites.values()) await s.replica.stop();
  }
}
