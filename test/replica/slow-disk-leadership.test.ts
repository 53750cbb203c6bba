// Leadership under load, on real replica runtimes in virtual time: what the leader needs to keep
// leading (CheckQuorum: a message from a quorum within every election timeout) must not wait
// behind a slow disk, and the tick timer must not turn a stall into a burst of ticks.
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import type { ApplyResult, Clock, LogStore, StateMachine, StoreBatch, TimerHandle } from '../../consensus/ports.js';
import { silentLogger } from '../../consensus/ports.js';
import { seededRandom } from '../../consensus/prng.js';
import { Replica } from '../../consensus/replica.js';
import type { Entry } from '../../consensus/types.js';
import { MemoryLogStore } from '../../storage/memory-store.js';
import { ManualClock, TestCluster } from './harness.js';

const TICK_MS = 100;
const ELECTION_TICKS = 10; // the harness's default Raft config
const ELECTION_MS = TICK_MS * ELECTION_TICKS;

class CountingMachine implements StateMachine {
  applied = 0;
  apply(entry: Entry): ApplyResult {
    if (entry.data.byteLength > 0) this.applied++;
    return { result: this.applied, ops: [] };
  }
  snapshot(): Uint8Array {
    return new TextEncoder().encode(String(this.applied));
  }
  restore(image: Uint8Array): Array<[string, Uint8Array]> {
    this.applied = Number(new TextDecoder().decode(image));
    return [];
  }
  load(): void {}
}

/**
 * Every synced write takes `syncMs()` of virtual time (a disk contended by other tenants), and
 * waits for `gate()` (when it gives a promise: a disk that hangs until released).
 */
function slowDisk(store: MemoryLogStore, clock: ManualClock, syncMs: () => number, gate: () => Promise<void> | null = () => null): LogStore {
  return {
    open: () => store.open(),
    async write(batch: StoreBatch): Promise<void> {
      if (batch.sync !== false) {
        const ms = syncMs();
        if (ms > 0) await new Promise<void>((resolve) => clock.setTimer(ms, resolve));
        await gate();
      }
      await store.write(batch);
    },
    entries: (lo, hi, maxBytes) => store.entries(lo, hi, maxBytes),
    term: (index) => store.term(index),
    records: () => store.records(),
    close: () => store.close(),
  };
}

describe('leadership under a slow disk', () => {
  it('followers whose every fsync takes 1.5 election timeouts still keep the leader in contact: no step-down, no election, writes commit', async () => {
    let slow = false;
    const c: TestCluster<CountingMachine> = new TestCluster<CountingMachine>({
      voters: ['a', 'b', 'c'],
      makeStateMachine: () => new CountingMachine(),
      seed: 5,
      tickMs: TICK_MS,
      storeFor: (site, store, clock): LogStore => slowDisk(store, clock, () => (slow && site !== c.leader()?.name ? ELECTION_MS * 1.5 : 0)),
    });
    await c.start();
    const leader = await c.waitForLeader();
    const term = leader.replica.status().term;
    slow = true;
    // A steady write load for 20 election timeouts: each follower is nearly always in the middle of a
    // long write, so an answer that waited for the disk would reach the leader 1.5-3 timeouts late.
    const outcomes: Array<Promise<unknown>> = [];
    for (let t = 0; t < 20 * ELECTION_MS; t += TICK_MS) {
      outcomes.push(leader.replica.propose(new TextEncoder().encode(`w${t}`)));
      await c.clock.advance(TICK_MS);
      assert.equal(leader.replica.status().role, 'leader', `the leader stepped down at ${t} ms of the slow disk`);
    }
    for (const s of c.sites.values()) assert.equal(s.replica.status().term, term, `${s.name} moved to another term`);
    slow = false;
    const settled = (await c.run(Promise.all(outcomes))) as Array<{ status: string }>;
    assert.ok(settled.every((o) => o.status === 'committed'), JSON.stringify(settled.filter((o) => o.status !== 'committed').slice(0, 3)));
    await c.stopAll();
  });

  it('a follower answers a heartbeat while its write is in flight with the durable part of its log only', async () => {
    let hold: Promise<void> | null = null;
    let release = (): void => undefined;
    const c: TestCluster<CountingMachine> = new TestCluster<CountingMachine>({
      voters: ['a', 'b', 'c'],
      makeStateMachine: () => new CountingMachine(),
      seed: 5,
      tickMs: TICK_MS,
      storeFor: (site, store, clock): LogStore => slowDisk(store, clock, () => 0, () => (site !== c.leader()?.name ? hold : null)),
    });
    await c.start();
    const leader = await c.waitForLeader();
    const durableBefore = leader.replica.status().commit;
    hold = new Promise<void>((r) => (release = r));
    const pending = leader.replica.propose(new TextEncoder().encode('stuck'));
    let resolved = false;
    void pending.then(() => (resolved = true));
    // Heartbeats flow both ways while the followers' writes of the new entry hang.
    await c.clock.advance(3 * ELECTION_MS);
    assert.equal(leader.replica.status().role, 'leader');
    assert.equal(resolved, false, 'the entry committed although no follower holds it durably');
    const progress = (leader.replica.status().progress ?? []).filter((p) => p.member !== leader.name);
    assert.equal(progress.length, 2);
    for (const p of progress) assert.ok(p.match <= durableBefore, `${p.member}: the leader learned match ${p.match} from an answer vouching for an entry not yet durable`);
    hold = null;
    release();
    assert.equal(((await c.run(pending)) as { status: string }).status, 'committed');
    await c.stopAll();
  });
});

