// The outbound half of the conversation with one member: one long-lived stream, a bounded queue
// of frames in front of it, and redial with exponential backoff when the member cannot be reached.
//
//   idle --send--> dialing --ok--> open --stream lost--> backoff --retry time passed, send--> dialing
//                     \--failed--> backoff
//
// While in backoff, frames are dropped at once (and reported): by the time the member is back they
// would be stale, and Raft re-sends what matters. Nothing here uses a timer: the next send after
// the backoff delay redials, and Raft sends to every member at least once per heartbeat.
import type { Stream } from '@libp2p/interface';
import type { Logger } from '../../consensus/ports.js';
import type { MemberId } from '../../consensus/types.js';
import type { TransportCounters } from './counters.js';
import { FrameQueue } from './send-queue.js';

export type PeerLinkState = 'idle' | 'dialing' | 'open' | 'backoff' | 'closed';

export interface PeerLinkSettings {
  maxQueuedFrames: number;
  maxQueuedBytes: number;
  /** Frames written to the stream in one call are concatenated up to this many bytes. */
  maxWriteBatchBytes: number;
  redialBaseMs: number;
  redialMaxMs: number;
  dialTimeoutMs: number;
  /** A stream that stayed open this long resets the backoff; one lost sooner keeps growing it. */
  stableStreamMs: number;
}

export interface PeerLinkDeps {
  /** Opens an outbound stream on the Raft protocol to the member. */
  openStream(signal: AbortSignal): Promise<Stream>;
  reportUnreachable(): void;
  now(): number;
  random(): number;
  counters: TransportCounters;
  logger: Logger;
  settings: PeerLinkSettings;
}

export interface PeerLinkStatus {
  member: MemberId;
  state: PeerLinkState;
  queuedFrames: number;
  queuedBytes: number;
  /** Consecutive failed dials or short-lived streams. */
  failures: number;
  /** When in backoff: ms until a send may redial. */
  retryInMs: number;
}

export class PeerLink {
  private state: PeerLinkState = 'idle';
  private readonly queue: FrameQueue;
  private stream: Stream | null = null;
  /** Bumped whenever the current dial or stream is abandoned, so late callbacks are ignored. */
  private generation = 0;
  private dialAbort: AbortController | null = null;
  private failures = 0;
  private retryAt = 0;
  private openedAt = 0;
  private writing = false;
  private flushScheduled = false;

  constructor(
    readonly member: MemberId,
    private readonly deps: PeerLinkDeps,
  ) {
    this.queue = new FrameQueue(deps.settings.maxQueuedFrames, deps.settings.maxQueuedBytes);
  }

  status(): PeerLinkStatus {
    return {
      member: this.member,
      state: this.state,
      queuedFrames: this.queue.length,
      queuedBytes: this.queue.bytes,
      failures: this.failures,
      retryInMs: this.state === 'backoff' ? Math.max(0, this.retryAt - this.deps.now()) : 0,
    };
  }

  /**
   * Known unreachable: backing off, or redialing after a failure. Asked for every voter on every
   * proposal (replica-refusals.ts), so it builds nothing.
   */
  isDown(): boolean {
    return this.state === 'backoff' || (this.state === 'dialing' && this.failures > 0);
  }

  /**
   * True (and the message counted as dropped and reported) when a send now would be dropped
   * anyway, so the caller can skip encoding it.
   */
  dropsNow(): boolean {
    if (this.state === 'closed') {
      this.deps.counters.dropsUnreachable++;
      return true;
    }
    if (this.state === 'backoff' && this.deps.now() < this.retryAt) {
      this.deps.counters.dropsUnreachable++;
      this.deps.reportUnreachable();
      return true;
    }
    return false;
  }

  send(frame: Uint8Array): void {
    if (this.dropsNow()) return;
    this.enqueue(frame);
    if (this.state === 'open') this.scheduleFlush();
    else if (this.state !== 'dialing') this.dial(); // idle, or backoff whose delay has passed
  }

  /** Drops everything and aborts the stream (member removed). */
  close(): void {
    this.abandon('closed');
    this.stream?.abort(new Error(`link to ${this.member} closed`));
    this.stream = null;
  }

  /** Lets queued bytes leave (bounded by `timeoutMs`), then closes (transport stopping). */
  async shutdown(timeoutMs: number): Promise<void> {
    const stream = this.stream;
    if (stream !== null && this.state === 'open') this.handOverQueue(stream);
    this.abandon('closed');
    this.stream = null;
    if (stream === null) return;
    try {
      await stream.close({ signal: AbortSignal.timeout(timeoutMs) });
    } catch (err) {
      stream.abort(err as Error);
    }
  }

  /** Moves every queued frame into the stream's own buffer, ignoring backpressure (the queue is bounded). */
  private handOverQueue(stream: Stream): void {
    try {
      for (let batch = this.queue.takeBatch(Infinity); batch !== null; batch = this.queue.takeBatch(Infinity)) {
        if (stream.writeStatus !== 'writable') return;
        this.deps.counters.framesOut += batch.frames;
        this.deps.counters.bytesOut += batch.bytes.length;
        stream.send(batch.bytes);
      }
    } catch (err) {
      this.deps.logger.debug({ member: this.member, err: (err as Error).message }, 'raft stream closed while handing over');
    }
  }

