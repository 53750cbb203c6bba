// Executes the ops of one write command against a draft. The first failing op stops the batch and
// its result names the op; the caller commits the draft only if every op succeeded.
import { canonicallyEqual, deepFreeze } from './codec.js';
import { MAX_OPS_PER_COMMAND } from './limits.js';
import { checkResourceId } from './names.js';
import { PLACEMENT_ALL, placementFromInput } from './placement.js';
import type { Draft } from './resource-store.js';
import { checkDeleteRules, checkWriteRules } from './rules.js';
import { SpecError, checkEnum, checkInt, checkString, expectObject, isPlainObject, rejectUnknownFields, type Fields } from './spec-reader.js';
import {
  PLACED_KINDS,
  RESOURCE_KINDS,
  type CommandResult,
  type Placement,
  type ProtectionGroupSpec,
  type Resource,
  type ResourceOf,
  type ResourceKind,
} from './types.js';
import { normalizeSpec } from './validate-spec.js';
import { checkDrBatch, executeDrOp, roleChangeOnWrite } from './dr-ops.js';

export interface OpContext {
  /** Log index of the entry: the new revision of everything it changes. */
  index: number;
  /** Command time. */
  time: number;
  /** The operator's reason, when the write was forced. */
  forced?: string;
}

const OP_FIELDS = {
  put: ['op', 'kind', 'id', 'spec', 'placement', 'expectedRevision'],
  patch: ['op', 'kind', 'id', 'spec', 'placement', 'expectedRevision'],
  delete: ['op', 'kind', 'id', 'expectedRevision'],
} as const;

type OpOutcome = { ok: true; revision: number } | Exclude<CommandResult, { ok: true }>;

export function executeWriteOps(rawOps: unknown, draft: Draft, context: OpContext): CommandResult {
  if (!Array.isArray(rawOps) || rawOps.length === 0 || rawOps.length > MAX_OPS_PER_COMMAND) {
    return { ok: false, code: 'VALIDATION', field: 'ops', message: `ops must list 1-${MAX_OPS_PER_COMMAND} operations` };
  }
  const batch = checkedDrBatch(rawOps);
  if (batch !== null) return batch;
  const revisions: number[] = [];
  for (let opIndex = 0; opIndex < rawOps.length; opIndex++) {
    const outcome = executeOp(rawOps[opIndex], opIndex, draft, context);
    if (!outcome.ok) return outcome;
    revisions.push(outcome.revision);
  }
  return { ok: true, revisions };
}

function executeOp(raw: unknown, opIndex: number, draft: Draft, context: OpContext): OpOutcome {
  try {
    return executeCheckedOp(raw, opIndex, draft, context);
  } catch (error) {
    if (error instanceof SpecError) return { ok: false, code: 'VALIDATION', field: error.field, message: error.message, opIndex };
    throw error;
  }
}

function checkedDrBatch(rawOps: unknown[]): CommandResult | null {
  try {
    checkDrBatch(rawOps);
    return null;
  } catch (error) {
    if (error instanceof SpecError) return { ok: false, code: 'VALIDATION', field: error.field, message: error.message };
    throw error;
  }
}

function present(value: unknown): boolean {
  return value !== undefined && value !== null;
}

function executeCheckedOp(raw: unknown, opIndex: number, draft: Draft, context: OpContext): OpOutcome {
  const fields = expectObject(raw, 'op');
  const op = checkEnum(fields.op, 'op', ['put', 'patch', 'delete', 'dr'] as const);
  if (op === 'dr') return executeDrOp(fields, opIndex, draft, context);
  rejectUnknownFields(fields, OP_FIELDS[op], '');
  const kind = checkKind(fields.kind);
  const id = checkResourceId(kind, fields.id);
  const expected = present(fields.expectedRevision)
    ? checkInt(fields.expectedRevision, 'expectedRevision', { min: 0, max: Number.MAX_SAFE_INTEGER })
    : undefined;
  if (present(fields.placement) && !(PLACED_KINDS as readonly string[]).includes(kind)) {
    throw new SpecError('placement', `${kind} resources have no placement`);
  }
  const current = draft.get(kind, id) as Resource | undefined;
  const currentRevision = current?.revision ?? 0;
  if (expected !== undefined && expected !== currentRevision) {
    const message =
      expected === 0
        ? `${kind} ${id} already exists (revision ${currentRevision})`
        : `${kind} ${id} is at revision ${currentRevision}, not ${expected}`;
    return { ok: false, code: 'CONFLICT', kind, id, expected, current: currentRevision, message, opIndex };
  }
  if (op !== 'put' && current === undefined) {
    return { ok: false, code: 'NOT_FOUND', kind, id, message: `${kind} ${id} does not exist`, opIndex };
  }
  if (op === 'delete') {
    checkDeleteRules(draft, current as Resource);
    draft.remove(kind, id);
    return { ok: true, revision: context.index };
  }
  const specInput = op === 'put' ? requireSpec(fields) : mergePatch(current as Resource, fields.spec);
  return writeResource(draft, context, kind, id, normalizeSpec(kind, id, specInput), fields.placement, current);
}

