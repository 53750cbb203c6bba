// Exactly-once (Raft dissertation §6.3): the last sequence number and result per client. Bounded;
// when full, the client whose session was advanced at the lowest log index is evicted, which is the
// same client on every site because the order depends only on the log.
import type { CommandResult, Session } from './types.js';

export type SessionVerdict =
  | { type: 'new' }
  | { type: 'duplicate'; result: CommandResult }
  | { type: 'stale'; lastSeq: number };

export class SessionTable {
  /** Insertion order = ascending lastIndex, because sessions are advanced in log order. */
  private readonly byClient = new Map<string, Session>();

  constructor(readonly maxSessions: number) {
    if (!Number.isSafeInteger(maxSessions) || maxSessions < 1) throw new RangeError('maxSessions must be a positive integer');
  }

  get size(): number {
    return this.byClient.size;
  }

  get(clientId: string): Session | undefined {
    return this.byClient.get(clientId);
  }

  check(clientId: string, seq: number): SessionVerdict {
    const session = this.byClient.get(clientId);
    if (session === undefined || seq > session.lastSeq) return { type: 'new' };
    if (seq === session.lastSeq) return { type: 'duplicate', result: session.lastResult };
    return { type: 'stale', lastSeq: session.lastSeq };
  }

  /** Records the outcome of a new command; returns the client ids evicted to stay within the bound. */
  record(session: Session): string[] {
    this.byClient.delete(session.clientId);
    this.byClient.set(session.clientId, session);
    return this.evictOverflow();
  }

  /** Replaces the table (load/restore); sessions may come in any order. */
  replaceAll(sessions: Session[]): string[] {
    this.byClient.clear();
    const ordered = [...sessions].sort((a, b) => a.lastIndex - b.lastIndex || compareText(a.clientId, b.clientId));
    for (const session of ordered) this.byClient.set(session.clientId, session);
    return this.evictOverflow();
  }

  values(): IterableIterator<Session> {
    return this.byClient.values();
  }

  private evictOverflow(): string[] {
    const evicted: string[] = [];
    for (const clientId of this.byClient.keys()) {
      if (this.byClient.size <= this.maxSessions) break;
      this.byClient.delete(clientId);
      evicted.push(clientId);
    }
    return evicted;
  }
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
