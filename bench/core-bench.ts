// Benchmark of the Raft core alone, on one thread, no I/O: "persisting" appends to arrays.
//  - throughput: proposals committed per second through a 3-member cluster, 128 B and 4 KiB
//    entries, proposing a batch between message deliveries;
//  - step cost: ns per step() on the hot path (a follower handling a 1-entry append; a leader
//    handling an appendResp that advances its commit index).
// Each figure is measured RUNS times; the table shows the median and min/max.
// Run: npm run bench:core   (BENCH_RUN_MS=<ms> changes the length of one run)
import Table from 'cli-table3';
import { DEFAULT_RAFT_CONFIG } from '../consensus/api.js';
import { bootstrapState } from '../consensus/bootstrap.js';
import { seededRandom } from '../consensus/prng.js';
import { Raft } from '../consensus/raft.js';
import { EntryType, type Entry, type MemberId, type Message } from '../consensus/types.js';

const RUNS = 5;
const RUN_MS = Number(process.env.BENCH_RUN_MS ?? 1200);
/** Compact a member's log every this many applied entries, so memory stays bounded. */
const COMPACT_EVERY_ENTRIES = 8192;
/** Steps timed together (timing each call alone would measure the clock). */
const STEP_BATCH = 256;
/** Bound on delivery rounds when draining the cluster at the end of a run. */
const MAX_DRAIN_ROUNDS = 10_000;
const IDS: MemberId[] = ['a', 'b', 'c'];

// ------------------------------------------------------------------ an in-memory cluster

interface BenchMember {
  raft: Raft;
  /** Persisted log length only: the bench keeps no copies, the core keeps what it needs. */
  persistedLast: number;
  applied: number;
  appliedSinceCompact: number;
}

function newMember(id: MemberId, seed: number): BenchMember {
  const raft = new Raft({ ...DEFAULT_RAFT_CONFIG, id, random: seededRandom(seed) }, bootstrapState(IDS));
  return { raft, persistedLast: 0, applied: 0, appliedSinceCompact: 0 };
}

const EMPTY_IMAGE = new Uint8Array(0);

/** The runtime contract of a Ready with a no-op disk: send, "persist", send, apply, advance. */
function handleReady(m: BenchMember, outbox: Message[]): void {
  const rd = m.raft.ready();
  for (const msg of rd.messagesEarly) outbox.push(msg);
  if (rd.entries.length > 0) m.persistedLast = rd.entries[rd.entries.length - 1].index;
  for (const msg of rd.messages) outbox.push(msg);
  const n = rd.committedEntries.length;
  if (n > 0) {
    m.applied = rd.committedEntries[n - 1].index;
    m.appliedSinceCompact += n;
  }
  m.raft.advance(rd);
  if (m.appliedSinceCompact >= COMPACT_EVERY_ENTRIES) {
    m.raft.compact(m.applied, EMPTY_IMAGE, 0);
    m.appliedSinceCompact = 0;
  }
}

class BenchCluster {
  readonly members = new Map<MemberId, BenchMember>();
  private outbox: Message[] = [];

  constructor(seed: number) {
    IDS.forEach((id, i) => this.members.set(id, newMember(id, seed * 31 + i)));
  }

  /** One round: every member handles its Ready, then every queued message is delivered. */
  pump(): number {
    for (const m of this.members.values()) if (m.raft.hasReady()) handleReady(m, this.outbox);
    const batch = this.outbox;
    this.outbox = [];
    for (const msg of batch) this.members.get(msg.to)!.raft.step(msg);
    return batch.length;
  }

  drain(): void {
    for (let i = 0; i < MAX_DRAIN_ROUNDS; i++) {
      if (this.pump() === 0 && ![...this.members.values()].some((m) => m.raft.hasReady())) return;
    }
    throw new Error('bench cluster did not go quiet');
  }

  tickAll(): void {
    for (const m of this.members.values()) m.raft.tick();
  }

  electLeader(): BenchMember {
    for (let t = 0; t < 1000; t++) {
      this.tickAll();
      this.drain();
      for (const m of this.members.values()) if (m.raft.status().role === 'leader') return m;
    }
    throw new Error('no leader elected');
  }
}

// ------------------------------------------------------------------ measurements

/** Committed proposals per second: `batch` proposals of `entryBytes`, then one delivery round. */
function measureThroughput(entryBytes: number, batch: number, seed: number): number {
  const cluster = new BenchCluster(seed);
  const leader = cluster.electLeader();
  const payload = new Uint8Array(entryBytes).fill(7);
  const startApplied = leader.applied;
  const started = process.hrtime.bigint();
  const deadline = started + BigInt(RUN_MS) * 1_000_000n;
  let rounds = 0;
  while (process.hrtime.bigint() < deadline) {
    // One shared payload: the core never copies entry data, so distinct buffers would only measure the allocator.
    for (let i = 0; i < batch; i++) if (!leader.raft.propose(payload).ok) break;
    cluster.pump();
    // A tick now and then, as a live runtime would (heartbeats, quorum checks).
    if (++rounds % 32 === 0) cluster.tickAll();
  }
  cluster.drain();
  const elapsedNs = Number(process.hrtime.bigint() - started);
  // Followers learn the last commit index from the next heartbeat (untimed).
  cluster.tickAll();
  cluster.drain();
  assertReplicated(cluster, leader);
  return ((leader.applied - startApplied) * 1e9) / elapsedNs;
}

