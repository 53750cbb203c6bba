// The in-memory twin must behave as the LevelDB store does: the same seeded stream of batches
// (valid and invalid) goes to both, and after every batch both must have accepted or refused it
// alike and hold the same log, terms, records and metadata, also across reopening.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { it } from 'node:test';
import type { LogStore, StoreBatch, StoreMeta } from '../../consensus/ports.js';
import { LevelLogStore, MemoryDisk, MemoryLogStore, WalLogStore } from '../../storage/index.js';
import { makeEntries } from './contract.js';

const SEED = 20240611;
const STEPS = 160;
const REOPEN_EVERY = 16;

function seeded(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Draws the next batch from the memory store's state; about one in eight breaks a rule. */
async function nextBatch(rand: () => number, store: MemoryLogStore, hs: StoreMeta['hardState']): Promise<StoreBatch> {
  const m = store.meta();
  const int = (lo: number, hi: number): number => lo + Math.floor(rand() * (hi - lo + 1));
  const key = (): string => `k${int(0, 6)}`;
  const value = (): Uint8Array => new Uint8Array([int(0, 255), int(0, 255)]);
  const pick = rand();
  if (pick < 0.35) {
    const from = int(Math.max(m.commit + 1, m.snapshotIndex + 1), m.lastIndex + 1);
    const term = hs.term + int(0, 1);
    const batch: StoreBatch = { entries: makeEntries(from, from + int(0, 4), Math.max(term, 1), int(0, 40)) };
    if (term > hs.term) batch.hardState = { term, vote: 'a', commit: m.commit };
    return batch;
  }
  if (pick < 0.55) {
    const commit = int(m.commit, m.lastIndex);
    const ops = Array.from({ length: int(0, 3) }, () =>
      rand() < 0.7 ? { type: 'put' as const, key: key(), value: value() } : { type: 'del' as const, key: key() },
    );
    return { hardState: { ...hs, commit }, applied: { index: int(m.appliedIndex, commit), ops } };
  }
  if (pick < 0.68 && m.commit > m.snapshotIndex) {
    const index = int(m.snapshotIndex + 1, m.commit);
    const term = (await store.term(index))!;
    const data = value();
    return { snapshot: { meta: { index, term, conf: { voters: ['a'], learners: [] } }, data }, compactTo: int(0, index + 1) };
  }
  if (pick < 0.76) {
    const index = m.lastIndex + int(1, 4);
    const term = hs.term + 1;
    return {
      snapshot: { meta: { index, term, conf: { voters: ['a', 'b'], learners: ['c'] } }, data: value() },
      hardState: { term, vote: '', commit: index },
      applied: { index, replaceAll: true, ops: [{ type: 'put', key: key(), value: value() }] },
    };
  }
  if (pick < 0.87) return { compactTo: int(m.firstIndex, m.snapshotIndex + 1) };
  // Rule breakers: each must be refused by both stores.
  const breakers: StoreBatch[] = [
    { hardState: { ...hs, term: hs.term - 1 } },
    { hardState: { ...hs, commit: m.lastIndex + 1 } },
    { entries: makeEntries(m.lastIndex + 2, m.lastIndex + 2, Math.max(hs.term, 1)) },
    { compactTo: m.snapshotIndex + 2 },
    { applied: { index: m.appliedIndex - 1, ops: [] } },
  ];
  return breakers[int(0, breakers.length - 1)];
}

async function sameContent(level: LogStore, memory: MemoryLogStore, step: number): Promise<void> {
  const m = memory.meta();
  const where = `after step ${step}`;
  assert.deepEqual(await level.entries(m.firstIndex, m.lastIndex + 1), await memory.entries(m.firstIndex, m.lastIndex + 1), where);
  for (let i = Math.max(0, m.firstIndex - 2); i <= m.lastIndex + 2; i++) {
    assert.equal(await level.term(i), await memory.term(i), `term(${i}) ${where}`);
  }
  assert.deepEqual(await level.records(), await memory.records(), where);
}

const durableStores: Array<[string, (dir: string) => LogStore & { open(): Promise<StoreMeta> }]> = [
  ['LevelLogStore', (dir) => new LevelLogStore(dir)],
  ['WalLogStore', (dir) => new WalLogStore(dir, { segmentBytes: 2048 })],
];

for (const [durableName, makeDurable] of durableStores) it(`MemoryLogStore and ${durableName} accept, refuse and store the same things`, { timeout: 60_000 }, async () => {
  const root = await mkdtemp(join(tmpdir(), 'stackraft-twin-'));
  const disk = new MemoryDisk();
  let level = makeDurable(root);
  let memory = new MemoryLogStore({ disk });
  try {
    let meta = await level.open();
    assert.deepEqual(await memory.open(), meta);
    const rand = seeded(SEED);
    let hardState = meta.hardState;
    let refused = 0;
    for (let step = 1; step <= STEPS; step++) {
      const batch = await nextBatch(rand, memory, hardState);
      const [a, b] = await Promise.allSettled([level.write(batch), memory.write(batch)]);
      const outcome = (r: PromiseSettledResult<void>): string =>
        r.status === 'fulfilled' ? 'ok' : `${(r.reason as Error).name}: ${(r.reason as Error).message.replace(root, '')}`;
      assert.equal(outcome(a), outcome(b).replace('memory-store', ''), `step ${step}: ${JSON.stringify(batch)}`);
      if (a.status === 'rejected') refused++;
      if (batch.hardState && a.status === 'fulfilled') hardState = batch.hardState;
      await sameContent(level, memory, step);
      if (step % REOPEN_EVERY === 0) {
        await Promise.all([level.close(), memory.close()]);
        level = makeDurable(root);
        memory = new MemoryLogStore({ disk });
        meta = await level.open();
        assert.deepEqual(await memory.open(), meta, `reopen after step ${step}`);
        await sameContent(level, memory, step);
      }
    }
    assert.ok(refused > 5 && refused < STEPS / 2, `a useful mix of refused batches (${refused})`);
    assert.ok(memory.meta().snapshotIndex > 0, 'the run installed snapshots');
  } finally {
    await Promise.all([level.close(), memory.close()]);
    await rm(root, { recursive: true, force: true });
  }
});
