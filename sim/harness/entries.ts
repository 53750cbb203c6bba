// What the harness needs to know about a log entry: its digest (for the safety checker), the client
// write it carries, and the register changes it makes on the workload's keys. Decoding a command
// costs far more than looking it up, and every site applies the same entry object (messages are
// shared, never copied), so the facts are computed once per entry bytes and cached weakly.
import { writeIdOf } from '../../agent/catalog/write-id.js';
import { decodeCommand } from '../../agent/catalog/index.js';
import { EntryType, type Entry } from '../../consensus/types.js';
import { entryDigest } from '../checkers/raft-safety.js';
import type { RegisterValue } from '../checkers/linearizability.js';
import { valueOfSpec, workloadKey } from './keys.js';

export interface EntryFacts {
  digest: string;
  /** `clientId:seq` of the write command the entry carries (none for no-ops and conf changes). */
  writeId?: string;
  /** The command's ops as decoded (untrusted shape: only read through changesOf). */
  ops?: unknown[];
}

const NO_FACTS_DATA = new Uint8Array(0);

export class EntryFactsCache {
  private readonly byData = new WeakMap<Uint8Array, EntryFacts>();

  of(entry: Pick<Entry, 'type' | 'data'>): EntryFacts {
    const data = entry.data ?? NO_FACTS_DATA;
    const cached = this.byData.get(data);
    if (cached && entry.type === EntryType.Normal) return cached;
    const facts = computeFacts(entry);
    if (entry.type === EntryType.Normal) this.byData.set(data, facts);
    return facts;
  }
}

function computeFacts(entry: Pick<Entry, 'type' | 'data'>): EntryFacts {
  const facts: EntryFacts = { digest: entryDigest(entry) };
  if (entry.type !== EntryType.Normal || entry.data.length === 0) return facts;
  const decoded = decodeCommand(entry.data);
  if (!decoded.ok) return facts;
  facts.writeId = writeIdOf(decoded.command.clientId, decoded.command.seq);
  if (decoded.command.type === 'write' && Array.isArray(decoded.command.ops)) facts.ops = decoded.command.ops;
  return facts;
}

export interface RegisterChange {
  key: string;
  value: RegisterValue;
  /** A DR op (or an agent's DR report) gives the resource a new revision and keeps its value. */
  keepValue?: true;
}

/**
 * The register changes of a command that applied successfully: put sets the key's value, patch
 * sets it when the patch names the value field, delete clears it. Keys outside the workload's
 * register space (site records) are left out.
 */
export function changesOf(ops: readonly unknown[]): RegisterChange[] {
  const out: RegisterChange[] = [];
  for (const raw of ops) {
    if (typeof raw !== 'object' || raw === null) continue;
    const op = raw as { op?: unknown; kind?: unknown; id?: unknown; spec?: unknown };
    if (typeof op.kind !== 'string' || typeof op.id !== 'string') continue;
    const key = workloadKey(op.kind, op.id);
    if (key === undefined) continue;
    if (op.op === 'delete') out.push({ key, value: null });
    else if (op.op === 'dr') out.push({ key, value: null, keepValue: true });
    else if (op.op === 'put' || op.op === 'patch') {
      const value = valueOfSpec(op.kind, op.spec);
      if (value !== undefined) out.push({ key, value });
    }
  }
  return out;
}