/** A figure is only real if every member applied what the leader committed, under one leader. */
function assertReplicated(cluster: BenchCluster, leader: BenchMember): void {
  const s = leader.raft.status();
  if (s.role !== 'leader') throw new Error('leadership changed during the throughput run');
  if (leader.applied !== s.commit) throw new Error(`leader applied ${leader.applied} != commit ${s.commit}`);
  for (const m of cluster.members.values()) {
    if (m.applied !== leader.applied) throw new Error(`${m.raft.id} applied ${m.applied}, leader ${leader.applied}`);
  }
}

function entry(index: number, term: number, data: Uint8Array): Entry {
  return { index, term, type: EntryType.Normal, data };
}

/** ns per step(): a follower handling appends of one entry each, in order. */
function measureFollowerAppend(seed: number): number {
  const follower = newMember('b', seed);
  const outbox: Message[] = [];
  const term = 2;
  const data = new Uint8Array(128).fill(1);
  let last = follower.raft.status().lastIndex;
  let lastTerm = follower.raft.entries(last, last + 1)[0]?.term ?? 0;
  const append = (): Message => {
    const msg: Message = {
      type: 'append',
      from: 'a',
      to: 'b',
      term,
      logTerm: lastTerm,
      index: last,
      entries: [entry(last + 1, term, data)],
      commit: last,
    };
    last++;
    lastTerm = term;
    return msg;
  };
  return timeSteps(follower, outbox, append);
}

/** ns per step(): a leader handling appendResps that each acknowledge one more entry (and commit it). */
function measureLeaderAppendResp(seed: number): number {
  const cluster = new BenchCluster(seed);
  const leader = cluster.electLeader();
  const id = leader.raft.id;
  const peer = IDS.find((x) => x !== id)!;
  const { term } = leader.raft.status();
  const payload = new Uint8Array(128).fill(2);
  const outbox: Message[] = [];
  let acked = leader.raft.status().lastIndex;
  const prepare = (): void => {
    // Untimed: the entries being acknowledged exist and are durable on the leader.
    for (let i = 0; i < STEP_BATCH; i++) if (!leader.raft.propose(payload).ok) throw new Error('proposal refused');
    while (leader.raft.hasReady()) handleReady(leader, outbox);
    outbox.length = 0;
  };
  const resp = (): Message => ({ type: 'appendResp', from: peer, to: id, term, index: ++acked });
  return timeSteps(leader, outbox, resp, prepare);
}

/** Times STEP_BATCH steps at a time; between batches (untimed) handles the Ready and discards output. */
function timeSteps(m: BenchMember, outbox: Message[], next: () => Message, prepare?: () => void): number {
  const messages: Message[] = new Array(STEP_BATCH);
  let timedNs = 0n;
  let steps = 0;
  const wallDeadline = Date.now() + RUN_MS;
  while (Date.now() < wallDeadline) {
    prepare?.();
    for (let i = 0; i < STEP_BATCH; i++) messages[i] = next();
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < STEP_BATCH; i++) m.raft.step(messages[i]);
    timedNs += process.hrtime.bigint() - t0;
    steps += STEP_BATCH;
    while (m.raft.hasReady()) handleReady(m, outbox);
    outbox.length = 0;
  }
  return Number(timedNs) / steps;
}

// ------------------------------------------------------------------ reporting

interface Figure {
  name: string;
  unit: string;
  measure: (run: number) => number;
  /** Digits after the point in the table. */
  digits: number;
}

function summarize(samples: number[]): { median: number; min: number; max: number } {
  const sorted = [...samples].sort((x, y) => x - y);
  return { median: sorted[Math.floor(sorted.length / 2)], min: sorted[0], max: sorted[sorted.length - 1] };
}

const fmt = (v: number, digits: number): string => v.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

function main(): void {
  const figures: Figure[] = [];
  for (const bytes of [128, 4096]) {
    for (const batch of [64, 256]) {
      figures.push({
        name: `commit throughput, ${bytes === 128 ? '128 B' : '4 KiB'} entries, batch ${batch}`,
        unit: 'proposals/s',
        measure: (run) => measureThroughput(bytes, batch, run + 1),
        digits: 0,
      });
    }
  }
  figures.push({ name: 'step: follower handles 1-entry append', unit: 'ns/step', measure: (run) => measureFollowerAppend(run + 1), digits: 0 });
  figures.push({ name: 'step: leader handles appendResp (commits)', unit: 'ns/step', measure: (run) => measureLeaderAppendResp(run + 1), digits: 0 });

  console.log(`stackraft core benchmark: 3 members in one thread, no I/O; ${RUNS} runs of ~${RUN_MS} ms per figure after a warm-up run (node ${process.version})`);
  const table = new Table({
    head: ['figure', 'median', 'min', 'max', 'unit'],
    colAligns: ['left', 'right', 'right', 'right', 'left'],
    style: { head: [], border: [] }, // plain text: the table is meant to be pasted into reports
  });
  for (const f of figures) {
    f.measure(RUNS); // warm-up run (JIT), not counted
    const samples: number[] = [];
    for (let run = 0; run < RUNS; run++) samples.push(f.measure(run));
    const s = summarize(samples);
    table.push([f.name, fmt(s.median, f.digits), fmt(s.min, f.digits), fmt(s.max, f.digits), f.unit]);
    process.stderr.write(`  done: ${f.name}\n`);
  }
  console.log(table.toString());
}

main();