/** A clock whose timers fire `lateMs` late while `late` is set (a blocked event loop). */
class LateClock implements Clock {
  late = false;
  constructor(readonly inner: ManualClock, readonly lateMs: number) {}
  now(): number {
    return this.inner.now();
  }
  setTimer(delayMs: number, callback: () => void): TimerHandle {
    return this.inner.setTimer(delayMs + (this.late ? this.lateMs : 0), callback);
  }
}

describe('tick pacing', () => {
  async function counted(clock: LateClock): Promise<{ replica: Replica; ticks: () => number }> {
    const store = new MemoryLogStore();
    const replica = await Replica.open(
      { id: 'solo', tickMs: TICK_MS, random: seededRandom(3), bootstrap: { voters: ['solo'] } },
      { clock, store, transport: { send() {}, onMessage() {}, onUnreachable() {} }, stateMachine: new CountingMachine(), logger: silentLogger },
    );
    let ticks = 0;
    const core = (replica as unknown as { core: { tick(): void } }).core;
    const tick = core.tick.bind(core);
    core.tick = () => {
      ticks++;
      tick();
    };
    replica.start();
    return { replica, ticks: () => ticks };
  }

  it('a timer that fires a whole second late makes one tick, not the ten it missed', async () => {
    const inner = new ManualClock();
    const clock = new LateClock(inner, 1000);
    const { replica, ticks } = await counted(clock);
    await inner.advance(10 * TICK_MS);
    assert.equal(ticks(), 10);
    clock.late = true;
    await inner.advance(TICK_MS); // tick 11 on time; the timer it sets fires 1 s late
    clock.late = false;
    await inner.advance(1000);
    assert.equal(ticks(), 11, 'nothing while the timer is late');
    await inner.advance(TICK_MS);
    assert.equal(ticks(), 12, 'one tick for the late timer, not the 11 periods that passed');
    await inner.advance(TICK_MS); // and one per tickMs again from then on
    assert.equal(ticks(), 13);
    await replica.stop();
  });

  it('ticks keep to a grid of tickMs: a timer a little late does not slow the pace', async () => {
    const inner = new ManualClock();
    const clock = new LateClock(inner, 30);
    const { replica, ticks } = await counted(clock);
    clock.late = true; // every timer 30 ms late: each tick is due on the grid, so the delay shrinks to make up
    await inner.advance(100 * TICK_MS);
    // A timer rescheduled tickMs after it fired would give 100 * 100 / 130 = 76 ticks.
    assert.ok(ticks() >= 99, `${ticks()} ticks in 100 tick periods`);
    await replica.stop();
  });
});
