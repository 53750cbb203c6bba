// GET /v1/watch?kind=K&fromIndex=N: committed resource changes as newline-delimited JSON, one
// change per line, replayed from N (absent: from now on) and then live. A stream ends with one
// `{"error": {code, message, resumeFrom}}` line: COMPACTED (this site lost the history, e.g. it
// installed a snapshot), STOPPING, or TOO_SLOW (the reader fell more than MAX_WATCH_BUFFER_BYTES
// behind). A fromIndex older than the site keeps is refused up front: 410 COMPACTED with firstIndex.
import { AdminHttpError } from './http-errors.js';
import { resourceKindFrom } from './requests.js';
import type { AgentService, ResourceKind, WatchEndView } from './service.js';

/** What a watch stream may hold unsent before the watch ends as TOO_SLOW. */
export const MAX_WATCH_BUFFER_BYTES = 8 * 1024 * 1024;

/** The server's side of a streamed response: write a line (false once the reader is too far behind), end, hear the close. */
export interface LineSink {
  write(line: string): boolean;
  end(): void;
  onClose(listener: () => void): void;
}

export interface StreamedResult {
  status: number;
  contentType: string;
  /** Called once the headers are sent. */
  stream(sink: LineSink): void;
}

export function watchQuery(query: URLSearchParams): { fromIndex?: number; kind?: ResourceKind } {
  const filter: { fromIndex?: number; kind?: ResourceKind } = {};
  const from = query.get('fromIndex');
  if (from !== null) {
    if (!/^[1-9][0-9]{0,15}$/.test(from) || !Number.isSafeInteger(Number(from))) {
      throw new AdminHttpError('BAD_REQUEST', `query parameter fromIndex: expected a log index (a positive integer), got ${JSON.stringify(from)}`, { field: 'fromIndex' }, 'invalid_query');
    }
    filter.fromIndex = Number(from);
  }
  const kind = query.get('kind');
  if (kind !== null) {
    try {
      filter.kind = resourceKindFrom(kind);
    } catch (error) {
      throw new AdminHttpError('BAD_REQUEST', `query parameter kind: ${(error as Error).message.replace(/^kind: /, '')}`, { field: 'kind' }, 'invalid_query');
    }
  }
  for (const name of query.keys()) {
    if (name !== 'fromIndex' && name !== 'kind') throw new AdminHttpError('BAD_REQUEST', `unknown query parameter ${JSON.stringify(name)} (known: fromIndex, kind)`, { field: name }, 'invalid_query');
  }
  return filter;
}

/**
 * Starts the watch before any header is sent, so a refusal is an ordinary error answer. Lines the
 * replay produces before the stream is attached wait in `early` (at most the feed's kept changes).
 */
export function startWatch(service: AgentService, filter: { fromIndex?: number; kind?: ResourceKind }): StreamedResult {
  let sink: LineSink | null = null;
  let ended = false;
  const early: string[] = [];
  const send = (value: unknown): boolean => {
    const line = `${JSON.stringify(value)}\n`;
    if (sink === null) {
      early.push(line);
      return true;
    }
    return sink.write(line);
  };
  const finish = (end: WatchEndView): void => {
    if (ended) return;
    ended = true;
    send({ error: end });
    sink?.end();
  };
  let lastIndex = (filter.fromIndex ?? 1) - 1;
  const started = service.watch(filter, {
    onEvent: (event) => {
      if (ended) return;
      lastIndex = event.index;
      if (!send(event)) {
        cancel();
        finish({ code: 'TOO_SLOW', message: `the reader fell more than ${MAX_WATCH_BUFFER_BYTES} bytes behind; watch again from index ${lastIndex + 1}`, resumeFrom: lastIndex + 1 });
      }
    },
    onEnd: (end) => finish(end),
  });
  if (!started.ok) {
    const status = started.code === 'COMPACTED' ? 'COMPACTED' : 'BUSY';
    throw new AdminHttpError(status, started.message, { firstIndex: started.firstIndex });
  }
  const cancel = started.cancel;
  return {
    status: 200,
    contentType: 'application/x-ndjson',
    stream: (out) => {
      out.onClose(() => {
        ended = true;
        cancel();
      });
      for (const line of early.splice(0)) out.write(line);
      sink = out;
      if (ended) out.end();
    },
  };
}
