// The blob protocol's streams between simulated sites (the BlobStreams port of agent/blobs/ports.ts):
// the daemon's fetcher and server run over them unchanged, wire format included. Bytes written on
// a stream join the flow of that direction on the two sites' access links (links.ts) and reach the
// other end one WAN latency (the link's modelled base latency) after they have been sent; a write
// returns at once while at most SEND_WINDOW_BYTES are queued (a stream's flow-control window), else
// when the queue drains. Writes of at most CONTROL_BYTES (requests, response headers) on an idle
// stream take the latency only: their transmission time is negligible. Everything queued is handed
// over in order, and adjacent views of the same memory are joined, so a modelled chunk arrives as
// the very window it was sent as (content.ts). A stream ends after its last bytes, and end()
// returns once they have been sent (so a server's request slot is held while its answer is on the
// link, and its BUSY limit binds as in the daemon); abort() drops both ends at once.
//
// Reachability: a stream opens only to a site that is up, over a link no partition cuts, and (in an
// origin-only run) only to the origin; otherwise open() fails after a round trip, as a dial would.
// A site that goes down aborts every stream it has. A partition that starts later does not cut a
// stream already open (the fetcher's request timeout covers a stalled one in the daemon).
import type { MemberId } from '../../consensus/types.js';
import type { BlobStreams, ByteStream } from '../../agent/blobs/ports.js';
import type { Scheduler } from '../scheduler.js';
import type { WanModel } from '../wan.js';
import { Flow, type AccessLinks } from './links.js';

export const SEND_WINDOW_BYTES = 16 * 1024 * 1024;
export const CONTROL_BYTES = 4096;
/** Streams open at once in the whole run (a bound; the fetchers' and servers' own limits stay far below). */
export const MAX_OPEN_STREAMS = 100_000;

type Handler = (stream: ByteStream, member: MemberId) => void;

/** The pieces a stream end has received and not yet read. */
class Inbox {
  private readonly items: Uint8Array[] = [];
  private ended = false;
  private error: Error | null = null;
  private wake: (() => void) | null = null;

  push(piece: Uint8Array): void {
    const last = this.items[this.items.length - 1];
    if (last !== undefined && adjacent(last, piece)) this.items[this.items.length - 1] = join(last, piece);
    else this.items.push(piece);
    this.notify();
  }

  finish(): void {
    this.ended = true;
    this.notify();
  }

  fail(error: Error): void {
    this.error ??= error;
    this.notify();
  }

  async *iterate(): AsyncGenerator<Uint8Array> {
    for (;;) {
      if (this.error !== null) throw this.error;
      const next = this.items.shift();
      if (next !== undefined) {
        yield next;
        continue;
      }
      if (this.ended) return;
      await new Promise<void>((resolve) => (this.wake = resolve));
    }
  }

  private notify(): void {
    const wake = this.wake;
    this.wake = null;
    wake?.();
  }
}

function adjacent(a: Uint8Array, b: Uint8Array): boolean {
  return a.buffer === b.buffer && a.byteOffset + a.length === b.byteOffset;
}

function join(a: Uint8Array, b: Uint8Array): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.length + b.length);
}

class StreamPair {
  readonly ends: [StreamEnd, StreamEnd];
  aborted: Error | null = null;

  constructor(
    readonly net: SimBlobNet,
    readonly a: number,
    readonly b: number,
  ) {
    this.ends = [new StreamEnd(this, a, b, 0), new StreamEnd(this, b, a, 1)];
  }

  abort(reason: Error): void {
    if (this.aborted !== null) return;
    this.aborted = reason;
    for (const end of this.ends) end.drop(reason);
    this.net.forget(this);
  }

  private endsDelivered = 0;

  /** One side's end reached the other: once both have, the stream is gone. */
  endDelivered(): void {
    if (++this.endsDelivered === 2) this.net.forget(this);
  }
}

class StreamEnd implements ByteStream {
  readonly inbox = new Inbox();
  readonly incoming: AsyncIterable<Uint8Array>;
  private readonly flow: Flow;
  private queued: Uint8Array[] = [];
  private queuedBytes = 0;
  private endAfterDrain = false;
  private ended = false;
  /** When this direction's last delivery arrives (deliveries never overtake each other). */
  private lastArrival = 0;
  private drainWaiters: Array<() => void> = [];

  constructor(
    private readonly pair: StreamPair,
    readonly from: number,
    readonly to: number,
    private readonly side: 0 | 1,
  ) {
    this.incoming = { [Symbol.asyncIterator]: () => this.inbox.iterate() };
    this.flow = new Flow(from, to, () => this.drained());
  }

  private get peer(): StreamEnd {
    return this.pair.ends[1 - this.side]!;
  }

  async write(bytes: Uint8Array): Promise<void> {
    if (this.pair.aborted !== null) throw this.pair.aborted;
    if (this.ended) throw new Error('write after end');
    if (bytes.length === 0) return;
    if (this.queuedBytes === 0 && bytes.length <= CONTROL_BYTES) {
      this.deliver([bytes], false);
      return;
    }
    this.queued.push(bytes);
    this.queuedBytes += bytes.length;
    this.pair.net.links.send(this.flow, bytes.length);
    while (this.queuedBytes > SEND_WINDOW_BYTES && this.pair.aborted === null) await new Promise<void>((resolve) => this.drainWaiters.push(resolve));
    if (this.pair.aborted !== null) throw this.pair.aborted;
  }