function checkKind(value: unknown): ResourceKind {
  if (typeof value !== 'string' || !(RESOURCE_KINDS as readonly string[]).includes(value)) {
    const shown = typeof value === 'string' ? `'${value}'` : 'missing';
    throw new SpecError('kind', `unknown kind ${shown} (known: ${RESOURCE_KINDS.join(', ')})`);
  }
  return value as ResourceKind;
}

function requireSpec(fields: Fields): unknown {
  if (!present(fields.spec)) throw new SpecError('spec', 'spec is required');
  return fields.spec;
}

/**
 * JSON merge patch (RFC 7386) of the current spec: objects merge key by key at every depth, null
 * removes a key, anything else (arrays included) replaces. So `{ extraSpecs: { "hw:cpu": "2" } }`
 * adds one extra spec and keeps the others.
 */
function mergePatch(current: Resource, patch: unknown): Fields {
  const changes = present(patch) ? expectObject(patch, 'spec') : {};
  return mergeObjects(current.spec as unknown as Fields, changes);
}

function mergeObjects(target: Fields, patch: Fields): Fields {
  const out: Fields = { ...target };
  for (const [key, value] of Object.entries(patch)) {
    // Keys are data: own properties only, so '__proto__' or 'constructor' never reach Object.prototype.
    const existing = Object.hasOwn(out, key) ? out[key] : undefined;
    if (value === null || value === undefined) delete out[key];
    else if (isPlainObject(value)) setOwn(out, key, mergeObjects(isPlainObject(existing) ? existing : {}, value));
    else setOwn(out, key, value);
  }
  return out;
}

function setOwn(target: Fields, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

function writeResource(
  draft: Draft,
  context: OpContext,
  kind: ResourceKind,
  id: string,
  specGiven: Resource['spec'],
  placementInput: unknown,
  current: Resource | undefined,
): OpOutcome {
  // A change of primary is a role change: it takes a new epoch and carries the group's DR state.
  const roles = kind === 'protection-group' ? roleChangeOnWrite(current as ResourceOf<'protection-group'> | undefined, specGiven as ProtectionGroupSpec, context) : null;
  const spec = roles?.spec ?? specGiven;
  checkWriteRules(draft, { kind, spec }, current, context.time);
  const placement = choosePlacement(kind, placementInput, current);
  if (current !== undefined && canonicallyEqual({ spec, placement }, { spec: current.spec, placement: current.placement })) {
    return { ok: true, revision: current.revision };
  }
  // Keys in sorted order, the order the record is encoded in (codec.ts), so encoding it does not copy it.
  const resource = {
    createdAt: current?.createdAt ?? context.time,
    ...(roles?.dr === undefined ? {} : { dr: roles.dr }),
    ...(context.forced === undefined ? {} : { forced: { index: context.index, reason: context.forced, time: context.time } }),
    id,
    kind,
    ...(placement === undefined ? {} : { placement }),
    revision: context.index,
    spec,
    updatedAt: context.time,
  } as Resource;
  draft.put(deepFreeze(resource));
  return { ok: true, revision: context.index };
}

/** A placed kind keeps its placement unless a new one is given; a new resource defaults to all sites. */
function choosePlacement(kind: ResourceKind, input: unknown, current: Resource | undefined): Placement | undefined {
  if (!(PLACED_KINDS as readonly string[]).includes(kind)) return undefined;
  if (present(input)) return placementFromInput(input);
  return current?.placement ?? PLACEMENT_ALL;
}
