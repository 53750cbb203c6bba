// Rotation cut by a kill: the process dies right after the next segment was put in place and
// before any record went into it, so the log restarts with an empty last segment. The first write
// after the restart may not fit that segment (a write larger than a segment): it must not rotate
// away and leave the empty segment in the middle of the log, which the next open would refuse (the
// soak benchmark lost a site that way: "WAL segment 3 holds no records but later segments exist").
// Also: directories that an earlier release left that way open (with a warning), while a segment
// whose records were lost still stops the open.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import type { Logger } from '../../consensus/ports.js';
import { nodeFileSystem, type WalFileSystem } from '../../storage/wal/file-port.js';
import { SEGMENT_HEADER_BYTES, encodeSegmentHeader, segmentFileName } from '../../storage/wal/record.js';
import { scanSegment } from '../../storage/wal/segments.js';
import { WalCorruptionError, WriteAheadLog } from '../../storage/wal/wal.js';
import type { WalLogState } from '../../storage/wal/replay.js';
import { makeEntries } from './contract.js';

const SEGMENT_BYTES = 4096;

function capturingLogger(): Logger & { warnings: string[] } {
  const warnings: string[] = [];
  return { warnings, debug() {}, info() {}, error() {}, warn: (_obj, msg) => void warnings.push(String(msg)) };
}

function never<T>(): Promise<T> {
  return new Promise<T>(() => undefined);
}

/**
 * The real file system until the `installs`-th segment is renamed into place and its directory
 * synced; then the process is "killed": nothing more reaches the disk (all written data stays, as
 * after kill -9) and no call completes.
 */
function killedAfterInstall(installs: number): { fs: WalFileSystem; died: Promise<void> } {
  let renames = 0;
  let dead = false;
  let dying = false;
  let die!: () => void;
  const died = new Promise<void>((resolve) => (die = resolve));
  const guard =
    <A extends unknown[], R>(f: (...a: A) => Promise<R>) =>
    async (...a: A): Promise<R> =>
      dead ? never<R>() : f(...a);
  const fs: WalFileSystem = {
    open: guard(async (path, mode) => {
      const file = await nodeFileSystem.open(path, mode);
      return {
        write: guard((d: Uint8Array, p: number) => file.write(d, p)),
        read: guard((d: Uint8Array, p: number) => file.read(d, p)),
        datasync: guard(() => file.datasync()),
        sync: guard(() => file.sync()),
        truncate: guard((n: number) => file.truncate(n)),
        size: guard(() => file.size()),
        close: () => file.close(),
      };
    }),
    list: guard((dir) => nodeFileSystem.list(dir)),
    mkdir: guard((dir) => nodeFileSystem.mkdir(dir)),
    remove: guard((path) => nodeFileSystem.remove(path)),
    rename: guard(async (from, to) => {
      await nodeFileSystem.rename(from, to);
      if (to.endsWith('.wal') && ++renames === installs) dying = true;
    }),
    syncDir: guard(async (dir) => {
      await nodeFileSystem.syncDir(dir);
      if (dying) {
        dead = true;
        die();
        await never();
      }
    }),
  };
  return { fs, died };
}

const stateAfter = (state: WalLogState, lastIndex: number): WalLogState => ({ ...state, hardState: { ...state.hardState }, lastIndex });

/** Appends batches of 4 entries of 100 bytes until the log dies at the second install (segment 2). */
async function fillUntilKilled(dir: string): Promise<number> {
  const { fs, died } = killedAfterInstall(2);
  const { wal, replay } = await WriteAheadLog.open(dir, { fs, logger: capturingLogger(), segmentBytes: SEGMENT_BYTES });
  let state = replay.state;
  for (let from = 1; ; from += 4) {
    const appended = wal.append([{ entries: makeEntries(from, from + 3, 1, 100) }], state, true).then(() => 'written' as const);
    if ((await Promise.race([appended, died.then(() => 'killed' as const)])) === 'killed') return state.lastIndex;
    state = stateAfter(state, from + 3);
  }
}

const segmentNames = async (dir: string): Promise<string[]> => (await readdir(dir)).filter((n) => n.endsWith('.wal')).sort();
const recordsIn = async (dir: string, seq: number) =>
  scanSegment(new Uint8Array(await readFile(join(dir, segmentFileName(seq)))), seq, false).records;

