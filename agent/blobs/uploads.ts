// Uploads from the CLI over the admin socket. A file of any size arrives as numbered parts, each a
// short HTTP request (the admin server bounds every request's time), fed in order into one ingest
// of the blob store, which hashes as it stores. finish() checks the size the CLI announced and any
// digest the operator gave; a mismatch, an abort, a part out of order or an upload left idle
// leaves nothing in the store. Bounded: MAX_UPLOADS sessions at once, MAX_PART_BYTES per part.
import { randomBytes } from 'node:crypto';
import type { Clock, TimerHandle } from '../../consensus/ports.js';
import type { IngestingBlobStorage } from './ports.js';
import type { BlobIngest, IngestExpectation, IngestResult } from './store.js';

export const MAX_UPLOADS = 4;
export const MAX_PART_BYTES = 64 * 1024 * 1024;
/** An upload with no part for this long is dropped (the CLI died or lost the socket). */
export const UPLOAD_IDLE_MS = 60_000;

export class UploadError extends Error {
  constructor(
    readonly code: 'NOT_FOUND' | 'BUSY' | 'BAD_REQUEST' | 'PAYLOAD_TOO_LARGE',
    message: string,
  ) {
    super(message);
    this.name = 'UploadError';
  }
}

interface Session {
  ingest: BlobIngest;
  nextPart: number;
  busy: boolean;
  idle: TimerHandle;
}

export class BlobUploads {
  private readonly sessions = new Map<string, Session>();

  constructor(
    private readonly store: IngestingBlobStorage,
    private readonly clock: Clock,
    /** Told of every finished upload (the site keeps it until its image write commits). */
    private readonly onUploaded: (root: string) => void,
  ) {}

  start(expect: IngestExpectation): { id: string; chunkBytes: number; maxPartBytes: number } {
    if (this.sessions.size >= MAX_UPLOADS) throw new UploadError('BUSY', `${MAX_UPLOADS} uploads are in progress; try again when one ends`);
    const id = randomBytes(12).toString('hex');
    const ingest = this.store.beginIngest(expect);
    this.sessions.set(id, { ingest, nextPart: 0, busy: false, idle: this.idleTimer(id) });
    return { id, chunkBytes: this.store.chunkBytes, maxPartBytes: MAX_PART_BYTES };
  }

  /** Part `n` (0, 1, 2, ... in order); its bytes go into the ingest as they arrive. */
  async part(id: string, n: number, body: AsyncIterable<Uint8Array>): Promise<{ received: number }> {
    const session = this.take(id);
    if (n !== session.nextPart) {
      await this.drop(id);
      throw new UploadError('BAD_REQUEST', `upload ${id}: part ${n} arrived, part ${session.nextPart} was next; the upload is dropped`);
    }
    session.busy = true;
    try {
      let bytes = 0;
      for await (const piece of body) {
        bytes += piece.length;
        if (bytes > MAX_PART_BYTES) throw new UploadError('PAYLOAD_TOO_LARGE', `a part may hold at most ${MAX_PART_BYTES} bytes`);
        await session.ingest.write(piece);
      }
      session.nextPart++;
      return { received: session.ingest.bytesReceived };
    } catch (err) {
      await this.drop(id);
      throw err;
    } finally {
      session.busy = false;
      this.touch(id);
    }
  }

  /** The blob is stored whole and checked; throws BlobVerifyError (nothing kept) when it does not match what was announced. */
  async finish(id: string): Promise<IngestResult> {
    const session = this.take(id);
    this.sessions.delete(id);
    session.idle.cancel();
    const result = await session.ingest.finish();
    this.onUploaded(result.root);
    return result;
  }

  async abort(id: string): Promise<void> {
    this.take(id);
    await this.drop(id);
  }

  private take(id: string): Session {
    const session = this.sessions.get(id);
    if (session === undefined) throw new UploadError('NOT_FOUND', `no upload ${JSON.stringify(id.slice(0, 64))} in progress (finished, aborted, or idle for ${UPLOAD_IDLE_MS / 1000} s)`);
    if (session.busy) throw new UploadError('BAD_REQUEST', `upload ${id}: a part is still arriving`);
    return session;
  }

  private async drop(id: string): Promise<void> {
    const session = this.sessions.get(id);
    if (session === undefined) return;
    this.sessions.delete(id);
    session.idle.cancel();
    await session.ingest.abort();
  }

  private idleTimer(id: string): TimerHandle {
    return this.clock.setTimer(UPLOAD_IDLE_MS, () => {
      const session = this.sessions.get(id);
      if (session !== undefined && !session.busy) void this.drop(id);
    });
  }

  private touch(id: string): void {
    const session = this.sessions.get(id);
    if (session === undefined) return;
    session.idle.cancel();
    session.idle = this.idleTimer(id);
  }
}
