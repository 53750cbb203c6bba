// The daemon's heap growth while image bits move (agent/ops/transfer-heap.ts), and the blob parts
// telling it: raised once when a transfer begins, back to the configured growth only once the last
// transfer has been over for TRANSFER_HEAP_LINGER_MS; a server sending chunks and a running fetch
// each hold a transfer open exactly while they work.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { silentLogger } from '../../consensus/ports.js';
import { nodeBlobDisk } from '../../agent/blobs/disk.js';
import { BlobFetcher } from '../../agent/blobs/fetcher.js';
import { MIN_CHUNK_BYTES } from '../../agent/blobs/format.js';
import type { BlobStreams, ByteStream, TransferActivity } from '../../agent/blobs/ports.js';
import { BlobServer } from '../../agent/blobs/server.js';
import { BlobStore } from '../../agent/blobs/store.js';
import { HeapGrowthWhileTransferring, TRANSFER_HEAP_GROWTH_PERCENT, TRANSFER_HEAP_LINGER_MS } from '../../agent/ops/transfer-heap.js';
import { patternBytes, piecesOf, pipePair, withTempDir } from './helpers.js';

const CHUNK = MIN_CHUNK_BYTES;
const CLUSTER = 'transfer-heap-test';

/** Timers fired by hand: what was set, and for how long. */
function manualTimers(): { set: (ms: number, fire: () => void) => { cancel(): void }; pending: Array<{ ms: number; fire: () => void; cancelled: boolean }> } {
  const pending: Array<{ ms: number; fire: () => void; cancelled: boolean }> = [];
  return {
    pending,
    set: (ms, fire) => {
      const timer = { ms, fire, cancelled: false };
      pending.push(timer);
      return { cancel: () => (timer.cancelled = true) };
    },
  };
}

/** Counts begins and ends, and the most transfers open at once. */
class RecordingActivity implements TransferActivity {
  open = 0;
  begun = 0;
  mostOpen = 0;
  begin(): () => void {
    this.open++;
    this.begun++;
    this.mostOpen = Math.max(this.mostOpen, this.open);
    let ended = false;
    return () => {
      assert.ok(!ended, 'a transfer was ended twice');
      ended = true;
      this.open--;
    };
  }
}

describe('heap growth while transferring', () => {
  it('raises the growth once, keeps it while any transfer runs, and restores it after the linger', () => {
    const applied: number[] = [];
    const timers = manualTimers();
    const heap = new HeapGrowthWhileTransferring({ basePercent: 50, apply: (p) => applied.push(p), setTimer: timers.set });
    const endA = heap.begin();
    const endB = heap.begin();
    assert.deepEqual(applied, [TRANSFER_HEAP_GROWTH_PERCENT], 'raised once for two transfers');
    endA();
    endA(); // a second call changes nothing
    assert.equal(heap.inProgress, 1);
    assert.equal(timers.pending.length, 0, 'no restore while a transfer runs');
    endB();
    assert.equal(timers.pending.length, 1);
    assert.equal(timers.pending[0]!.ms, TRANSFER_HEAP_LINGER_MS);
    timers.pending[0]!.fire();
    assert.deepEqual(applied, [TRANSFER_HEAP_GROWTH_PERCENT, 50], 'the configured growth is back');
  });

  it('a transfer that begins within the linger keeps the raised growth without setting it again', () => {
    const applied: number[] = [];
    const timers = manualTimers();
    const heap = new HeapGrowthWhileTransferring({ basePercent: 50, apply: (p) => applied.push(p), setTimer: timers.set });
    heap.begin()();
    const end = heap.begin();
    assert.equal(timers.pending[0]!.cancelled, true, 'the restore was called off');
    assert.deepEqual(applied, [TRANSFER_HEAP_GROWTH_PERCENT]);
    end();
    timers.pending[1]!.fire();
    assert.deepEqual(applied, [TRANSFER_HEAP_GROWTH_PERCENT, 50]);
  });

  it('changes nothing when the configured growth is already at least the transfer growth', () => {
    const applied: number[] = [];
    const timers = manualTimers();
    const heap = new HeapGrowthWhileTransferring({ basePercent: TRANSFER_HEAP_GROWTH_PERCENT, apply: (p) => applied.push(p), setTimer: timers.set });
    heap.begin()();
    assert.deepEqual(applied, []);
    assert.equal(timers.pending.length, 0);
  });

  it('a server holds a transfer open while it sends chunks and a fetch while it runs; all end', async () => {
    await withTempDir(async (dir) => {
      const origin = await BlobStore.open(nodeBlobDisk(`${dir}/origin`), { maxBytes: 64 * CHUNK, chunkBytes: CHUNK });
      const { root } = await origin.ingest(piecesOf(patternBytes(6 * CHUNK + 5, 9)));
      const served = new RecordingActivity();
      const server = new BlobServer({ clusterId: CLUSTER, store: origin, transfers: served, logger: silentLogger });
      const streams: BlobStreams = {
        async open(): Promise<ByteStream> {
          const [client, serverSide] = pipePair(() => {});
          setTimeout(() => server.handle(serverSide, 'fetcher'), 1);
          return client;
        },
        serve(): void {},
      };
      const fetched = new RecordingActivity();
      const store = await BlobStore.open(nodeBlobDisk(`${dir}/fetcher`), { maxBytes: 64 * CHUNK, chunkBytes: CHUNK });
      const fetcher = new BlobFetcher({
        clusterId: CLUSTER,
        store,
        streams,
        rttMs: () => 1,
        limits: { maxFetches: 4, maxFetchesPerPeer: 4, roundPauseMs: 10, chunkTimeoutMs: 5_000 },
        now: () => performance.now(),
        sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
        transfers: fetched,
        logger: silentLogger,
      });
      const running = fetcher.fetch(root, () => ['origin']);
      assert.equal(fetched.open, 1, 'the fetch holds a transfer from its start');
      await running;
      assert.ok(await store.isComplete(root));
      assert.deepEqual({ begun: fetched.begun, open: fetched.open }, { begun: 1, open: 0 });
      assert.equal(served.begun, server.counters.chunksServed, 'one transfer per chunk sent');
      assert.ok(served.mostOpen >= 1);
      // The server's last answer may still be ending its stream when the fetcher has stored it.
      for (let i = 0; i < 100 && served.open > 0; i++) await new Promise((resolve) => setTimeout(resolve, 10));
      assert.equal(served.open, 0, 'every served chunk ended its transfer');
    });
  });
});