  /** Ends this side once everything queued has been sent (as closing a libp2p stream flushes it first). */
  async end(): Promise<void> {
    if (this.ended || this.pair.aborted !== null) return;
    this.ended = true;
    if (this.queuedBytes === 0) return this.deliver([], true);
    this.endAfterDrain = true;
    await new Promise<void>((resolve) => this.drainWaiters.push(resolve));
  }

  abort(reason: Error): void {
    this.pair.abort(reason);
  }

  drop(reason: Error): void {
    this.pair.net.links.close(this.flow);
    this.inbox.fail(reason);
    for (const wake of this.drainWaiters.splice(0)) wake();
  }

  private drained(): void {
    const pieces = this.queued;
    this.queued = [];
    this.queuedBytes = 0;
    this.deliver(pieces, this.endAfterDrain);
    for (const wake of this.drainWaiters.splice(0)) wake();
  }

  /** Hands pieces (and the end, if `last`) to the other end one latency from now, after what went before. */
  private deliver(pieces: Uint8Array[], last: boolean): void {
    const net = this.pair.net;
    const at = Math.max(net.scheduler.now() + net.latencyMs(this.from, this.to), this.lastArrival);
    this.lastArrival = at;
    net.scheduler.at(at, () => {
      if (this.pair.aborted !== null) return;
      for (const piece of pieces) this.peer.inbox.push(piece);
      if (last) {
        this.peer.inbox.finish();
        this.pair.endDelivered();
      }
    });
  }
}

export interface SimBlobNetOptions {
  /** Origin-only runs: streams open only to this site. */
  onlyTo?: string;
}

export class SimBlobNet {
  private readonly index = new Map<string, number>();
  private readonly handlers: Array<Handler | null>;
  private readonly up: boolean[];
  private readonly open = new Set<StreamPair>();
  /** Streams opened, and opens refused (unreachable, down, origin-only). */
  readonly counts = { opened: 0, refused: 0 };

  constructor(
    readonly scheduler: Scheduler,
    private readonly wan: WanModel,
    readonly links: AccessLinks,
    private readonly names: readonly string[],
    private readonly options: SimBlobNetOptions = {},
  ) {
    names.forEach((n, i) => this.index.set(n, i));
    this.handlers = names.map(() => null);
    this.up = names.map(() => false);
  }

  latencyMs(from: number, to: number): number {
    return this.wan.baseOneWayMs(this.names[from]!, this.names[to]!);
  }

  /** The streams of a site's new incarnation. */
  streamsFor(site: string): BlobStreams {
    const self = this.indexOf(site);
    this.up[self] = true;
    return {
      open: (member, signal) => this.openStream(self, member, signal),
      serve: (handler) => {
        this.handlers[self] = handler;
      },
    };
  }

  /** The site's process died: its streams are cut and it serves nothing until its next incarnation. */
  siteDown(site: string): void {
    const i = this.indexOf(site);
    this.up[i] = false;
    this.handlers[i] = null;
    for (const pair of [...this.open]) if (pair.a === i || pair.b === i) pair.abort(new Error(`${site} went down`));
  }

  forget(pair: StreamPair): void {
    this.open.delete(pair);
  }

  private indexOf(site: string): number {
    const i = this.index.get(site);
    if (i === undefined) throw new Error(`blob net: unknown site ${site}`);
    return i;
  }

  private reachable(from: number, to: number): boolean {
    if (!this.up[to] || this.handlers[to] === null) return false;
    if (this.options.onlyTo !== undefined && this.names[to] !== this.options.onlyTo) return false;
    return !this.wan.isBlocked(this.names[from]!, this.names[to]!, this.scheduler.now());
  }

  private openStream(from: number, member: MemberId, signal: AbortSignal): Promise<ByteStream> {
    const to = this.index.get(member);
    if (to === undefined || to === from || !this.reachable(from, to) || this.open.size >= MAX_OPEN_STREAMS) {
      this.counts.refused++;
      const rtt = to === undefined ? 0 : this.latencyMs(from, to) + this.latencyMs(to, from);
      return new Promise((_, reject) => void this.scheduler.at(this.scheduler.now() + rtt, () => reject(new Error(`cannot open a blob stream to ${member}`))));
    }
    if (signal.aborted) return Promise.reject(new Error(`opening a blob stream to ${member} was aborted`));
    const pair = new StreamPair(this, from, to);
    this.open.add(pair);
    this.counts.opened++;
    this.scheduler.at(this.scheduler.now() + this.latencyMs(from, to), () => {
      const handler = this.handlers[to];
      if (pair.aborted !== null) return;
      if (handler === null || !this.up[to]) return pair.abort(new Error(`${member} is not serving blobs`));
      handler(pair.ends[1], this.names[from]!);
    });
    return Promise.resolve(pair.ends[0]);
  }
}