describe('write-ahead log rotation cut by a kill', { timeout: 30_000 }, () => {
  let dir = '';
  beforeEach(async () => {
    dir = join(await mkdtemp(join(tmpdir(), 'stackraft-wal-rotation-')), 'wal');
  });
  afterEach(async () => {
    await rm(join(dir, '..'), { recursive: true, force: true });
  });

  it('restarts after a kill between putting a segment in place and writing to it, even when the next write does not fit that segment', async () => {
    const written = await fillUntilKilled(dir);
    assert.deepEqual(await segmentNames(dir), [segmentFileName(1), segmentFileName(2)]);
    assert.equal((await recordsIn(dir, 2)).length, 0, 'the kill left segment 2 in place and empty');

    const first = await WriteAheadLog.open(dir, { fs: nodeFileSystem, logger: capturingLogger(), segmentBytes: SEGMENT_BYTES });
    assert.equal(first.replay.state.lastIndex, written);
    const big = makeEntries(written + 1, written + 1, 1, 2 * SEGMENT_BYTES); // larger than a whole segment
    await first.wal.append([{ entries: big }], first.replay.state, true);
    await first.wal.close();

    const logger = capturingLogger();
    const second = await WriteAheadLog.open(dir, { fs: nodeFileSystem, logger, segmentBytes: SEGMENT_BYTES });
    assert.equal(second.replay.state.lastIndex, written + 1);
    assert.deepEqual(second.wal.segmentSeqs(), [1, 2], 'the empty segment was replaced by a larger one, not left behind');
    assert.deepEqual(logger.warnings, []);
    await second.wal.close();
  });

  it('opens a log with an empty segment an earlier release left in the middle, when the next segment head agrees', async () => {
    const written = await fillUntilKilled(dir);
    // Segment 2 was empty at the restart; the release before this fix rotated away from it.
    const first = await WriteAheadLog.open(dir, { fs: nodeFileSystem, logger: capturingLogger(), segmentBytes: SEGMENT_BYTES });
    await first.wal.append([{ entries: makeEntries(written + 1, written + 4, 1, 100) }], first.replay.state, true);
    await first.wal.close();
    const two = new Uint8Array(await readFile(join(dir, segmentFileName(2))));
    two.set(encodeSegmentHeader(3), 0);
    await writeFile(join(dir, segmentFileName(3)), two);
    const blank = new Uint8Array(SEGMENT_BYTES);
    blank.set(encodeSegmentHeader(2), 0);
    await writeFile(join(dir, segmentFileName(2)), blank);

    const logger = capturingLogger();
    const again = await WriteAheadLog.open(dir, { fs: nodeFileSystem, logger, segmentBytes: SEGMENT_BYTES });
    assert.equal(again.replay.state.lastIndex, written + 4);
    assert.deepEqual(again.wal.segmentSeqs(), [1, 2, 3]);
    assert.equal(logger.warnings.length, 1);
    assert.match(logger.warnings[0], /empty log segments an interrupted rotation left/);
    // Compaction removes it in order once the entries of segment 1 are below the first index.
    assert.equal(await again.wal.removeSegmentsBelow(written + 1), 2);
    assert.deepEqual(again.wal.segmentSeqs(), [3]);
    await again.wal.close();
  });

  it('refuses a segment in the middle whose records were lost: the next head disagrees', async () => {
    const { wal, replay } = await WriteAheadLog.open(dir, { fs: nodeFileSystem, logger: capturingLogger(), segmentBytes: SEGMENT_BYTES });
    let state = replay.state;
    for (let from = 1; wal.segmentSeqs().length < 3; from += 4) {
      await wal.append([{ entries: makeEntries(from, from + 3, 1, 100) }], state, true);
      state = stateAfter(state, from + 3);
    }
    await wal.close();
    const two = new Uint8Array(await readFile(join(dir, segmentFileName(2))));
    two.fill(0, SEGMENT_HEADER_BYTES);
    await writeFile(join(dir, segmentFileName(2)), two);
    const err = await WriteAheadLog.open(dir, { fs: nodeFileSystem, logger: capturingLogger(), segmentBytes: SEGMENT_BYTES }).catch((e: unknown) => e);
    assert.ok(err instanceof WalCorruptionError, String(err));
    assert.match(err.message, /segment head says log/);

    // And a blank segment followed only by a blank last one proves nothing: refused too.
    const three = new Uint8Array(SEGMENT_BYTES);
    three.set(encodeSegmentHeader(3), 0);
    await writeFile(join(dir, segmentFileName(3)), three);
    const again = await WriteAheadLog.open(dir, { fs: nodeFileSystem, logger: capturingLogger(), segmentBytes: SEGMENT_BYTES }).catch((e: unknown) => e);
    assert.ok(again instanceof WalCorruptionError, String(again));
    assert.match(again.message, /WAL segment 2 holds no records but later segments exist/);
  });
});
