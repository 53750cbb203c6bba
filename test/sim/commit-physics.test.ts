// The simulator's physics check on commit latency: no commit beats the fibre round trip to the
// leader's nearest voter majority. A sample starts at the leader's first act on a write (its store
// write or its first append carrying it, whichever comes first), not at its store write alone: with
// a slow write of its own in flight the leader sends the next proposals to the members before it
// writes them, and a sample started at the write measured less than the commit took (the "faster
// than light" commit that got 2dcaa16 reverted, DESIGN.md). The check must still catch a commit
// that really is too fast: planted here, a forged acknowledgement.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Transport, WireMessage } from '../../consensus/ports.js';
import { EntryType, type ConfState, type Entry } from '../../consensus/types.js';
import { CommitLatency, fasterThanLight } from '../../sim/harness/commit-latency.js';
import { DEFAULT_SIM_OPTIONS } from '../../sim/harness/options.js';
import { runSimulation } from '../../sim/harness/simulation.js';
import type { World } from '../../sim/harness/world.js';
import type { WanModel } from '../../sim/wan.js';

const DISK_MS = 2;
/** The fibre and modelled round trips to the nearest majority, for every leader. */
const wan = { quorumRttMs: (_leader: string, _voters: readonly string[], metric = 'fibre') => (metric === 'fibre' ? 50 : 80) } as unknown as WanModel;
const conf: ConfState = { voters: ['a', 'b', 'c'], learners: [] };
const entry = (index: number, term: number): Entry => ({ index, term, type: EntryType.Normal, data: new Uint8Array([1]) });

test('a sample starts at the leader\'s first act on the write: its append left before its own store write', () => {
  const l = new CommitLatency(wan, DISK_MS);
  // The session-5 trace, entry 1125 of seed 3: sent to the members 78 ms before the leader's own
  // write of it could start (its previous write took 96 ms on a slow disk), committed 116 ms after
  // it was sent, 38 ms after that write.
  l.onLeaderHolds('a', 5, [entry(7, 5)], 0);
  l.onLeaderHolds('a', 5, [entry(7, 5)], 1); // sent to a second member: still the first act
  l.onLeaderHolds('a', 5, [entry(7, 5)], 78); // its store write
  l.onLeaderApplied('a', entry(7, 5), conf, 116);
  assert.deepEqual(l.samples, { latencyMs: [116], fibreFloorMs: [52], modelFloorMs: [82] });
  assert.deepEqual(fasterThanLight(l.samples, DISK_MS), []);
});

test('an entry sent again after the leader applied it starts no sample; a new leader at the same index does', () => {
  const l = new CommitLatency(wan, DISK_MS);
  l.onLeaderHolds('a', 5, [entry(7, 5), entry(8, 5)], 0);
  l.onLeaderApplied('a', entry(7, 5), conf, 60);
  l.onLeaderHolds('a', 5, [entry(7, 5)], 200); // to a lagging member, long after
  l.onLeaderApplied('a', entry(7, 5), conf, 210); // (not a real event: shows nothing was pending)
  assert.deepEqual(l.samples.latencyMs, [60]);
  // Index 8 was never committed in term 5; the leader of term 6 writes its own entry there.
  l.onLeaderHolds('b', 6, [entry(8, 6)], 300);
  l.onLeaderApplied('b', entry(8, 6), conf, 400);
  assert.deepEqual(l.samples.latencyMs, [60, 100]);
});

test('a commit sooner than the round trip to a majority is faster than light', () => {
  const l = new CommitLatency(wan, DISK_MS);
  l.onLeaderHolds('a', 5, [entry(7, 5), entry(8, 5)], 0);
  l.onLeaderApplied('a', entry(7, 5), conf, 49.9);
  l.onLeaderApplied('a', entry(8, 5), conf, 50);
  assert.deepEqual(fasterThanLight(l.samples, DISK_MS), [0]);
});

/**
 * A planted bug: every member "acknowledges" an append at the moment the leader sends it, before it
 * has received or written it (the leader's transport forges the answer). Commits then take the
 * leader's own fsync, no round trip.
 */
function forgeAcks(site: string, t: Transport): Transport {
  let deliver: ((from: string, m: WireMessage) => void) | undefined;
  return {
    send: (to, m) => {
      t.send(to, m);
      if (m.kind !== 'raft' || m.msg.type !== 'append' || !m.msg.entries?.length || !deliver) return;
      const { term, entries } = m.msg;
      const ack: WireMessage = { kind: 'raft', msg: { type: 'appendResp', from: to, to: site, term, index: entries[entries.length - 1].index } };
      queueMicrotask(() => deliver?.(to, ack));
    },
    onMessage: (h) => {
      deliver = h;
      t.onMessage(h);
    },
    onUnreachable: (h) => t.onUnreachable(h),
  };
}

test('the check catches a planted faster-than-light commit (forged acknowledgements), and the same run without it passes', { timeout: 120_000 }, async () => {
  const options = { ...DEFAULT_SIM_OPTIONS, sites: 5, voters: 5, durationMs: 20_000, faults: [], seed: 1, clouds: false };
  const tooFast = async (planted: boolean): Promise<{ samples: number; ftl: number }> => {
    let world: World | undefined;
    await runSimulation(options, { inspect: (w) => (world = w), ...(planted ? { hooks: { wrapTransport: forgeAcks } } : {}) });
    const s = world!.latency.samples;
    return { samples: s.latencyMs.length, ftl: fasterThanLight(s, DEFAULT_SIM_OPTIONS.diskMedianMs).length };
  };
  const control = await tooFast(false);
  assert.ok(control.samples >= 50, `${control.samples} samples in the control run`);
  assert.equal(control.ftl, 0);
  const planted = await tooFast(true);
  assert.ok(planted.samples >= 50, `${planted.samples} samples in the planted run`);
  assert.ok(planted.ftl > planted.samples / 2, `${planted.ftl} of ${planted.samples} samples faster than light`);
});
