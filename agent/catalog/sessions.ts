// Exactly-once (Raft dissertation §6.3): the last sequence number and result per client, and the
// client's recently applied sequence numbers (to say exactly what became of a recent write). Bounded;
// when full, the client whose session was advanced at the lowest log index is evicted, which is the
// same client on every site because the order depends only on the log. Sessions leave the table only
// by eviction, so a table below its bound has never forgotten anyone.
import { SESSION_RECENT_SEQS } from './limits.js';
import type { AppliedSeq, CommandResult, Session } from './types.js';

export type SessionVerdict =
  | { type: 'new' }
  | { type: 'duplicate'; result: CommandResult }
  | { type: 'stale'; lastSeq: number };

/** What became of sequence `seq` of a client, as far as the log applied here says. */
export type SeqFate =
  /** Applied at `index`; `result` is kept for the client's last write only. */
  | { type: 'applied'; index: number; rejected?: AppliedSeq[2]; result?: CommandResult }
  /** Not applied, and it never can be: a later sequence of the client was applied first. */
  | { type: 'never'; lastSeq: number }
  /** Not applied so far: newer than the client's last applied sequence (or a client never seen). */
  | { type: 'not-yet'; lastSeq: number | null }
  /** Older than what the session remembers, or the client's session may have been evicted. */
  | { type: 'forgotten'; oldestKnownSeq: number | null };

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

  fateOf(clientId: string, seq: number): SeqFate {
    const session = this.byClient.get(clientId);
    if (session === undefined) {
      return this.byClient.size < this.maxSessions ? { type: 'not-yet', lastSeq: null } : { type: 'forgotten', oldestKnownSeq: null };
    }
    if (seq > session.lastSeq) return { type: 'not-yet', lastSeq: session.lastSeq };
    if (seq === session.lastSeq) return { type: 'applied', index: session.lastIndex, result: session.lastResult };
    const recent = recentOf(session);
    const hit = recent.find(([s]) => s === seq);
    if (hit !== undefined) return hit.length === 3 ? { type: 'applied', index: hit[1], rejected: hit[2] } : { type: 'applied', index: hit[1] };
    // Every sequence applied since the oldest remembered one is remembered.
    if (seq > recent[0][0]) return { type: 'never', lastSeq: session.lastSeq };
    return { type: 'forgotten', oldestKnownSeq: recent[0][0] };
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

/** The session a new command makes: `previous` advanced to `seq`, remembering it among the recent ones. */
export function advancedSession(previous: Session | undefined, clientId: string, seq: number, index: number, result: CommandResult): Session {
  const recent = previous === undefined ? [] : recentOf(previous);
  const applied: AppliedSeq = result.ok ? [seq, index] : [seq, index, result.code];
  // Keys in sorted order, the order the record is encoded in (codec.ts), so encoding it does not copy it.
  return { clientId, lastIndex: index, lastResult: result, lastSeq: seq, recent: [...recent, applied].slice(-SESSION_RECENT_SEQS) };
}

/** A session recorded before `recent` existed knows its last sequence only. */
function recentOf(session: Session): AppliedSeq[] {
  if (session.recent !== undefined && session.recent.length > 0) return session.recent;
  const r = session.lastResult;
  return [r.ok ? [session.lastSeq, session.lastIndex] : [session.lastSeq, session.lastIndex, r.code]];
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
