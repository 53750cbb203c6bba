// Crash safety with real processes: a child writes batches to the WAL store in a tight loop and is
// killed with SIGKILL at random moments; after each kill the store is reopened and must hold every
// acknowledged batch whole, no batch in part, a contiguous log, the applied records and applied
// index together, and the applied state no further than the log (the log is written first; the
// applied state is rebuilt from it).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { crashStore } from './crash-store.js';
import type { BatchMark } from './crash-child.js';

const CHILD = fileURLToPath(new URL('./crash-child.js', import.meta.url));
const TARGET_KILLS = 60;
const MIN_KILLS = 50;
/** Past MIN_KILLS, the run stops starting rounds after this long (slow shared machines). */
const RUN_BUDGET_MS = 40_000;
const ROUND_LIMIT_MS = 10_000;
const SEED = Number(process.env.CRASH_TEST_SEED ?? 7321);
const STORE_KIND = process.env.CRASH_TEST_STORE === 'level' ? 'level' : 'wal';

const decoder = new TextDecoder();
const parse = (data: Uint8Array): BatchMark => JSON.parse(decoder.decode(data)) as BatchMark;

function seeded(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

interface Round {
  /** Highest batch the child acknowledged, and the last index it reported for it. */
  ackedBatch: number;
  ackedLastIndex: number;
  killedBy: NodeJS.Signals | null;
}

/** Runs the child once and SIGKILLs it: either at a random time, or a random moment after its first ack. */
function runChildUntilKilled(dir: string, seed: number, random: () => number): Promise<Round> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CHILD, dir, String(seed), STORE_KIND], { stdio: ['ignore', 'pipe', 'pipe'] });
    const round: Round = { ackedBatch: -1, ackedLastIndex: -1, killedBy: null };
    let stdout = '';
    let stderr = '';
    let killTimer: NodeJS.Timeout | null = null;
    const kill = (): void => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    };
    const guard = setTimeout(kill, ROUND_LIMIT_MS);
    const killsAtRandomTime = random() < 0.3;
    if (killsAtRandomTime) killTimer = setTimeout(kill, Math.floor(random() * 250));
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString('utf8');
      let newline: number;
      while ((newline = stdout.indexOf('\n')) >= 0) {
        const [word, batch, lastIndex] = stdout.slice(0, newline).split(' ');
        stdout = stdout.slice(newline + 1);
        if (word === 'ready' && round.ackedBatch < 0) {
          round.ackedBatch = Number(batch);
          round.ackedLastIndex = Number(lastIndex);
        }
        if (word !== 'ack') continue;
        round.ackedBatch = Number(batch);
        round.ackedLastIndex = Number(lastIndex);
        if (!killsAtRandomTime && killTimer === null) killTimer = setTimeout(kill, Math.floor(random() * 40));
      }
    });
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(guard);
      if (killTimer) clearTimeout(killTimer);
      if (signal !== 'SIGKILL') reject(new Error(`child exited with code ${code} signal ${signal}: ${stderr}`));
      else resolve({ ...round, killedBy: signal });
    });
  });
}

/** Reopens the store and checks every invariant; returns the batch it ends with. */
async function checkStore(dir: string, before: { batch: number; lastIndex: number }, round: Round): Promise<{ batch: number; lastIndex: number }> {
  const store = crashStore(dir, STORE_KIND);
  const meta = await store.open();
  try {
    const records = new Map(await store.records());
    const lastRecord = records.get('last');
    const applied = lastRecord ? parse(lastRecord) : { batch: 0, lastIndex: 0 };
    assert.equal(applied.lastIndex, meta.appliedIndex, 'the applied records and the applied index are never apart');

    const acked = Math.max(before.batch, round.ackedBatch);
    // A write is acknowledged once the log holds it; its applied records follow without sync and
    // the next write waits for them, so a kill can leave the applied state one batch behind (the
    // replica rebuilds it from the log). The log's own check is below.
    assert.ok(applied.batch >= acked - (STORE_KIND === 'wal' ? 1 : 0), `acknowledged batch ${acked} lost (store ends at batch ${applied.batch})`);
    assert.ok(applied.batch <= acked + 1, `batch ${applied.batch} is there but only ${acked} was ever written whole`);
    assert.ok(meta.lastIndex >= Math.max(before.lastIndex, round.ackedLastIndex), 'acknowledged entries lost');

    const entries = await store.entries(meta.firstIndex, meta.lastIndex + 1);
    assert.equal(entries.length, meta.lastIndex - meta.firstIndex + 1, 'log is contiguous');
    entries.forEach((e, i) => assert.equal(e.index, meta.firstIndex + i, 'log is contiguous'));
    if (entries.length === 0) {
      assert.equal(meta.snapshot?.meta.index ?? 0, applied.lastIndex, 'an empty log ends where the snapshot does');
      return { batch: applied.batch, lastIndex: meta.lastIndex };
    }
    const marks = entries.map((e) => ({ ...parse(e.data), index: e.index, term: e.term }));
    const tail = marks[marks.length - 1];
    assert.ok(tail.batch >= acked || meta.lastIndex === (meta.snapshot?.meta.index ?? -1), `acknowledged batch ${acked} lost (the log ends at batch ${tail.batch})`);
    assert.equal(tail.position, tail.size! - 1, `batch ${tail.batch} is only partly there`);
    // The applied state is written after the log: it ends with the log's last batch or one before.
    assert.ok(tail.index >= applied.lastIndex, `applied state (${applied.lastIndex}) is past the log (${tail.index})`);
    assert.ok(tail.batch <= applied.batch + 1, `log holds batch ${tail.batch}, applied state only ${applied.batch}`);
    if (STORE_KIND === 'level') assert.deepEqual([tail.batch, tail.index], [applied.batch, applied.lastIndex], 'log and applied state end together');
    for (let i = 1; i < marks.length; i++) {
      const [prev, cur] = [marks[i - 1], marks[i]];
      assert.ok(cur.term >= prev.term, `terms go down at ${cur.index}`);
      if (cur.batch === prev.batch) assert.equal(cur.position, prev.position! + 1, `batch ${cur.batch} has a hole`);
      else assert.deepEqual([prev.position, cur.position], [prev.size! - 1, 0], `batch ${prev.batch} or ${cur.batch} is partial`);
    }
    return { batch: applied.batch, lastIndex: meta.lastIndex };
  } finally {
    await store.close();
  }
}

it(`every acknowledged batch survives SIGKILL whole, no batch half there (${STORE_KIND} store, seed ${SEED})`, { timeout: 240_000 }, async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'stackraft-crash-'));
  const dir = join(root, 'store');
  const random = seeded(SEED);
  const started = Date.now();
  let kills = 0;
  let state = { batch: 0, lastIndex: 0 };
  try {
    // Every run makes at least MIN_KILLS kills, however slow the machine; the budget only trims the extra ones.
    while (kills < MIN_KILLS || (kills < TARGET_KILLS && Date.now() - started < RUN_BUDGET_MS)) {
      const round = await runChildUntilKilled(dir, Math.floor(random() * 2 ** 31), random);
      kills++;
      state = await checkStore(dir, state, round);
    }
    t.diagnostic(`${kills} kills in ${Date.now() - started} ms; store ends at batch ${state.batch}, index ${state.lastIndex}`);
    assert.ok(state.batch > kills, 'children made progress between kills');
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});
