// Membership changes: their wire encoding inside a ConfChange log entry, and the rule that turns
// one ConfState into the next (one change at a time, DESIGN.md).
import { pack, unpack } from 'msgpackr';
import type { ConfChange, ConfChangeType, ConfState, MemberId } from './types.js';

/** Format tag of an encoded ConfChange; a different tag is refused, never guessed. */
const CONF_CHANGE_FORMAT = 1;

/** Wire codes: the position in this list. Append only, never reorder. */
const CONF_CHANGE_TYPES: readonly ConfChangeType[] = ['addVoter', 'addLearner', 'promote', 'demote', 'remove'];

/** Bound on a member id, so a hostile entry cannot make every member hold a huge string. */
export const MAX_MEMBER_ID_BYTES = 256;

export function isConfChangeType(value: unknown): value is ConfChangeType {
  return typeof value === 'string' && (CONF_CHANGE_TYPES as readonly string[]).includes(value);
}

/** Checks the shape of a ConfChange handed in by a caller; returns a reason or null. */
export function confChangeShapeError(cc: unknown): string | null {
  if (typeof cc !== 'object' || cc === null) return 'conf change must be an object';
  const change = cc as Partial<ConfChange>;
  if (!isConfChangeType(change.type)) return `unknown conf change type ${JSON.stringify(change.type)}`;
  if (typeof change.member !== 'string' || change.member.length === 0) return 'conf change member must be a non-empty string';
  if (change.member.length > MAX_MEMBER_ID_BYTES) return `conf change member id longer than ${MAX_MEMBER_ID_BYTES}`;
  if (change.context !== undefined && !(change.context instanceof Uint8Array)) return 'conf change context must be bytes';
  return null;
}

export function encodeConfChange(cc: ConfChange): Uint8Array {
  const problem = confChangeShapeError(cc);
  if (problem !== null) throw new Error(`encodeConfChange: ${problem}`);
  const code = CONF_CHANGE_TYPES.indexOf(cc.type);
  const fields: unknown[] = [CONF_CHANGE_FORMAT, code, cc.member];
  if (cc.context !== undefined) fields.push(cc.context);
  // Copy out of msgpackr's buffer so the entry owns plain, stable bytes.
  return Uint8Array.from(pack(fields));
}

export function decodeConfChange(bytes: Uint8Array): ConfChange {
  if (!(bytes instanceof Uint8Array) || bytes.byteLength === 0) {
    throw new Error('decodeConfChange: expected a non-empty byte array');
  }
  let fields: unknown;
  try {
    fields = unpack(bytes);
  } catch (err) {
    throw new Error(`decodeConfChange: not msgpack (${(err as Error).message})`);
  }
  if (!Array.isArray(fields) || fields.length < 3 || fields.length > 4) {
    throw new Error('decodeConfChange: expected [format, type, member, context?]');
  }
  const [format, code, member, context] = fields as [unknown, unknown, unknown, unknown];
  if (format !== CONF_CHANGE_FORMAT) throw new Error(`decodeConfChange: unknown format ${String(format)}`);
  if (typeof code !== 'number' || !Number.isInteger(code) || code < 0 || code >= CONF_CHANGE_TYPES.length) {
    throw new Error(`decodeConfChange: unknown change type code ${String(code)}`);
  }
  const change: ConfChange = { type: CONF_CHANGE_TYPES[code], member: member as MemberId };
  if (fields.length === 4) {
    if (!(context instanceof Uint8Array)) throw new Error('decodeConfChange: context must be bytes');
    change.context = Uint8Array.from(context);
  }
  const problem = confChangeShapeError(change);
  if (problem !== null) throw new Error(`decodeConfChange: ${problem}`);
  return change;
}

export type ConfChangeOutcome = { ok: true; conf: ConfState } | { ok: false; detail: string };

/** The membership after `cc`, or why `cc` makes no sense against `conf`. Never mutates `conf`. */
export function applyConfChange(conf: ConfState, cc: ConfChange): ConfChangeOutcome {
  const isVoter = conf.voters.includes(cc.member);
  const isLearner = conf.learners.includes(cc.member);
  const without = (list: readonly MemberId[]): MemberId[] => list.filter((m) => m !== cc.member);
  switch (cc.type) {
    case 'addVoter':
    case 'addLearner':
      if (isVoter || isLearner) {
        return { ok: false, detail: `${cc.member} is already a ${isVoter ? 'voter' : 'learner'}` };
      }
      return cc.type === 'addVoter'
        ? { ok: true, conf: { voters: [...conf.voters, cc.member], learners: [...conf.learners] } }
        : { ok: true, conf: { voters: [...conf.voters], learners: [...conf.learners, cc.member] } };
    case 'promote':
      if (!isLearner) return { ok: false, detail: `${cc.member} is not a learner` };
      return { ok: true, conf: { voters: [...conf.voters, cc.member], learners: without(conf.learners) } };
    case 'demote':
      if (!isVoter) return { ok: false, detail: `${cc.member} is not a voter` };
      if (conf.voters.length === 1) return { ok: false, detail: `${cc.member} is the last voter` };
      return { ok: true, conf: { voters: without(conf.voters), learners: [...conf.learners, cc.member] } };
    case 'remove':
      if (!isVoter && !isLearner) return { ok: false, detail: `${cc.member} is not a member` };
      if (isVoter && conf.voters.length === 1) return { ok: false, detail: `${cc.member} is the last voter` };
      return { ok: true, conf: { voters: without(conf.voters), learners: without(conf.learners) } };
  }
}