  private abandon(next: PeerLinkState): void {
    this.generation++;
    this.state = next;
    this.dialAbort?.abort();
    this.dialAbort = null;
    this.deps.counters.dropsUnreachable += this.queue.clear();
  }

  private enqueue(frame: Uint8Array): void {
    this.deps.counters.dropsQueueFull += this.queue.push(frame);
  }

  private dial(): void {
    const generation = ++this.generation;
    this.state = 'dialing';
    this.deps.counters.dials++;
    const abort = new AbortController();
    this.dialAbort = abort;
    const signal = AbortSignal.any([abort.signal, AbortSignal.timeout(this.deps.settings.dialTimeoutMs)]);
    this.deps
      .openStream(signal)
      .then(
        (stream) => this.onStreamOpened(generation, stream),
        (err: unknown) => this.onDialFailed(generation, err),
      )
      .catch((err: unknown) => {
        // A bug in the handlers above; keep the process alive and the link usable.
        this.deps.logger.error({ member: this.member, err: (err as Error)?.message }, 'raft link state error');
        this.abandon('idle');
      });
  }

  private onStreamOpened(generation: number, stream: Stream): void {
    if (generation !== this.generation) {
      stream.abort(new Error(`link to ${this.member} no longer wants this stream`));
      return;
    }
    this.dialAbort = null;
    this.stream = stream;
    this.state = 'open';
    this.openedAt = this.deps.now();
    this.deps.counters.streamsOpened++;
    // The member never writes on our stream; whatever it sends is read and discarded.
    stream.addEventListener('message', () => undefined);
    stream.addEventListener('close', (evt) => this.onStreamClosed(generation, evt.error));
    if (stream.status !== 'open') {
      this.onStreamClosed(generation, new Error(`stream ${stream.status} as it opened`));
      return;
    }
    this.deps.logger.debug({ member: this.member }, 'raft stream open');
    this.scheduleFlush();
  }

  private onDialFailed(generation: number, err: unknown): void {
    if (generation !== this.generation) return;
    this.dialAbort = null;
    this.deps.counters.dialFailures++;
    this.failures++;
    this.enterBackoff(`dial failed: ${(err as Error)?.message ?? String(err)}`);
  }

  private onStreamClosed(generation: number, err: Error | undefined): void {
    if (generation !== this.generation) return;
    this.stream = null;
    this.deps.counters.streamsLost++;
    if (this.deps.now() - this.openedAt >= this.deps.settings.stableStreamMs) this.failures = 0;
    this.failures++;
    this.enterBackoff(`stream lost: ${err?.message ?? 'closed by the remote side'}`);
  }

  private enterBackoff(reason: string): void {
    this.abandon('backoff');
    const delayMs = this.backoffDelayMs();
    this.retryAt = this.deps.now() + delayMs;
    const log = { member: this.member, failures: this.failures, retryInMs: Math.round(delayMs), reason };
    if (this.failures === 1) this.deps.logger.warn(log, 'member unreachable');
    else this.deps.logger.debug(log, 'member still unreachable');
    this.deps.reportUnreachable();
  }

  /** Exponential in the consecutive failures, capped, with "equal jitter" (half fixed, half random). */
  private backoffDelayMs(): number {
    const { redialBaseMs, redialMaxMs } = this.deps.settings;
    const exponent = Math.min(this.failures - 1, 30);
    const ceiling = Math.min(redialMaxMs, redialBaseMs * 2 ** exponent);
    return ceiling / 2 + this.deps.random() * (ceiling / 2);
  }

  private scheduleFlush(): void {
    if (this.flushScheduled || this.writing) return;
    this.flushScheduled = true;
    // Sends made in the same turn (one Ready's messages) leave in one batched write.
    queueMicrotask(() => {
      this.flushScheduled = false;
      void this.flush();
    });
  }

  private async flush(): Promise<void> {
    const stream = this.stream;
    if (this.writing || this.state !== 'open' || stream === null) return;
    this.writing = true;
    try {
      while (this.stream === stream && stream.writeStatus === 'writable') {
        const batch = this.queue.takeBatch(this.deps.settings.maxWriteBatchBytes);
        if (batch === null) break;
        this.deps.counters.framesOut += batch.frames;
        this.deps.counters.bytesOut += batch.bytes.length;
        if (!stream.send(batch.bytes)) await stream.onDrain();
      }
    } catch (err) {
      // The stream closed or reset under us; aborting it (a no-op if already closed) makes sure its
      // close event moves the link to backoff.
      this.deps.logger.debug({ member: this.member, err: (err as Error).message }, 'raft stream write failed');
      stream.abort(err as Error);
    } finally {
      this.writing = false;
    }
    if (this.stream === stream && this.queue.length > 0) this.scheduleFlush();
  }
}
